/*
 * stream_table.c - the stream table: one slot per key, found by
 * (database, name) through an open-addressing hash of slot numbers.
 *
 * The hash holds slot + 1 (0 = never used, RUNNEL__NONE = tombstone) with
 * linear probing and at least twice as many buckets as slots, so a probe
 * is short. Deleting leaves a tombstone; when tombstones pile up (many
 * create/delete cycles) the hash is rebuilt from the slots, which is cheap
 * and needs no extra memory.
 *
 * It also owns what other modules learn about a slot from outside the
 * stream half: key-space events (runnel__notify, which needs the name) and
 * the hooks into the group half (runnel__stream_gone, _groups), which the
 * stream half calls instead of calling the group half (internal.h).
 */
#include <string.h>

#include "store.h"

const uint8_t *runnel__stream_name(const runnel_t *r, uint32_t sidx)
{
    return r->names + (size_t)sidx * r->cfg.name_max;
}

/* FNV-1a over the database number and the name. */
static uint32_t key_hash(uint32_t db, runnel_str_t key)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < 4; i++) {
        h ^= (db >> (8 * i)) & 0xffu;
        h *= 16777619u;
    }
    for (i = 0; i < key.len; i++) {
        h ^= (uint8_t)key.p[i];
        h *= 16777619u;
    }
    return h;
}

static bool slot_is(const runnel_t *r, uint32_t sidx, uint32_t db, runnel_str_t key)
{
    const struct runnel__stream *s = &r->streams[sidx];
    return s->used && s->db == db && s->name_len == key.len &&
           (key.len == 0 || memcmp(runnel__stream_name(r, sidx), key.p, key.len) == 0);
}

int runnel__find(const runnel_t *r, uint32_t db, runnel_str_t key, uint32_t *sidx)
{
    uint32_t mask = r->hash_cap - 1u, i, n;

    if (key.len > r->cfg.name_max || (key.p == NULL && key.len != 0))
        return RUNNEL_ERR_NO_SUCH_KEY;
    i = key_hash(db, key) & mask;
    for (n = 0; n < r->hash_cap; n++, i = (i + 1u) & mask) {
        uint32_t v = r->hash[i];
        if (v == 0)
            break;
        if (v != RUNNEL__NONE && slot_is(r, v - 1u, db, key)) {
            *sidx = v - 1u;
            return 0;
        }
    }
    return RUNNEL_ERR_NO_SUCH_KEY;
}

static void hash_insert(runnel_t *r, uint32_t sidx)
{
    const struct runnel__stream *s = &r->streams[sidx];
    runnel_str_t key;
    uint32_t mask = r->hash_cap - 1u, i;

    key.p = (const char *)runnel__stream_name(r, sidx);
    key.len = s->name_len;
    i = key_hash(s->db, key) & mask;
    while (r->hash[i] != 0 && r->hash[i] != RUNNEL__NONE)
        i = (i + 1u) & mask;
    if (r->hash[i] == RUNNEL__NONE)
        r->hash_tombs--;
    r->hash[i] = sidx + 1u;
}

static void hash_rebuild(runnel_t *r)
{
    uint32_t i;

    memset(r->hash, 0, sizeof(uint32_t) * (size_t)r->hash_cap);
    r->hash_tombs = 0;
    for (i = 0; i < r->streams_cap; i++)
        if (r->streams[i].used)
            hash_insert(r, i);
}

/* Probes from the slot's own hash, as a lookup does (its name and db are
 * still set when this runs): a walk over the whole table cost a DEL
 * hash_cap steps, and FLUSHALL of 20,000 keys with the table sized for
 * 131,072 streams 3.4 s. */
static void hash_remove(runnel_t *r, uint32_t sidx)
{
    const struct runnel__stream *s = &r->streams[sidx];
    runnel_str_t key;
    uint32_t mask = r->hash_cap - 1u, i, n;

    key.p = (const char *)runnel__stream_name(r, sidx);
    key.len = s->name_len;
    i = key_hash(s->db, key) & mask;
    for (n = 0; n < r->hash_cap; n++, i = (i + 1u) & mask) {
        if (r->hash[i] == 0)
            break;
        if (r->hash[i] == sidx + 1u) {
            r->hash[i] = RUNNEL__NONE;
            r->hash_tombs++;
            break;
        }
    }
}

/* Called once the slot's new state is final (freed, or renamed and
 * inserted again): a rebuild walks the used slots, so one run from inside
 * hash_remove put the slot being freed back into the table. */
static void hash_maybe_rebuild(runnel_t *r)
{
    if (r->hash_tombs > r->hash_cap / 4u)
        hash_rebuild(r);
}

