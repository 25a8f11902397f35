/*
 * stream_replay.c - mount: the stream half's records applied again.
 *
 * Each record of types 0x10..0x1C (FORMAT.md, "Entry records") is the
 * journal of one change the stream half made; replaying it runs the same
 * RAM change again, without journalling and without key-space events
 * (r->replaying). Records arrive in log order, after the checkpoint mount
 * loaded (checkpoint.c), so the state each one expects is there: a record
 * that does not fit it (a slot that is not bound, a body that does not
 * parse) is CORRUPT - its CRC was good, so the store is inconsistent, and
 * mount stops rather than guess.
 *
 * The apply steps live with the commands that wrote the records (XADD in
 * stream_add.c, XDEL in stream_del.c, TRIM in trim.c, key space in
 * keyspace.c); this file decodes the bodies and dispatches.
 */
#include <string.h>

#include "store.h"

/* The slot a record names, which must hold a stream. */
static int rd_slot(runnel_t *r, runnel__reader_t *b, uint32_t *sidx)
{
    uint64_t slot = runnel__rd_varint(b);

    if (b->bad || slot >= r->streams_cap || !r->streams[slot].used)
        return RUNNEL_ERR_CORRUPT;
    *sidx = (uint32_t)slot;
    return 0;
}

static int replay_create(runnel_t *r, runnel__reader_t *b)
{
    uint64_t slot = runnel__rd_varint(b), db = runnel__rd_varint(b);
    runnel_str_t name;

    if (b->bad || slot >= r->streams_cap || db >= r->cfg.databases)
        return RUNNEL_ERR_CORRUPT;
    name = runnel__rd_rest(b);
    return runnel__stream_bind(r, (uint32_t)slot, (uint32_t)db, name);
}

static int replay_xdel(runnel_t *r, runnel__reader_t *b)
{
    uint32_t sidx;
    bool any = false;
    int err = rd_slot(r, b, &sidx);

    while (err == 0 && b->off < b->len) {
        runnel_id_t id = runnel__rd_id(b);
        int d;

        if (b->bad)
            return RUNNEL_ERR_CORRUPT;
        d = runnel__xdel_one(r, sidx, id);
        if (d < 0)
            return d;
        any = any || d > 0;
    }
    if (err == 0 && any) {
        err = runnel__refresh_first_id(r, sidx);
        if (err == 0)
            err = runnel__refresh_last_valid(r, sidx);
    }
    return err;
}

static int replay_trim(runnel_t *r, runnel__reader_t *b)
{
    uint32_t sidx;
    uint8_t flags;
    uint64_t nodes, deleted;
    runnel_id_t cut;
    int err = rd_slot(r, b, &sidx);

    if (err < 0)
        return err;
    flags = runnel__rd_u8(b);
    nodes = runnel__rd_varint(b);
    cut = runnel__rd_id(b);
    if (b->bad || b->off != b->len || nodes > UINT32_MAX)
        return RUNNEL_ERR_CORRUPT;
    return runnel__trim_apply(r, sidx, (flags & 1u) != 0, (uint32_t)nodes, cut, &deleted);
}

static int replay_xsetid(runnel_t *r, runnel__reader_t *b)
{
    struct runnel__stream *s;
    uint32_t sidx;
    uint8_t flags;
    runnel_id_t last, maxdel = RUNNEL_ID_MIN;
    uint64_t added = 0;
    int err = rd_slot(r, b, &sidx);

    if (err < 0)
        return err;
    flags = runnel__rd_u8(b);
    last = runnel__rd_id(b);
    if (flags & 1u)
        added = runnel__rd_varint(b);
    if (flags & 2u)
        maxdel = runnel__rd_id(b);
    if (b->bad || b->off != b->len)
        return RUNNEL_ERR_CORRUPT;
    s = &r->streams[sidx];
    /* XSETID journals only what its checks let through (stream_del.c):
     * a record that breaks them was never written by it, and applying it
     * would leave entries above the last ID, which the next XADD would
     * then repeat. */
    if ((flags & 2u) && runnel_id_cmp(last, maxdel) < 0)
        return RUNNEL_ERR_CORRUPT;
    if (s->length > 0) {
        runnel_id_t last_valid;
        err = runnel__last_valid_id(r, sidx, &last_valid);
        if (err < 0)
            return err;
        if (runnel_id_cmp(last, last_valid) < 0 || ((flags & 1u) && added < s->length))
            return RUNNEL_ERR_CORRUPT;
    }
    s->last_id = last;
    if (flags & 1u)
        s->entries_added = added;
    if ((flags & 2u) && (maxdel.ms != 0 || maxdel.seq != 0))
        s->max_deleted = maxdel;
    return 0;
}

