/*
 * group_read.c - XREADGROUP (new entries with ">" and history reads) and
 * XACK.
 *
 * XREADGROUP ">" with a PEL that cannot take every entry the read would
 * deliver: we deliver the longest prefix whose new NACKs fit, and stop
 * cleanly there (group.last_id only advances over what was delivered, so
 * the rest is delivered by the next read once ACKs free slots). If not
 * even one entry fits, the call fails with RUNNEL_ERR_POOL_PEL and changes
 * nothing. Redis has no such limit; this keeps every state consistent.
 *
 * Order of work: plan (how many entries, which pools) -> journal one
 * DELIVERY record holding the arguments -> apply. The apply step is the
 * same function mount replay runs, and it cannot fail for lack of room
 * because the plan checked first.
 */
#include <string.h>

#include "group_impl.h"

/* ---- planning a ">" read ---- */

typedef struct plan_ctx {
    struct runnel_groups *g;
    uint32_t gslot;
    bool noack;
    uint32_t free_nacks;
    int64_t n;
} plan_ctx_t;

#define PLAN_STOP (-1000000)

static int plan_cb(void *vctx, const runnel_entry_t *e)
{
    plan_ctx_t *p = vctx;
    if (!p->noack && grp_pel_find(p->g, p->gslot, e->id, NULL) == RUNNEL__FREE) {
        if (p->free_nacks == 0)
            return PLAN_STOP;
        p->free_nacks--;
    }
    p->n++;
    return 0;
}

/* ---- applying ---- */

typedef struct deliver_ctx {
    struct runnel_groups *g;
    uint32_t gslot, cslot;
    runnel__stream_state_t st;
    bool noack;
    uint64_t now;
    runnel_entry_fn fn;
    void *ctx;
    int user_err;      /* the first negative value the user callback returned */
    int pool_err;      /* replay only: a NACK did not fit */
} deliver_ctx_t;

/* Applies the delivery of one entry, then hands it to the user. When the
 * user's callback stops the read we keep applying (returning 0 to the
 * iterator) so that state always matches the journalled record; the
 * entries the caller did not take stay pending, as with a lost reply. */
static int deliver_new_cb(void *vctx, const runnel_entry_t *e)
{
    deliver_ctx_t *d = vctx;
    struct runnel__group *grp = &d->g->groups[d->gslot];

    grp_advance(grp, &d->st, e->id);
    if (!d->noack) {
        uint32_t pos, nslot = grp_pel_find(d->g, d->gslot, e->id, &pos);
        if (nslot != RUNNEL__FREE) {
            struct runnel__nack *n = &d->g->nacks[nslot];
            grp_nack_move(d->g, nslot, d->cslot);
            n->delivery_time = d->now;
            n->delivery_count = 1;
        } else if (grp_pel_insert(d->g, pos, d->gslot, d->cslot, e->id, d->now, 1) ==
                   RUNNEL__FREE) {
            d->pool_err = RUNNEL_ERR_POOL_PEL;
        }
    }
    if (d->fn && d->user_err == 0) {
        runnel_entry_t copy = *e;
        int rc;
        copy.deleted = false;
        rc = d->fn(d->ctx, &copy);
        if (rc < 0)
            d->user_err = rc;
    }
    return 0;
}

static int deliver_history_cb(void *vctx, const runnel_entry_t *e)
{
    deliver_ctx_t *d = vctx;
    runnel_entry_t copy = *e;
    int rc;

    if (d->fn == NULL || d->user_err != 0)
        return 0;
    copy.deleted = false;
    rc = d->fn(d->ctx, &copy);
    if (rc < 0)
        d->user_err = rc;
    return 0;
}

int grp_apply_readgroup(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                        bool new_entries, runnel_id_t after, int64_t count, bool noack,
                        uint64_t now, runnel_entry_fn fn, void *ctx)
{
    struct runnel_groups *g = grp_tables(r);
    deliver_ctx_t d;
    uint32_t cpos;
    int delivered = 0;

    memset(&d, 0, sizeof d);
    d.g = g;
    d.gslot = gslot;
    d.noack = noack;
    d.now = now;
    d.fn = fn;
    d.ctx = ctx;
    runnel__stream_state(r, sidx, &d.st);

    d.cslot = grp_consumer_find(g, gslot, consumer, &cpos);
    if (d.cslot == RUNNEL__FREE) {
        d.cslot = grp_consumer_add(g, cpos, gslot, consumer, now);
        if (d.cslot == RUNNEL__FREE)
            return RUNNEL_ERR_POOL_CONSUMERS;
    }
    g->consumers[d.cslot].seen_time = now;

    if (new_entries) {
        bool ovf;
        runnel_id_t start = grp_id_next(g->groups[gslot].last_id, &ovf);
        if (ovf)
            return 0;
        /* Mount's replay needs the IDs only (nothing is sent): it reads
         * each entry's first bytes, not the entry */
        if (r->replaying && fn == NULL)
            delivered = runnel__entry_ids(r, sidx, start, RUNNEL_ID_MAX,
                                          count <= 0 ? -1 : count, deliver_new_cb, &d);
        else
            delivered = runnel__entries(r, sidx, start, RUNNEL_ID_MAX, count <= 0 ? -1 : count,
                                        false, deliver_new_cb, &d);
        if (delivered < 0)
            return delivered;
    } else {
        bool ovf;
        runnel_id_t from = grp_id_next(after, &ovf);
        uint32_t pos, end;
        if (ovf)
            return 0;
        pos = grp_pel_lower(g, gslot, from);
        end = grp_pel_end(g, gslot);
        for (; pos < end && (count <= 0 || delivered < count); pos++) {
            uint32_t nslot = g->pel_order[pos];
            struct runnel__nack *n = &g->nacks[nslot];
            int rc;
            if (n->consumer != d.cslot)
                continue;
            rc = runnel__entry_get(r, sidx, n->id, deliver_history_cb, &d);
            if (rc < 0)
                return rc;
            if (rc == 1) {
                n->delivery_count++;
                n->delivery_time = now;
            } else if (fn && d.user_err == 0) {
                runnel_entry_t ph;
                memset(&ph, 0, sizeof ph);
                ph.id = n->id;
                ph.deleted = true;
                rc = fn(ctx, &ph);
                if (rc < 0)
                    d.user_err = rc;
            }
            delivered++;
        }
    }
    if (d.pool_err)
        return d.pool_err;
    if (d.user_err)
        return d.user_err;
    return delivered;
}

