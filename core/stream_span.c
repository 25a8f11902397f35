/*
 * stream_span.c - entries larger than a block: reading them, and mount.
 *
 * XADD writes an entry whose record does not fit one block as a spanning
 * record (log_span.c; FORMAT.md "Spanning records"): a node-start body
 * (slot, ID, nfields, strings) spread over a head and its pieces. Such an
 * entry always starts a node of its own, and nothing is ever added to
 * that node (stream_add.c node_full; Redis too starts a node after an
 * entry larger than stream-node-max-bytes), so no other record needs its
 * field names and no link leads into it.
 *
 * What this file owns:
 *   - handing such an entry to a read callback without holding it: the
 *     head's first bytes stay in r->master (the strings that lie there
 *     are handed as usual), every other string is handed with its length
 *     and p == NULL, and runnel_entry_value_read reads any string of it
 *     piecewise, each flash piece CRC-checked the first time it is read;
 *   - its replay at mount: only when every piece is there, else the
 *     append was cut short by a power cut and the entry was never written.
 */
#include <string.h>

#include "store.h"

bool runnel__span_body(const runnel_t *r, uint64_t len)
{
    return len > runnel__log_max_body(&r->log);
}

/* Makes r->master hold the head of the span at pos (r->span). */
static int span_load(runnel_t *r, runnel_pos_t pos)
{
    int err;

    if (r->span_valid && r->span.pos == pos)
        return 0;
    r->master_valid = false;
    r->span_valid = false;
    err = runnel__log_span_open(&r->log, pos, &r->span, r->master, r->scratch_cap);
    if (err < 0)
        return err;
    r->span_valid = true;
    r->span_str = UINT32_MAX;
    return 0;
}

/* n logical bytes of the loaded span from off. */
static int span_bytes(runnel_t *r, uint64_t off, void *buf, uint32_t n)
{
    const runnel__span_t *sp = &r->span;

    if (off + n <= sp->chunk0) {
        memcpy(buf, r->master + sp->chunk0_off + off, n);
        return 0;
    }
    return runnel__log_span_read(&r->log, sp, off, buf, n, r->scratch, r->scratch_cap);
}

/* A varint at logical offset *off (moved past it). */
static int span_varint(runnel_t *r, uint64_t *off, uint64_t *v)
{
    uint8_t b[RUNNEL_VARINT_MAX];
    uint64_t left = r->span.total - *off;
    uint32_t n = left < sizeof b ? (uint32_t)left : (uint32_t)sizeof b;
    int k, err;

    if (*off > r->span.total || n == 0)
        return RUNNEL_ERR_CORRUPT;
    err = span_bytes(r, *off, b, n);
    if (err < 0)
        return err;
    k = runnel__varint_get(b, n, v);
    if (k <= 0)
        return RUNNEL_ERR_CORRUPT;
    *off += (uint32_t)k;
    return 0;
}

/* Parses the loaded span as a node-start body: slot, ID, nfields, then
 * every string's length into r->fv (p set where the string lies in the
 * head, else NULL). The strings must end exactly at the body's end. */
static int span_parse(runnel_t *r, uint64_t *slot, runnel_id_t *id, uint32_t *nfields)
{
    const runnel__span_t *sp = &r->span;
    uint64_t off = 0, nf, f;
    int err;

    if (!runnel__is_master_type(sp->type))
        return RUNNEL_ERR_CORRUPT;
    err = span_varint(r, &off, slot);
    if (err == 0)
        err = span_varint(r, &off, &id->ms);
    if (err == 0)
        err = span_varint(r, &off, &id->seq);
    if (err == 0)
        err = span_varint(r, &off, &nf);
    if (err < 0)
        return err;
    if (nf == 0 || nf > r->cfg.max_fields)
        return RUNNEL_ERR_CORRUPT;
    r->span_fv_off = (uint32_t)off;
    for (f = 0; f < 2u * nf; f++) {
        uint64_t len;

        err = span_varint(r, &off, &len);
        if (err < 0)
            return err;
        if (len > sp->total - off || len > SIZE_MAX)
            return RUNNEL_ERR_CORRUPT;
        r->fv[f].len = (size_t)len;
        if (len == 0)
            r->fv[f].p = "";
        else if (off + len <= sp->chunk0)
            r->fv[f].p = (const char *)(r->master + sp->chunk0_off + off);
        else
            r->fv[f].p = NULL;
        off += len;
    }
    if (off != sp->total)
        return RUNNEL_ERR_CORRUPT;
    *nfields = (uint32_t)nf;
    return 0;
}

