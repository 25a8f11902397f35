/*
 * group_impl.h - private seams between the group-half files (group*.c).
 *
 *   group.c          the tables: slots, sorted indexes, find/insert/remove,
 *                    init, stats, dropping a stream's groups, locking
 *   group_lag.c      entries-read / lag (Redis 7.0 algorithm, section 8)
 *   group_cmd.c      XGROUP *, XINFO GROUPS / CONSUMERS
 *   group_read.c     XREADGROUP
 *   group_ack.c      XACK
 *   group_claim.c    XPENDING, XCLAIM, XAUTOCLAIM
 *   group_idlist.c   the coding of ID lists inside those records
 *   group_record.c   the 0x20..0x29 record bodies: encode, journal
 *   group_replay.c   the same records read back: mount replay, snapshot
 *
 * Inside the half, calls go one way too: group.c, group_lag.c (tables)
 * and group_idlist.c (codec) <- group_record.c (encoder) <- group_cmd/read/claim.c (commands and
 * their apply functions) <- group_replay.c (replay and checkpoint).
 *
 * Every mutation follows one shape: look up, check pools (plan), journal,
 * apply. The apply step is a deterministic function of the journalled
 * arguments, so mount replay calls the very same apply functions.
 */
#ifndef RUNNEL_GROUP_IMPL_H
#define RUNNEL_GROUP_IMPL_H

#include "group.h"
#include "store.h"
#include "util.h"

/* ---- tables (group.c) ---- */
static inline struct runnel_groups *grp_tables(runnel_t *r) { return &r->groups; }

void grp_lock(runnel_t *r);
void grp_unlock(runnel_t *r);

const uint8_t *grp_group_name(const struct runnel_groups *g, uint32_t gslot);
const uint8_t *grp_consumer_name(const struct runnel_groups *g, uint32_t cslot);

/* Group slot of (sidx, name) or RUNNEL__FREE; *pos = its position (or
 * insertion position) in group_order. */
uint32_t grp_find(const struct runnel_groups *g, uint32_t sidx, runnel_str_t name, uint32_t *pos);
/* First position in group_order of stream sidx's groups, and how many. */
uint32_t grp_stream_range(const struct runnel_groups *g, uint32_t sidx, uint32_t *first);
uint32_t grp_add(struct runnel_groups *g, uint32_t pos, uint32_t sidx, runnel_str_t name,
                 runnel_id_t last_id, int64_t entries_read);
void grp_remove(struct runnel_groups *g, uint32_t gslot);

uint32_t grp_consumer_find(const struct runnel_groups *g, uint32_t gslot, runnel_str_t name,
                           uint32_t *pos);
uint32_t grp_consumer_range(const struct runnel_groups *g, uint32_t gslot, uint32_t *first);
uint32_t grp_consumer_add(struct runnel_groups *g, uint32_t pos, uint32_t gslot,
                          runnel_str_t name, uint64_t now);
void grp_consumer_remove(struct runnel_groups *g, uint32_t cslot);

/* PEL: positions in pel_order. lower_bound = first (gslot', id') >= (gslot, id). */
uint32_t grp_pel_lower(const struct runnel_groups *g, uint32_t gslot, runnel_id_t id);
uint32_t grp_pel_end(const struct runnel_groups *g, uint32_t gslot);
/* NACK slot with exactly (gslot, id), or RUNNEL__FREE; *pos as lower_bound. */
uint32_t grp_pel_find(const struct runnel_groups *g, uint32_t gslot, runnel_id_t id, uint32_t *pos);
uint32_t grp_pel_insert(struct runnel_groups *g, uint32_t pos, uint32_t gslot, uint32_t cslot,
                        runnel_id_t id, uint64_t time, uint64_t count);
void grp_pel_remove_at(struct runnel_groups *g, uint32_t pos);
/* Batch removal: mark PEL entries (counters are updated at once), then one
 * compaction pass from the lowest marked position drops them all. A marked
 * entry keeps its (group, id) sort key, so binary searches stay valid; its
 * consumer field holds GRP_NACK_REMOVED, which grp_apply_ack skips. */
#define GRP_NACK_REMOVED (RUNNEL__FREE - 1u)
void grp_pel_mark_removed(struct runnel_groups *g, uint32_t pos);
void grp_pel_compact(struct runnel_groups *g, uint32_t from_pos);
void grp_nack_move(struct runnel_groups *g, uint32_t nslot, uint32_t cslot);
static inline uint32_t grp_pel_free(const struct runnel_groups *g) { return g->pel_cap - g->pel_used; }

runnel_str_t grp_str(const uint8_t *p, size_t len);
runnel_id_t grp_id_next(runnel_id_t id, bool *overflow);

/* ---- lag (group_lag.c; Redis's streamEstimateDistanceFromFirstEverEntry
 * and the tombstone test stay private to it) ---- */
/* Delivery of id (> group.last_id) through ">": entries_read then last_id. */
void grp_advance(struct runnel__group *grp, const runnel__stream_state_t *s, runnel_id_t id);
bool grp_lag(const struct runnel__group *grp, const runnel__stream_state_t *s, uint64_t *lag);

/* What mount reads, about, to replay one entry of a delivery it walks
 * again or of a claim that looks its entry up: a ">" read's entry head
 * (about 23 bytes measured), a seek by ID (runnel_t.replay_debt). */
#define DELIVERY_REPLAY_READ 32u

/* ---- apply functions (shared by the commands and replay) ---- */
int grp_apply_readgroup(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                        bool new_entries, runnel_id_t after, int64_t count, bool noack,
                        uint64_t now, runnel_entry_fn fn, void *ctx);
