/*
 * cmd_reply_range.c - streamed replies: a range read's reply that is not
 * held whole.
 *
 * XRANGE, XREVRANGE, XREAD and XREADGROUP ">" write their entries into the
 * client's reply as usual until the reply reaches RUNNEL_REPLY_INLINE_MAX
 * bytes. Past that, if the host takes ranges (ops->reply_range), the rest
 * of the read becomes a runnel_reply_range_t: the stream, the next ID, the
 * last ID and how many entries are left. The host sends the bytes written
 * so far and then asks runnel_cmd_range_fill for the entries, a buffer at a
 * time, as the client's socket drains. A reply of any size then costs the
 * host one buffer, not a copy of the data. An entry larger than that
 * buffer (a partial entry: larger than a store block) is itself sent in
 * parts, a fill resuming inside it (runnel_reply_range_t.entry_off), so
 * not even one entry is held whole.
 *
 * The element count comes first in RESP, so it must be known before the
 * entries are sent: XRANGE and XREAD stop their read at the switch and
 * count the rest with an ID-only walk (runnel_xrange_count: no payload is
 * read); XREADGROUP lets the engine deliver every entry (the PEL gets all
 * of them at command time, as in Redis: a client that disconnects half-way
 * leaves them pending, as Redis's would) and only counts past the switch.
 *
 * Why the range yields exactly the reply Redis would have given at command
 * time (Redis replies atomically; we reply later, from the log):
 *   - entries cannot appear inside the range: a new entry's ID is above the
 *     stream's last ID, which is at least every live entry's ID, so above
 *     the range's last entry (XSETID cannot go below the top live entry);
 *   - payloads never change: a stream entry is immutable;
 *   - entries can disappear (XDEL, XTRIM, XADD MAXLEN/MINID, DEL, FLUSHALL,
 *     RENAME, XSETID): before any command that may remove entries
 *     (runnel_cmd_may_remove_entries) the host writes every range in flight
 *     out whole, which is what Redis holds anyway;
 *   - a drop-oldest ring may drop entries on any append, with no command
 *     to announce it. Each range keeps the count of entries its stream
 *     has lost (entries-added minus length); a fill that finds it changed
 *     writes nothing and fails, and the host closes that connection
 *     (logged): the reply is cut, never wrong - what was sent is a prefix
 *     of the right bytes. A walk that ends before the range did (the key
 *     is gone) fails the same way.
 * Positions are IDs, not log addresses, so relocation and reclaim moving
 * records underneath change nothing.
 *
 * Inside EXEC every reply is written whole (its replies interleave with
 * later commands' effects), as are replies to blocked clients and
 * XREADGROUP history reads (the consumer's PEL, not a stream range).
 */
#include <string.h>

#include "cmd_stream.h"
#include "util.h"

void runnel__ranged_begin(runnel__ranged_t *rg, runnel_cmd_t *cmd, runnel_str_t key,
                          runnel_id_t lo, runnel_id_t hi, int64_t count, bool reverse,
                          bool stop)
{
    const runnel_server_ops_t *ops = cmd->srv->ops;

    memset(rg, 0, sizeof *rg);
    rg->cmd = cmd;
    rg->key = key;
    rg->enabled = ops != NULL && ops->reply_range != NULL && !cmd->in_exec;
    rg->stop = stop;
    rg->reverse = reverse;
    rg->lo = lo;
    rg->hi = hi;
    rg->count = count;
}

int runnel__ranged_entry(void *ctx, const runnel_entry_t *e)
{
    runnel__ranged_t *rg = ctx;
    runnel_resp_writer_t *w = rg->cmd->w;

    if (rg->ranging) {
        rg->n_rest++;
        rg->last = e->id;
        return 0;
    }
    if (rg->enabled && !e->deleted) {
        size_t size = runnel_resp_entry_size(w->proto, e);
        size_t used = w->len >= rg->cmd->reply_start ? w->len - rg->cmd->reply_start : 0;
        if (size > RUNNEL_REPLY_INLINE_MAX || used > RUNNEL_REPLY_INLINE_MAX - size) {
            rg->ranging = true;
            rg->next = e->id;
            if (rg->stop)
                return RUNNEL__RANGED_STOP;
            rg->n_rest = 1;
            rg->last = e->id;
            return 0;
        }
    }
    runnel_resp_entry(w, e);
    rg->n_inline++;
    return 0;
}

int runnel__ranged_end(runnel__ranged_t *rg, int read_rc, uint64_t *total)
{
    *total = 0;
    if (read_rc < 0 && !(read_rc == RUNNEL__RANGED_STOP && rg->ranging))
        return read_rc;
    if (rg->ranging && rg->stop) {
        /* The read stopped at `next`: count the rest, IDs only. */
        int64_t left = rg->count > 0 ? rg->count - (int64_t)rg->n_inline : -1;
        runnel_id_t from = rg->reverse ? rg->lo : rg->next;
        runnel_id_t to = rg->reverse ? rg->next : rg->hi;
        int rc = runnel_xrange_count(rg->cmd->r, rg->key, from, to, left, rg->reverse,
                                     &rg->n_rest, &rg->last);
        if (rc < 0)
            return rc;
        if (rg->n_rest == 0)
            rg->ranging = false;   /* cannot happen: `next` was just read */
    }
    *total = rg->n_inline + rg->n_rest;
    return 0;
}

