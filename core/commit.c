/*
 * commit.c - the commit path: the services every engine module above the
 * log uses to change the store, and the public calls that drive commits.
 *
 * It owns:
 *   - runnel__append: one record into the log's write page, no commit
 *     (runnel__append_span: one larger than a block, log_span.c);
 *   - the commit policy (ALWAYS / INTERVAL / NONE, like Redis's
 *     appendfsync): runnel__after_mutation after each change, runnel_poll
 *     for the interval trigger, runnel_commit on request, and the
 *     bookkeeping in struct runnel (last_commit_ms, bytes_at_commit);
 *   - runnel__journal (append + policy) for records of the group half;
 *   - the port's clock and lock as every public call takes them.
 *
 * Layer: it sits between the log (core/log.c) and the stream half. It calls
 * only the log and the port, never a stream or group function, so both
 * halves can call it without a dependency circle (tools/check-layers.sh).
 * Key-space events need the stream's name, so runnel__notify lives with the
 * stream table (core/stream_table.c), not here.
 */
#include "store.h"

uint64_t runnel__now(runnel_t *r)
{
    return r->cfg.clock->now_ms(r->cfg.clock->ctx);
}

/* Every API call takes the lock once (calls made under it nest): the
 * outermost lock starts a call, which has journalled nothing yet. */
void runnel__lock(runnel_t *r)
{
    if (r->cfg.lock != NULL && r->cfg.lock->lock != NULL)
        r->cfg.lock->lock(r->cfg.lock->ctx);
    if (r->lock_depth++ == 0)
        r->journalled = false;
}

void runnel__unlock(runnel_t *r)
{
    if (r->lock_depth > 0)
        r->lock_depth--;
    if (r->cfg.lock != NULL && r->cfg.lock->unlock != NULL)
        r->cfg.lock->unlock(r->cfg.lock->ctx);
}

void runnel__commit_mark(runnel_t *r)
{
    r->last_commit_ms = runnel__now(r);
    r->bytes_at_commit = r->stats.bytes_appended;
}

/* What goes into the log ahead of an append: a checkpoint, then relocated
 * nodes. Relocation stops where the blocks to reclaim need a newer
 * checkpoint first (a moved node that a journalled change read since the
 * last one keeps its old block pinned), and a checkpoint takes reserve
 * blocks that the block switch then reclaims: so the two take turns until
 * neither writes (three turns at most: after a checkpoint no node is
 * pinned, so the relocation after it pins nothing a fourth would need). */
static void before_append(runnel_t *r, size_t len, const void **body)
{
    int turn;

    if (r->in_checkpoint || r->replaying || r->relocating)
        return;
    for (turn = 0; turn < 3; turn++) {
        runnel_pos_t head = r->log.head;

        if (r->hooks.before_append != NULL && !r->creating)
            r->hooks.before_append(r, len, body);
        if (r->hooks.relocate == NULL)
            return;
        r->hooks.relocate(r, len, body);
        if (r->log.head == head)
            return;
    }
}

void runnel__prepare_append(runnel_t *r, size_t len)
{
    before_append(r, len, NULL);
}

int runnel__append_cancel(runnel_t *r)
{
    runnel__iov_t iov;
    runnel_pos_t ignored;
    uint8_t b[RUNNEL_VARINT_MAX];
    int err;

    if (r->cancel_slot == RUNNEL__NONE || r->replaying)
        return 0;
    /* Mount dropped a stream whose creation the power cut in half
     * (mount.c); say so in the log before anything else, so that a later
     * mount does not bring it back. */
    iov.p = b;
    iov.len = runnel__varint_put(b, r->cancel_slot);
    err = runnel__log_append(&r->log, RUNNEL_REC_STREAM_DELETE, &iov, 1, &ignored);
    if (err < 0)
        return err;
    r->cancel_slot = RUNNEL__NONE;
    return 0;
}

/* runnel__append, and runnel__append_at when `at` is not RUNNEL__NO_POS. */
static int append_planned(runnel_t *r, uint8_t type, const void *body, size_t len,
                          runnel_pos_t at, runnel_pos_t *pos)
{
    runnel__iov_t iov;
    runnel_pos_t ignored;
    int err;

    if (len > runnel__log_max_body(&r->log))
        return RUNNEL_ERR_ENTRY_TOO_LARGE;
    err = runnel__append_cancel(r);
    if (err < 0)
        return err;
    /* Relocated nodes and a checkpoint may go first; they build their
     * records in the buffers the body may sit in, so the hooks move the
     * body aside when they write. */
    before_append(r, len, &body);
    if (at != RUNNEL__NO_POS && runnel__log_place(&r->log, (uint32_t)len) != at)
        return RUNNEL_ERR_AGAIN;
    iov.p = body;
    iov.len = len;
    err = runnel__log_append(&r->log, type, &iov, 1, pos != NULL ? pos : &ignored);
    if (err == 0)
        r->journalled = true;
    return err;
}

