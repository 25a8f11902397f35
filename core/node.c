/*
 * node.c - stream nodes: the pool of node descriptors, the sorted node
 * index, reading a node's entries back from the log, and the model of the
 * listpack size Redis would have used for the node.
 *
 * Why nodes at all: Redis stores a stream as listpacks of up to
 * stream-node-max-entries entries / stream-node-max-bytes bytes, and users
 * see those boundaries (XINFO radix-tree-keys, `~` trimming, LIMIT). We keep
 * the same boundaries, but a node is only a RAM descriptor; its entries are
 * records in the log between first_pos and last_pos, mixed with records of
 * other streams and metadata.
 *
 * Reading a node (runnel__node_scan) walks the log from first_pos, reads
 * only the header and the first bytes of each record (type, stream slot,
 * ID delta), skips everything that is not an entry of this stream, and
 * stops after node.count entries. Payloads are read only for entries that
 * are returned (runnel__node_entry). The result, (position, ID) for every
 * entry of the node, is cached for the last scanned node.
 *
 * An entry with the same field names as its node's first entry (the
 * master, as Redis calls it) is stored as ENTRY_SAME_FIELDS: values only.
 * Decoding one loads the master's body into a buffer of its own
 * (r->master, cached by log position), so names and values are both at
 * hand without re-reading the master for every entry of the node.
 *
 * Which records of the slot belong to the node: entries are only ever
 * appended to a stream's tail node. Usually that node also holds the
 * stream's newest entry record, so its records are simply the slot's
 * records from first_pos on, up to its count-th. But when the tail node T
 * disappears (XDEL of its last live entry), Redis appends the next entry to
 * the previous node P again, and so do we, although T's records lie behind
 * P's last record in the log. That entry is written as ENTRY_RESUME, which
 * carries the distance back to P's previous record, and the scan reads:
 *
 *   - the node's first record, then its slot's records in log order;
 *   - a later ENTRY_NODE_START of the slot (or an ENTRY_RESUME that does
 *     not point back at the node's last accepted record) is another node's:
 *     the scan enters "gap mode" and skips the slot's records ...
 *   - ... until an ENTRY_RESUME whose back distance lands exactly on the
 *     last accepted record. That one is the node's next entry (absolute
 *     ID), gap mode ends, and later deltas are against it as usual.
 *
 * A gap always starts with a node start: a node's records only get another
 * node's records behind them when that later node was started (0x10). A
 * node whose first record is not a 0x10 (the full-ring cases below) only
 * exists when every older node of the stream was dropped with it, so no
 * live node's scan ever crosses it. Position ranges stay ordered by
 * first_pos, which is all the full-ring policy needs (reclaim.c).
 *
 * XSETID may move last_id below the tail node's newest (deleted) entries;
 * as in Redis the next XADD still appends to that node, so its ID is lower
 * than the previous entry of the node. Deltas cannot go down, so that
 * entry is an ENTRY_RESUME too, whose back distance lands on the node's
 * own last record: the scan accepts it like any resume that continues
 * where the node left off. Inside a node live entries still increase (a
 * new ID is above last_id, which XSETID keeps >= the newest live entry);
 * only deleted entries may be larger than later ones. Readers therefore
 * skip deleted entries before they compare IDs, and node.last is the ID
 * appended last (Redis's "last ID" of a listpack, used by MINID trimming),
 * an upper bound of the node's live entries but not of its deleted ones.
 *
 * The first entry of a node gets its ID from the descriptor (node.first),
 * whatever its record says; later ones are deltas against the previous
 * entry of the same node. That keeps a node readable when the full-ring
 * policy dropped the node an entry record was delta-encoded against (the
 * drop can happen inside the append of that very record).
 */
#include <string.h>

#include "store.h"

/* ---- pool and index ---- */

/* Peeks the next free slot and clears it; runnel__node_insert consumes it.
 * Nothing may run between the two (no log append: a reclaim could free a
 * node and push it onto the same stack). */
