/*
 * group_record.c - the bodies of the group half's log records (types
 * 0x20..0x29, FORMAT.md "Group records"): one builder per body layout, and
 * the commit that journals a finished body.
 *
 * Every body starts with the stream and group it concerns:
 *     db:varint  key_len:varint key  group_len:varint group
 * followed by the fields of the type. IDs are two varints (ms, seq), and
 * lists of IDs are coded each against the one before (group_idlist.c);
 * signed values are stored plus one. Mutations are journalled as their
 * arguments plus the time they ran with, so group_replay.c can re-run the
 * same apply functions; that decoder must read exactly what these write.
 *
 * Nothing here applies a record or reads one back: commands (group_cmd.c,
 * group_read.c, group_claim.c) build and commit, the checkpoint
 * (group_replay.c) builds and emits, and replay decodes. Keeping the
 * encoder below both avoids the circle the old group_journal.c had (it
 * called the apply functions that called it).
 */
#include <string.h>

#include "group_impl.h"

static void rec_u64(grp_rec_t *w, uint64_t v)
{
    if (w->cap - w->len < runnel__varint_len(v)) {
        w->overflow = true;
        return;
    }
    w->len += runnel__varint_put(w->buf + w->len, v);
}

static void rec_str(grp_rec_t *w, runnel_str_t s)
{
    rec_u64(w, s.len);
    if (w->overflow || w->cap - w->len < s.len) {
        w->overflow = true;
        return;
    }
    if (s.len)
        memcpy(w->buf + w->len, s.p, s.len);
    w->len += s.len;
}

void grp_rec_id(grp_rec_t *w, runnel_id_t id)
{
    rec_u64(w, id.ms);
    rec_u64(w, id.seq);
}

void grp_rec_u64(grp_rec_t *w, uint64_t v)
{
    rec_u64(w, v);
}

void grp_rec_list_id(grp_rec_t *w, runnel_id_t *prev, runnel_id_t id)
{
    if (w->overflow || w->cap - w->len < GRP_ID_CODED_MAX) {
        w->overflow = true;
        return;
    }
    w->len += grp_idlist_put(w->buf + w->len, prev, id);
}

void grp_rec_begin(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group)
{
    struct runnel_groups *g = grp_tables(r);
    runnel__stream_state_t st;

    w->buf = g->rec_buf;
    w->cap = g->rec_cap;
    w->len = 0;
    w->overflow = false;
    runnel__stream_state(r, sidx, &st);
    rec_u64(w, st.db);
    rec_str(w, st.key);
    rec_str(w, group);
}

size_t grp_rec_room(const grp_rec_t *w)
{
    return w->overflow ? 0 : w->cap - w->len;
}

int grp_rec_commit_at(runnel_t *r, grp_rec_t *w, uint8_t type, runnel_pos_t *pos)
{
    if (w->overflow)
        return RUNNEL_ERR_INVAL;
    if (grp_tables(r)->replaying)
        return 0;
    return runnel__journal_at(r, type, w->buf, w->len, pos);
}

int grp_rec_commit(runnel_t *r, grp_rec_t *w, uint8_t type)
{
    return grp_rec_commit_at(r, w, type, NULL);
}

/* ---- one builder per body (the header comes from grp_rec_begin) ---- */

void grp_rec_group_pos(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                       runnel_id_t last_id, int64_t entries_read)
{
    grp_rec_begin(r, w, sidx, group);
    grp_rec_id(w, last_id);
    rec_u64(w, (uint64_t)(entries_read + 1));
}

void grp_rec_consumer(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                      runnel_str_t consumer)
{
    grp_rec_begin(r, w, sidx, group);
    rec_str(w, consumer);
}

void grp_rec_consumer_create(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                             runnel_str_t consumer, uint64_t seen_time)
{
    grp_rec_consumer(r, w, sidx, group, consumer);
    rec_u64(w, seen_time);
}

void grp_rec_delivery(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                      runnel_str_t consumer, bool new_entries, bool noack, bool listed,
                      runnel_id_t after, int64_t count, uint64_t now)
{
    grp_rec_consumer(r, w, sidx, group, consumer);
    rec_u64(w, (new_entries ? 1u : 0u) | (noack ? 2u : 0u) | (listed ? 4u : 0u));
    grp_rec_id(w, after);
    rec_u64(w, (uint64_t)(count < 0 ? 0 : count));
    rec_u64(w, now);
}

void grp_rec_claim(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                   runnel_str_t consumer, const grp_claim_params_t *p)
{
    grp_rec_consumer(r, w, sidx, group, consumer);
    rec_u64(w, p->now);
    rec_u64(w, p->min_idle);
    rec_u64(w, p->delivery_time);
    rec_u64(w, (uint64_t)(p->retrycount + 1));
    rec_u64(w, (p->force ? 1u : 0u) | (p->justid ? 2u : 0u) | (p->has_lastid ? 4u : 0u));
    grp_rec_id(w, p->lastid);
}

void grp_rec_nack_state(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                        runnel_str_t consumer, runnel_id_t id, uint64_t delivery_time,
                        uint64_t delivery_count)
{
    grp_rec_consumer(r, w, sidx, group, consumer);
    grp_rec_id(w, id);
    rec_u64(w, delivery_time);
    rec_u64(w, delivery_count);
}

void grp_rec_autoclaim(runnel_t *r, grp_rec_t *w, uint32_t sidx, runnel_str_t group,
                       runnel_str_t consumer, uint64_t now, uint64_t min_idle,
                       runnel_id_t start, uint64_t count, bool justid)
{
    grp_rec_consumer(r, w, sidx, group, consumer);
    rec_u64(w, now);
    rec_u64(w, min_idle);
    grp_rec_id(w, start);
    rec_u64(w, count);
    rec_u64(w, justid ? 1u : 0u);
}
