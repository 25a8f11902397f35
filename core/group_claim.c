/*
 * group_claim.c - XPENDING (summary and extended), XCLAIM, XAUTOCLAIM.
 *
 * Claims follow Redis 7.0: a pending ID whose entry is gone from the
 * stream is purged from the PEL (XCLAIM silently, XAUTOCLAIM reports it
 * and counts it against COUNT); the claiming consumer is created only
 * when at least one ID is actually claimed.
 *
 * Both claims are journalled as their arguments plus the time they ran
 * with, and applied by functions that are a deterministic function of
 * those arguments and the current state (mount replay runs them again).
 */
#include <string.h>

#include "group_impl.h"

static int lookup_kg(runnel_t *r, runnel_str_t key, runnel_str_t group, uint32_t *sidx,
                     uint32_t *gslot)
{
    int rc = runnel__lookup(r, key, sidx);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY)
        return RUNNEL_ERR_NOGROUP_KEY_OR_GROUP;
    if (rc < 0)
        return rc;
    *gslot = grp_find(grp_tables(r), *sidx, group, NULL);
    return *gslot == RUNNEL__FREE ? RUNNEL_ERR_NOGROUP_KEY_OR_GROUP : 0;
}

static uint64_t idle_of(uint64_t now, uint64_t t)
{
    return now > t ? now - t : 0;
}

/* Redis computes idle as a signed difference: a delivery time in the
 * future (clock stepped back) is "less idle" than any minimum. */
static bool idle_below(uint64_t now, uint64_t t, uint64_t min_idle)
{
    if (now < t)
        return true;
    return now - t < min_idle;
}

/* ---- XPENDING ---- */

int runnel_xpending_summary(runnel_t *r, runnel_str_t key, runnel_str_t group, uint64_t *total,
                            runnel_id_t *min, runnel_id_t *max, runnel_name_count_fn fn,
                            void *ctx)
{
    struct runnel_groups *g;
    uint32_t sidx, gslot, first, n, i, pfirst;
    int rc, consumers = 0;

    if (total)
        *total = 0;
    if (min)
        *min = RUNNEL_ID_MIN;
    if (max)
        *max = RUNNEL_ID_MIN;
    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_kg(r, key, group, &sidx, &gslot);
    if (rc < 0)
        goto out;
    if (g->groups[gslot].pending) {
        pfirst = grp_pel_lower(g, gslot, RUNNEL_ID_MIN);
        if (total)
            *total = g->groups[gslot].pending;
        if (min)
            *min = g->nacks[g->pel_order[pfirst]].id;
        if (max)
            *max = g->nacks[g->pel_order[pfirst + g->groups[gslot].pending - 1]].id;
    }
    n = grp_consumer_range(g, gslot, &first);
    for (i = 0; i < n; i++) {
        uint32_t cslot = g->consumer_order[first + i];
        const struct runnel__consumer *c = &g->consumers[cslot];
        if (c->pending == 0)
            continue;
        consumers++;
        if (fn) {
            int cr = fn(ctx, grp_str(grp_consumer_name(g, cslot), c->name_len), c->pending);
            if (cr < 0) {
                rc = cr;
                goto out;
            }
        }
    }
    rc = consumers;
out:
    grp_unlock(r);
    return rc;
}

int runnel_xpending(runnel_t *r, runnel_str_t key, runnel_str_t group, runnel_id_t start,
                    runnel_id_t end, int64_t count, int64_t min_idle_ms, runnel_str_t consumer,
                    runnel_pending_fn fn, void *ctx)
{
    struct runnel_groups *g;
    uint32_t sidx, gslot, cslot = RUNNEL__FREE, pos, pend;
    uint64_t now;
    int64_t delivered = 0;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_kg(r, key, group, &sidx, &gslot);
    if (rc < 0)
        goto out;
    rc = 0;
    if (count <= 0 || runnel_id_cmp(start, end) > 0)
        goto out;
    if (consumer.p != NULL) {
        cslot = grp_consumer_find(g, gslot, consumer, NULL);
        if (cslot == RUNNEL__FREE)
            goto out;
    }
    now = runnel__now(r);
    pos = grp_pel_lower(g, gslot, start);
    pend = grp_pel_end(g, gslot);
    for (; pos < pend && delivered < count; pos++) {
        const struct runnel__nack *n = &g->nacks[g->pel_order[pos]];
        runnel_pending_t p;
        if (runnel_id_cmp(n->id, end) > 0)
            break;
        if (cslot != RUNNEL__FREE && n->consumer != cslot)
            continue;
        if (min_idle_ms >= 0 && idle_below(now, n->delivery_time, (uint64_t)min_idle_ms))
            continue;
        p.id = n->id;
        p.consumer = grp_str(grp_consumer_name(g, n->consumer), g->consumers[n->consumer].name_len);
        p.delivery_time_ms = n->delivery_time;
        p.idle_ms = idle_of(now, n->delivery_time);
        p.delivery_count = n->delivery_count;
        delivered++;
        if (fn) {
            int cr = fn(ctx, &p);
            if (cr < 0) {
                rc = cr;
                goto out;
            }
        }
    }
    rc = (int)delivered;
out:
    grp_unlock(r);
    return rc;
}