static int replay_rename(runnel_t *r, runnel__reader_t *b)
{
    uint32_t sidx, other;
    runnel_str_t name;
    int err = rd_slot(r, b, &sidx);

    if (err < 0)
        return err;
    name = runnel__rd_rest(b);
    if (runnel__find(r, r->streams[sidx].db, name, &other) == 0 && other != sidx)
        return RUNNEL_ERR_CORRUPT;      /* the target was deleted just before */
    return runnel__stream_set_name(r, sidx, name);
}

static int replay_flush(runnel_t *r, runnel__reader_t *b)
{
    uint8_t flags = runnel__rd_u8(b);
    uint64_t db = runnel__rd_varint(b);
    uint32_t i;

    if (b->bad || b->off != b->len)
        return RUNNEL_ERR_CORRUPT;
    for (i = 0; i < r->streams_cap; i++)
        if (r->streams[i].used && ((flags & 1u) || r->streams[i].db == db))
            runnel__stream_forget(r, i);
    return 0;
}

int runnel__stream_replay(runnel_t *r, const runnel__rec_t *rec, const uint8_t *body)
{
    runnel__reader_t b;
    uint32_t sidx;
    int err;

    runnel__reader_init(&b, body, rec->len);
    switch (rec->type) {
    case RUNNEL_REC_ENTRY_NODE_START:
    case RUNNEL_REC_ENTRY:
    case RUNNEL_REC_ENTRY_SAME_FIELDS:
    case RUNNEL_REC_ENTRY_SEQ0:
    case RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0:
        return runnel__replay_entry(r, rec, body);
    case RUNNEL_REC_RELOC_MASTER:
    case RUNNEL_REC_ENTRY | RUNNEL_REC_RELOC_ENTRY_BIT:
    case RUNNEL_REC_ENTRY_SAME_FIELDS | RUNNEL_REC_RELOC_ENTRY_BIT:
    case RUNNEL_REC_ENTRY_SEQ0 | RUNNEL_REC_RELOC_ENTRY_BIT:
    case RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0 | RUNNEL_REC_RELOC_ENTRY_BIT:
        return 1;       /* a copy: RELOC_DONE moves its node, if it came */
    case RUNNEL_REC_RELOC_DONE:
        err = runnel__relocate_replay(r, rec, body);
        return err < 0 ? err : 1;
    case RUNNEL_REC_STREAM_CREATE:
        return replay_create(r, &b);
    case RUNNEL_REC_STREAM_DELETE:
        err = rd_slot(r, &b, &sidx);
        if (err == 0 && b.off != b.len)
            err = RUNNEL_ERR_CORRUPT;
        if (err == 0)
            runnel__stream_forget(r, sidx);
        return err;
    case RUNNEL_REC_XDEL:
        return replay_xdel(r, &b);
    case RUNNEL_REC_TRIM:
        return replay_trim(r, &b);
    case RUNNEL_REC_XSETID:
        return replay_xsetid(r, &b);
    case RUNNEL_REC_RENAME:
        return replay_rename(r, &b);
    case RUNNEL_REC_FLUSH:
        return replay_flush(r, &b);
    default:
        return RUNNEL_ERR_CORRUPT;
    }
}
