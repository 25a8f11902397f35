/*
 * sync.c - the upstream forwarder's state machine (see sync.h for the
 * contract: exactly once, in order, never blocking, never allocating).
 *
 * The pieces, in the order a connection goes through them:
 *
 *   link      connect through the net port, AUTH / SELECT, failures and
 *             the bounded backoff with jitter, the half-open timeout
 *   slots     which local streams are forwarded (a glob over the key space,
 *             rescanned now and then), their cursors and lag accounting
 *   pipeline  the transmit buffer (commands written with core/resp's
 *             writer, sent as the link takes them) and the in-flight queue
 *             (one record per command, replies arrive in the same order)
 *   replies   core/resp's client-side reader, item by item, so a reply may
 *             arrive over several polls; each complete reply settles the
 *             oldest in-flight record (a transaction's XADDs wait for
 *             EXEC's array, whose elements settle them one by one)
 *
 * Why each stream's batch is a transaction (MULTI, XADD..., EXEC) and a
 * stream has at most one batch in flight: Redis checks maxmemory per
 * command, so in a plain pipeline XADD i can be refused (OOM) and XADD
 * i+1 accepted; the upstream would then hold i+1 without i, and i could
 * never be added (IDs only grow): a permanent gap. Inside MULTI a command
 * refused while queuing makes EXEC refuse the whole batch (EXECABORT), and
 * EXEC itself is refused (OOM) before running anything. The next batch of
 * that stream is only sent once EXEC's reply says the previous one landed,
 * so nothing after a refused entry can land.
 *
 * Why the resume query makes it exactly-once: the upstream's XADD with an
 * explicit ID is accepted only if the ID is above the key's last ID. After
 * a link loss we do not know which in-flight XADDs landed; asking for the
 * key's top entry tells us, and we continue after it. An XADD that landed
 * twice anyway (the top entry was deleted upstream, or a reply was lost and
 * the query raced it) is refused by the upstream as "equal or smaller",
 * which we count as a duplicate acknowledged, never as a second copy.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <string.h>

#include "cmd.h"
#include "sync.h"

enum { KIND_AUTH = 1, KIND_SELECT, KIND_TOP, KIND_MULTI, KIND_XADD, KIND_EXEC };

#define DUP_TEXT "equal or smaller than the target stream top item"
#define POLL_ROUNDS 8

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void copy_text(char *dst, size_t cap, const char *a, size_t alen, const char *b,
                      size_t blen)
{
    size_t n = 0;
    if (cap == 0)
        return;
    for (size_t i = 0; i < alen && n + 1 < cap; i++)
        dst[n++] = a[i];
    for (size_t i = 0; i < blen && n + 1 < cap; i++) {
        char c = b[i];
        dst[n++] = (c == '\r' || c == '\n') ? ' ' : c;
    }
    dst[n] = '\0';
}

static size_t cstrlen(const char *s)
{
    return s == NULL ? 0 : strlen(s);
}

static bool contains(const char *hay, size_t hlen, const char *needle)
{
    size_t nl = strlen(needle);
    for (size_t i = 0; i + nl <= hlen; i++)
        if (memcmp(hay + i, needle, nl) == 0)
            return true;
    return false;
}

static uint32_t next_rand(runnel_sync_t *s)
{
    /* xorshift32: jitter only, nothing secret. */
    uint32_t x = s->rng != 0 ? s->rng : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s->rng = x;
    return x;
}

/* The wait before retry number `attempts` (0-based): min doubled per
 * attempt up to max, then drawn in [wait/2, wait] so that many devices
 * cut off together do not reconnect in step. */
static uint64_t backoff_wait(runnel_sync_t *s, uint32_t attempts)
{
    uint64_t wait = s->cfg.backoff_min_ms;
    for (uint32_t i = 0; i < attempts && wait < s->cfg.backoff_max_ms; i++)
        wait *= 2;
    if (wait > s->cfg.backoff_max_ms)
        wait = s->cfg.backoff_max_ms;
    uint64_t half = wait / 2;
    return half + (half != 0 ? next_rand(s) % (half + 1) : 0);
}

static void set_last_error(runnel_sync_t *s, const char *a, const char *b, size_t blen)
{
    copy_text(s->last_error, sizeof s->last_error, a, cstrlen(a), b, blen);
    s->last_error_ms = s->now_ms;
}

static runnel_str_t slot_key(const runnel_sync_stream_t *st)
{
    runnel_str_t k = {st->key, st->key_len};
    return k;
}

/* ------------------------------------------------------------------ */
/* Cursor and lag                                                      */
/* ------------------------------------------------------------------ */

/* The one place a cursor changes: the last ID the upstream is known to
 * hold. `confirmed`: entries the upstream acknowledged with this move. */
static void cursor_set(runnel_sync_stream_t *st, runnel_id_t id, uint64_t confirmed)
{
    st->cursor = id;
    st->unsaved += confirmed;
}

/* Saves the cursor and counters in the store (a SYNC_CURSOR record) when
 * the save policy says so (sync.h): after cursor_save_entries confirmed
 * entries, or cursor_save_ms after the last save with any confirmed, or
 * when forced (the upstream's top moved it). A failed save (a ring full
 * under REFUSE: every append that opens a block is refused until a trim)
 * is counted and retried after cursor_save_ms; the engine still learns
 * the cursor (RAM only), so backlog protection stays exact meanwhile, and
 * a restart resumes from the older record (the upstream's top decides). */
static void cursor_persist(runnel_sync_t *s, runnel_sync_stream_t *st, bool force)
{
    bool moved = runnel_id_cmp(st->cursor, st->saved) != 0 || st->unsaved != 0;
    int err;

    if (!st->save_due && !moved)
        return;
    if (!st->save_due && !force && st->unsaved < s->cfg.cursor_save_entries &&
        s->now_ms - st->saved_ms < s->cfg.cursor_save_ms) {
        /* Not due: the engine still learns it (RAM only), so that what
         * the full ring drops is counted against the upstream's cursor. */
        if (runnel_id_cmp(st->cursor, st->noted) != 0 &&
            runnel_stream_cursor_note(s->r, slot_key(st), st->cursor) == 0)
            st->noted = st->cursor;
        return;
    }
    st->saved_ms = s->now_ms;
    err = runnel_stream_cursor_save(s->r, slot_key(st), st->cursor, st->forwarded, st->skipped);
    if (err != 0) {
        s->cursor_save_failures++;
        s->cursor_save_error = err < 0 ? err : RUNNEL_ERR_CORRUPT;
        if (runnel_id_cmp(st->cursor, st->noted) != 0 &&
            runnel_stream_cursor_note(s->r, slot_key(st), st->cursor) == 0)
            st->noted = st->cursor;
        return;
    }
    st->saved = st->noted = st->cursor;
    st->unsaved = 0;
    st->save_due = false;
    s->cursor_saves++;
}