/* A ">" delivery of exactly the IDs coded in list[0..len) (against the
 * group's last ID): replay reads no entry; with fn, each entry still
 * there is read and handed to it. CORRUPT if the list is not IDs above
 * the group's last ID in increasing order. */
int grp_apply_listed(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                     bool noack, const uint8_t *list, size_t len, uint64_t now,
                     runnel_entry_fn fn, void *ctx);
/* XACK of ids (group_ack.c): the number acked. */
uint64_t grp_apply_ack(runnel_t *r, uint32_t gslot, const runnel_id_t *ids, size_t n);
/* One run of an ACK record: the pending entry id and the `run` entries
 * after it in the group's PEL are marked acked (*first: the lowest PEL
 * position marked so far; the caller compacts from it). CORRUPT if id is
 * not in the PEL or the run leaves the group's part of it. */
int grp_apply_ack_run(runnel_t *r, uint32_t gslot, runnel_id_t id, uint64_t run,
                      uint32_t *first);

typedef struct grp_claim_params {
    uint64_t now;
    uint64_t min_idle;
    uint64_t delivery_time;
    int64_t retrycount;     /* -1 = not given */
    bool force, justid;
    bool has_lastid;
    runnel_id_t lastid;
} grp_claim_params_t;
int grp_apply_claim(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                    const grp_claim_params_t *p, const runnel_id_t *ids, size_t n,
                    runnel_entry_fn fn, void *ctx);
int grp_apply_autoclaim(runnel_t *r, uint32_t sidx, uint32_t gslot, runnel_str_t consumer,
                        uint64_t now, uint64_t min_idle, runnel_id_t start, uint64_t count,
                        bool justid, runnel_id_t *next, runnel_id_t *deleted, size_t *ndeleted,
                        runnel_entry_fn fn, void *ctx);

/* ---- ID lists (group_idlist.c, FORMAT.md "ID lists") ---- */
/* Most bytes one coded ID takes. */
#define GRP_ID_CODED_MAX (1u + 2u * RUNNEL_VARINT_MAX)
/* Codes id against *prev into out (GRP_ID_CODED_MAX bytes of room) and
 * makes it the new *prev. Returns the bytes written. */
size_t grp_idlist_put(uint8_t *out, runnel_id_t *prev, runnel_id_t id);
/* Decodes one ID of p[0..len) against *prev (then *prev = *id). Returns
 * the bytes read, or -1 when the bytes are not a coded ID. */
int grp_idlist_get(const uint8_t *p, size_t len, runnel_id_t *prev, runnel_id_t *id);

/* ---- record bodies (group_record.c; decoded by group_replay.c) ---- */
typedef struct grp_rec {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
} grp_rec_t;
/* Starts a record for (stream sidx, group name): the common header, and
 * the whole body of 0x22 GROUP_DESTROY. */
void grp_rec_begin(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group);
/* Appends one varint. */
void grp_rec_u64(grp_rec_t *w, uint64_t v);
/* Appends one ID in full (two varints). */
void grp_rec_id(grp_rec_t *w, runnel_id_t id);
/* Appends one ID of a list, coded against *prev (group_idlist.c): the
 * lists of 0x26 ACK, 0x27 CLAIM and a listing 0x25 DELIVERY. */
void grp_rec_list_id(grp_rec_t *w, runnel_id_t *prev, runnel_id_t id);
/* Bytes still free in the record. */
size_t grp_rec_room(const grp_rec_t *w);
/* Appends the record (unless replaying). INVAL if it overflowed. The
 * append may write a checkpoint first, which encodes in the buffer the
 * record was built in: after it, w->buf no longer holds the record. */
int grp_rec_commit(runnel_t *r, grp_rec_t *w, uint8_t type);
/* The same, telling where the record went (*pos). */
int grp_rec_commit_at(runnel_t *r, grp_rec_t *w, uint8_t type, runnel_pos_t *pos);
/* 0x20 GROUP_CREATE, 0x21 GROUP_SETID. */
void grp_rec_group_pos(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                       runnel_id_t last_id, int64_t entries_read);
/* 0x24 CONSUMER_DELETE; also the common start of 0x23, 0x25, 0x27-0x29. */
void grp_rec_consumer(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                      runnel_str_t consumer);
/* 0x23 CONSUMER_CREATE. */
void grp_rec_consumer_create(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                             runnel_str_t consumer, uint64_t seen_time);
/* 0x25 DELIVERY (XREADGROUP). A listed ">" delivery is followed by the
 * IDs it delivers (grp_rec_list_id, against the group's last ID). */
void grp_rec_delivery(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                      runnel_str_t consumer, bool new_entries, bool noack, bool listed,
                      runnel_id_t after, int64_t count, uint64_t now);
/* 0x27 CLAIM (XCLAIM), before its IDs. */
void grp_rec_claim(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                   runnel_str_t consumer, const grp_claim_params_t *p);
/* 0x28 NACK_STATE (checkpoint of one PEL entry). */
void grp_rec_nack_state(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                        runnel_str_t consumer, runnel_id_t id, uint64_t delivery_time,
                        uint64_t delivery_count);
/* 0x29 AUTOCLAIM. */
void grp_rec_autoclaim(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                       runnel_str_t consumer, uint64_t now, uint64_t min_idle,
                       runnel_id_t start, uint64_t count, bool justid);

#endif /* RUNNEL_GROUP_IMPL_H */
