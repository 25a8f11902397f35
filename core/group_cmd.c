/*
 * group_cmd.c - XGROUP CREATE / SETID / DESTROY / CREATECONSUMER /
 * DELCONSUMER, and the XINFO GROUPS / CONSUMERS views.
 *
 * Each mutation: look the stream and group up, check names and pools,
 * journal the change, then apply it, so a refused journal write (NOSPC)
 * or a full pool leaves everything as it was. The one exception is
 * CREATE ... MKSTREAM: the stream is created (and journalled by the
 * stream half) before the group record; should the group record then be
 * refused, the empty stream stays, exactly as if MKSTREAM had run alone.
 */
#include <string.h>

#include "group_impl.h"

/* Finds stream and group. Returns 0, NO_SUCH_KEY, or 1 for "no group". */
static int lookup_group(runnel_t *r, runnel_str_t key, runnel_str_t group, uint32_t *sidx,
                        uint32_t *gslot, uint32_t *gpos)
{
    int rc = runnel__lookup(r, key, sidx);
    if (rc < 0)
        return rc;
    *gslot = grp_find(grp_tables(r), *sidx, group, gpos);
    return *gslot == RUNNEL__FREE ? 1 : 0;
}

static int journal_group_id(runnel_t *r, uint8_t type, uint32_t sidx, runnel_str_t group,
                            runnel_id_t id, int64_t entries_read)
{
    grp_rec_t w;
    grp_rec_group_pos(r, &w, sidx, group, id, entries_read);
    return grp_rec_commit(r, &w, type);
}

int runnel_xgroup_create(runnel_t *r, runnel_str_t key, runnel_str_t group, runnel_id_t id,
                         bool use_last_id, bool mkstream, int64_t entries_read)
{
    struct runnel_groups *g;
    runnel__stream_state_t st;
    uint32_t sidx, gslot, pos;
    int rc;

    if (r == NULL || (group.p == NULL && group.len))
        return RUNNEL_ERR_INVAL;
    if (entries_read < -1)
        return RUNNEL_ERR_ENTRIESREAD_RANGE;
    grp_lock(r);
    g = grp_tables(r);
    rc = runnel__lookup(r, key, &sidx);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY) {
        if (!mkstream) {
            rc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
            goto out;
        }
        /* Check what the group needs before creating the stream. */
        if (group.len > g->name_max) {
            rc = RUNNEL_ERR_NAME_TOO_LONG;
            goto out;
        }
        if (g->groups_used == g->groups_cap) {
            rc = RUNNEL_ERR_POOL_GROUPS;
            goto out;
        }
        rc = runnel__create_stream(r, key, &sidx);
    }
    if (rc < 0)
        goto out;
    if (grp_find(g, sidx, group, &pos) != RUNNEL__FREE) {
        rc = RUNNEL_ERR_BUSYGROUP;
        goto out;
    }
    if (group.len > g->name_max) {
        rc = RUNNEL_ERR_NAME_TOO_LONG;
        goto out;
    }
    if (g->groups_used == g->groups_cap) {
        rc = RUNNEL_ERR_POOL_GROUPS;
        goto out;
    }
    runnel__stream_state(r, sidx, &st);
    if (use_last_id)
        id = st.last_id;
    rc = journal_group_id(r, RUNNEL_REC_GROUP_CREATE, sidx, group, id, entries_read);
    if (rc < 0)
        goto out;
    gslot = grp_add(g, pos, sidx, group, id, entries_read);
    rc = gslot == RUNNEL__FREE ? RUNNEL_ERR_POOL_GROUPS : 0;
out:
    grp_unlock(r);
    return rc;
}

int runnel_xgroup_setid(runnel_t *r, runnel_str_t key, runnel_str_t group, runnel_id_t id,
                        bool use_last_id, int64_t entries_read)
{
    runnel__stream_state_t st;
    uint32_t sidx, gslot, pos;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    if (entries_read < -1)
        return RUNNEL_ERR_ENTRIESREAD_RANGE;
    grp_lock(r);
    rc = lookup_group(r, key, group, &sidx, &gslot, &pos);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY)
        rc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
    else if (rc == 1)
        rc = RUNNEL_ERR_NOGROUP_FOR_KEY;
    if (rc != 0)
        goto out;
    runnel__stream_state(r, sidx, &st);
    if (use_last_id)
        id = st.last_id;
    rc = journal_group_id(r, RUNNEL_REC_GROUP_SETID, sidx, group, id, entries_read);
    if (rc < 0)
        goto out;
    grp_tables(r)->groups[gslot].last_id = id;
    grp_tables(r)->groups[gslot].entries_read = entries_read;
out:
    grp_unlock(r);
    return rc;
}

int runnel_xgroup_destroy(runnel_t *r, runnel_str_t key, runnel_str_t group)
{
    grp_rec_t w;
    uint32_t sidx, gslot, pos;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    rc = lookup_group(r, key, group, &sidx, &gslot, &pos);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY)
        rc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
    if (rc != 0) {
        if (rc == 1)
            rc = 0;
        goto out;
    }
    grp_rec_begin(r, &w, sidx, group);
    rc = grp_rec_commit(r, &w, RUNNEL_REC_GROUP_DESTROY);
    if (rc < 0)
        goto out;
    grp_remove(grp_tables(r), gslot);
    runnel__notify(r, sidx, RUNNEL_EV_GROUP_DESTROYED);
    rc = 1;
out:
    grp_unlock(r);
    return rc;
}