/* ---- shared claim step ---- */

typedef struct claim_out {
    runnel_entry_fn fn;
    void *ctx;
    int user_err;
} claim_out_t;

static int claim_entry_cb(void *vctx, const runnel_entry_t *e)
{
    claim_out_t *o = vctx;
    runnel_entry_t copy = *e;
    int rc;
    if (o->fn == NULL || o->user_err)
        return 0;
    copy.deleted = false;
    rc = o->fn(o->ctx, &copy);
    if (rc < 0)
        o->user_err = rc;
    return 0;
}

/* Hands a claimed ID to the caller: the whole entry, or the ID (JUSTID). */
static int claim_emit(runnel_t *r, uint32_t sidx, runnel_id_t id, bool justid, claim_out_t *o)
{
    if (o->fn == NULL || o->user_err)
        return 0;
    if (justid) {
        runnel_entry_t e;
        int rc;
        memset(&e, 0, sizeof e);
        e.id = id;
        rc = o->fn(o->ctx, &e);
        if (rc < 0)
            o->user_err = rc;
        return 0;
    }
    return runnel__entry_get(r, sidx, id, claim_entry_cb, o) < 0 ? RUNNEL_ERR_IO : 0;
}

/* Makes sure the claiming consumer exists (created on the first claim). */
static int claim_consumer(struct runnel_groups *g, uint32_t gslot, runnel_str_t name,
                          uint64_t now, uint32_t *cslot)
{
    uint32_t cpos;
    if (*cslot != RUNNEL__FREE)
        return 0;
    *cslot = grp_consumer_find(g, gslot, name, &cpos);
    if (*cslot == RUNNEL__FREE)
        *cslot = grp_consumer_add(g, cpos, gslot, name, now);
    return *cslot == RUNNEL__FREE ? RUNNEL_ERR_POOL_CONSUMERS : 0;
}

int grp_apply_claim(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                    const grp_claim_params_t *p, const runnel_id_t *ids, size_t n,
                    runnel_entry_fn fn, void *ctx)
{
    struct runnel_groups *g = grp_tables(r);
    struct runnel__group *grp = &g->groups[gslot];
    claim_out_t o;
    uint32_t cslot = RUNNEL__FREE;
    size_t i;
    int claimed = 0, rc;

    o.fn = fn;
    o.ctx = ctx;
    o.user_err = 0;
    if (p->has_lastid && runnel_id_cmp(p->lastid, grp->last_id) > 0)
        grp->last_id = p->lastid;
    for (i = 0; i < n; i++) {
        uint32_t pos, nslot = grp_pel_find(g, gslot, ids[i], &pos);
        struct runnel__nack *nk;
        int exists = runnel__entry_get(r, sidx, ids[i], NULL, NULL);
        if (exists < 0)
            return exists;
        if (!exists) {
            if (nslot != RUNNEL__FREE)
                grp_pel_remove_at(g, pos);
            continue;
        }
        if (nslot == RUNNEL__FREE) {
            if (!p->force)
                continue;
            nslot = grp_pel_insert(g, pos, gslot, RUNNEL__FREE, ids[i], p->now, 1);
            if (nslot == RUNNEL__FREE)
                return RUNNEL_ERR_POOL_PEL;
        } else if (p->min_idle &&
                   idle_below(p->now, g->nacks[nslot].delivery_time, p->min_idle)) {
            continue;
        }
        rc = claim_consumer(g, gslot, consumer, p->now, &cslot);
        if (rc < 0)
            return rc;
        nk = &g->nacks[nslot];
        grp_nack_move(g, nslot, cslot);
        nk->delivery_time = p->delivery_time;
        if (p->retrycount >= 0)
            nk->delivery_count = (uint64_t)p->retrycount;
        else if (!p->justid)
            nk->delivery_count++;
        g->consumers[cslot].seen_time = p->now;
        claimed++;
        rc = claim_emit(r, sidx, ids[i], p->justid, &o);
        if (rc < 0)
            return rc;
    }
    return o.user_err ? o.user_err : claimed;
}

/* ---- XCLAIM ---- */

static bool listed_before(const runnel_id_t *ids, size_t i)
{
    size_t k;
    for (k = 0; k < i; k++)
        if (runnel_id_cmp(ids[k], ids[i]) == 0)
            return true;
    return false;
}