/* Entries after the cursor, from the accounting (no reads). */
static uint64_t lag_of(runnel_sync_t *s, runnel_sync_stream_t *st, runnel_stream_info_t *info,
                       bool *exists)
{
    if (runnel_stream_info(s->r, slot_key(st), info) != 0) {
        *exists = false;
        return 0;
    }
    *exists = true;
    /* A stream deleted and created again counts from 0: no wrap. */
    uint64_t added = info->entries_added >= st->added_base ? info->entries_added - st->added_base
                                                           : info->entries_added;
    uint64_t have = st->lag_base + added;
    return have > st->consumed ? have - st->consumed : 0;
}

/* Counts the entries after `after` in a stream, reading only what it must:
 * nothing when after is at or past the last ID, the length when after is
 * before the first entry, else the IDs after it. */
static uint64_t count_after(runnel_sync_t *s, runnel_sync_stream_t *st,
                            const runnel_stream_info_t *info, runnel_id_t after)
{
    if (info->length == 0 || runnel_id_cmp(after, info->last_id) >= 0)
        return 0;
    if (runnel_id_cmp(after, info->first_id) < 0)
        return info->length;
    int n = runnel_xread(s->r, slot_key(st), after, -1, NULL, NULL);
    return n > 0 ? (uint64_t)n : 0;
}

/* Sets the lag accounting to "exactly n entries after the cursor now". */
static void lag_rebase(runnel_sync_stream_t *st, const runnel_stream_info_t *info, uint64_t n)
{
    st->lag_base = n;
    st->added_base = info->entries_added;
    st->consumed = 0;
}

/* ------------------------------------------------------------------ */
/* Slots: which local streams are forwarded                            */
/* ------------------------------------------------------------------ */

static int find_slot(runnel_sync_t *s, runnel_str_t key)
{
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++) {
        runnel_sync_stream_t *st = &s->cfg.streams[i];
        if (st->used && st->key_len == key.len && memcmp(st->key, key.p, key.len) == 0)
            return (int)i;
    }
    return -1;
}

static int scan_key(void *ctx, runnel_str_t key)
{
    runnel_sync_t *s = ctx;
    const char *m = s->cfg.match;
    size_t ml = cstrlen(m);
    if (ml != 0 && !runnel__glob_match(m, ml, key.p, key.len, false))
        return 0;
    if (find_slot(s, key) >= 0)
        return 0;
    if (key.len > RUNNEL_SYNC_KEY_MAX) {
        set_last_error(s, "key longer than RUNNEL_SYNC_KEY_MAX, not forwarded: ", key.p,
                       key.len > 40 ? 40 : key.len);
        return 0;
    }
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++) {
        runnel_sync_stream_t *st = &s->cfg.streams[i];
        if (st->used)
            continue;
        memset(st, 0, sizeof *st);
        st->used = true;
        memcpy(st->key, key.p, key.len);
        st->key_len = (uint16_t)key.len;
        runnel_stream_info_t info;
        runnel_stream_cursor_t mark;
        if (runnel_stream_info(s->r, key, &info) != 0)
            return 0;
        if (runnel_stream_cursor_get(s->r, key, &mark) == 0 && mark.tracked) {
            /* The store knows where we were: position and counters now,
             * before any connect (the upstream's top still decides). */
            st->cursor = st->sent = st->saved = st->noted = mark.cursor;
            st->forwarded = mark.forwarded;
            st->skipped = mark.skipped;
            st->dropped = mark.dropped;
            st->restored = true;
            lag_rebase(st, &info, mark.backlog);
        } else {
            /* Until the upstream says otherwise, everything is to be
             * sent; tracking starts now, so the backlog is protected. */
            lag_rebase(st, &info, info.length);
            st->save_due = true;
        }
        st->saved_ms = s->now_ms;   /* the next poll saves what is due */
        return 0;
    }
    set_last_error(s, "more matching streams than sync stream slots; not forwarded: ", key.p,
                   key.len > 40 ? 40 : key.len);
    return 0;
}

static void scan_keys(runnel_sync_t *s, bool force)
{
    if (!force && s->now_ms < s->next_scan_ms)
        return;
    s->next_scan_ms = s->now_ms + s->cfg.scan_interval_ms;
    s->scan_dbsize = runnel_dbsize(s->r);
    uint64_t next = 0;
    (void)runnel_scan(s->r, 0, 0, &next, scan_key, s);
}

/* ------------------------------------------------------------------ */
/* Pipeline                                                            */
/* ------------------------------------------------------------------ */

static size_t tx_room(runnel_sync_t *s)
{
    if (s->tx_off != 0) {
        memmove(s->cfg.tx_buf, s->cfg.tx_buf + s->tx_off, s->tx_len - s->tx_off);
        s->tx_len -= s->tx_off;
        s->tx_off = 0;
    }
    return s->cfg.tx_size - s->tx_len;
}

static runnel_sync_inflight_t *q_push(runnel_sync_t *s, uint8_t kind, uint16_t stream)
{
    uint32_t at = (s->q_head + s->q_count) % s->cfg.inflight_cap;
    runnel_sync_inflight_t *f = &s->cfg.inflight[at];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->stream = stream;
    f->queued_ms = s->now_ms;
    s->q_count++;
    return f;
}

static size_t put_dec(char *buf, uint64_t v)
{
    char tmp[24];
    size_t n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        buf[i++] = tmp[--n];
    return i;
}