int runnel_xgroup_createconsumer(runnel_t *r, runnel_str_t key, runnel_str_t group,
                                 runnel_str_t consumer)
{
    struct runnel_groups *g;
    grp_rec_t w;
    uint32_t sidx, gslot, pos, cpos;
    uint64_t now;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_group(r, key, group, &sidx, &gslot, &pos);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY)
        rc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
    else if (rc == 1)
        rc = RUNNEL_ERR_NOGROUP_FOR_KEY;
    if (rc != 0)
        goto out;
    if (grp_consumer_find(g, gslot, consumer, &cpos) != RUNNEL__FREE)
        goto out; /* rc = 0: existed */
    if (consumer.len > g->name_max) {
        rc = RUNNEL_ERR_NAME_TOO_LONG;
        goto out;
    }
    if (g->consumers_used == g->consumers_cap) {
        rc = RUNNEL_ERR_POOL_CONSUMERS;
        goto out;
    }
    now = runnel__now(r);
    grp_rec_consumer_create(r, &w, sidx, group, consumer, now);
    rc = grp_rec_commit(r, &w, RUNNEL_REC_CONSUMER_CREATE);
    if (rc < 0)
        goto out;
    (void)grp_consumer_add(g, cpos, gslot, consumer, now);
    rc = 1;
out:
    grp_unlock(r);
    return rc;
}

int runnel_xgroup_delconsumer(runnel_t *r, runnel_str_t key, runnel_str_t group,
                              runnel_str_t consumer, uint64_t *pending)
{
    struct runnel_groups *g;
    grp_rec_t w;
    uint32_t sidx, gslot, pos, cslot;
    uint64_t n = 0;
    int rc;

    if (pending)
        *pending = 0;
    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_group(r, key, group, &sidx, &gslot, &pos);
    if (rc == RUNNEL_ERR_NO_SUCH_KEY)
        rc = RUNNEL_ERR_XGROUP_NEEDS_KEY;
    else if (rc == 1)
        rc = RUNNEL_ERR_NOGROUP_FOR_KEY;
    if (rc != 0)
        goto out;
    cslot = grp_consumer_find(g, gslot, consumer, NULL);
    if (cslot == RUNNEL__FREE)
        goto out;
    grp_rec_consumer(r, &w, sidx, group, consumer);
    rc = grp_rec_commit(r, &w, RUNNEL_REC_CONSUMER_DELETE);
    if (rc < 0)
        goto out;
    n = g->consumers[cslot].pending;
    grp_consumer_remove(g, cslot);
    if (pending)
        *pending = n;
    rc = n > INT32_MAX ? INT32_MAX : (int)n;
out:
    grp_unlock(r);
    return rc;
}

int runnel_group_exists(runnel_t *r, runnel_str_t key, runnel_str_t group)
{
    uint32_t sidx, gslot, pos;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    rc = lookup_group(r, key, group, &sidx, &gslot, &pos);
    grp_unlock(r);
    return rc == 0 ? 1 : 0;
}

int runnel_groups(runnel_t *r, runnel_str_t key, runnel_group_fn fn, void *ctx)
{
    struct runnel_groups *g;
    runnel__stream_state_t st;
    uint32_t sidx, first, n, i;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = runnel__lookup(r, key, &sidx);
    if (rc < 0)
        goto out;
    runnel__stream_state(r, sidx, &st);
    n = grp_stream_range(g, sidx, &first);
    for (i = 0; i < n; i++) {
        uint32_t gslot = g->group_order[first + i];
        const struct runnel__group *grp = &g->groups[gslot];
        runnel_group_info_t info;

        memset(&info, 0, sizeof info);
        info.name = grp_str(grp_group_name(g, gslot), grp->name_len);
        info.consumers = grp->consumers;
        info.pending = grp->pending;
        info.last_id = grp->last_id;
        info.has_entries_read = grp->entries_read != -1;
        info.entries_read = info.has_entries_read ? (uint64_t)grp->entries_read : 0;
        info.has_lag = grp_lag(grp, &st, &info.lag);
        if (fn) {
            int c = fn(ctx, &info);
            if (c < 0) {
                rc = c;
                goto out;
            }
        }
    }
    rc = (int)n;
out:
    grp_unlock(r);
    return rc;
}

int runnel_consumers(runnel_t *r, runnel_str_t key, runnel_str_t group,
                     runnel_consumer_fn fn, void *ctx)
{
    struct runnel_groups *g;
    uint32_t sidx, gslot, pos, first, n, i;
    uint64_t now;
    int rc;

    if (r == NULL)
        return RUNNEL_ERR_INVAL;
    grp_lock(r);
    g = grp_tables(r);
    rc = lookup_group(r, key, group, &sidx, &gslot, &pos);
    if (rc == 1)
        rc = RUNNEL_ERR_NOGROUP_FOR_KEY;
    if (rc != 0)
        goto out;
    now = runnel__now(r);
    n = grp_consumer_range(g, gslot, &first);
    for (i = 0; i < n; i++) {
        uint32_t cslot = g->consumer_order[first + i];
        const struct runnel__consumer *c = &g->consumers[cslot];
        runnel_consumer_info_t info;

        info.name = grp_str(grp_consumer_name(g, cslot), c->name_len);
        info.pending = c->pending;
        info.seen_time_ms = c->seen_time;
        info.idle_ms = now > c->seen_time ? now - c->seen_time : 0;
        if (fn) {
            int cr = fn(ctx, &info);
            if (cr < 0) {
                rc = cr;
                goto out;
            }
        }
    }
    rc = (int)n;
out:
    grp_unlock(r);
    return rc;
}