int runnel_xclaim(runnel_t *r, const runnel_xclaim_args_t *a, runnel_entry_fn fn, void *ctx)
{
    struct runnel_groups *g;
    grp_claim_params_t p;
    uint32_t sidx, gslot, need_new = 0;
    bool will_claim = false;
    size_t i;
    int rc, total = 0;

    if (r == NULL || a == NULL || (a->ids == NULL && a->nids))
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_kg(r, a->key, a->group, &sidx, &gslot);
    if (rc < 0)
        goto out;

    memset(&p, 0, sizeof p);
    p.now = runnel__now(r);
    p.min_idle = a->min_idle_ms;
    /* IDLE gives now - IDLE, TIME gives TIME (TIME wins when both are
     * given); a result below 0 or in the future clamps to now. */
    p.delivery_time = p.now;
    if (a->has_idle && a->idle_ms >= 0 && (uint64_t)a->idle_ms <= p.now)
        p.delivery_time = p.now - (uint64_t)a->idle_ms;
    if (a->has_time)
        p.delivery_time = (a->time_ms < 0 || (uint64_t)a->time_ms > p.now)
                              ? p.now : (uint64_t)a->time_ms;
    p.retrycount = a->has_retrycount && a->retrycount >= 0 ? a->retrycount : -1;
    p.force = a->force;
    p.justid = a->justid;
    p.has_lastid = a->has_lastid;
    p.lastid = a->has_lastid ? a->lastid : RUNNEL_ID_MIN;

    /* Plan: NACKs FORCE would create, and whether anything gets claimed. */
    for (i = 0; i < a->nids; i++) {
        uint32_t nslot;
        int exists;
        if (listed_before(a->ids, i))
            continue;
        exists = runnel__entry_get(r, sidx, a->ids[i], NULL, NULL);
        if (exists < 0) {
            rc = exists;
            goto out;
        }
        if (!exists)
            continue;
        nslot = grp_pel_find(g, gslot, a->ids[i], NULL);
        if (nslot == RUNNEL__FREE) {
            if (a->force) {
                need_new++;
                will_claim = true;
            }
        } else if (!p.min_idle || !idle_below(p.now, g->nacks[nslot].delivery_time, p.min_idle)) {
            will_claim = true;
        }
    }
    if (need_new > grp_pel_free(g)) {
        rc = RUNNEL_ERR_POOL_PEL;
        goto out;
    }
    if (will_claim && grp_consumer_find(g, gslot, a->consumer, NULL) == RUNNEL__FREE) {
        if (a->consumer.len > g->name_max) {
            rc = RUNNEL_ERR_NAME_TOO_LONG;
            goto out;
        }
        if (g->consumers_used == g->consumers_cap) {
            rc = RUNNEL_ERR_POOL_CONSUMERS;
            goto out;
        }
    }

    /* Journal and apply in batches of IDs that fit one record. */
    i = 0;
    do {
        grp_rec_t w;
        runnel_id_t prev = RUNNEL_ID_MIN;
        size_t start = i;
        grp_rec_claim(r, &w, sidx, a->group, a->consumer, &p);
        while (i < a->nids && grp_rec_room(&w) >= GRP_ID_CODED_MAX)
            grp_rec_list_id(&w, &prev, a->ids[i++]);
        rc = grp_rec_commit(r, &w, RUNNEL_REC_CLAIM);
        if (rc < 0)
            goto out;
        rc = grp_apply_claim(r, sidx, gslot, a->consumer, &p, a->ids + start, i - start, fn, ctx);
        if (rc < 0)
            goto out;
        /* replay seeks each ID again, to see whether its entry is there */
        runnel__replay_debt(r, (uint64_t)(i - start) * DELIVERY_REPLAY_READ);
        total += rc;
    } while (i < a->nids);
    rc = total;
out:
    grp_unlock(r);
    return rc;
}

/* ---- XAUTOCLAIM ---- */