uint32_t runnel__node_alloc(runnel_t *r)
{
    uint32_t nslot;
    struct runnel__node *n;

    if (r->nodes_used >= r->nodes_cap)
        return RUNNEL__NONE;
    nslot = r->node_free[r->nodes_cap - 1u - r->nodes_used];
    n = &r->nodes[nslot];
    memset(n, 0, sizeof(*n));
    n->sidx = RUNNEL__NONE;
    memset(r->bitmaps + (size_t)nslot * r->bitmap_bytes, 0, r->bitmap_bytes);
    r->node_gen++;
    return nslot;
}

static int node_key_cmp(const struct runnel__node *n, uint32_t sidx, runnel_id_t first)
{
    if (n->sidx != sidx)
        return n->sidx < sidx ? -1 : 1;
    return runnel_id_cmp(n->first, first);
}

/* First position in node_order whose (sidx, first) >= the key. */
static uint32_t order_lower(const runnel_t *r, uint32_t sidx, runnel_id_t first)
{
    uint32_t lo = 0, hi = r->nodes_used;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (node_key_cmp(&r->nodes[r->node_order[mid]], sidx, first) < 0)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

/* The free stack lives in node_free[nodes_used .. nodes_cap) read from the
 * top (index nodes_cap - 1 - nodes_used is the next free slot). Inserting a
 * node consumes that slot. */
/* First position in node_order whose (sidx, first) > the key: a node is
 * inserted after any node with the same key, so log order is kept even in
 * the case runnel__node_twin() describes. */
static uint32_t order_upper(const runnel_t *r, uint32_t sidx, runnel_id_t first)
{
    uint32_t lo = 0, hi = r->nodes_used;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (node_key_cmp(&r->nodes[r->node_order[mid]], sidx, first) <= 0)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

/*
 * A node of stream sidx whose master ID is `first`, or RUNNEL__NONE.
 * Two nodes can only share a master ID after an exact trim left a node
 * without live entries and XSETID rewound last_id below its master: the
 * next XADD may then start a node with that very ID. Any live entry of the
 * old node would be >= its master = the new ID > last_id, which cannot be,
 * so the old node is empty, and XADD replaces it as Redis's rax insert
 * does under the same key.
 */
uint32_t runnel__node_twin(const runnel_t *r, uint32_t sidx, runnel_id_t first)
{
    uint32_t pos = order_lower(r, sidx, first);

    if (pos < r->nodes_used && node_key_cmp(&r->nodes[r->node_order[pos]], sidx, first) == 0)
        return r->node_order[pos];
    return RUNNEL__NONE;
}

void runnel__node_insert(runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t pos = order_upper(r, n->sidx, n->first);

    memmove(&r->node_order[pos + 1u], &r->node_order[pos],
            sizeof(uint32_t) * (size_t)(r->nodes_used - pos));
    r->node_order[pos] = nslot;
    r->nodes_used++;
    if (pos + 1u == r->nodes_used || r->nodes[r->node_order[pos + 1u]].sidx != n->sidx)
        r->streams[n->sidx].tail_node = nslot;
}

void runnel__node_remove(runnel_t *r, uint32_t nslot)
{
    struct runnel__node *n = &r->nodes[nslot];
    uint32_t pos = order_lower(r, n->sidx, n->first);

    /* The slot itself among nodes with the same key (see runnel__node_twin). */
    while (pos < r->nodes_used && r->node_order[pos] != nslot &&
           node_key_cmp(&r->nodes[r->node_order[pos]], n->sidx, n->first) == 0)
        pos++;
    if (pos >= r->nodes_used || r->node_order[pos] != nslot)
        return; /* not indexed: nothing to do */
    if (r->streams[n->sidx].tail_node == nslot)
        r->streams[n->sidx].tail_node =
            pos > 0u && r->nodes[r->node_order[pos - 1u]].sidx == n->sidx
                ? r->node_order[pos - 1u] : RUNNEL__NONE;
    memmove(&r->node_order[pos], &r->node_order[pos + 1u],
            sizeof(uint32_t) * (size_t)(r->nodes_used - pos - 1u));
    r->nodes_used--;
    r->node_free[r->nodes_cap - 1u - r->nodes_used] = nslot;
    n->sidx = RUNNEL__NONE;
    r->node_gen++;
    if (r->scan_node == nslot)
        r->scan_node = RUNNEL__NONE;
}

void runnel__stream_nodes(const runnel_t *r, uint32_t sidx, uint32_t *lo, uint32_t *hi)
{
    *lo = order_lower(r, sidx, RUNNEL_ID_MIN);
    *hi = sidx == UINT32_MAX - 1u ? r->nodes_used : order_lower(r, sidx + 1u, RUNNEL_ID_MIN);
}

/*
 * Where a read of IDs <= id starts: the last node whose master (first) ID
 * is <= id, like Redis's raxSeek("<=") on its master-ID keys. When no node
 * qualifies, the stream's first node, as Redis falls back to "^": its
 * entries may all be higher (nothing is found), but a head node that lost
 * every live entry to an exact trim can take entries below its master
 * after an XSETID rewind, and they must stay reachable.
 */
uint32_t runnel__node_seek_rev(const runnel_t *r, uint32_t lo, uint32_t hi, runnel_id_t id)
{
    uint32_t a = lo, b = hi;

    /* first position whose first > id, minus one */
    while (a < b) {
        uint32_t mid = a + (b - a) / 2u;
        if (runnel_id_cmp(r->nodes[r->node_order[mid]].first, id) <= 0)
            a = mid + 1u;
        else
            b = mid;
    }
    if (a == lo)
        return lo < hi ? lo : RUNNEL__NONE;
    return a - 1u;
}

uint32_t runnel__node_pos(const runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t pos = order_lower(r, n->sidx, n->first);

    /* Two nodes of a stream can share a master ID only in corners (a new
     * node after an XSETID rewind); walk the equal keys to the slot. */
    while (pos < r->nodes_used && r->node_order[pos] != nslot &&
           node_key_cmp(&r->nodes[r->node_order[pos]], n->sidx, n->first) == 0)
        pos++;
    return pos < r->nodes_used && r->node_order[pos] == nslot ? pos : RUNNEL__NONE;
}

uint32_t runnel__node_find(const runnel_t *r, uint32_t sidx, runnel_id_t id)
{
    uint32_t lo, hi, p;

    runnel__stream_nodes(r, sidx, &lo, &hi);
    p = runnel__node_seek_rev(r, lo, hi, id);
    if (p == RUNNEL__NONE || runnel_id_cmp(r->nodes[r->node_order[p]].last, id) < 0)
        return RUNNEL__NONE;
    return p;
}

bool runnel__node_deleted(const runnel_t *r, uint32_t nslot, uint32_t i)
{
    const uint8_t *bm = r->bitmaps + (size_t)nslot * r->bitmap_bytes;
    return (bm[i >> 3] >> (i & 7u)) & 1u;
}

void runnel__node_mark(runnel_t *r, uint32_t nslot, uint32_t i)
{
    uint8_t *bm = r->bitmaps + (size_t)nslot * r->bitmap_bytes;

    if ((bm[i >> 3] >> (i & 7u)) & 1u)
        return;
    bm[i >> 3] = (uint8_t)(bm[i >> 3] | (1u << (i & 7u)));
    r->nodes[nslot].live--;
}

/* ---- reading entries back ---- */

/* Decodes the (slot, ID) prefix of an entry record. prev is the previous
 * entry of the same node (unused for a node start or a resume). ENTRY and
 * ENTRY_SAME_FIELDS share the delta form; ENTRY_RESUME has its back
 * distance (into *back if not NULL) before an absolute ID. Returns 0 or
 * CORRUPT. */
static int decode_prefix(const uint8_t *b, size_t n, uint8_t type, runnel_id_t prev,
                         uint64_t *slot, runnel_id_t *id, uint64_t *back, size_t *used)
{
    size_t off = 0;
    uint64_t a, c, dist = 0;
    int k;

    k = runnel__varint_get(b, n, slot);
    if (k <= 0)
        return RUNNEL_ERR_CORRUPT;
    off += (size_t)k;
    if (type == RUNNEL_REC_ENTRY_RESUME) {
        k = runnel__varint_get(b + off, n - off, &dist);
        if (k <= 0)
            return RUNNEL_ERR_CORRUPT;
        off += (size_t)k;
    }
    k = runnel__varint_get(b + off, n - off, &a);
    if (k <= 0)
        return RUNNEL_ERR_CORRUPT;
    off += (size_t)k;
    k = runnel__varint_get(b + off, n - off, &c);
    if (k <= 0)
        return RUNNEL_ERR_CORRUPT;
    off += (size_t)k;
    if (type == RUNNEL_REC_ENTRY_NODE_START || type == RUNNEL_REC_ENTRY_RESUME) {
        id->ms = a;
        id->seq = c;
    } else if (a == 0) {
        id->ms = prev.ms;
        id->seq = prev.seq + 1u + c;
    } else {
        id->ms = prev.ms + a;
        id->seq = c;
    }
    if (back != NULL)
        *back = dist;
    if (used != NULL)
        *used = off;
    return 0;
}

static bool is_entry_type(uint8_t type)
{
    return type == RUNNEL_REC_ENTRY_NODE_START || type == RUNNEL_REC_ENTRY ||
           type == RUNNEL_REC_ENTRY_SAME_FIELDS || type == RUNNEL_REC_ENTRY_RESUME;
}

/*
 * Walks the node's records from first_pos (see the top of this file for
 * which records of the slot are the node's). Only the header and the first
 * bytes of each record are read: the slot decides whether a record is of
 * this stream at all, and the ID prefix is read only for the node's own.
 */
int runnel__node_scan(runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];
    runnel__rec_t rec;
    runnel_pos_t pos = n->first_pos, last_accepted = 0;
    uint32_t k = 0;
    runnel_id_t prev = n->first;
    bool gap = false;
    uint8_t pre[4 * RUNNEL_VARINT_MAX];

    if (r->scan_node == nslot && r->scan_gen == r->node_gen && r->scan_count == n->count)
        return (int)n->count;
    r->scan_node = RUNNEL__NONE;
    if (n->count > r->cfg.node_entries_cap)
        return RUNNEL_ERR_CORRUPT;
    while (k < n->count) {
        uint64_t slot, back;
        runnel_id_t id;
        uint32_t want;
        int got = runnel__log_next(&r->log, pos, &rec);
        int err;

        if (got < 0)
            return got;
        if (got == 0 || rec.pos > n->last_pos)
            return RUNNEL_ERR_CORRUPT;   /* fewer entries than counted */
        pos = rec.next;
        if (!is_entry_type(rec.type))
            continue;
        /* The stream slot first (a varint of at most 5 bytes): records of
         * other streams cost only their header and these bytes. */
        want = rec.len < 5u ? rec.len : 5u;
        err = runnel__log_read(&r->log, &rec, 0, pre, want);
        if (err < 0)
            return err;
        if (runnel__varint_get(pre, want, &slot) <= 0)
            return RUNNEL_ERR_CORRUPT;
        if (slot != n->sidx)
            continue;
        if (k == 0) {
            id = n->first;
        } else {
            if (rec.type == RUNNEL_REC_ENTRY_NODE_START) {
                gap = true;     /* a later node's records start here */
                continue;
            }
            if (gap && rec.type != RUNNEL_REC_ENTRY_RESUME)
                continue;
            want = rec.len < sizeof(pre) ? rec.len : (uint32_t)sizeof(pre);
            err = runnel__log_read(&r->log, &rec, 0, pre, want);
            if (err < 0)
                return err;
            err = decode_prefix(pre, want, rec.type, prev, &slot, &id, &back, NULL);
            if (err < 0)
                return err;
            if (rec.type == RUNNEL_REC_ENTRY_RESUME) {
                if (back > rec.pos || rec.pos - back != last_accepted) {
                    gap = true;     /* another node's resume */
                    continue;
                }
                gap = false;
            }
        }
        r->scan[k].pos = rec.pos;
        r->scan[k].id = id;
        last_accepted = rec.pos;
        prev = id;
        k++;
    }
    r->scan_node = nslot;
    r->scan_gen = r->node_gen;
    r->scan_count = n->count;
    return (int)k;
}

/* Reads one `len:varint bytes` string at *off of a body of n bytes. */
static int next_str(const uint8_t *b, size_t n, size_t *off, runnel_str_t *out)
{
    uint64_t len;
    int k = runnel__varint_get(b + *off, n - *off, &len);

    if (k <= 0 || len > n - *off - (size_t)k)
        return RUNNEL_ERR_CORRUPT;
    *off += (size_t)k;
    out->p = (const char *)(b + *off);
    out->len = (size_t)len;
    *off += (size_t)len;
    return 0;
}

/* Reads the body of the record at pos into buf (CRC-checked), decodes its
 * prefix and nfields. *off is left at the first string. */
static int read_entry_body(runnel_t *r, runnel_pos_t pos, uint8_t *buf, runnel__rec_t *rec,
                           uint64_t *nf, size_t *off)
{
    uint64_t slot;
    runnel_id_t dummy;
    int err, k;

    err = runnel__log_header(&r->log, pos, rec);
    if (err < 0)
        return err;
    if (rec->len > r->scratch_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(&r->log, rec, buf, r->scratch_cap);
    if (err < 0)
        return err;
    err = decode_prefix(buf, rec->len, rec->type, RUNNEL_ID_MIN, &slot, &dummy, NULL, off);
    if (err < 0)
        return err;
    if (rec->type == RUNNEL_REC_ENTRY_SAME_FIELDS) {
        *nf = 0;    /* implied by the master */
        return 0;
    }
    k = runnel__varint_get(buf + *off, rec->len - *off, nf);
    if (k <= 0 || *nf == 0 || *nf > r->cfg.max_fields)
        return RUNNEL_ERR_CORRUPT;
    *off += (size_t)k;
    return 0;
}

/* Finds the field names of the entry body in r->master and validates the
 * whole body, so the decoder below only walks it. A master always names
 * its fields, so an ENTRY_SAME_FIELDS body cannot be one. */
static int master_parse(runnel_t *r, runnel_pos_t pos, uint8_t type, uint32_t len)
{
    runnel_str_t s;
    runnel_id_t dummy;
    uint64_t slot, nf, f;
    size_t off;
    int err, k;

    if (type != RUNNEL_REC_ENTRY_NODE_START && type != RUNNEL_REC_ENTRY &&
        type != RUNNEL_REC_ENTRY_RESUME)
        return RUNNEL_ERR_CORRUPT;
    err = decode_prefix(r->master, len, type, RUNNEL_ID_MIN, &slot, &dummy, NULL, &off);
    if (err < 0)
        return err;
    k = runnel__varint_get(r->master + off, len - off, &nf);
    if (k <= 0 || nf == 0 || nf > r->cfg.max_fields)
        return RUNNEL_ERR_CORRUPT;
    off += (size_t)k;
    r->master_fv_off = (uint32_t)off;
    for (f = 0; f < 2u * nf; f++) {
        err = next_str(r->master, len, &off, &s);
        if (err < 0)
            return err;
    }
    if (off != len)
        return RUNNEL_ERR_CORRUPT;
    r->master_pos = pos;
    r->master_nfields = (uint32_t)nf;
    r->master_len = len;
    r->master_valid = true;
    return 0;
}

/* Makes r->master hold the node master at pos (the first record of the
 * node being decoded), unless it already does. The master carries the
 * field names every ENTRY_SAME_FIELDS record of its node leaves out. It
 * gets its own buffer because the record being decoded sits in r->scratch,
 * and the cache means a node read front to back loads its master once.
 * The key is the log position: positions are never reused, so a cached
 * body can never belong to another record. */
static int load_master(runnel_t *r, runnel_pos_t pos)
{
    runnel__rec_t rec;
    int err;

    if (r->master_valid && r->master_pos == pos)
        return 0;
    r->master_valid = false;
    err = runnel__log_header(&r->log, pos, &rec);
    if (err < 0)
        return err;
    if (rec.len > r->scratch_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(&r->log, &rec, r->master, r->scratch_cap);
    if (err < 0)
        return err;
    return master_parse(r, pos, rec.type, rec.len);
}

void runnel__node_master_adopt(runnel_t *r, runnel_pos_t pos, uint8_t type,
                               const uint8_t *body, uint32_t len)
{
    r->master_valid = false;
    if (len > r->scratch_cap)
        return;
    memcpy(r->master, body, len);
    (void)master_parse(r, pos, type, len);
}

int runnel__node_entry(runnel_t *r, uint32_t i, runnel_entry_t *e)
{
    runnel__rec_t rec;
    const uint8_t *b = r->scratch;
    size_t off;
    uint64_t nf, f;
    int err;

    err = read_entry_body(r, r->scan[i].pos, r->scratch, &rec, &nf, &off);
    if (err < 0)
        return err;
    if (rec.type == RUNNEL_REC_ENTRY_SAME_FIELDS) {
        /* Values here, names from the master (scan[0] is the node's first
         * record). Loading the master does not touch r->scratch. */
        size_t moff;
        runnel_str_t value_of_master;

        err = load_master(r, r->scan[0].pos);
        if (err < 0)
            return err;
        nf = r->master_nfields;
        moff = r->master_fv_off;
        for (f = 0; f < nf; f++) {
            err = next_str(r->master, r->master_len, &moff, &r->fv[2u * f]);
            if (err == 0)
                err = next_str(r->master, r->master_len, &moff, &value_of_master);
            if (err == 0)
                err = next_str(b, rec.len, &off, &r->fv[2u * f + 1u]);
            if (err < 0)
                return err;
        }
    } else {
        for (f = 0; f < 2u * nf; f++) {
            err = next_str(b, rec.len, &off, &r->fv[f]);
            if (err < 0)
                return err;
        }
    }
    if (off != rec.len)
        return RUNNEL_ERR_CORRUPT;
    e->id = r->scan[i].id;
    e->nfields = (uint32_t)nf;
    e->fv = r->fv;
    e->deleted = false;
    return 0;
}

/* ---- the listpack size model (reference section 2) ---- */

static uint32_t lp_backlen(uint32_t n)
{
    if (n <= 127u)
        return 1;
    if (n < 16383u)
        return 2;
    if (n < 2097151u)
        return 3;
    if (n < 268435455u)
        return 4;
    return 5;
}

uint32_t runnel__lp_int_size(int64_t v)
{
    uint32_t enc;

    if (v >= 0 && v <= 127)
        enc = 1;
    else if (v >= -4096 && v <= 4095)
        enc = 2;
    else if (v >= -32768 && v <= 32767)
        enc = 3;
    else if (v >= -8388608 && v <= 8388607)
        enc = 4;
    else if (v >= -2147483647 - 1 && v <= 2147483647)
        enc = 5;
    else
        enc = 9;
    return enc + lp_backlen(enc);
}

/* A string listpack stores as an integer: canonical decimal int64 ("0", or
 * an optional '-' and no leading zero), as lpStringToInt64 accepts. */
static bool lp_string_int(const char *p, size_t len, int64_t *out)
{
    uint64_t v = 0, lim;
    size_t i = 0;
    bool neg = false;

    if (len == 0 || len > 20)
        return false;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return true;
    }
    if (p[0] == '-') {
        neg = true;
        i = 1;
        if (len == 1)
            return false;
    }
    if (p[i] < '1' || p[i] > '9')
        return false;
    lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        if (v > (lim - (uint64_t)(p[i] - '0')) / 10u)
            return false;
        v = v * 10u + (uint64_t)(p[i] - '0');
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return true;
}

uint32_t runnel__lp_str_size(const char *p, size_t len)
{
    int64_t v;
    uint32_t enc;

    if (lp_string_int(p, len, &v))
        return runnel__lp_int_size(v);
    if (len < 64u)
        enc = 1u + (uint32_t)len;
    else if (len < 4096u)
        enc = 2u + (uint32_t)len;
    else
        enc = 5u + (uint32_t)len;
    return enc + lp_backlen(enc);
}

uint32_t runnel__node_lp_bytes(const struct runnel__node *n)
{
    return 6u + 1u + runnel__lp_int_size(n->live) + runnel__lp_int_size(n->count - n->live) +
           n->lp_rest;
}

/* ---- whole-node operations ---- */

uint64_t runnel__node_drop(runnel_t *r, uint32_t nslot)
{
    struct runnel__node *n = &r->nodes[nslot];
    uint64_t live = n->live;

    r->streams[n->sidx].length -= live;
    runnel__node_remove(r, nslot);
    return live;
}

void runnel__stream_nodes_clear(runnel_t *r, uint32_t sidx)
{
    uint32_t lo, hi;

    runnel__stream_nodes(r, sidx, &lo, &hi);
    while (hi > lo) {
        runnel__node_drop(r, r->node_order[lo]);
        hi--;
    }
}

int runnel__refresh_first_id(runnel_t *r, uint32_t sidx)
{
    struct runnel__stream *s = &r->streams[sidx];
    uint32_t lo, hi, p;

    s->first_id = RUNNEL_ID_MIN;
    s->first_stale = false;
    if (s->length == 0)
        return 0;
    runnel__stream_nodes(r, sidx, &lo, &hi);
    for (p = lo; p < hi; p++) {
        uint32_t nslot = r->node_order[p], i;
        int cnt = runnel__node_scan(r, nslot);
        if (cnt < 0)
            return cnt;
        for (i = 0; i < (uint32_t)cnt; i++) {
            if (!runnel__node_deleted(r, nslot, i)) {
                s->first_id = r->scan[i].id;
                return 0;
            }
        }
    }
    return 0;
}

int runnel__last_valid_id(runnel_t *r, uint32_t sidx, runnel_id_t *out)
{
    *out = r->streams[sidx].length == 0 ? RUNNEL_ID_MIN : r->streams[sidx].last_valid;
    return 0;
}

int runnel__refresh_last_valid(runnel_t *r, uint32_t sidx)
{
    uint32_t lo, hi, p;
    runnel_id_t *out = &r->streams[sidx].last_valid;

    *out = RUNNEL_ID_MIN;
    if (r->streams[sidx].length == 0)
        return 0;
    runnel__stream_nodes(r, sidx, &lo, &hi);
    for (p = hi; p > lo; p--) {
        uint32_t nslot = r->node_order[p - 1u], i;
        int cnt = runnel__node_scan(r, nslot);
        if (cnt < 0)
            return cnt;
        for (i = (uint32_t)cnt; i > 0; i--) {
            if (!runnel__node_deleted(r, nslot, i - 1u)) {
                *out = r->scan[i - 1u].id;
                return 0;
            }
        }
    }
    return 0;
}

runnel_id_t runnel__first_id(runnel_t *r, uint32_t sidx)
{
    if (r->streams[sidx].first_stale)
        (void)runnel__refresh_first_id(r, sidx);
    return r->streams[sidx].first_id;
}