/* How many entries the stream has lost in its life (XDEL, trims, drops):
 * entries-added only grows and length falls with each removal. */
static int stream_removed(runnel_t *r, runnel_str_t key, uint64_t *removed)
{
    runnel_stream_info_t info;
    int rc = runnel_stream_info(r, key, &info);

    if (rc < 0)
        return rc;
    *removed = info.entries_added - info.length;
    return 0;
}

int runnel__ranged_commit(runnel__ranged_t *rg)
{
    runnel_cmd_t *cmd = rg->cmd;
    runnel_reply_range_t rr;
    int rc;

    if (!rg->ranging || rg->n_rest == 0)
        return 0;
    memset(&rr, 0, sizeof rr);
    rr.db = cmd->client->db;
    rr.key = rg->key;
    rr.next = rg->next;
    rr.bound = rg->last;
    rr.left = rg->n_rest;
    rr.reverse = rg->reverse;
    rr.proto = cmd->w->proto;
    if (stream_removed(cmd->r, rg->key, &rr.removed) == 0 &&
        cmd->srv->ops->reply_range(cmd->srv->ops->ctx, cmd->client, &rr) == 0)
        return 0;
    /* The host could not take it (out of memory): the entries go into the
     * reply itself, as without streaming. */
    if (rg->reverse)
        rc = runnel_xrange(cmd->r, rg->key, rg->last, rg->next, (int64_t)rg->n_rest, true,
                           runnel__write_entry, cmd->w);
    else
        rc = runnel_xrange(cmd->r, rg->key, rg->next, rg->last, (int64_t)rg->n_rest, false,
                           runnel__write_entry, cmd->w);
    return rc < 0 ? rc : 0;
}

void runnel__ranged_moved(runnel_cmd_t *cmd, size_t from, size_t removed)
{
    const runnel_server_ops_t *ops = cmd->srv->ops;

    if (ops != NULL && ops->reply_range_moved != NULL && !cmd->in_exec)
        ops->reply_range_moved(ops->ctx, cmd->client, from, removed);
}

/* ------------------------------------------------------------------ */
/* Filling                                                             */
/* ------------------------------------------------------------------ */

struct fill_ctx {
    runnel_reply_range_t *rr;
    runnel_resp_writer_t w;
    size_t need;          /* the first entry did not fit: its size */
    bool full;
};

/* The IDs next to id; the range's bound lies beyond it, so neither wraps. */
static runnel_id_t id_after(runnel_id_t id)
{
    if (id.seq == UINT64_MAX) {
        id.ms++;
        id.seq = 0;
    } else {
        id.seq++;
    }
    return id;
}

static runnel_id_t id_before(runnel_id_t id)
{
    if (id.seq == 0) {
        id.ms--;
        id.seq = UINT64_MAX;
    } else {
        id.seq--;
    }
    return id;
}

/* An entry larger than a block, sent in parts: as much of it as the
 * buffer holds from where the last fill stopped. 1 when it is done. */
static int fill_part(struct fill_ctx *fc, const runnel_entry_t *e, size_t size)
{
    runnel_reply_range_t *rr = fc->rr;
    int64_t n = runnel_resp_entry_part(rr->proto, e, rr->entry_off, fc->w.buf + fc->w.len,
                                       fc->w.cap - fc->w.len);

    if (n < 0)
        return (int)n;
    fc->w.len += (size_t)n;
    rr->entry_off += (uint64_t)n;
    if (rr->entry_off < size) {
        fc->full = true;
        return 0;
    }
    rr->entry_off = 0;
    return 1;
}

static int fill_cb(void *ctx, const runnel_entry_t *e)
{
    struct fill_ctx *fc = ctx;
    runnel_reply_range_t *rr = fc->rr;
    size_t size = runnel_resp_entry_size(rr->proto, e);

    if (e->partial && size != SIZE_MAX &&
        (rr->entry_off > 0 || (size > fc->w.cap - fc->w.len && fc->w.len == 0))) {
        /* never held whole: streamed into the buffer as the client drains */
        int rc = fill_part(fc, e, size);
        if (rc <= 0)
            return rc < 0 ? rc : RUNNEL__RANGED_STOP;
        rr->left--;
        if (runnel_id_cmp(e->id, rr->bound) == 0)
            return RUNNEL__RANGED_STOP;
        rr->next = rr->reverse ? id_before(e->id) : id_after(e->id);
        if (fc->w.len < fc->w.cap)
            return 0;
        fc->full = true;
        return RUNNEL__RANGED_STOP;
    }
    if (size > fc->w.cap - fc->w.len) {
        fc->full = true;
        if (fc->w.len == 0)
            fc->need = size;
        return RUNNEL__RANGED_STOP;
    }
    runnel_resp_entry(&fc->w, e);
    rr->left--;
    if (runnel_id_cmp(e->id, rr->bound) == 0)
        return RUNNEL__RANGED_STOP;   /* the last one: the walk is done */
    rr->next = rr->reverse ? id_before(e->id) : id_after(e->id);
    return 0;
}