int runnel__stream_alloc(runnel_t *r, uint32_t db, runnel_str_t key, uint32_t *sidx)
{
    uint32_t i;

    if (key.len > r->cfg.name_max)
        return RUNNEL_ERR_NAME_TOO_LONG;
    if (key.p == NULL && key.len != 0)
        return RUNNEL_ERR_INVAL;
    if (r->streams_used >= r->streams_cap)
        return RUNNEL_ERR_POOL_STREAMS;
    /* From the hint, not from 0: creating the n-th key would otherwise
     * walk n slots (100,000 keys: 5 billion steps, and every page of the
     * pool touched). The slot found is the lowest free one, as before. */
    for (i = r->streams_free_hint; i < r->streams_cap; i++) {
        if (!r->streams[i].used)
            break;
    }
    if (i == r->streams_cap)
        return RUNNEL_ERR_POOL_STREAMS;
    r->streams_free_hint = i + 1u;
    memset(&r->streams[i], 0, sizeof(r->streams[i]));
    r->streams[i].tail_node = RUNNEL__NONE;
    r->streams[i].used = true;
    r->streams[i].db = db;
    r->streams[i].name_len = (uint32_t)key.len;
    if (key.len != 0)
        memcpy(r->names + (size_t)i * r->cfg.name_max, key.p, key.len);
    r->streams_used++;
    hash_insert(r, i);
    *sidx = i;
    return 0;
}

int runnel__stream_bind(runnel_t *r, uint32_t slot, uint32_t db, runnel_str_t name)
{
    uint32_t other;

    if (slot >= r->streams_cap || r->streams[slot].used || db >= r->cfg.databases)
        return RUNNEL_ERR_CORRUPT;
    if (name.len > r->cfg.name_max)
        return RUNNEL_ERR_NAME_TOO_LONG;
    if (runnel__find(r, db, name, &other) == 0)
        return RUNNEL_ERR_CORRUPT;      /* two live streams of one name */
    memset(&r->streams[slot], 0, sizeof(r->streams[slot]));
    r->streams[slot].tail_node = RUNNEL__NONE;
    r->streams[slot].used = true;
    r->streams[slot].db = db;
    r->streams[slot].name_len = (uint32_t)name.len;
    if (name.len != 0)
        memcpy(r->names + (size_t)slot * r->cfg.name_max, name.p, name.len);
    r->streams_used++;
    hash_insert(r, slot);
    return 0;
}

void runnel__stream_free(runnel_t *r, uint32_t sidx)
{
    if (!r->streams[sidx].used)
        return;
    hash_remove(r, sidx);
    r->streams[sidx].used = false;
    r->streams_used--;
    hash_maybe_rebuild(r);
    if (sidx < r->streams_free_hint)
        r->streams_free_hint = sidx;
}

int runnel__stream_set_name(runnel_t *r, uint32_t sidx, runnel_str_t key)
{
    if (key.len > r->cfg.name_max)
        return RUNNEL_ERR_NAME_TOO_LONG;
    hash_remove(r, sidx);
    r->streams[sidx].name_len = (uint32_t)key.len;
    if (key.len != 0)
        memcpy(r->names + (size_t)sidx * r->cfg.name_max, key.p, key.len);
    hash_insert(r, sidx);
    hash_maybe_rebuild(r);
    return 0;
}

/* Record 0x12: slot varint | db varint | name bytes (the rest). */
int runnel__journal_create(runnel_t *r, uint32_t sidx)
{
    const struct runnel__stream *s = &r->streams[sidx];
    uint8_t *b = r->scratch;
    size_t n = 0;

    n += runnel__varint_put(b + n, sidx);
    n += runnel__varint_put(b + n, s->db);
    memcpy(b + n, runnel__stream_name(r, sidx), s->name_len);
    n += s->name_len;
    return runnel__append(r, RUNNEL_REC_STREAM_CREATE, b, n, NULL);
}

int runnel__lookup(runnel_t *r, runnel_str_t key, uint32_t *sidx)
{
    return runnel__find(r, r->db, key, sidx);
}

/* MKSTREAM: the slot exists in RAM only once its creation is journalled. */
int runnel__create_stream(runnel_t *r, runnel_str_t key, uint32_t *sidx)
{
    uint32_t s;
    int err;

    /* A checkpoint the record needs goes first: written between the
     * slot's binding and its record, it would hold a stream whose
     * creation the log never shows (or shows after it) if that append
     * then fails. */
    runnel__prepare_append(r, 2u * RUNNEL_VARINT_MAX + key.len);
    err = runnel__stream_alloc(r, r->db, key, &s);
    if (err < 0)
        return err;
    err = runnel__journal_create(r, s);
    if (err < 0) {
        runnel__stream_free(r, s);
        return err;
    }
    err = runnel__after_mutation(r);
    *sidx = s;
    runnel__notify(r, s, RUNNEL_EV_CREATED);
    return err;
}

void runnel__notify(runnel_t *r, uint32_t sidx, runnel_key_event_t ev)
{
    runnel_str_t key;

    if (r->cfg.notify == NULL || r->replaying || sidx >= r->streams_cap ||
        !r->streams[sidx].used)
        return;
    key.p = (const char *)runnel__stream_name(r, sidx);
    key.len = r->streams[sidx].name_len;
    r->cfg.notify(r->cfg.notify_ctx, r->streams[sidx].db, key, ev);
}

void runnel__stream_gone(runnel_t *r, uint32_t sidx)
{
    if (r->hooks.stream_gone != NULL)
        r->hooks.stream_gone(r, sidx);
}

uint32_t runnel__stream_groups(runnel_t *r, uint32_t sidx)
{
    return r->hooks.groups_count != NULL ? r->hooks.groups_count(r, sidx) : 0;
}
