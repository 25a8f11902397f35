/*
 * node.c - stream nodes: the pool of node descriptors, the sorted node
 * index, finding a node's entries in the log, and the model of the
 * listpack size Redis would have used for the node.
 *
 * Why nodes at all: Redis stores a stream as listpacks of up to
 * stream-node-max-entries entries / stream-node-max-bytes bytes, and users
 * see those boundaries (XINFO radix-tree-keys, `~` trimming, LIMIT). We keep
 * the same boundaries, but a node is only a RAM descriptor; its entries are
 * records in the log between first_pos and last_pos, mixed with records of
 * other streams and metadata: a gateway writes hundreds of streams in turn,
 * so one node's records can be spread over the whole ring.
 *
 * That is why a reader never walks the log between a node's records. Entry
 * i of a node (i >= 1) carries links: the distance back to entry i - 2^k
 * for k = 0 .. ctz(i), like littlefs's CTZ skip-lists (on average two links
 * per entry). The descriptor holds the positions of entry 0 (first_pos)
 * and of the last entry (last_pos); from any entry found, the entry below
 * it is one link away and any entry i is found in O(log) record reads
 * (locate). IDs are stored relative to the node's master ID, so every
 * record read also gives its entry's ID, and a seek by ID (runnel__node_seek)
 * is a logarithmic descent too. Readers find the entries they are about to
 * return (runnel__node_fill), so a read costs its payload plus about 10
 * bytes per entry and one bounded seek, however many streams interleave.
 * The entries found are cached for one node (r->scan); payloads are read
 * only for entries that are returned (runnel__node_entry).
 *
 * An entry with the same field names as its node's first entry (the
 * master, as Redis calls it) is stored as ENTRY_SAME_FIELDS: values only.
 * Decoding one loads the master's body into a buffer of its own
 * (r->master, cached by log position), so names and values are both at
 * hand without re-reading the master for every entry of the node.
 *
 * Inside a node live entries always increase (a new ID is above last_id,
 * which XSETID keeps >= the newest live entry). Only after XSETID moved
 * last_id below the tail node's newest (deleted) entries can a node take
 * an entry below an earlier one; such a node is flagged `unordered` and
 * readers compare every entry instead of seeking (rare, correct, slower).
 * node.last is the ID appended last (Redis's "last ID" of a listpack, used
 * by MINID trimming): an upper bound of the node's live entries but not of
 * its deleted ones, so readers skip deleted entries before comparing IDs.
 *
 * A node's first record is always an ENTRY_NODE_START at first_pos, with
 * the ID the descriptor holds. (When the full-ring policy drops the node an
 * entry record was written for while that record is being appended, XADD
 * writes the entry again as a node start; the orphan belongs to no node and
 * no link ever leads to it: stream_add.c.)
 */
#include <string.h>

#include "store.h"

/* ---- pool and index ---- */

/* The free stack starts as every slot, slot 0 on top; each entry is stored
 * XOR that initial value (cap - 1 - pos), so the zeroed arena already holds
 * it and runnel__open writes nothing into a pool that may be far bigger
 * than what is used (a never-used slot is set up by alloc). */
static uint32_t node_free_at(const runnel_t *r, uint32_t pos)
{
    return r->node_free[pos] ^ (r->nodes_cap - 1u - pos);
}

static void node_free_put(runnel_t *r, uint32_t pos, uint32_t nslot)
{
    r->node_free[pos] = nslot ^ (r->nodes_cap - 1u - pos);
}

/* Peeks the next free slot and clears it; runnel__node_insert consumes it.
 * Nothing may run between the two (no log append: a reclaim could free a
 * node and push it onto the same stack). */
