/*
 * group.c - the group half's tables: group, consumer and NACK slots with
 * their sorted indexes, carved from the arena at init.
 *
 * Orders:
 *   group_order     (sidx, name)    -> XINFO GROUPS in name order, lookup
 *   consumer_order  (group, name)   -> XINFO CONSUMERS / XPENDING in name order
 *   pel_order       (group, id)     -> XPENDING, history reads, XAUTOCLAIM scans
 * Names compare byte-wise as memcmp over the common prefix, shorter first
 * (Redis's rax order). Inserting and deleting shifts the index arrays with
 * memmove: O(n) in the pool size, bounded and cache-friendly.
 */
#include <string.h>

#include "group_impl.h"

void grp_lock(runnel_t *r)
{
    runnel__lock(r);
}

void grp_unlock(runnel_t *r)
{
    runnel__unlock(r);
}

runnel_str_t grp_str(const uint8_t *p, size_t len)
{
    runnel_str_t s;
    s.p = (const char *)p;
    s.len = len;
    return s;
}

runnel_id_t grp_id_next(runnel_id_t id, bool *overflow)
{
    *overflow = false;
    if (id.seq != UINT64_MAX) {
        id.seq++;
    } else if (id.ms != UINT64_MAX) {
        id.ms++;
        id.seq = 0;
    } else {
        *overflow = true;
    }
    return id;
}

