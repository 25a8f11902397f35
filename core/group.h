/*
 * group.h - the group half of the engine: consumer groups, consumers and
 * the pending-entries list (PEL), all in fixed pools carved from the arena.
 *
 * struct runnel (core/store.h, stream half) embeds `struct runnel_groups
 * groups;`. Nothing here points into the stream half: a group refers to its
 * stream by the stream-table index (sidx) the stream half hands out.
 *
 * Layout (every table is a plain array of slots plus a sorted index):
 *   - groups[max_groups]          slot.sidx == RUNNEL__FREE when unused
 *     group_order[]               used group slots sorted by (sidx, name)
 *   - consumers[max_consumers]    slot.group == RUNNEL__FREE when unused
 *     consumer_order[]            used consumer slots sorted by (group, name)
 *   - nacks[max_pending]          the PEL entries (NACKs)
 *     pel_order[]                 used NACK slots sorted by (group, id)
 *     pel_free[]                  stack of free NACK slots
 *   - group_names / consumer_names: name_max bytes per slot
 *
 * Sorted index arrays give binary search and ordered scans (XPENDING,
 * XINFO in name order) without pointers; inserting or deleting costs a
 * memmove of O(n) 4-byte indices, which is cheap for the pool sizes an
 * embedded store uses (a few thousand PEL entries move in microseconds).
 */
#ifndef RUNNEL_GROUP_H
#define RUNNEL_GROUP_H

#include "internal.h"

#define RUNNEL__FREE UINT32_MAX

struct runnel__group {
    uint32_t sidx;            /* owning stream; RUNNEL__FREE = slot unused */
    uint32_t name_len;
    runnel_id_t last_id;      /* last-delivered-id */
    int64_t entries_read;     /* -1 = unknown (nil) */
    uint32_t consumers;       /* consumers in this group */
    uint32_t pending;         /* PEL entries of this group */
};

struct runnel__consumer {
    uint32_t group;           /* owning group slot; RUNNEL__FREE = unused */
    uint32_t name_len;
    uint64_t seen_time;       /* ms */
    uint32_t pending;         /* NACKs owned by this consumer */
};

struct runnel__nack {
    runnel_id_t id;
    uint64_t delivery_time;   /* ms */
    uint64_t delivery_count;
    uint32_t group;           /* group slot */
    uint32_t consumer;        /* consumer slot */
};

struct runnel_groups {
    uint32_t name_max;

    struct runnel__group *groups;
    uint8_t *group_names;          /* groups_cap * name_max */
    uint32_t *group_order;
    uint32_t groups_cap, groups_used;
    uint32_t groups_fresh;         /* slots >= this were never used (untouched) */

    struct runnel__consumer *consumers;
    uint8_t *consumer_names;       /* consumers_cap * name_max */
    uint32_t *consumer_order;
    uint32_t consumers_cap, consumers_used;
    uint32_t consumers_fresh;      /* slots >= this were never used (untouched) */

    struct runnel__nack *nacks;
    uint32_t *pel_order;
    uint32_t *pel_free;            /* free NACK slots: pel_cap - pel_used of them */
    uint32_t pel_cap, pel_used;

    uint8_t *rec_buf;              /* journal record scratch (see group_record.c) */
    uint32_t rec_cap;
    bool replaying;                /* mount replay: do not journal again */
};

/* Group record types in the log (FORMAT.md, "Group records"). */
#define RUNNEL_REC_GROUP_CREATE    0x20u
#define RUNNEL_REC_GROUP_SETID     0x21u
#define RUNNEL_REC_GROUP_DESTROY   0x22u
#define RUNNEL_REC_CONSUMER_CREATE 0x23u
#define RUNNEL_REC_CONSUMER_DELETE 0x24u
#define RUNNEL_REC_DELIVERY        0x25u
#define RUNNEL_REC_ACK             0x26u
#define RUNNEL_REC_CLAIM           0x27u
#define RUNNEL_REC_NACK_STATE      0x28u /* checkpoint: one NACK as it is */
#define RUNNEL_REC_AUTOCLAIM       0x29u
#define RUNNEL_REC_GROUP_LAST      0x2Fu

/* ---- what the engine's top (open.c) calls; nothing in the stream half
 * calls the group half (internal.h, struct runnel__stream_hooks) ---- */

/* Arena needs and initialisation of the group tables. */
int runnel__groups_init(runnel_t *r, runnel__arena_t *arena);

/* Number of groups of stream sidx (the groups_count hook). */
uint32_t runnel__groups_count(runnel_t *r, uint32_t sidx);

/* Frees every group, consumer and PEL entry of stream sidx (the
 * stream_gone hook: DEL, FLUSH*, RENAME over it). */
void runnel__groups_drop_stream(runnel_t *r, uint32_t sidx);

/* Fills the group half of runnel_stats_t. */
void runnel__groups_stats(runnel_t *r, runnel_stats_t *out);

/* Mount: applies one group record (type 0x20..0x2F) found in the log, as
 * journalled by the group half. The stream must already exist (stream
 * records come first in log order). Returns 0, or CORRUPT for a body that
 * does not parse, or a POOL_* code. Nothing is journalled while replaying. */
int runnel__groups_replay(runnel_t *r, uint8_t type, const uint8_t *body, size_t len);

/* Checkpoint: emits records that recreate the full group state of stream
 * sidx (groups, consumers, NACKs) through emit, in replayable order. */
typedef int (*runnel__record_fn)(void *ctx, uint8_t type, const void *body, size_t len);
int runnel__groups_snapshot(runnel_t *r, uint32_t sidx, runnel__record_fn emit, void *ctx);

#endif /* RUNNEL_GROUP_H */