/* $<len>\r\n<prefix><key>\r\n: the upstream key as one bulk string. */
static void put_upstream_key(runnel_sync_t *s, runnel_resp_writer_t *w,
                             const runnel_sync_stream_t *st)
{
    char hdr[32];
    size_t pl = cstrlen(s->cfg.key_prefix);
    size_t n = 0;
    hdr[n++] = '$';
    n += put_dec(hdr + n, (uint64_t)pl + st->key_len);
    hdr[n++] = '\r';
    hdr[n++] = '\n';
    runnel_resp_raw(w, hdr, n);
    if (pl != 0)
        runnel_resp_raw(w, s->cfg.key_prefix, pl);
    runnel_resp_raw(w, st->key, st->key_len);
    runnel_resp_raw(w, "\r\n", 2);
}

/* Starts a command in the free part of tx, leaving `reserve` bytes
 * free after it (the EXEC that closes an open batch); commit with
 * tx_commit. */
static void tx_begin_reserving(runnel_sync_t *s, runnel_resp_writer_t *w, size_t reserve)
{
    size_t room = tx_room(s);
    runnel_resp_writer_init(w, s->cfg.tx_buf + s->tx_len, room > reserve ? room - reserve : 0, 2);
}

static void tx_begin(runnel_sync_t *s, runnel_resp_writer_t *w)
{
    tx_begin_reserving(s, w, 0);
}

static bool tx_commit(runnel_sync_t *s, const runnel_resp_writer_t *w)
{
    if (w->overflow)
        return false;
    s->tx_len += w->len;
    return true;
}

static bool q_full(const runnel_sync_t *s)
{
    return s->q_count >= s->cfg.inflight_cap;
}

static runnel_sync_inflight_t *q_at(runnel_sync_t *s, uint32_t k)
{
    return &s->cfg.inflight[(s->q_head + k) % s->cfg.inflight_cap];
}

/* Takes the oldest in-flight record: its reply has been read. */
static runnel_sync_inflight_t q_pop(runnel_sync_t *s)
{
    runnel_sync_inflight_t f = s->cfg.inflight[s->q_head];
    s->q_head = (s->q_head + 1) % s->cfg.inflight_cap;
    s->q_count--;
    s->last_rx_ms = s->now_ms;
    s->rtt_ms = s->now_ms - f.queued_ms;
    return f;
}

/* ------------------------------------------------------------------ */
/* Link                                                                */
/* ------------------------------------------------------------------ */

static void reset_pipeline(runnel_sync_t *s)
{
    s->tx_off = s->tx_len = 0;
    s->rx_off = s->rx_len = 0;
    s->q_head = s->q_count = 0;
    s->inflight_bytes = 0;
    s->in_reply = false;
    s->reply_skip = 0;
    s->batch_plain = false;
    s->exec_array = false;
    s->batch_error[0] = '\0';
    runnel_resp_reader_init(&s->rd, NULL);
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++) {
        runnel_sync_stream_t *st = &s->cfg.streams[i];
        st->resumed = false;
        st->top_pending = false;
        st->inflight = 0;
        st->sent = st->cursor;
    }
}

/* The link is gone (or refused us): drop it, forget what was in flight
 * (the resume query at the next connect finds out what landed) and wait. */
static void link_fail(runnel_sync_t *s, const char *why, const char *detail, size_t dlen,
                      bool refused)
{
    if (s->cfg.net->close != NULL)
        s->cfg.net->close(s->cfg.net->ctx);
    s->link_up = false;
    reset_pipeline(s);
    set_last_error(s, why, detail, dlen);
    s->state = refused ? RUNNEL_SYNC_ERROR : RUNNEL_SYNC_BACKOFF;
    s->retry_at_ms = s->now_ms + backoff_wait(s, s->backoff_attempts);
    if (s->backoff_attempts < 32)
        s->backoff_attempts++;
}

static void link_fail_net(runnel_sync_t *s, const char *why)
{
    const char *d = s->cfg.net->strerror != NULL ? s->cfg.net->strerror(s->cfg.net->ctx) : NULL;
    link_fail(s, why, d, cstrlen(d), false);
}

static void link_up(runnel_sync_t *s)
{
    runnel_resp_writer_t w;
    s->link_up = true;
    s->link_up_ms = s->now_ms;
    s->last_rx_ms = s->now_ms;
    reset_pipeline(s);
    size_t pwl = cstrlen(s->cfg.password), ul = cstrlen(s->cfg.user);
    if (pwl != 0) {
        tx_begin(s, &w);
        runnel_resp_array(&w, ul != 0 ? 3 : 2);
        runnel_resp_bulk(&w, "AUTH", 4);
        if (ul != 0)
            runnel_resp_bulk(&w, s->cfg.user, ul);
        runnel_resp_bulk(&w, s->cfg.password, pwl);
        if (!tx_commit(s, &w)) {
            link_fail(s, "AUTH does not fit the transmit buffer", NULL, 0, true);
            return;
        }
        (void)q_push(s, KIND_AUTH, 0);
    }
    if (s->cfg.upstream_db != 0) {
        char db[24];
        size_t n = put_dec(db, s->cfg.upstream_db);
        tx_begin(s, &w);
        runnel_resp_array(&w, 2);
        runnel_resp_bulk(&w, "SELECT", 6);
        runnel_resp_bulk(&w, db, n);
        (void)tx_commit(s, &w);
        (void)q_push(s, KIND_SELECT, 0);
    }
    s->state = s->q_count != 0 ? RUNNEL_SYNC_AUTHENTICATING : RUNNEL_SYNC_SYNCING;
    s->next_scan_ms = s->now_ms;
}

static void try_connect(runnel_sync_t *s)
{
    int rc = s->cfg.net->connect(s->cfg.net->ctx, s->cfg.host, s->cfg.port);
    if (rc == RUNNEL_ERR_AGAIN) {
        if (s->now_ms - s->connect_started_ms >= s->cfg.reply_timeout_ms) {
            link_fail(s, "connect timed out", NULL, 0, false);
        }
        return;
    }
    if (rc < 0) {
        link_fail_net(s, "connect failed: ");
        return;
    }
    link_up(s);
}

static void start_connect(runnel_sync_t *s)
{
    if (s->connects != 0)
        s->reconnects++;
    s->connects++;
    s->state = RUNNEL_SYNC_CONNECTING;
    s->connect_started_ms = s->now_ms;
    try_connect(s);
}

/* ------------------------------------------------------------------ */
/* Stream errors and deliveries                                        */
/* ------------------------------------------------------------------ */

