/*
 * group_ack.c - XACK: the ACK record (0x26) it journals, and the apply
 * that XACK and mount replay share.
 *
 * A consumer mostly acknowledges what it was delivered, in order: IDs
 * that sit next to each other in the group's PEL. The record then names
 * the first of each such run and how many follow it (FORMAT.md, "0x26
 * ACK"), about ten bytes for a hundred IDs; IDs in any other order are an
 * ID list (group_idlist.c). The writer codes a batch both ways and keeps
 * the shorter. A run means PEL positions, so replay must see the PEL the
 * writer saw: it does, because records are replayed in order and a run is
 * applied by marking (positions stay put until one compaction at the end
 * of the record).
 */
#include "group_impl.h"

uint64_t grp_apply_ack(runnel_t *r, uint32_t gslot, const runnel_id_t *ids, size_t n)
{
    struct runnel_groups *g = grp_tables(r);
    uint64_t acked = 0;
    uint32_t first = UINT32_MAX;
    size_t i;

    for (i = 0; i < n; i++) {
        uint32_t pos;
        uint32_t slot = grp_pel_find(g, gslot, ids[i], &pos);
        /* A duplicate ID finds its already-marked entry: it counts once,
         * as in Redis. */
        if (slot != RUNNEL__FREE && g->nacks[slot].consumer != GRP_NACK_REMOVED) {
            grp_pel_mark_removed(g, pos);
            if (pos < first)
                first = pos;
            acked++;
        }
    }
    if (acked > 0)
        grp_pel_compact(g, first);
    return acked;
}

int grp_apply_ack_run(runnel_t *r, uint32_t gslot, runnel_id_t id, uint64_t run,
                      uint32_t *first)
{
    struct runnel_groups *g = grp_tables(r);
    uint32_t pos, k;

    if (grp_pel_find(g, gslot, id, &pos) == RUNNEL__FREE || run >= g->pel_used - pos)
        return RUNNEL_ERR_CORRUPT;
    for (k = 0; k <= run; k++) {
        const struct runnel__nack *n = &g->nacks[g->pel_order[pos + k]];
        if (n->group != gslot)
            return RUNNEL_ERR_CORRUPT;
        if (n->consumer != GRP_NACK_REMOVED)
            grp_pel_mark_removed(g, pos + k);
    }
    if (pos < *first)
        *first = pos;
    return 0;
}

/* How many of ids[1..n) follow ids[0] in the group's PEL, one after
 * another from its position pos. */
static size_t run_after(const struct runnel_groups *g, uint32_t gslot, uint32_t pos,
                        const runnel_id_t *ids, size_t n)
{
    size_t run = 0;
    while (run + 1u < n && pos + run + 1u < g->pel_used) {
        const struct runnel__nack *next = &g->nacks[g->pel_order[pos + run + 1u]];
        if (next->group != gslot || runnel_id_cmp(next->id, ids[run + 1u]) != 0)
            break;
        run++;
    }
    return run;
}

/* The run coding of the pending IDs among ids[0..n): written to w, or
 * only measured when w is NULL. Returns its bytes. */
static size_t code_runs(const struct runnel_groups *g, uint32_t gslot, const runnel_id_t *ids,
                        size_t n, grp_rec_t *w)
{
    uint8_t tmp[GRP_ID_CODED_MAX];
    runnel_id_t prev = RUNNEL_ID_MIN;
    size_t i = 0, bytes = 0;

    while (i < n) {
        uint32_t pos;
        size_t run;
        if (grp_pel_find(g, gslot, ids[i], &pos) == RUNNEL__FREE) {
            i++;
            continue;
        }
        run = run_after(g, gslot, pos, ids + i, n - i);
        if (w != NULL) {
            grp_rec_list_id(w, &prev, ids[i]);
            grp_rec_u64(w, run);
        } else {
            bytes += grp_idlist_put(tmp, &prev, ids[i]) + runnel__varint_len(run);
        }
        i += 1u + run;
    }
    return bytes;
}

/* IDs that are really pending are journalled in batches that fit one
 * record; each batch is applied right after its record is accepted. A
 * NOSPC on a later batch therefore leaves the earlier batches acked (and
 * durable), which is harmless: XACK is idempotent and the caller sees the
 * error and retries. */
int runnel_xack(runnel_t *r, runnel_str_t key, runnel_str_t group, const runnel_id_t *ids,
                size_t n, uint64_t *acked)
{
    struct runnel_groups *g;
    uint32_t sidx, gslot;
    uint64_t total = 0;
    size_t i = 0;
    int rc;

    if (acked)
        *acked = 0;
    if (r == NULL || (ids == NULL && n))
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = runnel__lookup(r, key, &sidx);
    if (rc < 0) {
        if (rc == RUNNEL_ERR_NO_SUCH_KEY)
            rc = 0;
        goto out;
    }
    gslot = grp_find(g, sidx, group, NULL);
    if (gslot == RUNNEL__FREE)
        goto out;
    while (i < n) {
        uint8_t tmp[GRP_ID_CODED_MAX];
        grp_rec_t w;
        runnel_id_t prev = RUNNEL_ID_MIN;
        size_t start, listed = 0;
        bool runs;
        /* Skip IDs that are not pending: they change nothing. */
        while (i < n && grp_pel_find(g, gslot, ids[i], NULL) == RUNNEL__FREE)
            i++;
        if (i == n)
            break;
        start = i;
        grp_rec_begin(r, &w, sidx, group);
        /* the batch: as many IDs as fit listed, after the coding byte */
        while (i < n && grp_rec_room(&w) >= 1u + listed + GRP_ID_CODED_MAX) {
            if (grp_pel_find(g, gslot, ids[i], NULL) != RUNNEL__FREE)
                listed += grp_idlist_put(tmp, &prev, ids[i]);
            i++;
        }
        runs = code_runs(g, gslot, ids + start, i - start, NULL) < listed;
        if (runs) {
            grp_rec_u64(&w, 1u);
            (void)code_runs(g, gslot, ids + start, i - start, &w);
        }
        if (!runs || w.overflow) {
            /* The list, when it is as short, or when the runs' room check
             * (a whole coded ID's room per item) refused a byte the list
             * had: the batch fits listed by construction. */
            grp_rec_begin(r, &w, sidx, group);
            grp_rec_u64(&w, 0u);
            prev = RUNNEL_ID_MIN;
            for (size_t k = start; k < i; k++)
                if (grp_pel_find(g, gslot, ids[k], NULL) != RUNNEL__FREE)
                    grp_rec_list_id(&w, &prev, ids[k]);
        }
        rc = grp_rec_commit(r, &w, RUNNEL_REC_ACK);
        if (rc < 0)
            goto out;
        total += grp_apply_ack(r, gslot, ids + start, i - start);
    }
    rc = 0;
out:
    if (acked)
        *acked = total;
    grp_unlock(r);
    return rc;
}
