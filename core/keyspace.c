/*
 * keyspace.c - what a Redis-compatible server needs around streams: EXISTS,
 * DEL, RENAME, DBSIZE, SCAN, FLUSHDB, FLUSHALL, in numbered databases.
 *
 * Deleting a stream frees its groups (group half, reached through the
 * stream_gone hook: this file never calls it), its nodes and its slot;
 * the entries stay in the log as garbage until their block is reclaimed.
 * Each change is journalled before RAM changes, so a full ring under the
 * REFUSE policy leaves everything as it was.
 *
 * SCAN's cursor is a stream-table slot number: slots never move, so every
 * key present for the whole scan is returned, as Redis guarantees.
 */
#include <string.h>

#include "store.h"

/* RAM side of deleting a stream; the caller journalled it. The event goes
 * out while the name is still readable. */
void runnel__stream_forget(runnel_t *r, uint32_t sidx)
{
    runnel__notify(r, sidx, RUNNEL_EV_DELETED);
    runnel__stream_gone(r, sidx);        /* its groups (internal.h hooks) */
    runnel__stream_nodes_clear(r, sidx);
    runnel__stream_free(r, sidx);
}

/* Deletes stream sidx: groups, nodes, slot; journal + event. */
static int delete_stream(runnel_t *r, uint32_t sidx, bool journal)
{
    if (journal) {
        uint8_t b[RUNNEL_VARINT_MAX];
        size_t n = runnel__varint_put(b, sidx);
        struct runnel__doom d = {true, -1, 0, sidx, true, 0};
        int err = runnel__append_dooming(r, &d, RUNNEL_REC_STREAM_DELETE, b, n);
        if (err < 0)
            return err;
    }
    runnel__stream_forget(r, sidx);
    return 0;
}

int runnel_exists(runnel_t *r, runnel_str_t key)
{
    uint32_t sidx;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    rc = runnel__lookup(r, key, &sidx) == 0 ? 1 : 0;
    runnel__unlock(r);
    return rc;
}

int runnel_del(runnel_t *r, runnel_str_t key)
{
    uint32_t sidx;
    int err = 0;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) == 0) {
        err = delete_stream(r, sidx, true);
        if (err == 0)
            err = runnel__after_mutation(r);
        if (err == 0)
            err = 1;
    }
    runnel__unlock(r);
    return err;
}

static int rename_locked(runnel_t *r, runnel_str_t from, runnel_str_t to)
{
    uint32_t sidx, tidx;
    size_t n = 0;
    int err;

    if (runnel__lookup(r, from, &sidx) < 0)
        return RUNNEL_ERR_NO_SUCH_KEY;
    if (to.len > r->cfg.name_max)
        return RUNNEL_ERR_NAME_TOO_LONG;
    if (to.p == NULL && to.len != 0)
        return RUNNEL_ERR_INVAL;
    if (runnel__lookup(r, to, &tidx) == 0) {
        if (tidx == sidx)
            return 0;                    /* RENAME k k: OK, nothing happens */
        err = delete_stream(r, tidx, true);
        if (err < 0)
            return err;
    }
    /* Record 0x17: slot | new name (the rest) */
    n += runnel__varint_put(r->scratch, sidx);
    if (to.len != 0)
        memcpy(r->scratch + n, to.p, to.len);
    n += to.len;
    err = runnel__append(r, RUNNEL_REC_RENAME, r->scratch, n, NULL);
    if (err < 0)
        return err;
    runnel__notify(r, sidx, RUNNEL_EV_DELETED);
    err = runnel__stream_set_name(r, sidx, to);
    if (err < 0)
        return err;
    runnel__notify(r, sidx, RUNNEL_EV_CREATED);
    return runnel__after_mutation(r);
}

int runnel_rename(runnel_t *r, runnel_str_t from, runnel_str_t to)
{
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = rename_locked(r, from, to);
    runnel__unlock(r);
    return err;
}

uint64_t runnel_dbsize(runnel_t *r)
{
    uint64_t n = 0;
    uint32_t i;

    if (r == NULL)
        return 0;
    runnel__lock(r);
    for (i = 0; i < r->streams_cap; i++)
        if (r->streams[i].used && r->streams[i].db == r->db)
            n++;
    runnel__unlock(r);
    return n;
}

int runnel_scan(runnel_t *r, uint64_t cursor, uint64_t count, uint64_t *next,
                runnel_key_fn fn, void *ctx)
{
    uint64_t seen = 0, i;
    int rc = 0;

    if (r == NULL || next == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    *next = 0;
    for (i = cursor; i < r->streams_cap; i++) {
        const struct runnel__stream *s = &r->streams[i];
        runnel_str_t key;

        if (!s->used || s->db != r->db)
            continue;
        if (count != 0 && seen == count) {
            *next = i;
            break;
        }
        key.p = (const char *)runnel__stream_name(r, (uint32_t)i);
        key.len = s->name_len;
        seen++;
        if (fn != NULL) {
            rc = fn(ctx, key);
            if (rc < 0)
                break;
        }
    }
    runnel__unlock(r);
    return rc < 0 ? rc : 0;
}

/* Record 0x18: flags (bit 0: all databases) | db varint */
static int flush_locked(runnel_t *r, bool all)
{
    uint8_t b[1 + RUNNEL_VARINT_MAX];
    size_t n = 0;
    uint32_t i;
    int err;

    b[n++] = all ? 1u : 0u;
    n += runnel__varint_put(b + n, r->db);
    {
        struct runnel__doom d = {true, all ? 1 : 0, r->db, RUNNEL__NONE, false, 0};
        err = runnel__append_dooming(r, &d, RUNNEL_REC_FLUSH, b, n);
    }
    if (err < 0)
        return err;
    for (i = 0; i < r->streams_cap; i++)
        if (r->streams[i].used && (all || r->streams[i].db == r->db))
            runnel__stream_forget(r, i);
    return runnel__after_mutation(r);
}

int runnel_flushdb(runnel_t *r)
{
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = flush_locked(r, false);
    runnel__unlock(r);
    return err;
}

int runnel_flushall(runnel_t *r)
{
    int err;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    runnel__lock(r);
    err = flush_locked(r, true);
    runnel__unlock(r);
    return err;
}