int grp_apply_autoclaim(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                        uint64_t now, uint64_t min_idle, runnel_id_t start, uint64_t count,
                        bool justid, runnel_id_t *next, runnel_id_t *deleted, size_t *ndeleted,
                        runnel_entry_fn fn, void *ctx)
{
    struct runnel_groups *g = grp_tables(r);
    claim_out_t o;
    uint32_t cslot = RUNNEL__FREE, pos, end;
    uint64_t attempts = count > UINT64_MAX / 10 ? UINT64_MAX : count * 10;
    size_t ndel = 0;
    int claimed = 0, rc;

    o.fn = fn;
    o.ctx = ctx;
    o.user_err = 0;
    pos = grp_pel_lower(g, gslot, start);
    end = grp_pel_end(g, gslot);
    while (attempts > 0 && count > 0 && pos < end) {
        uint32_t nslot = g->pel_order[pos];
        struct runnel__nack *nk = &g->nacks[nslot];
        int exists;

        attempts--;
        exists = runnel__entry_get(r, sidx, nk->id, NULL, NULL);
        if (exists < 0)
            return exists;
        if (!exists) {
            if (deleted)
                deleted[ndel] = nk->id;
            ndel++;
            grp_pel_remove_at(g, pos);
            end--;
            count--;
            continue;
        }
        if (min_idle && idle_below(now, nk->delivery_time, min_idle)) {
            pos++;
            continue;
        }
        rc = claim_consumer(g, gslot, consumer, now, &cslot);
        if (rc < 0)
            return rc;
        grp_nack_move(g, nslot, cslot);
        nk->delivery_time = now;
        if (!justid)
            nk->delivery_count++;
        g->consumers[cslot].seen_time = now;
        claimed++;
        count--;
        pos++;
        rc = claim_emit(r, sidx, nk->id, justid, &o);
        if (rc < 0)
            return rc;
    }
    if (next)
        *next = pos < end ? g->nacks[g->pel_order[pos]].id : RUNNEL_ID_MIN;
    if (ndeleted)
        *ndeleted = ndel;
    return o.user_err ? o.user_err : claimed;
}

/* Read-only pass of the scan above: will it claim anything? */
static bool autoclaim_will_claim(runnel_t *r, uint32_t sidx, uint32_t gslot, uint64_t now,
                                 uint64_t min_idle, runnel_id_t start, uint64_t count)
{
    struct runnel_groups *g = grp_tables(r);
    uint32_t pos = grp_pel_lower(g, gslot, start), end = grp_pel_end(g, gslot);
    uint64_t attempts = count > UINT64_MAX / 10 ? UINT64_MAX : count * 10;

    for (; attempts > 0 && count > 0 && pos < end; pos++, attempts--) {
        const struct runnel__nack *nk = &g->nacks[g->pel_order[pos]];
        if (runnel__entry_get(r, sidx, nk->id, NULL, NULL) != 1) {
            count--;
            continue;
        }
        if (min_idle && idle_below(now, nk->delivery_time, min_idle))
            continue;
        return true;
    }
    return false;
}

int runnel_xautoclaim(runnel_t *r, const runnel_xautoclaim_args_t *a, runnel_id_t *next,
                      size_t *ndeleted, runnel_entry_fn fn, void *ctx)
{
    struct runnel_groups *g;
    grp_rec_t w;
    uint32_t sidx, gslot;
    uint64_t now;
    int rc;

    if (next)
        *next = RUNNEL_ID_MIN;
    if (ndeleted)
        *ndeleted = 0;
    if (r == NULL || a == NULL)
        return RUNNEL_ERR_INVAL;
    if (a->count == 0)
        return RUNNEL_ERR_COUNT_POSITIVE;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_kg(r, a->key, a->group, &sidx, &gslot);
    if (rc < 0)
        goto out;
    if (a->deleted == NULL || a->count > a->deleted_cap) {
        rc = RUNNEL_ERR_COUNT_TOO_HIGH;
        goto out;
    }
    now = runnel__now(r);
    if (grp_consumer_find(g, gslot, a->consumer, NULL) == RUNNEL__FREE &&
        autoclaim_will_claim(r, sidx, gslot, now, a->min_idle_ms, a->start, a->count)) {
        if (a->consumer.len > g->name_max) {
            rc = RUNNEL_ERR_NAME_TOO_LONG;
            goto out;
        }
        if (g->consumers_used == g->consumers_cap) {
            rc = RUNNEL_ERR_POOL_CONSUMERS;
            goto out;
        }
    }
    grp_rec_autoclaim(r, &w, sidx, a->group, a->consumer, now, a->min_idle_ms, a->start,
                      a->count, a->justid);
    rc = grp_rec_commit(r, &w, RUNNEL_REC_AUTOCLAIM);
    if (rc < 0)
        goto out;
    rc = grp_apply_autoclaim(r, sidx, gslot, a->consumer, now, a->min_idle_ms, a->start,
                             a->count, a->justid, next, a->deleted, ndeleted, fn, ctx);
    /* replay seeks each entry it claimed or found deleted again */
    if (rc > 0 || (ndeleted != NULL && *ndeleted > 0))
        runnel__replay_debt(r, ((uint64_t)(rc > 0 ? rc : 0) + (ndeleted ? *ndeleted : 0u)) *
                                   DELIVERY_REPLAY_READ);
out:
    grp_unlock(r);
    return rc;
}