int runnel__append(runnel_t *r, uint8_t type, const void *body, size_t len, runnel_pos_t *pos)
{
    return append_planned(r, type, body, len, RUNNEL__NO_POS, pos);
}

int runnel__append_at(runnel_t *r, uint8_t type, const void *body, size_t len, runnel_pos_t at,
                      runnel_pos_t *pos)
{
    return append_planned(r, type, body, len, at, pos);
}

int runnel__append_span(runnel_t *r, uint8_t type, uint64_t total, runnel__span_src_fn src,
                        void *ctx, runnel_pos_t *pos)
{
    runnel_pos_t ignored;
    int err;

    if (total > runnel__log_span_max(&r->log) || total > SIZE_MAX)
        return RUNNEL_ERR_ENTRY_TOO_LARGE;
    err = runnel__append_cancel(r);
    if (err < 0)
        return err;
    /* the source is the caller's memory or the log, never a buffer the
     * hooks write into */
    before_append(r, (size_t)total, NULL);
    err = runnel__log_append_span(&r->log, type, total, src, ctx, pos != NULL ? pos : &ignored);
    if (err == 0)
        r->journalled = true;
    return err;
}

static int commit_now(runnel_t *r)
{
    int err = 0;

    if (r->log.committed != r->log.head)
        err = runnel__log_commit(&r->log);
    if (err == 0)
        runnel__commit_mark(r);
    return err;
}

/* INTERVAL commits when either trigger fired. The clock may stand still or
 * go backwards (a device without RTC): a backwards step counts as elapsed
 * so a wrong clock can delay a commit by at most one interval. */
static bool interval_due(runnel_t *r)
{
    uint64_t now = runnel__now(r);

    if (now < r->last_commit_ms || now - r->last_commit_ms >= r->cfg.commit_interval_ms)
        return true;
    return r->cfg.commit_interval_bytes != 0 &&
           r->stats.bytes_appended - r->bytes_at_commit >= r->cfg.commit_interval_bytes;
}

int runnel__after_mutation(runnel_t *r)
{
    if (r->hooks.maintain != NULL)
        r->hooks.maintain(r);
    switch (r->cfg.commit_policy) {
    case RUNNEL_COMMIT_ALWAYS:
        return commit_now(r);
    case RUNNEL_COMMIT_INTERVAL:
        return interval_due(r) ? commit_now(r) : 0;
    default:
        return 0;
    }
}

void runnel__replay_debt(runnel_t *r, uint64_t bytes)
{
    if (r->hooks.maintain != NULL)  /* else nothing mounts this store */
        r->replay_debt += bytes;
}

int runnel__journal_at(runnel_t *r, uint8_t type, const void *body, size_t len,
                       runnel_pos_t *pos)
{
    int err = runnel__append(r, type, body, len, pos);
    if (err < 0)
        return err;
    return runnel__after_mutation(r);
}

int runnel__journal(runnel_t *r, uint8_t type, const void *body, size_t len)
{
    return runnel__journal_at(r, type, body, len, NULL);
}

int runnel_commit(runnel_t *r)
{
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = commit_now(r);
    runnel__unlock(r);
    return err;
}

/* For a host that answers clients (runneld): a reply may only leave once
 * the records behind it are safe from a crash of the process, which for a
 * file means "handed to the kernel", long before the policy's next sync.
 * So the write page is programmed (padded, as a commit does) but the device
 * is not synced and committed does not move: the policy (or runnel_commit)
 * still decides when the bytes become durable. */
int runnel_flush(runnel_t *r)
{
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = runnel__log_flush(&r->log);
    if (err == 0)
        err = r->log.committed != r->log.head;
    runnel__unlock(r);
    return err;
}

int runnel_poll(runnel_t *r)
{
    int err = 0;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    if (r->cfg.commit_policy == RUNNEL_COMMIT_INTERVAL && r->log.committed != r->log.head &&
        interval_due(r))
        err = commit_now(r);
    runnel__unlock(r);
    return err;
}