int runnel_xreadgroup(runnel_t *r, const runnel_xreadgroup_args_t *a, runnel_entry_fn fn,
                      void *ctx)
{
    struct runnel_groups *g;
    runnel__stream_state_t st;
    grp_rec_t w;
    uint32_t sidx, gslot, cslot, cpos;
    int64_t count;
    uint64_t now;
    int rc;

    if (r == NULL || a == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = runnel__lookup(r, a->key, &sidx);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY) {
        rc = RUNNEL_ERR_NOGROUP_XREADGROUP;
        goto out;
    }
    if (rc < 0)
        goto out;
    gslot = grp_find(g, sidx, a->group, NULL);
    if (gslot == RUNNEL__FREE) {
        rc = RUNNEL_ERR_NOGROUP_XREADGROUP;
        goto out;
    }
    count = a->count <= 0 ? -1 : a->count;

    if (a->new_entries) {
        plan_ctx_t p;
        bool ovf;
        runnel_id_t start;

        runnel__stream_state(r, sidx, &st);
        if (runnel_id_cmp(st.last_valid_id, g->groups[gslot].last_id) <= 0) {
            rc = 0; /* not served: no consumer is created */
            goto out;
        }
        start = grp_id_next(g->groups[gslot].last_id, &ovf);
        /* The planning pass finds how many entries the PEL can take. When
         * it has room for COUNT entries (or NOACK adds none) the answer is
         * COUNT itself, and the pass - a walk over the entries' IDs - is
         * skipped: the record then carries COUNT, which replay applies to
         * the same entries with the same result. */
        if (count <= 0 || (!a->noack && grp_pel_free(g) < (uint64_t)count)) {
            memset(&p, 0, sizeof p);
            p.g = g;
            p.gslot = gslot;
            p.noack = a->noack;
            p.free_nacks = grp_pel_free(g);
            rc = runnel__entry_ids(r, sidx, start, RUNNEL_ID_MAX, count, plan_cb, &p);
            if (rc < 0 && rc != PLAN_STOP)
                goto out;
            if (p.n == 0) {
                rc = RUNNEL_ERR_POOL_PEL;
                goto out;
            }
            count = p.n;
        }
    }

    cslot = grp_consumer_find(g, gslot, a->consumer, &cpos);
    if (cslot == RUNNEL__FREE) {
        if (a->consumer.len > g->name_max) {
            rc = RUNNEL_ERR_NAME_TOO_LONG;
            goto out;
        }
        if (g->consumers_used == g->consumers_cap) {
            rc = RUNNEL_ERR_POOL_CONSUMERS;
            goto out;
        }
    }

    now = runnel__now(r);
    grp_rec_delivery(r, &w, sidx, a->group, a->consumer, a->new_entries, a->noack, a->after,
                     count, now);
    rc = grp_rec_commit(r, &w, RUNNEL_REC_DELIVERY);
    if (rc < 0)
        goto out;
    rc = grp_apply_readgroup(r, sidx, gslot, a->consumer, a->new_entries, a->after, count,
                             a->noack, now, fn, ctx);
out:
    grp_unlock(r);
    return rc;
}

/* ---- XACK ---- */

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
        grp_rec_t w;
        size_t start;
        /* Skip IDs that are not pending: they change nothing. */
        while (i < n && grp_pel_find(g, gslot, ids[i], NULL) == RUNNEL__FREE)
            i++;
        if (i == n)
            break;
        start = i;
        grp_rec_begin(r, &w, sidx, group);
        while (i < n && grp_rec_room(&w) >= 2u * RUNNEL_VARINT_MAX) {
            if (grp_pel_find(g, gslot, ids[i], NULL) != RUNNEL__FREE)
                grp_rec_id(&w, ids[i]);
            i++;
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