static void stream_error(runnel_sync_t *s, runnel_sync_stream_t *st, const char *text,
                         size_t tlen, bool has_id, runnel_id_t id)
{
    /* The first error stops the stream and schedules a retry; a failed
     * retry (its resume query refused) schedules the next, further off.
     * Later XADDs of the same pipeline failing alike change nothing. */
    bool first = !st->stopped;
    if (first || !has_id) {
        st->retry_at_ms = s->now_ms + backoff_wait(s, st->error_attempts);
        if (st->error_attempts < 32)
            st->error_attempts++;
    }
    if (first)
        st->failed_id = has_id ? id : RUNNEL_ID_MAX;
    st->stopped = true;
    st->resumed = false;
    copy_text(st->error, sizeof st->error, NULL, 0, text, tlen);
    st->error_ms = s->now_ms;
    char head[RUNNEL_SYNC_KEY_MAX + 16];
    copy_text(head, sizeof head, "stream ", 7, st->key, st->key_len);
    size_t hl = strlen(head);
    if (hl + 2 < sizeof head) {
        head[hl++] = ':';
        head[hl++] = ' ';
        head[hl] = '\0';
    }
    set_last_error(s, head, text, tlen);
}

static void delivered(runnel_sync_t *s, runnel_sync_stream_t *st, const runnel_sync_inflight_t *f,
                      bool duplicate)
{
    if (duplicate)
        st->duplicates++;
    else {
        st->forwarded++;
        st->forwarded_bytes += f->payload;
    }
    st->consumed++;
    if (runnel_id_cmp(f->id, st->cursor) > 0)
        cursor_set(st, f->id, 1);
    else
        st->unsaved++;   /* counters moved */
    if (st->stopped) {
        /* Accepted after an earlier entry of the same stream was refused:
         * the upstream now misses that entry. Said, never hidden. */
        if (runnel_id_cmp(f->id, st->failed_id) > 0)
            st->gaps++;
    } else {
        st->error[0] = '\0';
        st->error_attempts = 0;
    }
    s->backoff_attempts = 0;
}

/* Entries the accounting expected after the cursor but that are not there
 * any more vanished before they could be sent: full-ring drops (the
 * engine counts those per stream) and, for the rest, XDEL and trims. */
static uint64_t engine_drops(runnel_sync_t *s, const runnel_sync_stream_t *st)
{
    runnel_stream_cursor_t mark;
    if (runnel_stream_cursor_get(s->r, slot_key(st), &mark) == 0 && mark.tracked &&
        mark.dropped > st->dropped)
        return mark.dropped;
    return st->dropped;
}

static void account_vanished(runnel_sync_t *s, runnel_sync_stream_t *st, uint64_t residual)
{
    uint64_t drops = engine_drops(s, st);
    uint64_t new_drops = drops > st->dropped ? drops - st->dropped : 0;
    uint64_t skips = residual > new_drops ? residual - new_drops : 0;
    st->dropped = drops;
    st->skipped += skips;
    st->unsaved += skips;   /* counters the next save carries */
}