uint32_t runnel__node_alloc(runnel_t *r)
{
    uint32_t nslot;
    struct runnel__node *n;

    if (r->nodes_used >= r->nodes_cap)
        return RUNNEL__NONE;
    nslot = node_free_at(r, r->nodes_cap - 1u - r->nodes_used);
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
int runnel__node_twin(runnel_t *r, uint32_t sidx, runnel_id_t first, uint32_t *twin)
{
    uint32_t pos;
    int err;

    *twin = RUNNEL__NONE;
    for (;;) {
        const struct runnel__node *s;

        pos = order_lower(r, sidx, first);
        if (pos == 0)
            break;
        /* A stub before the key may hold a node with that master: its
         * masters lie between its first and its last (an unordered node
         * aside, whose last may be below its master) */
        s = &r->nodes[r->node_order[pos - 1u]];
        if (!s->stub || s->sidx != sidx ||
            (!s->unordered && runnel_id_cmp(first, s->last) > 0))
            break;
        err = runnel__stub_load(r, r->node_order[pos - 1u]);
        if (err < 0)
            return err;
    }
    if (pos < r->nodes_used && node_key_cmp(&r->nodes[r->node_order[pos]], sidx, first) == 0) {
        /* a stub's key is its first node's: that node is the twin */
        err = runnel__stub_load(r, r->node_order[pos]);
        if (err < 0)
            return err;
        *twin = r->node_order[pos];
    }
    return 0;
}

void runnel__node_insert(runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];
    uint32_t pos = order_upper(r, n->sidx, n->first);

    memmove(&r->node_order[pos + 1u], &r->node_order[pos],
            sizeof(uint32_t) * (size_t)(r->nodes_used - pos));
    r->node_order[pos] = nslot;
    r->nodes_used++;
    r->streams[n->sidx].nodes += RUNNEL__NODE_KEYS(n);
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
    r->streams[n->sidx].nodes -= RUNNEL__NODE_KEYS(n);
    if (n->stub) {              /* its reserved slots are free again */
        r->stubs--;
        r->stub_extra -= n->fields_hash - 1u;
        n->stub = false;
        n->read_at = 0;         /* a stub's is no read (store.h) */
    }
    /* A record after the newest checkpoint read it: its replay reads it
     * again, so its block stays pinned after the node is gone (reclaim.c). */
    if (n->read_at != 0 && (r->ckpt_pos == RUNNEL__NO_POS || n->read_at > r->ckpt_pos) &&
        (r->pin_floor == RUNNEL__NO_POS || n->first_pos < r->pin_floor))
        r->pin_floor = n->first_pos;
    n->read_at = 0;
    if (r->streams[n->sidx].tail_node == nslot)
        r->streams[n->sidx].tail_node =
            pos > 0u && r->nodes[r->node_order[pos - 1u]].sidx == n->sidx
                ? r->node_order[pos - 1u] : RUNNEL__NONE;
    memmove(&r->node_order[pos], &r->node_order[pos + 1u],
            sizeof(uint32_t) * (size_t)(r->nodes_used - pos - 1u));
    r->nodes_used--;
    node_free_put(r, r->nodes_cap - 1u - r->nodes_used, nslot);
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

bool runnel__node_ghost(const runnel_t *r, uint32_t nslot)
{
    return r->replaying && r->nodes[nslot].first_pos < r->log.tail;
}

int runnel__node_find(runnel_t *r, uint32_t sidx, runnel_id_t id, uint32_t *pos)
{
    uint32_t lo, hi, p;
    int err;

    *pos = RUNNEL__NONE;
    for (;;) {
        runnel__stream_nodes(r, sidx, &lo, &hi);
        p = runnel__node_seek_rev(r, lo, hi, id);
        if (p == RUNNEL__NONE || !r->nodes[r->node_order[p]].stub)
            break;
        err = runnel__stub_load(r, r->node_order[p]);
        if (err < 0)
            return err;
    }
    if (p == RUNNEL__NONE || runnel_id_cmp(r->nodes[r->node_order[p]].last, id) < 0 ||
        runnel__node_ghost(r, r->node_order[p]))
        return 0;
    *pos = p;
    return 1;
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

uint32_t runnel__node_links(uint32_t i)
{
    uint32_t k = 1;

    while ((i & 1u) == 0u && k < RUNNEL__LINKS_MAX) {
        i >>= 1;
        k++;
    }
    return k;
}

/*
 * Link k of entry i (i - 2^k entries back) as the record stores it
 * (FORMAT.md "Entries", since version 5): the difference from the distance
 * the node's spacing predicts, zigzagged. `span` is the distance from the
 * node's first record to entry i's; the entries before i lie about
 * span / i apart on average. So link k is expected 2^k spacings back,
 * but link 1 link 0 plus one spacing (decoded after link 0, which says
 * whether a block switch - a header, a summary, an unused end - lies
 * between the record and entry i - 1: 16 streams in turn put one in
 * about every sixth spacing, and link 1 then mostly takes one byte
 * instead of two), and the link to entry 0 exactly span. A
 * stream written among others at a steady rate (16 sensors in turn) has
 * its records hundreds of bytes apart, which as plain distances take two
 * or three bytes a link; the differences mostly take one. Everything used
 * is known to a reader arriving at the record (its position, the node's
 * first position, the index it expects, link 0), and the arithmetic is
 * modulo 2^64 so any stored value decodes to some distance, which the
 * readers check.
 */
static uint64_t link_predicted(uint64_t span, uint64_t link0, uint32_t i, uint32_t k)
{
    uint64_t steps = ((uint64_t)1u << k) - (k == 1 ? 1u : 0u);

    if (k > 0 && ((uint64_t)1u << k) == i)
        return span;            /* entry 0: the node's first record */
    /* floor(span * steps / i) without overflow: steps <= i, and the
     * remainder's product stays below i^2 */
    return (k == 1 ? link0 : 0u) + (span / i) * steps + ((span % i) * steps) / i;
}

uint64_t runnel__link_code(uint64_t link, uint64_t link0, uint64_t span, uint32_t i, uint32_t k)
{
    return runnel__zigzag(link, link_predicted(span, link0, i, k));
}

uint64_t runnel__link_decode(uint64_t code, uint64_t link0, uint64_t span, uint32_t i, uint32_t k)
{
    return runnel__unzigzag(code, link_predicted(span, link0, i, k));
}

/* What a reader learns from the front of an entry record: its header, the
 * entry's ID, the index the record claims and its links (distances back
 * to entries idx - 2^k), and where the entry's fields start. */
struct entry_head {
    runnel__rec_t rec;
    runnel_id_t id;
    uint32_t idx;               /* the entry the reader expects (input) */
    uint32_t nlinks;
    uint32_t body_off;          /* nfields (0x10, 0x11) or the values (0x19) */
    uint64_t link[RUNNEL__LINKS_MAX];
};

/* A relocated copy (runnel__entry_type_base) reads as the record it copies. */
static bool is_entry_type(uint8_t type)
{
    type = runnel__entry_type_base(type);
    return type == RUNNEL_REC_ENTRY_NODE_START || type == RUNNEL_REC_RELOC_MASTER ||
           type == RUNNEL_REC_ENTRY ||
           type == RUNNEL_REC_ENTRY_SAME_FIELDS || type == RUNNEL_REC_ENTRY_SEQ0 ||
           type == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0;
}

/* Values only: the field names are the node master's. */
static bool is_same_fields_type(uint8_t type)
{
    type = runnel__entry_type_base(type);
    return type == RUNNEL_REC_ENTRY_SAME_FIELDS || type == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0;
}

/* The seq is 0 and not stored (the common case of a new millisecond). */
static bool is_seq0_type(uint8_t type)
{
    type = runnel__entry_type_base(type);
    return type == RUNNEL_REC_ENTRY_SEQ0 || type == RUNNEL_REC_ENTRY_SAME_FIELDS_SEQ0;
}

/*
 * Decodes the prefix of the record of entry h->idx of node n from its first
 * `have` body bytes (FORMAT.md, "Entries"):
 *   0x10        slot ms seq                        (entry 0 only)
 *   0x11, 0x19  slot ms_rel seq_rel link{ctz(idx)+1} (entries 1 ..)
 *   0x1B, 0x1C  slot ms_rel link{ctz(idx)+1}  (as 0x11, 0x19 with seq 0)
 * The record does not repeat its index: a reader always knows which entry
 * it expects (it got there by a link or from the descriptor), and the
 * number of links follows from it.
 * The ID of a 0x11/0x19 is relative to the node's master: ms_rel is the
 * zigzag of ms - master.ms; seq_rel is the zigzag of seq - master.seq when
 * the ms are equal, else seq itself. Returns 0, RUNNEL_ERR_AGAIN when more
 * bytes are needed (have < rec->len), or CORRUPT. Only the first `need`
 * links are decoded (h->nlinks says how many); body_off is meaningful only
 * when every link was.
 */
static int decode_head(const struct runnel__node *n, const uint8_t *b, uint32_t have,
                       uint32_t need, struct entry_head *h)
{
    uint32_t off = 0, k;
    uint64_t v[3] = {0, 0, 0};
    int got, f, want = is_seq0_type(h->rec.type) ? 2 : 3;

    if ((h->idx == 0) != runnel__is_master_type(h->rec.type) ||
        !is_entry_type(h->rec.type))
        return RUNNEL_ERR_CORRUPT;
    for (f = 0; f < want; f++) {
        got = runnel__varint_get(b + off, have - off, &v[f]);
        if (got <= 0)
            return have < h->rec.len ? RUNNEL_ERR_AGAIN : RUNNEL_ERR_CORRUPT;
        off += (uint32_t)got;
    }
    if (v[0] != n->sidx)
        return RUNNEL_ERR_CORRUPT;
    if (h->idx == 0) {
        h->nlinks = 0;
        h->id.ms = v[1];
        h->id.seq = v[2];
    } else {
        h->nlinks = runnel__node_links(h->idx);
        if (h->nlinks > need)
            h->nlinks = need;
        h->id.ms = runnel__unzigzag(v[1], n->first.ms);
        if (want == 2)
            h->id.seq = 0;
        else if (h->id.ms == n->first.ms)
            h->id.seq = runnel__unzigzag(v[2], n->first.seq);
        else
            h->id.seq = v[2];
        for (k = 0; k < h->nlinks; k++) {
            got = runnel__varint_get(b + off, have - off, &h->link[k]);
            if (got <= 0)
                return have < h->rec.len ? RUNNEL_ERR_AGAIN : RUNNEL_ERR_CORRUPT;
            off += (uint32_t)got;
            h->link[k] = runnel__link_decode(h->link[k], h->link[0], h->rec.pos - n->first_pos,
                                             h->idx, k);
        }
    }
    h->body_off = off;
    return 0;
}

/*
 * Reads the front of the record at pos as entry `idx` of node n. Only as
 * many bytes as the caller needs are read: `links` says how many links it
 * will follow (1 to walk back one entry; all of them to skip), so the
 * common step back costs the record's header and about 8 bytes, in one
 * read call. Everything read is checked against what the reader expects:
 * an entry record of this stream, of the node-start type exactly at the
 * node's first position, lying inside the node; links only lead down.
 * A mismatch is CORRUPT, never a wrong entry. (The bytes read here are
 * not CRC-checked - that needs the whole body - but every entry returned
 * is read whole with its CRC checked, and decoded again from those bytes.)
 */
static int peek_head(runnel_t *r, const struct runnel__node *n, runnel_pos_t pos,
                     uint32_t idx, uint32_t links, struct entry_head *h)
{
    uint8_t b[RUNNEL_LOG_PEEK_MAX + 4u * RUNNEL_VARINT_MAX + RUNNEL__LINKS_MAX * RUNNEL_VARINT_MAX];
    uint32_t have, cap;
    int err;

    if (pos < n->first_pos || pos > n->last_pos || (idx == 0) != (pos == n->first_pos))
        return RUNNEL_ERR_CORRUPT;
    h->idx = idx;
    cap = 6u + 3u * links;
    if (cap > RUNNEL_LOG_PEEK_MAX)
        cap = RUNNEL_LOG_PEEK_MAX;
    err = runnel__log_peek(&r->log, pos, &h->rec, b, cap, &have);
    if (err < 0)
        return err;
    err = decode_head(n, b, have, links, h);
    if (err == RUNNEL_ERR_AGAIN && cap < RUNNEL_LOG_PEEK_MAX) {
        /* Long ID offsets or links (a node spread over much of the ring). */
        err = runnel__log_peek(&r->log, pos, &h->rec, b, RUNNEL_LOG_PEEK_MAX, &have);
        if (err == 0)
            err = decode_head(n, b, have, links, h);
    }
    if (err == RUNNEL_ERR_AGAIN) {
        /* Still short: the prefix is bounded, read all of it. */
        have = h->rec.len < sizeof(b) ? h->rec.len : (uint32_t)sizeof(b);
        err = runnel__log_read(&r->log, &h->rec, 0, b, have);
        if (err == 0)
            err = decode_head(n, b, have, links, h);
        if (err == RUNNEL_ERR_AGAIN)
            err = RUNNEL_ERR_CORRUPT;
    }
    if (err < 0)
        return err;
    if (idx == 0 && runnel_id_cmp(h->id, n->first) != 0)
        return RUNNEL_ERR_CORRUPT;
    return 0;
}

/* The position entry idx - 2^k lies at, from the head of entry idx. */
static int link_target(const struct runnel__node *n, const struct entry_head *h, uint32_t k,
                       runnel_pos_t *out)
{
    if (k >= h->nlinks || h->link[k] == 0 || h->link[k] > h->rec.pos - n->first_pos)
        return RUNNEL_ERR_CORRUPT;
    *out = h->rec.pos - h->link[k];
    return 0;
}

/* Every reader of a node's records starts here (runnel__node_entry, _id,
 * _fill, _scan, _seek), cache hit or not: note when a journalled change
 * used the node (see read_at). What the run found in RAM - the master
 * buffer, the scan cache - its replay after a mount reads from flash.
 * Only uses after the call's record count: those are what its replay
 * repeats, and a change reads the log again after journalling (journal,
 * then apply). Reads that only decide what to journal (planning), reads
 * of calls that journal nothing (XRANGE, XINFO) and a checkpoint's own
 * reads (its records hold what it read) pin nothing; a replay's reads do,
 * conservatively at the final head. */
static void note_use(runnel_t *r, uint32_t nslot)
{
    if (!r->in_checkpoint && (r->journalled || r->replaying))
        r->nodes[nslot].read_at = r->log.head;
}

/* Binds r->scan to node nslot, forgetting another node's entries. Node
 * slots are reused, so the binding also carries node_gen, which every node
 * removal and allocation bumps. */
static void scan_bind(runnel_t *r, uint32_t nslot)
{
    const struct runnel__node *n = &r->nodes[nslot];

    note_use(r, nslot);
    if (r->scan_node == nslot && r->scan_gen == r->node_gen)
        return;
    memset(r->scan, 0, sizeof(*r->scan) * (size_t)r->scan_hi);
    r->scan_node = nslot;
    r->scan_gen = r->node_gen;
    r->scan_hi = 0;
    /* The first and the last entry are known from the descriptor. */
    r->scan[0].pos = n->first_pos;
    r->scan[0].id = n->first;
    r->scan[0].size = n->first_size;
    r->scan[0].id_known = true;
    r->scan_hi = 1;
}

static void scan_set(runnel_t *r, uint32_t i, runnel_pos_t pos, runnel_id_t id, uint32_t size)
{
    r->scan[i].pos = pos;
    r->scan[i].id = id;
    r->scan[i].size = size;
    r->scan[i].id_known = true;
    if (i >= r->scan_hi)
        r->scan_hi = i + 1u;
}

bool runnel__node_found(const runnel_t *r, uint32_t nslot, uint32_t i)
{
    return r->scan_node == nslot && r->scan_gen == r->node_gen && i < r->scan_hi &&
           r->scan[i].pos != 0;
}

/* An entry at or above i to start from: the nearest one found, or, for a
 * stream's tail node, the nearest entry whose position XADD keeps in RAM
 * (the newest entry of each link level, stream_add.c), else the node's last
 * entry, whose position the descriptor holds. */
static uint32_t anchor_above(runnel_t *r, uint32_t nslot, uint32_t i, runnel_pos_t *pos)
{
    const struct runnel__node *n = &r->nodes[nslot];
    const struct runnel__stream *s = &r->streams[n->sidx];
    uint32_t j, k, top = r->scan_hi < n->count ? r->scan_hi : n->count, best = n->count - 1u;

    *pos = n->last_pos;
    if (s->tail_node == nslot && s->links_first == n->first_pos && s->links_count == n->count) {
        const runnel_pos_t *lk = r->tail_links + (size_t)n->sidx * r->link_levels;

        for (k = 0; k < r->link_levels; k++) {
            uint32_t idx = ((n->count - 1u) >> k) << k;
            if (idx >= i && idx < best && idx > 0) {
                best = idx;
                *pos = lk[k];
            }
        }
    }
    for (j = i; j < top && j < best; j++) {
        if (r->scan[j].pos != 0) {
            *pos = r->scan[j].pos;
            return j;
        }
    }
    return best;
}

/*
 * Finds entry i by skipping down the links from an entry above it: at
 * entry j the longest link that does not pass i is taken (j - 2^k >= i,
 * k <= ctz(j)), as in littlefs's CTZ skip-lists, so the number of records
 * read is logarithmic in j - i, whatever else lies between them in the log.
 * Every record read on the way also gives the positions of the entries its
 * links name (note_links). need_id: entry i's ID is wanted too (one more
 * read when a link gave its position alone).
 */
/* Records the positions entry j's links give (the entries below it at
 * j - 2^k), so later steps and walks need not read them again. */
static void note_links(runnel_t *r, const struct runnel__node *n, uint32_t j,
                       const struct entry_head *h)
{
    uint32_t k;

    for (k = 0; k < h->nlinks && (1u << k) <= j; k++) {
        uint32_t t = j - (1u << k);
        runnel_pos_t p;

        if (r->scan[t].pos != 0 || link_target(n, h, k, &p) < 0)
            continue;
        r->scan[t].pos = p;
        r->scan[t].size = 0;
        r->scan[t].id_known = false;
        if (t >= r->scan_hi)
            r->scan_hi = t + 1u;
    }
}

static int locate_as(runnel_t *r, uint32_t nslot, uint32_t i, bool need_id)
{
    const struct runnel__node *n = &r->nodes[nslot];
    struct entry_head h;
    runnel_pos_t pos;
    uint32_t j;
    int err;

    if (i >= n->count || n->count > r->cfg.node_entries_cap)
        return RUNNEL_ERR_CORRUPT;
    scan_bind(r, nslot);
    if (r->scan[i].pos != 0 && (r->scan[i].id_known || !need_id))
        return 0;
    if (r->scan[i].pos != 0) {
        /* found by a link: one read for its ID */
        err = peek_head(r, n, r->scan[i].pos, i, 0, &h);
        if (err < 0)
            return err;
        scan_set(r, i, h.rec.pos, i == n->count - 1u ? n->last : h.id,
                 (uint32_t)(h.rec.next - h.rec.pos));
        return 0;
    }
    j = anchor_above(r, nslot, i, &pos);
    for (;;) {
        uint32_t k;

        err = peek_head(r, n, pos, j, j == i ? 0u : runnel__node_links(j), &h);
        if (err < 0)
            return err;
        if (j == n->count - 1u && runnel_id_cmp(h.id, n->last) != 0)
            return RUNNEL_ERR_CORRUPT;
        scan_set(r, j, pos, h.id, (uint32_t)(h.rec.next - h.rec.pos));
        if (j == i)
            return 0;
        note_links(r, n, j, &h);
        for (k = h.nlinks; k > 1u && (1u << (k - 1u)) > j - i; k--)
            ;
        err = link_target(n, &h, k - 1u, &pos);
        if (err < 0)
            return err;
        j -= 1u << (k - 1u);
        if (j == i && !need_id)
            return 0;   /* its position is all that was asked for */
    }
}

static int locate(runnel_t *r, uint32_t nslot, uint32_t i)
{
    return locate_as(r, nslot, i, true);
}

int runnel__node_id(runnel_t *r, uint32_t nslot, uint32_t i, runnel_id_t *id)
{
    int err = locate(r, nslot, i);

    note_use(r, nslot);
    if (err < 0)
        return err;
    *id = r->scan[i].id;
    return 0;
}

/* Links of entry m a walk down wants: an even entry's second link skips
 * the odd one below it, whose position is all a reader needs until it
 * reads that record whole (its ID comes with it). */
static uint32_t walk_links(uint32_t m)
{
    return m >= 2u && (m & 1u) == 0 ? 2u : 1u;
}

int runnel__node_fill(runnel_t *r, uint32_t nslot, uint32_t from, uint32_t to)
{
    const struct runnel__node *n = &r->nodes[nslot];
    struct entry_head h;
    runnel_pos_t pos;
    uint32_t m;
    int err;

    note_use(r, nslot);
    if (to > n->count)
        to = n->count;
    if (from >= to)
        return 0;
    err = locate_as(r, nslot, to - 1u, false);
    if (err < 0)
        return err;
    /* Walk down from to - 1, reading only even entries where it can: each
     * gives the positions of the two entries below it, so finding k
     * entries costs about k / 2 record reads. */
    m = to - 1u;
    while (m > from) {
        uint32_t want = walk_links(m), step;

        if (r->scan[m - 1u].pos != 0 && (want == 1u || r->scan[m - 2u].pos != 0)) {
            m--;
            continue;
        }
        err = peek_head(r, n, r->scan[m].pos, m, want, &h);
        if (err < 0)
            return err;
        if (!r->scan[m].id_known)
            scan_set(r, m, h.rec.pos, m == n->count - 1u ? n->last : h.id,
                     (uint32_t)(h.rec.next - h.rec.pos));
        for (step = 1; step <= want && step <= m - from; step++) {
            if (r->scan[m - step].pos != 0)
                continue;
            err = link_target(n, &h, step - 1u, &pos);
            if (err < 0)
                return err;
            r->scan[m - step].pos = pos;
            r->scan[m - step].size = 0;
            r->scan[m - step].id_known = false;
            if (m - step >= r->scan_hi)
                r->scan_hi = m - step + 1u;
        }
        m -= want <= m - from ? want : m - from;
    }
    return 0;
}

int runnel__node_scan(runnel_t *r, uint32_t nslot)
{
    uint32_t i, count = r->nodes[nslot].count;
    int err = runnel__node_fill(r, nslot, 0, count);

    note_use(r, nslot);
    for (i = 0; err == 0 && i < count; i++)
        if (!r->scan[i].id_known)
            err = locate(r, nslot, i);
    return err < 0 ? err : (int)count;
}

bool runnel__node_id_known(const runnel_t *r, uint32_t nslot, uint32_t i)
{
    return runnel__node_found(r, nslot, i) && r->scan[i].id_known;
}

/*
 * The first entry >= id. The node's first entry is below id and its last
 * is not (else the answer is at an end), so the answer lies in (lo, j]:
 * from j, the longest link that stays above lo is tried; an entry >= id
 * becomes the new j (and its links the next candidates), one below id
 * raises lo. Each step reads one record; entries found by earlier reads
 * narrow the interval before any is read.
 */
int runnel__node_seek(runnel_t *r, uint32_t nslot, runnel_id_t id, uint32_t *idx)
{
    const struct runnel__node *n = &r->nodes[nslot];
    struct entry_head hj, hc;
    runnel_pos_t pos, cpos;
    uint32_t lo = 0, j, u, top;
    int err;

    note_use(r, nslot);
    if (runnel__node_ghost(r, nslot)) {
        *idx = n->count;    /* its records are gone: nothing to find */
        return 0;
    }
    if (n->unordered || runnel_id_cmp(n->first, id) >= 0) {
        *idx = 0;
        return 0;
    }
    if (runnel_id_cmp(n->last, id) < 0) {
        *idx = n->count;
        return 0;
    }
    if (n->count > r->cfg.node_entries_cap)
        return RUNNEL_ERR_CORRUPT;
    scan_bind(r, nslot);
    j = n->count - 1u;
    pos = n->last_pos;
    top = r->scan_hi < j ? r->scan_hi : j;
    for (u = 1; u < top; u++) {
        if (r->scan[u].pos == 0 || !r->scan[u].id_known)
            continue;
        if (runnel_id_cmp(r->scan[u].id, id) < 0) {
            lo = u;
        } else {
            j = u;
            pos = r->scan[u].pos;
            break;
        }
    }
    if (j - lo <= 1u) {
        *idx = j;
        return 0;
    }
    err = peek_head(r, n, pos, j, runnel__node_links(j), &hj);
    if (err < 0)
        return err;
    scan_set(r, j, pos, j == n->count - 1u ? n->last : hj.id,
             (uint32_t)(hj.rec.next - hj.rec.pos));
    while (j - lo > 1u) {
        uint32_t k, c;

        for (k = hj.nlinks; k > 1u && (1u << (k - 1u)) >= j - lo; k--)
            ;
        c = j - (1u << (k - 1u));
        err = link_target(n, &hj, k - 1u, &cpos);
        if (err == 0)
            err = peek_head(r, n, cpos, c, runnel__node_links(c), &hc);
        if (err < 0)
            return err;
        scan_set(r, c, cpos, hc.id, (uint32_t)(hc.rec.next - hc.rec.pos));
        if (runnel_id_cmp(hc.id, id) >= 0) {
            j = c;
            hj = hc;
        } else {
            lo = c;
        }
    }
    *idx = j;
    return 0;
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

/* Reads the body of entry record at pos into buf (CRC-checked) and finds
 * its fields. *off is left at the first string, *nf is its field count
 * (0 for ENTRY_SAME_FIELDS: the master's). */
/* The CRC of a record whose body is in buf (FORMAT.md: over the type, the
 * length varint and the body). */
static bool body_crc_ok(const runnel__rec_t *rec, const uint8_t *buf)
{
    uint8_t frame[1 + RUNNEL_VARINT_MAX];
    size_t flen;
    uint32_t crc;

    frame[0] = rec->type;
    flen = 1u + runnel__varint_put(frame + 1, rec->len);
    crc = runnel__crc32c(0, frame, flen);
    return runnel__crc32c(crc, buf, rec->len) == rec->crc;
}

static int read_entry_body(runnel_t *r, const struct runnel__node *n, uint32_t i,
                           const uint8_t **body, runnel__rec_t *rec, uint64_t *nf, size_t *off)
{
    struct runnel__slot_entry *se = &r->scan[i];
    struct entry_head h;
    int err, k;

    if (se->size != 0) {
        /* the walk measured the record: header and body in one read */
        err = runnel__log_read_record(&r->log, se->pos, se->size, r->scratch, r->scratch_cap,
                                      rec);
        *body = r->scratch + (rec->body - rec->pos);
    } else {
        /* size unknown (a link gave only the position): a small record
         * comes whole with its header in one peek, a larger one needs a
         * second read */
        uint32_t got, cap = RUNNEL_LOG_PEEK_MAX, nb = 0;

        /* entries of a node tend to be alike: guess the size of a found
         * neighbour (plus a little), so the peek reads little more than
         * the record */
        if (i + 1u < r->scan_hi && r->scan[i + 1u].size > 6u)
            nb = r->scan[i + 1u].size;
        else if (i > 0 && r->scan[i - 1u].size > 6u)
            nb = r->scan[i - 1u].size;
        if (nb != 0 && nb - 6u + 4u < cap)
            cap = nb - 6u + 4u;
        err = runnel__log_peek(&r->log, se->pos, rec, r->scratch, cap, &got);
        if (err == 0 && rec->len > r->scratch_cap)
            err = RUNNEL_ERR_CORRUPT;
        if (err == 0 && got == rec->len)
            err = body_crc_ok(rec, r->scratch) ? 0 : RUNNEL_ERR_CORRUPT;
        else if (err == 0)
            err = runnel__log_read_body(&r->log, rec, r->scratch, r->scratch_cap);
        *body = r->scratch;
    }
    if (err < 0)
        return err;
    h.rec = *rec;
    h.idx = i;
    err = decode_head(n, *body, rec->len, RUNNEL__LINKS_MAX, &h);
    if (err == 0 && i == 0)
        h.id = n->first;
    if (err == 0 && se->id_known && runnel_id_cmp(h.id, se->id) != 0)
        err = RUNNEL_ERR_CORRUPT;   /* the CRC-checked bytes disagree with the walk */
    if (err < 0)
        return err == RUNNEL_ERR_AGAIN ? RUNNEL_ERR_CORRUPT : err;
    if (!se->id_known)
        scan_set(r, i, se->pos, i == n->count - 1u ? n->last : h.id,
                 (uint32_t)(rec->next - rec->pos));
    *off = h.body_off;
    if (is_same_fields_type(rec->type)) {
        *nf = 0;    /* implied by the master */
        return 0;
    }
    k = runnel__varint_get(*body + *off, rec->len - *off, nf);
    if (k <= 0 || *nf == 0 || *nf > r->cfg.max_fields)
        return RUNNEL_ERR_CORRUPT;
    *off += (size_t)k;
    return 0;
}

/* Finds the field names of the entry body in r->master and validates the
 * whole body, so the decoder below only walks it. A master always names
 * its fields, so an ENTRY_SAME_FIELDS body cannot be one. */
static int master_parse(runnel_t *r, const struct runnel__node *n, runnel_pos_t pos,
                        uint8_t type, uint32_t len)
{
    struct entry_head h;
    runnel_str_t s;
    uint64_t nf, f;
    size_t off;
    int err, k;

    if (!runnel__is_master_type(type))
        return RUNNEL_ERR_CORRUPT;
    h.rec.type = type;
    h.rec.len = len;
    h.idx = 0;
    err = decode_head(n, r->master, len, RUNNEL__LINKS_MAX, &h);
    if (err < 0 || runnel_id_cmp(h.id, n->first) != 0)
        return RUNNEL_ERR_CORRUPT;
    off = h.body_off;
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

/* Makes r->master hold the node master (the node's first record), unless
 * it already does. The master carries the field names every
 * ENTRY_SAME_FIELDS record of its node leaves out. It gets its own buffer
 * because the record being decoded sits in r->scratch, and the cache means
 * a node read front to back loads its master once. The key is the log
 * position: positions are never reused, so a cached body can never belong
 * to another record. */
static int load_master(runnel_t *r, const struct runnel__node *n)
{
    runnel__rec_t rec;
    int err;

    if (r->master_valid && r->master_pos == n->first_pos)
        return 0;
    r->master_valid = false;
    r->span_valid = false;      /* r->master is about to change */
    if (n->first_size != 0) {
        /* header and body in one read, then the body to the front */
        err = runnel__log_read_record(&r->log, n->first_pos, n->first_size, r->master,
                                      r->scratch_cap, &rec);
        if (err < 0)
            return err;
        memmove(r->master, r->master + (rec.body - rec.pos), rec.len);
        return master_parse(r, n, n->first_pos, rec.type, rec.len);
    }
    err = runnel__log_header(&r->log, n->first_pos, &rec);
    if (err < 0)
        return err;
    if (rec.len > r->scratch_cap)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(&r->log, &rec, r->master, r->scratch_cap);
    if (err < 0)
        return err;
    return master_parse(r, n, n->first_pos, rec.type, rec.len);
}

void runnel__node_master_adopt(runnel_t *r, uint32_t nslot, const uint8_t *body, uint32_t len,
                               uint8_t type)
{
    r->master_valid = false;
    r->span_valid = false;
    if (len > r->scratch_cap)
        return;
    memcpy(r->master, body, len);
    (void)master_parse(r, &r->nodes[nslot], r->nodes[nslot].first_pos, type, len);
}

int runnel__entry_prefix(const runnel_t *r, uint32_t nslot, uint32_t idx,
                         const runnel__rec_t *rec, const uint8_t *body, runnel_id_t *id,
                         uint64_t *link0, uint32_t *body_off)
{
    struct entry_head h;
    int err;

    h.rec = *rec;
    h.idx = idx;
    err = decode_head(&r->nodes[nslot], body, rec->len, RUNNEL__LINKS_MAX, &h);
    if (err < 0)
        return RUNNEL_ERR_CORRUPT;
    *id = h.id;
    *link0 = h.nlinks > 0 ? h.link[0] : 0;
    *body_off = h.body_off;
    return 0;
}

int runnel__node_entry(runnel_t *r, uint32_t nslot, uint32_t i, runnel_entry_t *e)
{
    const struct runnel__node *n = &r->nodes[nslot];
    runnel__rec_t rec;
    const uint8_t *b;
    size_t off;
    uint64_t nf, f;
    int err;

    note_use(r, nslot);
    e->partial = false;
    e->store = r;
    e->handle = 0;
    e->read = NULL;
    if (i == 0 && n->first_size == 0)
        return runnel__span_entry(r, nslot, e);    /* larger than a block */
    if (i == 0) {
        /* The first entry is the master: read it where the names of the
         * node's other entries are decoded from, once for both. Its ID is
         * the descriptor's (master_parse checked the record's). */
        size_t moff;

        err = load_master(r, n);
        if (err < 0)
            return err;
        moff = r->master_fv_off;
        for (f = 0; f < 2u * r->master_nfields; f++) {
            err = next_str(r->master, r->master_len, &moff, &r->fv[f]);
            if (err < 0)
                return err;
        }
        e->id = n->first;
        e->nfields = r->master_nfields;
        e->fv = r->fv;
        e->deleted = false;
        return 0;
    }
    if (!runnel__node_found(r, nslot, i)) {
        err = locate(r, nslot, i);
        if (err < 0)
            return err;
    }
    err = read_entry_body(r, n, i, &b, &rec, &nf, &off);
    if (err < 0)
        return err;
    if (is_same_fields_type(rec.type)) {
        /* Values here, names from the master. Loading the master does not
         * touch r->scratch. */
        size_t moff;
        runnel_str_t value_of_master;

        if (i == 0)
            return RUNNEL_ERR_CORRUPT;  /* a master always names its fields */
        err = load_master(r, n);
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

/* The first live entry of a stream: the first index of its first node
 * with live entries that the bitmap does not mark deleted. Only that one
 * entry is read (by link), not the node.
 *
 * A ghost node (mount's replay: its records lie before the log's final
 * tail, the full-ring drop that removes it comes later in the replay) is
 * still live at this point of the replay, as it was in the run, so it
 * still holds the stream's first entry: a group's entries-read estimated
 * on a delivery depends on that ID (group_lag.c). Its records are gone,
 * but the ID of its entry 0 is the node's own `first`, kept in RAM. */
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
        const struct runnel__node *n = &r->nodes[nslot];
        int err;

        if (n->live == 0)
            continue;
        if (n->stub) {
            err = runnel__stub_load_walk(r, sidx, &p, &lo, &hi);
            if (err < 0)
                return err;
            continue;
        }
        if (runnel__node_ghost(r, nslot)) {
            if (n->count > 0 && !runnel__node_deleted(r, nslot, 0)) {
                s->first_id = n->first;
                return 0;
            }
            continue;
        }
        for (i = 0; i < n->count; i++) {
            if (!runnel__node_deleted(r, nslot, i))
                return runnel__node_id(r, nslot, i, &s->first_id);
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
again:
    runnel__stream_nodes(r, sidx, &lo, &hi);
    for (p = hi; p > lo; p--) {
        uint32_t nslot = r->node_order[p - 1u], i;
        const struct runnel__node *n = &r->nodes[nslot];

        if (n->live == 0)
            continue;
        if (n->stub) {          /* (some of its nodes may be ghosts) */
            int err = runnel__stub_load(r, nslot);
            if (err < 0)
                return err;
            goto again;
        }
        if (runnel__node_ghost(r, nslot))
            continue;
        for (i = n->count; i > 0; i--) {
            if (!runnel__node_deleted(r, nslot, i - 1u))
                return runnel__node_id(r, nslot, i - 1u, out);
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
