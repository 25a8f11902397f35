/*
 * group_read.c - XREADGROUP (new entries with ">" and history reads).
 *
 * XREADGROUP ">" with a PEL that cannot take every entry the read would
 * deliver: we deliver the longest prefix whose new NACKs fit, and stop
 * cleanly there (group.last_id only advances over what was delivered, so
 * the rest is delivered by the next read once ACKs free slots). If not
 * even one entry fits, the call fails with RUNNEL_ERR_POOL_PEL and changes
 * nothing. Redis has no such limit; this keeps every state consistent.
 *
 * Order of work: plan (how many entries, which pools, and for ">" the IDs
 * themselves) -> journal one DELIVERY record holding the arguments (and
 * the IDs, when they fit) -> apply. The apply step is the same function
 * mount replay runs, and it cannot fail for lack of room because the plan
 * checked first; a listed delivery replays without reading an entry.
 */
#include <string.h>

#include "group_impl.h"

/* ---- planning a ">" read ---- */

/* The planning pass walks the IDs the read will deliver: how many the PEL
 * can take, and - while they fit the record - the IDs themselves, listed
 * in it so that mount replays the delivery without reading the entries. */
typedef struct plan_ctx {
    struct runnel_groups *g;
    uint32_t gslot;
    bool noack;
    uint32_t free_nacks;
    int64_t n;
    grp_rec_t *w;           /* the DELIVERY record, NULL once the list overflowed */
    runnel_id_t prev;       /* the ID listed last */
    bool counting;          /* the PEL may not take COUNT (or no COUNT):
                               the walk must count to the end */
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
    if (p->w != NULL) {
        if (grp_rec_room(p->w) >= GRP_ID_CODED_MAX) {
            grp_rec_list_id(p->w, &p->prev, e->id);
        } else {
            p->w = NULL;
            if (!p->counting)
                return PLAN_STOP;   /* the read is COUNT, unlisted */
        }
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

/* What every delivery does first: the consumer (created if new) is seen
 * now. */
static int deliver_begin(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                         bool noack, uint64_t now, runnel_entry_fn fn, void *ctx,
                         deliver_ctx_t *d)
{
    struct runnel_groups *g = grp_tables(r);
    uint32_t cpos;

    memset(d, 0, sizeof *d);
    d->g = g;
    d->gslot = gslot;
    d->noack = noack;
    d->now = now;
    d->fn = fn;
    d->ctx = ctx;
    runnel__stream_state(r, sidx, &d->st);

    d->cslot = grp_consumer_find(g, gslot, consumer, &cpos);
    if (d->cslot == RUNNEL__FREE) {
        d->cslot = grp_consumer_add(g, cpos, gslot, consumer, now);
        if (d->cslot == RUNNEL__FREE)
            return RUNNEL_ERR_POOL_CONSUMERS;
    }
    g->consumers[d->cslot].seen_time = now;
    return 0;
}

/* A delivery's result: a pool error of replay, the user callback's
 * first error, or how many entries were delivered. */
static int deliver_end(const deliver_ctx_t *d, int delivered)
{
    if (d->pool_err)
        return d->pool_err;
    if (d->user_err)
        return d->user_err;
    return delivered;
}

int grp_apply_listed(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                     bool noack, const uint8_t *list, size_t len, uint64_t now,
                     runnel_entry_fn fn, void *ctx)
{
    deliver_ctx_t d;
    runnel_id_t prev;
    size_t off = 0;
    int delivered = 0, rc;

    rc = deliver_begin(r, sidx, gslot, consumer, noack, now, fn, ctx, &d);
    if (rc < 0)
        return rc;
    prev = d.g->groups[gslot].last_id;
    while (off < len) {
        runnel_entry_t e;
        runnel_id_t id;
        int n = grp_idlist_get(list + off, len - off, &prev, &id);
        /* each ID above the one before, the first above the group's last
         * ID: what a walk forward from it delivers */
        if (n < 0 || runnel_id_cmp(id, d.g->groups[gslot].last_id) <= 0)
            return RUNNEL_ERR_CORRUPT;
        off += (size_t)n;
        rc = 0;
        if (fn != NULL) {
            rc = runnel__entry_get(r, sidx, id, deliver_new_cb, &d);
            if (rc < 0)
                return rc;
        }
        if (rc == 0) {
            /* Replay, or an entry the log dropped between the planning
             * pass and now (the record's own append reclaimed its block):
             * it is delivered as the record says, as a pending entry
             * whose entry is gone (as after XDEL), not handed to fn. */
            runnel_entry_fn keep = d.fn;
            memset(&e, 0, sizeof e);
            e.id = id;
            d.fn = NULL;
            (void)deliver_new_cb(&d, &e);
            d.fn = keep;
        }
        delivered++;
    }
    return deliver_end(&d, delivered);
}

int grp_apply_readgroup(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                        bool new_entries, runnel_id_t after, int64_t count, bool noack,
                        uint64_t now, runnel_entry_fn fn, void *ctx)
{
    struct runnel_groups *g = grp_tables(r);
    deliver_ctx_t d;
    int delivered = 0, rc;

    rc = deliver_begin(r, sidx, gslot, consumer, noack, now, fn, ctx, &d);
    if (rc < 0)
        return rc;

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
            if (n->consumer != d.cslot)
                continue;
            /* replay asks only whether the entry is there: its ID, not
             * its payload, is read */
            rc = runnel__entry_get(r, sidx, n->id, fn != NULL ? deliver_history_cb : NULL, &d);
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
    return deliver_end(&d, delivered);
}

/* Builds the DELIVERY record of a ">" read: walks the IDs it will deliver
 * (the planning pass) and lists them after the record's fields, at
 * *list_at. Returns 1 when they fit the record; else 0, and the record is
 * the unlisted form, whose count (*count, the planned number: COUNT, or
 * fewer when the PEL has no room for COUNT) replay walks again.
 *
 * Only a store that mounts (cfg.durable) lists: elsewhere nothing ever
 * replays the record. When the PEL has room for COUNT (or NOACK adds
 * none), an unlisted record carries COUNT itself, which replay applies to
 * the same entries with the same result: the walk stops where the list
 * overflowed, or is skipped when nothing is listed. */
static int plan_delivery(runnel_t *r, uint32_t sidx, uint32_t gslot,
                         const runnel_xreadgroup_args_t *a, uint64_t now, grp_rec_t *w,
                         int64_t *count, size_t *list_at)
{
    struct runnel_groups *g = grp_tables(r);
    bool list = r->cfg.durable != NULL;
    bool counting = *count <= 0 || (!a->noack && grp_pel_free(g) < (uint64_t)*count);
    plan_ctx_t p;
    bool ovf;
    runnel_id_t start = grp_id_next(g->groups[gslot].last_id, &ovf);
    int rc;

    if (!list && !counting) {
        grp_rec_delivery(r, w, sidx, a->group, a->consumer, true, a->noack, false, a->after,
                         *count, now);
        return 0;
    }
    grp_rec_delivery(r, w, sidx, a->group, a->consumer, true, a->noack, list, a->after, 0, now);
    *list_at = w->len;
    memset(&p, 0, sizeof p);
    p.g = g;
    p.gslot = gslot;
    p.noack = a->noack;
    p.free_nacks = grp_pel_free(g);
    p.w = list ? w : NULL;
    p.prev = g->groups[gslot].last_id;
    p.counting = counting;
    if (!ovf) {
        rc = runnel__entry_ids(r, sidx, start, RUNNEL_ID_MAX, *count, plan_cb, &p);
        if (rc < 0 && rc != PLAN_STOP)
            return rc;
    }
    if (p.n == 0)
        return RUNNEL_ERR_POOL_PEL;
    if (p.w != NULL && !w->overflow) {
        *count = p.n;
        return 1;
    }
    if (counting)
        *count = p.n;
    grp_rec_delivery(r, w, sidx, a->group, a->consumer, true, a->noack, false, a->after,
                     *count, now);
    return 0;
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
    runnel_pos_t tail, at = 0;
    size_t list_at = 0;
    bool listed = false;
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
    now = runnel__now(r);
    if (a->new_entries) {
        runnel__stream_state(r, sidx, &st);
        if (runnel_id_cmp(st.last_valid_id, g->groups[gslot].last_id) <= 0) {
            rc = 0; /* not served: no consumer is created */
            goto out;
        }
        rc = plan_delivery(r, sidx, gslot, a, now, &w, &count, &list_at);
        if (rc < 0)
            goto out;
        listed = rc == 1;
    } else {
        grp_rec_delivery(r, &w, sidx, a->group, a->consumer, false, a->noack, false, a->after,
                         count, now);
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
    tail = r->log.tail;
    rc = grp_rec_commit_at(r, &w, RUNNEL_REC_DELIVERY, &at);
    if (rc < 0)
        goto out;
    /* The walk delivers the planned IDs again - unless the record's own
     * append reclaimed blocks, which may have dropped some: then the list
     * says what was delivered, read back from the record (a checkpoint
     * written ahead of it used the buffer it was built in). */
    if (listed && r->log.tail != tail) {
        runnel__rec_t rec;
        if (runnel__log_next(&r->log, at, &rec) != 1 || rec.pos != at ||
            rec.type != RUNNEL_REC_DELIVERY || rec.len != w.len ||
            rec.len > w.cap) {
            rc = RUNNEL_ERR_CORRUPT;
            goto out;
        }
        rc = runnel__log_read_body(&r->log, &rec, w.buf, (uint32_t)w.cap);
        if (rc == 0)
            rc = grp_apply_listed(r, sidx, gslot, a->consumer, a->noack, w.buf + list_at,
                                  w.len - list_at, now, fn, ctx);
    } else {
        rc = grp_apply_readgroup(r, sidx, gslot, a->consumer, a->new_entries, a->after, count,
                                 a->noack, now, fn, ctx);
        /* replay will read what this read found again: an entry's head,
         * or a seek's few steps, for each (DELIVERY_REPLAY_READ) */
        if (rc > 0 && !listed)
            runnel__replay_debt(r, (uint64_t)rc * DELIVERY_REPLAY_READ);
    }
out:
    grp_unlock(r);
    return rc;
}
