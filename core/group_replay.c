/*
 * group_replay.c - the group half's records read back: mount replay of
 * types 0x20..0x29 (runnel__groups_replay) and the checkpoint that writes a
 * stream's whole group state as such records (runnel__groups_snapshot).
 *
 * Replay decodes what group_record.c encodes (FORMAT.md, "Group records")
 * and runs the same apply functions the commands run (group_read.c,
 * group_claim.c, the tables in group.c), so the state after replay is the
 * state before the cut. It assumes the stream records before it in the log
 * were applied first (the log is replayed in order). Nothing is journalled
 * while replaying (runnel_groups.replaying).
 *
 * This file is the group half's top: it calls the apply functions and the
 * encoder, and no other group file calls it.
 */
#include <string.h>

#include "group_impl.h"

/* ---- replay ---- */

typedef struct grp_reader {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} grp_reader_t;

static uint64_t rd_u64(grp_reader_t *rd)
{
    uint64_t v = 0;
    int n;
    if (rd->bad)
        return 0;
    n = runnel__varint_get(rd->p + rd->off, rd->len - rd->off, &v);
    if (n <= 0) {
        rd->bad = true;
        return 0;
    }
    rd->off += (size_t)n;
    return v;
}

static runnel_str_t rd_str(grp_reader_t *rd)
{
    runnel_str_t s;
    uint64_t n = rd_u64(rd);
    s.p = NULL;
    s.len = 0;
    if (rd->bad || n > rd->len - rd->off) {
        rd->bad = true;
        return s;
    }
    s.p = (const char *)rd->p + rd->off;
    s.len = (size_t)n;
    rd->off += (size_t)n;
    return s;
}

static runnel_id_t rd_id(grp_reader_t *rd)
{
    runnel_id_t id;
    id.ms = rd_u64(rd);
    id.seq = rd_u64(rd);
    return id;
}

/* One ID of a list, coded against *prev (group_idlist.c). */
static runnel_id_t rd_list_id(grp_reader_t *rd, runnel_id_t *prev)
{
    runnel_id_t id = RUNNEL_ID_MIN;
    int n;
    if (rd->bad)
        return id;
    n = grp_idlist_get(rd->p + rd->off, rd->len - rd->off, prev, &id);
    if (n < 0) {
        rd->bad = true;
        return id;
    }
    rd->off += (size_t)n;
    return id;
}

static bool rd_more(const grp_reader_t *rd)
{
    return !rd->bad && rd->off < rd->len;
}

/* Looks a key up in database db (not necessarily the SELECTed one). */
static int replay_lookup(runnel_t *r, uint64_t db, runnel_str_t key, uint32_t *sidx)
{
    if (db > UINT32_MAX)
        return RUNNEL_ERR_CORRUPT;
    return runnel__find(r, (uint32_t)db, key, sidx);
}

/* 0x27 CLAIM: the XCLAIM's arguments, then its IDs one by one (the split
 * a long ID list gets is equivalent, FORMAT.md). */
static int replay_claim(runnel_t *r, uint32_t sidx, uint32_t gslot, grp_reader_t *rd)
{
    grp_claim_params_t p;
    runnel_str_t consumer;
    runnel_id_t prev = RUNNEL_ID_MIN;
    uint64_t flags;
    int rc;

    memset(&p, 0, sizeof p);
    consumer = rd_str(rd);
    p.now = rd_u64(rd);
    p.min_idle = rd_u64(rd);
    p.delivery_time = rd_u64(rd);
    p.retrycount = (int64_t)rd_u64(rd) - 1;
    flags = rd_u64(rd);
    p.lastid = rd_id(rd);
    p.force = (flags & 1u) != 0;
    p.justid = (flags & 2u) != 0;
    p.has_lastid = (flags & 4u) != 0;
    if (rd->bad)
        return RUNNEL_ERR_CORRUPT;
    rc = grp_apply_claim(r, sidx, gslot, consumer, &p, NULL, 0, NULL, NULL);
    while (rc >= 0 && rd_more(rd)) {
        runnel_id_t id = rd_list_id(rd, &prev);
        if (!rd->bad)
            rc = grp_apply_claim(r, sidx, gslot, consumer, &p, &id, 1, NULL, NULL);
        r->replay_debt += DELIVERY_REPLAY_READ;
    }
    return rd->bad ? RUNNEL_ERR_CORRUPT : rc;
}