/* The upstream's last ID for a slot arrived: continue after it. */
static void resume(runnel_sync_t *s, runnel_sync_stream_t *st, runnel_id_t top)
{
    runnel_stream_info_t info;
    bool exists;
    uint64_t expected = lag_of(s, st, &info, &exists);
    if (exists) {
        uint64_t actual = count_after(s, st, &info, st->cursor), before = actual;
        account_vanished(s, st, expected > actual ? expected - actual : 0);
        if (runnel_id_cmp(top, st->cursor) != 0)
            actual = count_after(s, st, &info, top);
        /* Restored from the store, the upstream already holds entries
         * past the saved cursor: the run before the restart forwarded
         * them after its last save (or its last commit), so they count. */
        if (st->restored && !st->resumed_once && runnel_id_cmp(top, st->cursor) > 0 &&
            before > actual) {
            st->forwarded += before - actual;
            st->unsaved += before - actual;
        }
        lag_rebase(st, &info, actual);
    }
    st->resumed_once = true;
    cursor_set(st, top, 0);
    cursor_persist(s, st, true);
    st->sent = top;
    st->resumed = true;
    st->stopped = false;
    st->caught_up = false;
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

/* An XADD's outcome (its own reply, or its element of EXEC's array):
 * the ID (delivered), "equal or smaller" (already there: a duplicate
 * acknowledged) or any other error (the stream stops at this entry). */
static void settle_xadd(runnel_sync_t *s, bool error, const char *txt, size_t tl)
{
    runnel_sync_inflight_t f = q_pop(s);
    runnel_sync_stream_t *st = &s->cfg.streams[f.stream];
    st->inflight--;
    s->inflight_bytes -= f.bytes;
    if (!error)
        delivered(s, st, &f, false);
    else if (contains(txt, tl, DUP_TEXT))
        delivered(s, st, &f, true);
    else
        stream_error(s, st, txt, tl, true, f.id);
}

/* EXEC answered with an error (EXECABORT after a refused XADD, OOM for
 * EXEC itself) or nil: nothing of the batch ran. The stream stops at its
 * first entry and shows what refused it: the queuing error if there was
 * one (the OOM or NOPERM text, more telling than EXECABORT). */
static void refuse_batch(runnel_sync_t *s, uint16_t slot, const char *txt, size_t tl)
{
    runnel_sync_stream_t *st = &s->cfg.streams[slot];
    runnel_id_t first = RUNNEL_ID_MAX;
    bool have = false;
    while (s->reply_skip > 0) {
        runnel_sync_inflight_t f = q_pop(s);
        s->reply_skip--;
        st->inflight--;
        s->inflight_bytes -= f.bytes;
        if (!have)
            first = f.id;
        have = true;
    }
    if (s->batch_error[0] != '\0') {
        txt = s->batch_error;
        tl = strlen(txt);
    }
    stream_error(s, st, txt, tl, have, first);
}

/* A complete reply to a command outside EXEC's array. */
static void reply_done(runnel_sync_t *s)
{
    const char *txt = s->reply_text;
    size_t tl = strlen(txt);
    if (s->reply_kind == KIND_XADD && !s->batch_plain) {
        /* QUEUED, or refused while queuing: EXEC decides. */
        if (s->reply_error && s->batch_error[0] == '\0')
            copy_text(s->batch_error, sizeof s->batch_error, NULL, 0, txt, tl);
        s->reply_skip++;
        return;
    }
    if (s->reply_kind == KIND_XADD) {
        settle_xadd(s, s->reply_error, txt, tl);
        return;
    }
    if (s->reply_kind == KIND_EXEC && !s->batch_plain && !s->exec_array) {
        /* Not an array: nothing of the batch is known to have run (the
         * resume query finds out if something did). */
        if (!s->reply_error) {
            txt = s->reply_is_null ? "EXEC answered nil: transaction not run"
                                   : "EXEC answered neither an array nor an error";
            tl = strlen(txt);
        }
        refuse_batch(s, q_at(s, s->reply_skip)->stream, txt, tl);
    }
    runnel_sync_inflight_t f = q_pop(s);
    runnel_sync_stream_t *st = &s->cfg.streams[f.stream];
    switch (f.kind) {
    case KIND_AUTH:
    case KIND_SELECT:
        if (s->reply_error) {
            link_fail(s, f.kind == KIND_AUTH ? "upstream refused AUTH: " : "upstream refused SELECT: ",
                      txt, tl, true);
            return;
        }
        if (s->q_count == 0)
            s->state = RUNNEL_SYNC_SYNCING;
        break;
    case KIND_TOP:
        st->top_pending = false;
        if (s->reply_error)
            stream_error(s, st, txt, tl, false, RUNNEL_ID_MIN);
        else
            resume(s, st, s->reply_have_id ? s->reply_id : RUNNEL_ID_MIN);
        break;
    case KIND_MULTI:
        /* Refused (an ACL without MULTI, say): the XADDs after it run as
         * plain commands and are settled one by one (a refused one stops
         * the stream, a later accepted one counts as a gap); at EXEC the
         * stream stops with the reason, so the next batch tries again. */
        s->batch_plain = s->reply_error;
        s->batch_error[0] = '\0';
        if (s->reply_error)
            copy_text(s->batch_error, sizeof s->batch_error, "upstream refused MULTI: ", 24, txt,
                      tl);
        break;
    case KIND_EXEC:
        if (s->batch_plain)   /* its reply is "EXEC without MULTI" */
            stream_error(s, st, s->batch_error, strlen(s->batch_error), false, RUNNEL_ID_MIN);
        s->batch_plain = false;
        s->exec_array = false;
        break;
    default:
        break;
    }
}

/* One item of a reply; false = the link failed. */
static bool reply_item(runnel_sync_t *s, const runnel_resp_item_t *it)
{
    if (!s->in_reply) {
        if (s->reply_skip >= s->q_count) {
            link_fail(s, "upstream sent a reply nothing asked for", NULL, 0, false);
            return false;
        }
        s->in_reply = true;
        s->reply_kind = q_at(s, s->reply_skip)->kind;
        s->reply_error = it->type == RUNNEL_RESP_ERROR || it->type == RUNNEL_RESP_BLOBERR;
        s->reply_is_null = it->is_null;
        s->reply_have_id = false;
        s->reply_text[0] = '\0';
        if (s->reply_error)
            copy_text(s->reply_text, sizeof s->reply_text, NULL, 0, it->str.p, it->str.len);
        if (s->reply_kind == KIND_EXEC && !s->batch_plain && it->type == RUNNEL_RESP_ARRAY &&
            !it->is_null) {
            /* One element per queued XADD, in order; anything else means
             * we no longer know what ran: drop the link, the resume query
             * finds out. */
            if (it->integer != (int64_t)s->reply_skip) {
                link_fail(s, "EXEC answered a different number of replies than queued", NULL, 0,
                          false);
                return false;
            }
            s->exec_array = true;
        }
    } else if (s->exec_array && it->depth == 1 && it->type != RUNNEL_RESP_ATTR) {
        bool err = it->type == RUNNEL_RESP_ERROR || it->type == RUNNEL_RESP_BLOBERR;
        if (!err && (it->type != RUNNEL_RESP_BULK || it->is_null)) {
            link_fail(s, "EXEC answered an XADD with something other than an ID or error", NULL, 0,
                      false);
            return false;
        }
        s->reply_skip--;
        settle_xadd(s, err, it->str.p, err ? it->str.len : 0);
    }
    /* XREVRANGE reply: *1 -> *2 -> $id: the first bulk at depth 2. */
    if (!s->reply_have_id && it->depth == 2 && it->type == RUNNEL_RESP_BULK && !it->is_null &&
        s->reply_kind == KIND_TOP) {
        if (runnel_id_parse(it->str.p, it->str.len, RUNNEL_ID_STRICT, &s->reply_id, NULL) != 0) {
            link_fail(s, "upstream sent an unparsable stream ID", NULL, 0, false);
            return false;
        }
        s->reply_have_id = true;
    }
    if (it->ends_value) {
        s->in_reply = false;
        reply_done(s);
        if (!s->link_up)
            return false;
    }
    return true;
}

/* Reads what arrived and settles complete replies. false = link failed. */
static bool read_replies(runnel_sync_t *s, bool *progress)
{
    for (;;) {
        if (s->rx_off == s->rx_len)
            s->rx_off = s->rx_len = 0;
        if (s->rx_len == s->cfg.rx_size && s->rx_off != 0) {
            memmove(s->cfg.rx_buf, s->cfg.rx_buf + s->rx_off, s->rx_len - s->rx_off);
            s->rx_len -= s->rx_off;
            s->rx_off = 0;
        }
        if (s->rx_len == s->cfg.rx_size) {
            link_fail(s, "an upstream reply is larger than the receive buffer", NULL, 0, false);
            return false;
        }
        int n = s->cfg.net->recv(s->cfg.net->ctx, s->cfg.rx_buf + s->rx_len,
                                 s->cfg.rx_size - s->rx_len);
        if (n == RUNNEL_ERR_AGAIN)
            return true;
        if (n <= 0) {
            link_fail_net(s, "link lost: ");
            return false;
        }
        if ((size_t)n > s->cfg.rx_size - s->rx_len) {
            link_fail(s, "net port recv returned more than asked", NULL, 0, false);
            return false;
        }
        s->rx_len += (size_t)n;
        *progress = true;
        s->last_rx_ms = s->now_ms;
        while (s->rx_off < s->rx_len) {
            runnel_resp_item_t it;
            int rc = runnel_resp_next(&s->rd, s->cfg.rx_buf + s->rx_off, s->rx_len - s->rx_off, &it);
            if (rc == RUNNEL_ERR_AGAIN)
                break;
            if (rc < 0) {
                link_fail(s, "protocol error in an upstream reply", NULL, 0, false);
                return false;
            }
            s->rx_off += (size_t)rc;
            if (!reply_item(s, &it))
                return false;
        }
    }
}

/* Sends what the link takes. false = link failed. */
static bool send_pending(runnel_sync_t *s, bool *progress)
{
    while (s->tx_off < s->tx_len) {
        int n = s->cfg.net->send(s->cfg.net->ctx, s->cfg.tx_buf + s->tx_off, s->tx_len - s->tx_off);
        if (n == RUNNEL_ERR_AGAIN)
            return true;
        if (n <= 0 || (size_t)n > s->tx_len - s->tx_off) {
            link_fail_net(s, "link lost: ");
            return false;
        }
        s->tx_off += (size_t)n;
        s->bytes_sent += (uint64_t)n;
        *progress = true;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Filling the pipeline                                                */
/* ------------------------------------------------------------------ */

static const char MULTI_CMD[] = "*1\r\n$5\r\nMULTI\r\n";
static const char EXEC_CMD[] = "*1\r\n$4\r\nEXEC\r\n";
#define EXEC_LEN (sizeof EXEC_CMD - 1)

typedef struct fill_ctx {
    runnel_sync_t *s;
    uint16_t slot;
    size_t empty_len; /* tx_len when tx holds only this batch's MULTI */
    uint32_t added;  /* XADDs in this batch */
    bool full;       /* stopped for want of room */
    bool too_big;    /* one entry does not fit an empty buffer */
    bool gated;      /* stopped at the last committed entry */
    runnel_id_t limit;
} fill_ctx_t;

static int fill_entry(void *ctx, const runnel_entry_t *e)
{
    fill_ctx_t *fc = ctx;
    runnel_sync_t *s = fc->s;
    runnel_sync_stream_t *st = &s->cfg.streams[fc->slot];
    if (runnel_id_cmp(e->id, fc->limit) > 0) {
        fc->gated = true;   /* not committed locally yet: later */
        return RUNNEL_ERR_AGAIN;
    }
    /* One in-flight slot and EXEC's bytes stay free to close the batch. */
    if (s->q_count + 1 >= s->cfg.inflight_cap || s->inflight_bytes >= s->cfg.max_inflight_bytes) {
        fc->full = true;
        return RUNNEL_ERR_AGAIN;
    }
    runnel_resp_writer_t w;
    tx_begin_reserving(s, &w, EXEC_LEN);
    bool empty = s->tx_len == fc->empty_len;
    runnel_resp_array(&w, 3 + 2 * (size_t)e->nfields);
    runnel_resp_bulk(&w, "XADD", 4);
    put_upstream_key(s, &w, st);
    runnel_resp_bulk_id(&w, e->id);
    uint32_t payload = 0;
    for (uint32_t i = 0; i < 2 * e->nfields; i++) {
        runnel_resp_bulk_value(&w, e, i);
        payload += (uint32_t)e->fv[i].len;
    }
    if (!tx_commit(s, &w)) {
        fc->full = true;
        fc->too_big = empty;
        return RUNNEL_ERR_AGAIN;
    }
    runnel_sync_inflight_t *f = q_push(s, KIND_XADD, fc->slot);
    f->id = e->id;
    f->bytes = (uint32_t)w.len;
    f->payload = payload;
    st->sent = e->id;
    st->inflight++;
    fc->added++;
    s->inflight_bytes += w.len;
    return 0;
}

/* Opens a stream's batch: MULTI, if tx and the queue have room for it,
 * one XADD and EXEC. */
static bool batch_open(runnel_sync_t *s, fill_ctx_t *fc)
{
    if (s->q_count + 3 > s->cfg.inflight_cap || tx_room(s) < sizeof MULTI_CMD + EXEC_LEN + 64)
        return false;
    bool was_empty = s->tx_len == 0;
    memcpy(s->cfg.tx_buf + s->tx_len, MULTI_CMD, sizeof MULTI_CMD - 1);
    s->tx_len += sizeof MULTI_CMD - 1;
    fc->empty_len = was_empty ? s->tx_len : (size_t)-1;
    (void)q_push(s, KIND_MULTI, fc->slot);
    return true;
}

/* Closes it with EXEC (its room was kept free), or takes the MULTI back
 * when no entry went in (nothing was sent since it was written). */
static void batch_close(runnel_sync_t *s, const fill_ctx_t *fc)
{
    if (fc->added == 0) {
        s->tx_len -= sizeof MULTI_CMD - 1;
        s->q_count--;
        return;
    }
    memcpy(s->cfg.tx_buf + s->tx_len, EXEC_CMD, EXEC_LEN);
    s->tx_len += EXEC_LEN;
    (void)q_push(s, KIND_EXEC, fc->slot);
}

/* A caught-up stream: the accounting must say 0 now; what it says beyond
 * is entries that vanished before they were read (full-ring drops counted
 * apart, the rest XDEL / trims: skipped). */
static void settle_caught_up(runnel_sync_t *s, runnel_sync_stream_t *st)
{
    runnel_stream_info_t info;
    bool exists;
    uint64_t residual = lag_of(s, st, &info, &exists);
    if (!exists)
        return;
    account_vanished(s, st, residual);
    lag_rebase(st, &info, 0);
}

static void queue_tops(runnel_sync_t *s)
{
    for (uint32_t i = 0; i < s->cfg.streams_cap && !q_full(s); i++) {
        runnel_sync_stream_t *st = &s->cfg.streams[i];
        if (!st->used || st->resumed || st->top_pending)
            continue;
        /* A stopped stream is retried from the upstream's top; it stays
         * stopped (and shown so) until that query succeeds. */
        if (st->stopped && (s->now_ms < st->retry_at_ms || st->inflight != 0))
            continue;
        runnel_resp_writer_t w;
        tx_begin(s, &w);
        runnel_resp_array(&w, 6);
        runnel_resp_bulk(&w, "XREVRANGE", 9);
        put_upstream_key(s, &w, st);
        runnel_resp_bulk(&w, "+", 1);
        runnel_resp_bulk(&w, "-", 1);
        runnel_resp_bulk(&w, "COUNT", 5);
        runnel_resp_bulk(&w, "1", 1);
        if (!tx_commit(s, &w))
            return;
        (void)q_push(s, KIND_TOP, (uint16_t)i);
        st->top_pending = true;
    }
}

static void fill(runnel_sync_t *s)
{
    uint32_t cap = s->cfg.streams_cap;
    for (uint32_t k = 0; k < cap; k++) {
        uint32_t i = (s->rr + k) % cap;
        runnel_sync_stream_t *st = &s->cfg.streams[i];
        /* One batch in flight per stream: the next is sent once EXEC
         * said this one landed (see the top of this file). */
        if (!st->used || !st->resumed || st->stopped || st->top_pending || st->inflight != 0)
            continue;
        if (s->q_count + 3 > s->cfg.inflight_cap ||
            s->inflight_bytes >= s->cfg.max_inflight_bytes)
            break;
        uint32_t room = s->cfg.inflight_cap - s->q_count - 2;
        int64_t count = room < s->cfg.batch_entries ? room : s->cfg.batch_entries;
        fill_ctx_t fc = {s, (uint16_t)i, 0, 0, false, false, false,
                         s->cfg.forward_committed_only ? st->committed : RUNNEL_ID_MAX};
        if (runnel_id_cmp(st->sent, fc.limit) >= 0) {
            st->caught_up = false;   /* what is left is not committed yet */
            continue;
        }
        if (!batch_open(s, &fc))
            break;
        int rc = runnel_xread(s->r, slot_key(st), st->sent, count, fill_entry, &fc);
        batch_close(s, &fc);
        if (fc.too_big) {
            stream_error(s, st, "entry larger than the transmit buffer", 37, true,
                         st->sent);
            continue;
        }
        if (fc.gated)
            continue;
        if (rc < 0 && !fc.full) {
            /* The local store could not be read (IO, CORRUPT): said, and
             * retried like an upstream refusal; nothing is skipped. */
            const char *why = runnel_strerror(rc);
            char msg[RUNNEL_SYNC_ERR_MAX];
            copy_text(msg, sizeof msg, "local read failed: ", 19, why, cstrlen(why));
            stream_error(s, st, msg, strlen(msg), true, st->sent);
            continue;
        }
        if (rc == 0 && !fc.full) {
            st->caught_up = true;
            if (st->inflight == 0)
                settle_caught_up(s, st);
        } else {
            st->caught_up = false;
        }
        if (fc.full)
            break;
    }
    s->rr = cap != 0 ? (s->rr + 1) % cap : 0;
}

/* ------------------------------------------------------------------ */
/* Poll                                                                */
/* ------------------------------------------------------------------ */

static void check_timeout(runnel_sync_t *s)
{
    if (s->q_count == 0)
        return;
    uint64_t since = s->cfg.inflight[s->q_head].queued_ms;
    if (s->last_rx_ms > since)
        since = s->last_rx_ms;
    if (s->now_ms - since >= s->cfg.reply_timeout_ms)
        link_fail(s, "no reply from the upstream in time (half-open link?)", NULL, 0, false);
}

static void pump(runnel_sync_t *s)
{
    s->more = false;
    for (int round = 0; round < POLL_ROUNDS && s->link_up; round++) {
        bool progress = false;
        if (s->state == RUNNEL_SYNC_SYNCING) {
            queue_tops(s);
            size_t before = s->tx_len - s->tx_off;
            fill(s);
            if (s->tx_len - s->tx_off != before)
                progress = true;
        }
        if (!send_pending(s, &progress))
            return;
        if (!read_replies(s, &progress))
            return;
        if (!progress)
            break;
        if (round == POLL_ROUNDS - 1)
            s->more = true;
    }
    if (s->link_up)
        check_timeout(s);
    else
        s->more = false;
}

void runnel_sync_committed(runnel_sync_t *s)
{
    if (s == NULL || s->r == NULL || s->cfg.net == NULL)
        return;
    uint32_t saved_db = runnel_current_db(s->r);
    if (runnel_select(s->r, s->cfg.local_db) != 0)
        return;
    /* A stream created since the last scan gets its slot now, so that
     * what it committed is covered by this mark (an idle store may not
     * commit again for a long time). */
    if (runnel_dbsize(s->r) != s->scan_dbsize)
        scan_keys(s, true);
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++) {
        runnel_sync_stream_t *st = &s->cfg.streams[i];
        runnel_stream_info_t info;
        if (st->used && runnel_stream_info(s->r, slot_key(st), &info) == 0)
            st->committed = info.last_id;
    }
    (void)runnel_select(s->r, saved_db);
}

bool runnel_sync_more(const runnel_sync_t *s)
{
    return s != NULL && s->more && s->link_up;
}

int runnel_sync_poll(runnel_sync_t *s, uint64_t now_ms)
{
    if (s == NULL || s->r == NULL || s->cfg.net == NULL)
        return RUNNEL_ERR_INVAL;
    if (now_ms < s->now_ms)
        now_ms = s->now_ms;   /* a clock stepping back does not rewind timers */
    s->now_ms = now_ms;
    if (s->rng == 0)
        s->rng = (uint32_t)(now_ms ^ (now_ms >> 32)) | 1u;
    uint32_t saved_db = runnel_current_db(s->r);
    if (runnel_select(s->r, s->cfg.local_db) != 0)
        return RUNNEL_ERR_INVAL;
    scan_keys(s, false);
    switch (s->state) {
    case RUNNEL_SYNC_IDLE:
        start_connect(s);
        break;
    case RUNNEL_SYNC_BACKOFF:
    case RUNNEL_SYNC_ERROR:
        if (now_ms >= s->retry_at_ms)
            start_connect(s);
        break;
    case RUNNEL_SYNC_CONNECTING:
        try_connect(s);
        break;
    default:
        break;
    }
    if (s->link_up)
        pump(s);
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++)
        if (s->cfg.streams[i].used)
            cursor_persist(s, &s->cfg.streams[i], false);
    (void)runnel_select(s->r, saved_db);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Set-up and reports                                                  */
/* ------------------------------------------------------------------ */

int runnel_sync_init(runnel_sync_t *s, runnel_t *r, const runnel_sync_config_t *cfg)
{
    if (s == NULL || r == NULL || cfg == NULL || cfg->net == NULL || cfg->net->connect == NULL ||
        cfg->net->send == NULL || cfg->net->recv == NULL || cfg->host == NULL ||
        cfg->host[0] == '\0' || cfg->port == 0 || cfg->tx_buf == NULL || cfg->tx_size < 4096 ||
        cfg->rx_buf == NULL || cfg->rx_size < 1024 || cfg->streams == NULL ||
        cfg->streams_cap == 0 || cfg->streams_cap > 65535 || cfg->inflight == NULL ||
        cfg->inflight_cap < 3)
        return RUNNEL_ERR_INVAL;
    memset(s, 0, sizeof *s);
    s->r = r;
    s->cfg = *cfg;
    if (s->cfg.batch_entries == 0)
        s->cfg.batch_entries = 1000;
    if (s->cfg.max_inflight_bytes == 0)
        s->cfg.max_inflight_bytes = 1u << 20;
    if (s->cfg.backoff_min_ms == 0)
        s->cfg.backoff_min_ms = 100;
    if (s->cfg.backoff_max_ms == 0)
        s->cfg.backoff_max_ms = 30000;
    if (s->cfg.backoff_max_ms < s->cfg.backoff_min_ms)
        s->cfg.backoff_max_ms = s->cfg.backoff_min_ms;
    if (s->cfg.reply_timeout_ms == 0)
        s->cfg.reply_timeout_ms = 5000;
    if (s->cfg.scan_interval_ms == 0)
        s->cfg.scan_interval_ms = 1000;
    if (s->cfg.cursor_save_entries == 0)
        s->cfg.cursor_save_entries = 1000;
    if (s->cfg.cursor_save_ms == 0)
        s->cfg.cursor_save_ms = 1000;
    s->rng = cfg->seed;
    memset(s->cfg.streams, 0, sizeof *s->cfg.streams * s->cfg.streams_cap);
    runnel_resp_reader_init(&s->rd, NULL);
    s->state = RUNNEL_SYNC_IDLE;
    return 0;
}

void runnel_sync_stop(runnel_sync_t *s)
{
    if (s == NULL || s->cfg.net == NULL)
        return;
    if (s->cfg.net->close != NULL)
        s->cfg.net->close(s->cfg.net->ctx);
    s->link_up = false;
    reset_pipeline(s);
    s->state = RUNNEL_SYNC_IDLE;
    s->cfg.net = NULL;   /* poll answers INVAL until init again */
}

const char *runnel_sync_state_name(runnel_sync_state_t st)
{
    switch (st) {
    case RUNNEL_SYNC_IDLE: return "idle";
    case RUNNEL_SYNC_CONNECTING: return "connecting";
    case RUNNEL_SYNC_AUTHENTICATING: return "authenticating";
    case RUNNEL_SYNC_SYNCING: return "syncing";
    case RUNNEL_SYNC_BACKOFF: return "backoff";
    case RUNNEL_SYNC_ERROR: return "error";
    }
    return "unknown";
}

int runnel_sync_stream_stats(runnel_sync_t *s, uint32_t i, runnel_sync_stream_stats_t *out)
{
    if (s == NULL || out == NULL || s->r == NULL || i >= s->cfg.streams_cap ||
        !s->cfg.streams[i].used)
        return RUNNEL_ERR_INVAL;
    runnel_sync_stream_t *st = &s->cfg.streams[i];
    runnel_stream_info_t info;
    bool exists;
    uint32_t saved_db = runnel_current_db(s->r);
    (void)runnel_select(s->r, s->cfg.local_db);
    memset(out, 0, sizeof *out);
    out->key = slot_key(st);
    out->stopped = st->stopped;
    out->cursor = st->cursor;
    out->lag_entries = lag_of(s, st, &info, &exists);
    out->forwarded = st->forwarded;
    out->forwarded_bytes = st->forwarded_bytes;
    out->duplicates = st->duplicates;
    out->skipped = st->skipped;
    out->dropped = engine_drops(s, st);
    out->saved_cursor = st->saved;
    out->restored = st->restored;
    out->gaps = st->gaps;
    out->error = st->error;
    out->error_ms = st->error_ms;
    (void)runnel_select(s->r, saved_db);
    return 0;
}

void runnel_sync_stats(runnel_sync_t *s, runnel_sync_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->last_error = "";
    if (s == NULL || s->r == NULL)
        return;
    out->state = s->state;
    uint64_t fwd_entries = 0;
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++) {
        runnel_sync_stream_stats_t ss;
        if (runnel_sync_stream_stats(s, i, &ss) != 0)
            continue;
        out->streams++;
        if (ss.stopped)
            out->streams_stopped++;
        out->lag_entries += ss.lag_entries;
        out->forwarded += ss.forwarded;
        out->forwarded_bytes += ss.forwarded_bytes;
        out->duplicates += ss.duplicates;
        out->skipped += ss.skipped;
        out->dropped += ss.dropped;
        out->gaps += ss.gaps;
        fwd_entries += ss.forwarded;
    }
    /* Bytes: the lag in entries times the mean payload forwarded so far. */
    if (fwd_entries != 0)
        out->lag_bytes = out->lag_entries * (out->forwarded_bytes / fwd_entries);
    out->inflight_entries = 0;
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++)
        out->inflight_entries += s->cfg.streams[i].inflight;
    out->inflight_bytes = s->inflight_bytes;
    out->connects = s->connects;
    out->reconnects = s->reconnects;
    out->bytes_sent = s->bytes_sent;
    out->cursor_saves = s->cursor_saves;
    out->cursor_save_failures = s->cursor_save_failures;
    out->cursor_save_error = s->cursor_save_error;
    out->rtt_ms = s->rtt_ms;
    out->last_error = s->last_error;
    out->last_error_ms = s->last_error_ms;
}

int runnel_sync_cursor(const runnel_sync_t *s, runnel_str_t key, runnel_id_t *out)
{
    if (s == NULL || out == NULL)
        return RUNNEL_ERR_INVAL;
    for (uint32_t i = 0; i < s->cfg.streams_cap; i++) {
        const runnel_sync_stream_t *st = &s->cfg.streams[i];
        if (st->used && st->key_len == key.len && memcmp(st->key, key.p, key.len) == 0) {
            *out = st->cursor;
            return 0;
        }
    }
    return RUNNEL_ERR_INVAL;
}