int runnel_cmd_range_fill(runnel_server_t *s, runnel_reply_range_t *rr, uint8_t *buf,
                          size_t cap, size_t *len, size_t *need)
{
    struct fill_ctx fc;
    uint32_t db;
    int rc;

    *len = 0;
    *need = 0;
    if (rr->left == 0)
        return 0;
    memset(&fc, 0, sizeof fc);
    fc.rr = rr;
    runnel_resp_writer_init(&fc.w, buf, cap, rr->proto);
    /* The range's database, then back to the one the store had. */
    db = runnel_current_db(s->store);
    (void)runnel_select(s->store, rr->db);
    /* Entries removed since the range was made (a drop-oldest ring drops
     * with no command to announce it): the walk could hand out a later
     * entry in the place of a gone one, so nothing is written. */
    uint64_t removed = 0;
    rc = stream_removed(s->store, rr->key, &removed);
    if (rc == 0 && removed != rr->removed)
        rc = RUNNEL_ERR_NO_SUCH_KEY;
    if (rc < 0) {
        (void)runnel_select(s->store, db);
        return RUNNEL_ERR_NO_SUCH_KEY;
    }
    if (rr->reverse)
        rc = runnel_xrange(s->store, rr->key, rr->bound, rr->next, (int64_t)rr->left, true,
                           fill_cb, &fc);
    else
        rc = runnel_xrange(s->store, rr->key, rr->next, rr->bound, (int64_t)rr->left, false,
                           fill_cb, &fc);
    (void)runnel_select(s->store, db);
    *len = fc.w.len;
    if (rc < 0 && rc != RUNNEL__RANGED_STOP)
        return rc;
    if (fc.need != 0) {
        *need = fc.need;
        return 0;
    }
    /* The walk ended (bound, count or the stream's end) before the range
     * did: entries it announced are gone. */
    if (!fc.full && rr->left != 0)
        return RUNNEL_ERR_NO_SUCH_KEY;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Which commands may remove entries                                   */
/* ------------------------------------------------------------------ */

/* Writes that never remove a stream entry. XADD counts only without
 * MAXLEN/MINID (any argument spelled so: a field name too, which only
 * costs writing ranges out early). */
static bool write_keeps_entries(const runnel_cmd_def_t *d, int argc, const runnel_str_t *argv)
{
    static const char *const keep[] = {"xreadgroup", "xack", "xclaim", "xautoclaim", "xgroup"};

    if (strcmp(d->name, "xadd") == 0) {
        for (int i = 2; i < argc; i++)
            if (runnel__arg_is(argv[i], "MAXLEN") || runnel__arg_is(argv[i], "MINID"))
                return false;
        return true;
    }
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (strcmp(d->name, keep[i]) == 0)
            return true;
    return false;
}

static bool one_may_remove(int argc, const runnel_str_t *argv)
{
    size_t idx;
    const runnel_cmd_def_t *d;

    if (argc <= 0)
        return false;
    d = runnel__cmd_lookup(argv[0], &idx);
    if (d == NULL)
        return false;   /* unknown: an error reply, nothing runs */
    if (d->flags & RUNNEL_CMDF_PROTECTED)
        return true;    /* DEBUG: anything */
    if (!(d->flags & RUNNEL_CMDF_WRITE))
        return false;
    return !write_keeps_entries(d, argc, argv);
}

bool runnel_cmd_may_remove_entries(const runnel_client_t *c, int argc, const runnel_str_t *argv)
{
    if (argc <= 0 || c == NULL)
        return false;
    if (runnel__arg_is(argv[0], "EXEC")) {
        /* The queue as cmd.c lays it out: from the first 8-aligned byte,
         * records of [u32 argc][u32 record bytes][argv slots][bytes]. */
        uintptr_t base = (uintptr_t)c->multi_buf;
        const uint8_t *q;
        size_t at = 0;

        if (!c->in_multi || c->multi_buf == NULL)
            return false;
        q = c->multi_buf + ((8u - (base & 7u)) & 7u);
        for (uint32_t i = 0; i < c->multi_count && at + 8 <= c->multi_len; i++) {
            const uint8_t *rec = q + at;
            int qargc = (int)runnel__get_le32(rec);
            size_t size = runnel__get_le32(rec + 4);
            if (one_may_remove(qargc, (const runnel_str_t *)(const void *)(rec + 8)))
                return true;
            if (size == 0)
                break;
            at += size;
        }
        return false;
    }
    if (c->in_multi)
        return false;   /* queued, not run */
    return one_may_remove(argc, argv);
}