/* 0x28 NACK_STATE: one PEL entry as it was (a checkpoint's). */
static int replay_nack_state(struct runnel_groups *g, uint32_t gslot, grp_reader_t *rd)
{
    runnel_str_t consumer;
    runnel_id_t id;
    uint64_t time, dcount;
    uint32_t npos, nslot, cslot;

    consumer = rd_str(rd);
    id = rd_id(rd);
    time = rd_u64(rd);
    dcount = rd_u64(rd);
    if (rd->bad)
        return RUNNEL_ERR_CORRUPT;
    cslot = grp_consumer_find(g, gslot, consumer, NULL);
    if (cslot == RUNNEL__FREE)
        return RUNNEL_ERR_CORRUPT;
    nslot = grp_pel_find(g, gslot, id, &npos);
    if (nslot == RUNNEL__FREE)
        nslot = grp_pel_insert(g, npos, gslot, cslot, id, time, dcount);
    if (nslot == RUNNEL__FREE)
        return RUNNEL_ERR_POOL_PEL;
    grp_nack_move(g, nslot, cslot);
    g->nacks[nslot].delivery_time = time;
    g->nacks[nslot].delivery_count = dcount;
    return 0;
}

int runnel__groups_replay(runnel_t *r, uint8_t type, const uint8_t *body, size_t len)
{
    struct runnel_groups *g = grp_tables(r);
    grp_reader_t rd;
    runnel_str_t key, group, consumer;
    uint32_t sidx, gslot, gpos, cslot, cpos;
    uint64_t db;
    int rc = 0;

    rd.p = body;
    rd.len = len;
    rd.off = 0;
    rd.bad = false;
    db = rd_u64(&rd);
    key = rd_str(&rd);
    group = rd_str(&rd);
    if (rd.bad)
        return RUNNEL_ERR_CORRUPT;
    rc = replay_lookup(r, db, key, &sidx);
    if (rc < 0)
        return rc == RUNNEL_ERR_NO_SUCH_KEY ? RUNNEL_ERR_CORRUPT : rc;
    gslot = grp_find(g, sidx, group, &gpos);
    if (type != RUNNEL_REC_GROUP_CREATE && gslot == RUNNEL__FREE)
        return RUNNEL_ERR_CORRUPT;

    g->replaying = true;
    switch (type) {
    case RUNNEL_REC_GROUP_CREATE:
    case RUNNEL_REC_GROUP_SETID: {
        runnel_id_t id = rd_id(&rd);
        int64_t er = (int64_t)rd_u64(&rd) - 1;
        if (rd.bad) {
            rc = RUNNEL_ERR_CORRUPT;
        } else if (gslot == RUNNEL__FREE) {
            if (grp_add(g, gpos, sidx, group, id, er) == RUNNEL__FREE)
                rc = RUNNEL_ERR_POOL_GROUPS;
        } else {
            g->groups[gslot].last_id = id;
            g->groups[gslot].entries_read = er;
        }
        break;
    }
    case RUNNEL_REC_GROUP_DESTROY:
        grp_remove(g, gslot);
        break;
    case RUNNEL_REC_CONSUMER_CREATE: {
        uint64_t seen;
        consumer = rd_str(&rd);
        seen = rd_u64(&rd);
        if (rd.bad) {
            rc = RUNNEL_ERR_CORRUPT;
            break;
        }
        cslot = grp_consumer_find(g, gslot, consumer, &cpos);
        if (cslot == RUNNEL__FREE)
            cslot = grp_consumer_add(g, cpos, gslot, consumer, seen);
        if (cslot == RUNNEL__FREE)
            rc = RUNNEL_ERR_POOL_CONSUMERS;
        else
            g->consumers[cslot].seen_time = seen;
        break;
    }
    case RUNNEL_REC_CONSUMER_DELETE:
        consumer = rd_str(&rd);
        if (rd.bad) {
            rc = RUNNEL_ERR_CORRUPT;
            break;
        }
        cslot = grp_consumer_find(g, gslot, consumer, NULL);
        if (cslot != RUNNEL__FREE)
            grp_consumer_remove(g, cslot);
        break;
    case RUNNEL_REC_DELIVERY: {
        uint64_t flags, count, now;
        runnel_id_t after;
        consumer = rd_str(&rd);
        flags = rd_u64(&rd);
        after = rd_id(&rd);
        count = rd_u64(&rd);
        now = rd_u64(&rd);
        if (rd.bad || count > INT64_MAX || flags > 7u || flags == 4u || flags == 6u) {
            rc = RUNNEL_ERR_CORRUPT;
            break;
        }
        if (flags & 4u) {
            /* a listed ">" delivery: its IDs, without reading an entry */
            rc = grp_apply_listed(r, sidx, gslot, consumer, (flags & 2u) != 0, rd.p + rd.off,
                                  rd.len - rd.off, now, NULL, NULL);
            break;
        }
        rc = grp_apply_readgroup(r, sidx, gslot, consumer, (flags & 1u) != 0, after,
                                 count ? (int64_t)count : -1, (flags & 2u) != 0, now, NULL,
                                 NULL);
        /* the debt this record left stays until a checkpoint pays it */
        if (rc > 0)
            r->replay_debt += (uint64_t)rc * DELIVERY_REPLAY_READ;
        break;
    }
    case RUNNEL_REC_ACK: {
        runnel_id_t prev = RUNNEL_ID_MIN;
        uint64_t coding = rd_u64(&rd);
        uint32_t first = UINT32_MAX;
        if (coding > 1u)
            rd.bad = true;
        while (rc == 0 && rd_more(&rd)) {
            runnel_id_t id = rd_list_id(&rd, &prev);
            if (coding == 0u) {
                if (!rd.bad)
                    (void)grp_apply_ack(r, gslot, &id, 1);
            } else {
                uint64_t run = rd_u64(&rd);
                if (!rd.bad)
                    rc = grp_apply_ack_run(r, gslot, id, run, &first);
            }
        }
        if (first != UINT32_MAX)
            grp_pel_compact(g, first);
        if (rd.bad)
            rc = RUNNEL_ERR_CORRUPT;
        break;
    }
    case RUNNEL_REC_CLAIM:
        rc = replay_claim(r, sidx, gslot, &rd);
        break;
    case RUNNEL_REC_AUTOCLAIM: {
        uint64_t now, min_idle, count, justid;
        runnel_id_t start;
        consumer = rd_str(&rd);
        now = rd_u64(&rd);
        min_idle = rd_u64(&rd);
        start = rd_id(&rd);
        count = rd_u64(&rd);
        justid = rd_u64(&rd);
        if (rd.bad) {
            rc = RUNNEL_ERR_CORRUPT;
            break;
        }
        rc = grp_apply_autoclaim(r, sidx, gslot, consumer, now, min_idle, start, count,
                                 justid != 0, NULL, NULL, NULL, NULL, NULL);
        if (rc > 0)
            r->replay_debt += (uint64_t)rc * DELIVERY_REPLAY_READ;
        break;
    }
    case RUNNEL_REC_NACK_STATE:
        rc = replay_nack_state(g, gslot, &rd);
        break;
    default:
        rc = RUNNEL_ERR_CORRUPT;
        break;
    }
    g->replaying = false;
    return rc < 0 ? rc : 0;
}