static int grp_name_cmp(const uint8_t *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

const uint8_t *grp_group_name(const struct runnel_groups *g, uint32_t gslot)
{
    return g->group_names + (size_t)gslot * g->name_max;
}

const uint8_t *grp_consumer_name(const struct runnel_groups *g, uint32_t cslot)
{
    return g->consumer_names + (size_t)cslot * g->name_max;
}

/* The PEL's free stack: pel_free[0 .. pel_cap - pel_used) are the free
 * NACK slots, the top (highest index) handed out next; it starts as every
 * slot with slot 0 on top. Each entry is stored XOR that initial value, so
 * an all-zero array is the initial stack and init writes nothing. */
static uint32_t pel_free_at(const struct runnel_groups *g, uint32_t pos)
{
    return g->pel_free[pos] ^ (g->pel_cap - 1u - pos);
}

static void pel_free_put(struct runnel_groups *g, uint32_t pos, uint32_t slot)
{
    g->pel_free[pos] = slot ^ (g->pel_cap - 1u - pos);
}

/* Carves the pools. In counting mode (arena->base == NULL) the takes only
 * measure; nothing is written. */
int runnel__groups_init(runnel_t *r, runnel__arena_t *arena)
{
    const runnel_config_t *cfg = &r->cfg;
    struct runnel_groups *g = grp_tables(r);
    struct runnel_groups t;
    memset(&t, 0, sizeof t);
    t.name_max = cfg->name_max ? cfg->name_max : 64;
    t.groups_cap = cfg->max_groups ? cfg->max_groups : 16;
    t.consumers_cap = cfg->max_consumers ? cfg->max_consumers : 64;
    t.pel_cap = cfg->max_pending ? cfg->max_pending : 1024;
    /* db, key, group, consumer, a few ids and numbers, then room for ids:
     * a DELIVERY lists what it delivers when that fits (group_read.c), and
     * the IDs of a read that keeps up cost a byte or two each
     * (group_idlist.c), so two bytes per PEL slot, up to 1,024 of them. */
    t.rec_cap = 3u * (t.name_max + 10u) + 16u * 10u + 256u +
                2u * (t.pel_cap < 1024u ? t.pel_cap : 1024u);

    t.groups = runnel__arena_take(arena, sizeof(*t.groups) * t.groups_cap, 8);
    t.group_names = runnel__arena_take(arena, (size_t)t.groups_cap * t.name_max, 1);
    t.group_order = runnel__arena_take(arena, sizeof(uint32_t) * t.groups_cap, 4);
    t.consumers = runnel__arena_take(arena, sizeof(*t.consumers) * t.consumers_cap, 8);
    t.consumer_names = runnel__arena_take(arena, (size_t)t.consumers_cap * t.name_max, 1);
    t.consumer_order = runnel__arena_take(arena, sizeof(uint32_t) * t.consumers_cap, 4);
    t.nacks = runnel__arena_take(arena, sizeof(*t.nacks) * t.pel_cap, 8);
    t.pel_order = runnel__arena_take(arena, sizeof(uint32_t) * t.pel_cap, 4);
    t.pel_free = runnel__arena_take(arena, sizeof(uint32_t) * t.pel_cap, 4);
    t.rec_buf = runnel__arena_take(arena, t.rec_cap, 1);
    if (!t.groups || !t.group_names || !t.group_order || !t.consumers || !t.consumer_names ||
        !t.consumer_order || !t.nacks || !t.pel_order || !t.pel_free || !t.rec_buf)
        return RUNNEL_ERR_NOMEM;
    if (arena->base == NULL)
        return 0;

    /* Nothing is written into the pools here: group and consumer slots
     * past *_fresh have never been used, and the PEL's free stack is
     * stored relative to its initial value (pel_free_at). The arena comes
     * zeroed (util_arena.c), so a pool sized for 10,000 groups costs RAM
     * only for the slots in use. */
    *g = t;
    return 0;
}

/* ---- groups ---- */

static int group_key_cmp(const struct runnel_groups *g, uint32_t gslot, uint32_t sidx,
                         runnel_str_t name)
{
    const struct runnel__group *grp = &g->groups[gslot];
    if (grp->sidx != sidx)
        return grp->sidx < sidx ? -1 : 1;
    return grp_name_cmp(grp_group_name(g, gslot), grp->name_len, name.p, name.len);
}

uint32_t grp_find(const struct runnel_groups *g, uint32_t sidx, runnel_str_t name, uint32_t *pos)
{
    uint32_t lo = 0, hi = g->groups_used;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (group_key_cmp(g, g->group_order[mid], sidx, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    if (lo < g->groups_used && group_key_cmp(g, g->group_order[lo], sidx, name) == 0)
        return g->group_order[lo];
    return RUNNEL__FREE;
}

uint32_t grp_stream_range(const struct runnel_groups *g, uint32_t sidx, uint32_t *first)
{
    uint32_t lo = 0, hi = g->groups_used, end;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->groups[g->group_order[mid]].sidx < sidx)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    end = lo;
    while (end < g->groups_used && g->groups[g->group_order[end]].sidx == sidx)
        end++;
    return end - lo;
}

uint32_t grp_add(struct runnel_groups *g, uint32_t pos, uint32_t sidx, runnel_str_t name,
                 runnel_id_t last_id, int64_t entries_read)
{
    uint32_t slot;
    struct runnel__group *grp;

    if (name.len > g->name_max)
        return RUNNEL__FREE;
    for (slot = 0; slot < g->groups_fresh; slot++)
        if (g->groups[slot].sidx == RUNNEL__FREE)
            break;
    if (slot == g->groups_fresh) {
        if (slot == g->groups_cap)
            return RUNNEL__FREE;
        g->groups_fresh++;
    }
    grp = &g->groups[slot];
    memset(grp, 0, sizeof *grp);
    grp->sidx = sidx;
    grp->name_len = (uint32_t)name.len;
    grp->last_id = last_id;
    grp->entries_read = entries_read;
    if (name.len)
        memcpy(g->group_names + (size_t)slot * g->name_max, name.p, name.len);
    memmove(&g->group_order[pos + 1], &g->group_order[pos],
            sizeof(uint32_t) * (g->groups_used - pos));
    g->group_order[pos] = slot;
    g->groups_used++;
    return slot;
}

/* Frees a group with its consumers and its PEL. */
void grp_remove(struct runnel_groups *g, uint32_t gslot)
{
    uint32_t first, n, i, pos;

    /* PEL: one contiguous run in pel_order. */
    first = grp_pel_lower(g, gslot, RUNNEL_ID_MIN);
    n = grp_pel_end(g, gslot) - first;
    for (i = 0; i < n; i++)
        pel_free_put(g, g->pel_cap - g->pel_used + i, g->pel_order[first + i]);
    memmove(&g->pel_order[first], &g->pel_order[first + n],
            sizeof(uint32_t) * (g->pel_used - first - n));
    g->pel_used -= n;

    /* Consumers: one contiguous run in consumer_order. */
    n = grp_consumer_range(g, gslot, &first);
    for (i = 0; i < n; i++)
        g->consumers[g->consumer_order[first + i]].group = RUNNEL__FREE;
    memmove(&g->consumer_order[first], &g->consumer_order[first + n],
            sizeof(uint32_t) * (g->consumers_used - first - n));
    g->consumers_used -= n;

    for (pos = 0; pos < g->groups_used; pos++)
        if (g->group_order[pos] == gslot)
            break;
    if (pos < g->groups_used) {
        memmove(&g->group_order[pos], &g->group_order[pos + 1],
                sizeof(uint32_t) * (g->groups_used - pos - 1));
        g->groups_used--;
    }
    g->groups[gslot].sidx = RUNNEL__FREE;
}

/* ---- consumers ---- */

static int consumer_key_cmp(const struct runnel_groups *g, uint32_t cslot, uint32_t gslot,
                            runnel_str_t name)
{
    const struct runnel__consumer *c = &g->consumers[cslot];
    if (c->group != gslot)
        return c->group < gslot ? -1 : 1;
    return grp_name_cmp(grp_consumer_name(g, cslot), c->name_len, name.p, name.len);
}

uint32_t grp_consumer_find(const struct runnel_groups *g, uint32_t gslot, runnel_str_t name,
                           uint32_t *pos)
{
    uint32_t lo = 0, hi = g->consumers_used;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (consumer_key_cmp(g, g->consumer_order[mid], gslot, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (pos)
        *pos = lo;
    if (lo < g->consumers_used && consumer_key_cmp(g, g->consumer_order[lo], gslot, name) == 0)
        return g->consumer_order[lo];
    return RUNNEL__FREE;
}

uint32_t grp_consumer_range(const struct runnel_groups *g, uint32_t gslot, uint32_t *first)
{
    uint32_t lo = 0, hi = g->consumers_used;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->consumers[g->consumer_order[mid]].group < gslot)
            lo = mid + 1;
        else
            hi = mid;
    }
    *first = lo;
    return g->groups[gslot].consumers;
}

uint32_t grp_consumer_add(struct runnel_groups *g, uint32_t pos, uint32_t gslot,
                          runnel_str_t name, uint64_t now)
{
    uint32_t slot;
    struct runnel__consumer *c;

    if (name.len > g->name_max)
        return RUNNEL__FREE;
    for (slot = 0; slot < g->consumers_fresh; slot++)
        if (g->consumers[slot].group == RUNNEL__FREE)
            break;
    if (slot == g->consumers_fresh) {
        if (slot == g->consumers_cap)
            return RUNNEL__FREE;
        g->consumers_fresh++;
    }
    c = &g->consumers[slot];
    memset(c, 0, sizeof *c);
    c->group = gslot;
    c->name_len = (uint32_t)name.len;
    c->seen_time = now;
    if (name.len)
        memcpy(g->consumer_names + (size_t)slot * g->name_max, name.p, name.len);
    memmove(&g->consumer_order[pos + 1], &g->consumer_order[pos],
            sizeof(uint32_t) * (g->consumers_used - pos));
    g->consumer_order[pos] = slot;
    g->consumers_used++;
    g->groups[gslot].consumers++;
    return slot;
}

/* Removes a consumer and drops its NACKs from the group PEL. */
void grp_consumer_remove(struct runnel_groups *g, uint32_t cslot)
{
    struct runnel__consumer *c = &g->consumers[cslot];
    uint32_t gslot = c->group, pos, end;

    pos = grp_pel_lower(g, gslot, RUNNEL_ID_MIN);
    end = grp_pel_end(g, gslot);
    while (pos < end) {
        if (g->nacks[g->pel_order[pos]].consumer == cslot) {
            grp_pel_remove_at(g, pos);
            end--;
        } else {
            pos++;
        }
    }
    for (pos = 0; pos < g->consumers_used; pos++)
        if (g->consumer_order[pos] == cslot)
            break;
    if (pos < g->consumers_used) {
        memmove(&g->consumer_order[pos], &g->consumer_order[pos + 1],
                sizeof(uint32_t) * (g->consumers_used - pos - 1));
        g->consumers_used--;
    }
    g->groups[gslot].consumers--;
    c->group = RUNNEL__FREE;
}

/* ---- PEL ---- */

static int pel_key_cmp(const struct runnel_groups *g, uint32_t nslot, uint32_t gslot,
                       runnel_id_t id)
{
    const struct runnel__nack *n = &g->nacks[nslot];
    if (n->group != gslot)
        return n->group < gslot ? -1 : 1;
    return runnel_id_cmp(n->id, id);
}

uint32_t grp_pel_lower(const struct runnel_groups *g, uint32_t gslot, runnel_id_t id)
{
    uint32_t lo = 0, hi = g->pel_used;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pel_key_cmp(g, g->pel_order[mid], gslot, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t grp_pel_end(const struct runnel_groups *g, uint32_t gslot)
{
    return grp_pel_lower(g, gslot, RUNNEL_ID_MIN) + g->groups[gslot].pending;
}

uint32_t grp_pel_find(const struct runnel_groups *g, uint32_t gslot, runnel_id_t id, uint32_t *pos)
{
    uint32_t lo = grp_pel_lower(g, gslot, id);
    if (pos)
        *pos = lo;
    if (lo < g->pel_used && pel_key_cmp(g, g->pel_order[lo], gslot, id) == 0)
        return g->pel_order[lo];
    return RUNNEL__FREE;
}

uint32_t grp_pel_insert(struct runnel_groups *g, uint32_t pos, uint32_t gslot, uint32_t cslot,
                        runnel_id_t id, uint64_t time, uint64_t count)
{
    uint32_t slot;
    struct runnel__nack *n;

    if (g->pel_used == g->pel_cap)
        return RUNNEL__FREE;
    slot = pel_free_at(g, g->pel_cap - g->pel_used - 1u);
    n = &g->nacks[slot];
    n->id = id;
    n->delivery_time = time;
    n->delivery_count = count;
    n->group = gslot;
    n->consumer = cslot;
    memmove(&g->pel_order[pos + 1], &g->pel_order[pos], sizeof(uint32_t) * (g->pel_used - pos));
    g->pel_order[pos] = slot;
    g->pel_used++;
    g->groups[gslot].pending++;
    if (cslot != RUNNEL__FREE)
        g->consumers[cslot].pending++;
    return slot;
}

void grp_pel_remove_at(struct runnel_groups *g, uint32_t pos)
{
    uint32_t slot = g->pel_order[pos];
    struct runnel__nack *n = &g->nacks[slot];

    g->groups[n->group].pending--;
    if (n->consumer != RUNNEL__FREE)
        g->consumers[n->consumer].pending--;
    memmove(&g->pel_order[pos], &g->pel_order[pos + 1],
            sizeof(uint32_t) * (g->pel_used - pos - 1));
    g->pel_used--;
    pel_free_put(g, g->pel_cap - g->pel_used - 1u, slot);
}

/* A marked entry keeps its place (and sort key) in pel_order until
 * grp_pel_compact(); only the caller that marks looks entries up in
 * between, and it skips marked ones. */
void grp_pel_mark_removed(struct runnel_groups *g, uint32_t pos)
{
    struct runnel__nack *n = &g->nacks[g->pel_order[pos]];

    g->groups[n->group].pending--;
    if (n->consumer != RUNNEL__FREE)
        g->consumers[n->consumer].pending--;
    n->consumer = GRP_NACK_REMOVED;
}

/* Acking k entries one memmove at a time costs k * PEL size: with 50
 * consumers holding 100 pending each, an XACK of 100 IDs moved 5,000
 * slots 100 times. One pass from the first marked position moves each
 * surviving slot at most once. */
void grp_pel_compact(struct runnel_groups *g, uint32_t from_pos)
{
    uint32_t rd, wr = from_pos, used = g->pel_used;

    for (rd = from_pos; rd < used; rd++) {
        uint32_t slot = g->pel_order[rd];
        if (g->nacks[slot].consumer == GRP_NACK_REMOVED) {
            g->pel_used--;
            pel_free_put(g, g->pel_cap - g->pel_used - 1u, slot);
        } else {
            g->pel_order[wr++] = slot;
        }
    }
}

void grp_nack_move(struct runnel_groups *g, uint32_t nslot, uint32_t cslot)
{
    struct runnel__nack *n = &g->nacks[nslot];
    if (n->consumer == cslot)
        return;
    if (n->consumer != RUNNEL__FREE)
        g->consumers[n->consumer].pending--;
    n->consumer = cslot;
    g->consumers[cslot].pending++;
}

/* ---- stream-half entry points ---- */

uint32_t runnel__groups_count(runnel_t *r, uint32_t sidx)
{
    uint32_t first;
    return grp_stream_range(grp_tables(r), sidx, &first);
}

void runnel__groups_drop_stream(runnel_t *r, uint32_t sidx)
{
    struct runnel_groups *g = grp_tables(r);
    uint32_t first;
    while (grp_stream_range(g, sidx, &first) > 0)
        grp_remove(g, g->group_order[first]);
}

void runnel__groups_stats(runnel_t *r, runnel_stats_t *out)
{
    struct runnel_groups *g = grp_tables(r);
    out->groups_used = g->groups_used;
    out->groups_cap = g->groups_cap;
    out->consumers_used = g->consumers_used;
    out->consumers_cap = g->consumers_cap;
    out->pending_used = g->pel_used;
    out->pending_cap = g->pel_cap;
}
