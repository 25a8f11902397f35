/*
 * group_lag.c - entries-read and lag of a consumer group (Redis 7.0).
 *
 * A group counts how many entries it has "read" so that lag can be
 * reported as entries_added - entries_read without walking the stream.
 * The count stays exact only while no deleted entry (tombstone) lies
 * after the group's position; otherwise it is re-estimated from the
 * stream's counters, and may become unknown (-1, replied as nil).
 * This file is the algorithm of section 8 of the reference, step by step.
 */
#include "group_impl.h"

static bool id_is_zero(runnel_id_t id)
{
    return id.ms == 0 && id.seq == 0;
}

/* How many entries were ever added up to and including id, when that can
 * be known from the counters alone; -1 otherwise (Redis's
 * streamEstimateDistanceFromFirstEverEntry). */
static int64_t grp_estimate(const runnel__stream_state_t *s, runnel_id_t id)
{
    int cmp_last;

    if (s->entries_added == 0)
        return 0;
    cmp_last = runnel_id_cmp(id, s->last_id);
    if (s->length == 0 && cmp_last <= 0)
        return (int64_t)s->entries_added;
    if (cmp_last == 0)
        return (int64_t)s->entries_added;
    if (cmp_last > 0)
        return -1;
    if (id_is_zero(s->max_deleted) || runnel_id_cmp(s->max_deleted, s->first_id) < 0) {
        int cmp_first = runnel_id_cmp(id, s->first_id);
        if (cmp_first < 0)
            return (int64_t)(s->entries_added - s->length);
        if (cmp_first == 0)
            return (int64_t)(s->entries_added - s->length + 1);
    }
    return -1;
}

/* True when an XDEL'ed entry may lie at or after id. */
static bool grp_tombstones_after(const runnel__stream_state_t *s, runnel_id_t id)
{
    if (s->length == 0 || id_is_zero(s->max_deleted) ||
        runnel_id_cmp(s->first_id, s->max_deleted) > 0)
        return false;
    return runnel_id_cmp(id, s->max_deleted) <= 0;
}

void grp_advance(struct runnel__group *grp, const runnel__stream_state_t *s, runnel_id_t id)
{
    if (grp->entries_read != -1 && !grp_tombstones_after(s, id))
        grp->entries_read++;
    else if (s->entries_added > 0)
        grp->entries_read = grp_estimate(s, id);
    grp->last_id = id;
}

bool grp_lag(const struct runnel__group *grp, const runnel__stream_state_t *s, uint64_t *lag)
{
    int64_t e;

    if (s->entries_added == 0) {
        *lag = 0;
        return true;
    }
    if (grp->entries_read != -1 && !grp_tombstones_after(s, grp->last_id)) {
        /* ENTRIESREAD may claim more than was ever added; Redis then
         * replies a negative lag. The difference wraps here and is read
         * back as int64_t by whoever prints it (see runnel_group_info_t). */
        *lag = s->entries_added - (uint64_t)grp->entries_read;
        return true;
    }
    e = grp_estimate(s, grp->last_id);
    if (e < 0)
        return false;
    *lag = s->entries_added - (uint64_t)e;
    return true;
}