/* ---- snapshot ---- */

/* Emits, per group of the stream in name order: GROUP_CREATE with its
 * position and entries_read, CONSUMER_CREATE per consumer with its
 * seen_time, and NACK_STATE per PEL entry. Replaying these onto a stream
 * with no groups rebuilds exactly the current state. */
int runnel__groups_snapshot(runnel_t *r, uint32_t sidx, runnel__record_fn emit, void *ctx)
{
    struct runnel_groups *g = grp_tables(r);
    uint32_t first, n, i;
    int rc;

    n = grp_stream_range(g, sidx, &first);
    for (i = 0; i < n; i++) {
        uint32_t gslot = g->group_order[first + i];
        const struct runnel__group *grp = &g->groups[gslot];
        runnel_str_t gname = grp_str(grp_group_name(g, gslot), grp->name_len);
        uint32_t cfirst, cn, k, pos, end;
        grp_rec_t w;

        grp_rec_group_pos(r, &w, sidx, gname, grp->last_id, grp->entries_read);
        if (w.overflow)
            return RUNNEL_ERR_INVAL;
        rc = emit(ctx, RUNNEL_REC_GROUP_CREATE, w.buf, w.len);
        if (rc < 0)
            return rc;
        cn = grp_consumer_range(g, gslot, &cfirst);
        for (k = 0; k < cn; k++) {
            uint32_t cslot = g->consumer_order[cfirst + k];
            grp_rec_consumer_create(
                r, &w, sidx, gname,
                grp_str(grp_consumer_name(g, cslot), g->consumers[cslot].name_len),
                g->consumers[cslot].seen_time);
            if (w.overflow)
                return RUNNEL_ERR_INVAL;
            rc = emit(ctx, RUNNEL_REC_CONSUMER_CREATE, w.buf, w.len);
            if (rc < 0)
                return rc;
        }
        pos = grp_pel_lower(g, gslot, RUNNEL_ID_MIN);
        end = grp_pel_end(g, gslot);
        for (; pos < end; pos++) {
            const struct runnel__nack *nk = &g->nacks[g->pel_order[pos]];
            grp_rec_nack_state(r, &w, sidx, gname,
                               grp_str(grp_consumer_name(g, nk->consumer),
                                       g->consumers[nk->consumer].name_len),
                               nk->id, nk->delivery_time, nk->delivery_count);
            if (w.overflow)
                return RUNNEL_ERR_INVAL;
            rc = emit(ctx, RUNNEL_REC_NACK_STATE, w.buf, w.len);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}