int runnel__span_entry(runnel_t *r, uint32_t nslot, runnel_entry_t *e)
{
    const struct runnel__node *n = &r->nodes[nslot];
    runnel_id_t id;
    uint64_t slot;
    uint32_t nf;
    int err = span_load(r, n->first_pos);

    if (err == 0)
        err = span_parse(r, &slot, &id, &nf);
    if (err < 0)
        return err;
    if (slot != n->sidx || runnel_id_cmp(id, n->first) != 0)
        return RUNNEL_ERR_CORRUPT;
    e->id = n->first;
    e->nfields = nf;
    e->fv = r->fv;
    e->deleted = false;
    e->partial = true;
    e->store = r;
    e->handle = n->first_pos;
    e->read = runnel_entry_value_read;
    return 0;
}

/* Where string i of the loaded span starts (its length varint): from
 * the string found last when that is not past i, so a value streamed in
 * many calls costs one walk. */
static int span_find(runnel_t *r, uint32_t i, uint64_t *bytes_at)
{
    uint64_t off = r->span_fv_off, len;
    uint32_t k = 0;
    int err;

    if (r->span_str != UINT32_MAX && r->span_str <= i) {
        k = r->span_str;
        off = r->span_str_off;
    }
    for (;;) {
        uint64_t at = off;

        err = span_varint(r, &off, &len);
        if (err < 0)
            return err;
        if (k == i) {
            r->span_str = k;
            r->span_str_off = at;
            *bytes_at = off;
            return 0;
        }
        off += len;
        k++;
    }
}

int runnel_entry_value_read(const runnel_entry_t *e, uint32_t i, uint64_t off, void *buf,
                            size_t len)
{
    runnel_t *r;
    uint64_t at;
    int err;

    if (e == NULL || e->deleted || i >= 2u * (uint64_t)e->nfields || (buf == NULL && len > 0))
        return RUNNEL_ERR_INVAL;
    if (off > e->fv[i].len || len > e->fv[i].len - off)
        return RUNNEL_ERR_INVAL;
    if (len == 0)
        return 0;
    if (e->fv[i].p != NULL) {
        memcpy(buf, e->fv[i].p + off, len);
        return 0;
    }
    if (!e->partial || e->store == NULL || len > UINT32_MAX)
        return RUNNEL_ERR_INVAL;
    r = e->store;
    runnel__lock(r);
    err = span_load(r, (runnel_pos_t)e->handle);
    if (err == 0)
        err = span_find(r, i, &at);
    if (err == 0)
        err = span_bytes(r, at + off, buf, (uint32_t)len);
    runnel__unlock(r);
    return err;
}

/* The listpack-model bytes of string f of the loaded span: an integer
 * string is modelled smaller, so a short string that is not in the head
 * is read (at most 20 bytes make an integer). */
static int span_lp_str(runnel_t *r, uint32_t f, uint32_t *lp)
{
    char b[24];
    uint64_t at;
    int err;

    if (r->fv[f].p != NULL || r->fv[f].len > sizeof b) {
        *lp = runnel__lp_str_size(r->fv[f].p, r->fv[f].len);
        return 0;
    }
    err = span_find(r, f, &at);
    if (err == 0)
        err = span_bytes(r, at, b, (uint32_t)r->fv[f].len);
    if (err == 0)
        *lp = runnel__lp_str_size(b, r->fv[f].len);
    return err;
}

int runnel__span_replay(runnel_t *r, const runnel__rec_t *rec)
{
    uint32_t nf, f, lp_names = 0, lp_values = 0, lp = 0;
    runnel_id_t id;
    uint64_t slot;
    int err;

    r->span_valid = false;
    err = span_load(r, rec->pos);
    if (err < 0)
        return err;
    err = runnel__log_span_complete(&r->log, &r->span, r->scratch, r->scratch_cap);
    if (err != 0)
        return err;     /* 1: cut short by a power cut, never acknowledged */
    if (r->span.type == RUNNEL_REC_RELOC_MASTER)
        return 1;       /* a copy: RELOC_DONE moves its node, if it came */
    if (r->span.type != RUNNEL_REC_ENTRY_NODE_START)
        return RUNNEL_ERR_CORRUPT;
    err = span_parse(r, &slot, &id, &nf);
    if (err < 0)
        return err;
    if (slot >= r->streams_cap || !r->streams[slot].used)
        return RUNNEL_ERR_CORRUPT;
    for (f = 0; f < 2u * nf; f++) {
        err = span_lp_str(r, f, &lp);
        if (err < 0)
            return err;
        if ((f & 1u) == 0)
            lp_names += lp;
        else
            lp_values += lp;
    }
    return runnel__replay_span_start(r, rec->pos, (uint32_t)slot, id, nf, lp_names, lp_values);
}
