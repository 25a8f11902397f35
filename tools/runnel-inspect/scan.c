/*
 * scan.c - runnel-inspect's physical pass: every block, every record.
 *
 * It reads the image on its own terms (FORMAT.md sections 3 to 6), not
 * through the engine, so it can say where and what the damage is:
 *
 *   1. Every block's header: erased, valid, another format version or
 *      block size, at the wrong place for its sequence, or neither erased
 *      nor a header ("foreign").
 *   2. The log: the newest valid header names the tail the log had when
 *      that block was opened (its `tail` field). Every block from that
 *      tail to the newest must hold its sequence; a gap is damage.
 *   3. Every record of every log block: framing (type, minimal length
 *      varint, body inside the block) and CRC, PAD bytes, fences (the
 *      first record of block s says where block s-1's valid data ends).
 *      Where a block's valid data ends decides the finding:
 *        - at the block end, at erased bytes, or exactly at its fence: fine;
 *        - before its fence: committed data is damaged (CORRUPT);
 *        - in bytes that are not a record, with no fence: in the newest
 *          block (or the one before a newest block a power cut left
 *          without records) that is a torn tail, what a power cut during
 *          a write leaves and mount discards (a NOTE, not damage) - unless
 *          a record that checks follows it, which no power cut produces:
 *          then it is damage. In any other block it is damage: the writer
 *          fences every block it leaves with bytes a reader would parse.
 *        - the tail block of a full ring whose records stop early: the
 *          erase that was reclaiming it when power went (FORMAT.md 6.2).
 *   4. Checkpoints (0x30..0x3A): the newest complete one (a BEGIN and an
 *      END with the same number) and how much the mount replays after it.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "util.h"   /* runnel__crc32c, runnel__varint_get, runnel__get_le* */

#define HDR_MAGIC 0x4C4E5552u
#define HDR_SIZE 24u
#define REC_PAD 0x01u
#define REC_FENCE 0x02u
#define REC_CKPT_BEGIN 0x30u
#define REC_CKPT_END 0x33u
#define REC_BLOCK_SUMMARY 0x37u

enum blk_state { B_ERASED, B_VALID, B_OTHER_VERSION, B_OTHER_SIZE, B_MISPLACED, B_FOREIGN };

typedef struct blk {
    uint8_t state;
    uint32_t seq, tail;     /* B_VALID (and B_MISPLACED: seq) */
} blk_t;

/* Where and why a walk of a block stopped. */
enum stop { STOP_END, STOP_LIMIT, STOP_ERASED, STOP_BAD };

typedef struct walk {
    enum stop stop;
    uint32_t end;           /* offset where the valid records end */
    uint32_t records;
    const char *why;        /* STOP_BAD: what is wrong */
    char whybuf[96];
} walk_t;

static bool known_type(uint8_t t)
{
    /* 0x03/0x04: a spanning record's head and pieces (format 4); 0x38 a
     * checkpoint's directory of node runs, 0x39 older directory records
     * it names again, 0x3A a node run's later part, 0x51/0x59/0x5B/0x5C
     * relocated copies of entries (format 5) */
    return t == REC_FENCE || t == 0x03 || t == 0x04 || (t >= 0x10 && t <= 0x1E && t != 0x1A) ||
           (t >= 0x20 && t <= 0x29) || (t >= 0x30 && t <= 0x3A) || t == 0x40 || t == 0x51 ||
           t == 0x59 || t == 0x5B || t == 0x5C;
}

static bool is_unused(uint8_t t, uint8_t erase)
{
    return t == 0x00 || t == 0xFF || t == erase;
}

static bool all_erased(const uint8_t *p, uint32_t n, uint8_t erase)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != erase)
            return false;
    return true;
}

/* Parses the record at off (bounded by limit). Returns its total length,
 * or 0 with *why set. */
static uint32_t parse_record(const uint8_t *b, uint32_t off, uint32_t limit, const char **why,
                             uint32_t *body_off, uint32_t *body_len)
{
    uint64_t len;
    uint32_t avail = limit - off - 1u;
    int k = runnel__varint_get(b + off + 1, avail < 10u ? avail : 10u, &len);

    if (k <= 0) {
        *why = k == 0 ? "its length runs past the end of the data"
                      : "its length is not a valid (minimal) varint";
        return 0;
    }
    if ((uint64_t)avail < (uint64_t)k + 4u || len > avail - (uint32_t)k - 4u) {
        *why = "its body runs past the end of the block's data";
        return 0;
    }
    uint32_t hl = 1u + (uint32_t)k + 4u;
    uint32_t crc = runnel__crc32c(0, b + off, 1u + (uint32_t)k);
    crc = runnel__crc32c(crc, b + off + hl, (size_t)len);
    if (crc != runnel__get_le32(b + off + 1 + k)) {
        *why = "its CRC does not match its bytes";
        return 0;
    }
    *body_off = off + hl;
    *body_len = (uint32_t)len;
    return hl + (uint32_t)len;
}

/* True when a record that checks (a known type with a non-empty body)
 * starts anywhere in [from, limit): no power cut leaves one after a torn
 * record, so the bytes before it are damage, not a torn tail. */
static bool record_after(const uint8_t *b, uint32_t from, uint32_t limit, uint32_t *at)
{
    for (uint32_t o = from; o + 6u <= limit; o++) {
        const char *why;
        uint32_t bo, bl;
        if (!known_type(b[o]))
            continue;
        if (parse_record(b, o, limit, &why, &bo, &bl) != 0 && bl > 0) {
            *at = o;
            return true;
        }
    }
    return false;
}

/* The fence block s+1 holds for block s, from s+1's first record. */
static bool read_fence(const uint8_t *b, uint32_t bs, uint8_t erase, uint32_t *end)
{
    uint32_t off = HDR_SIZE;
    while (off < bs && b[off] == REC_PAD)
        off++;
    if (off >= bs || b[off] != REC_FENCE || is_unused(b[off], erase))
        return false;
    const char *why;
    uint32_t bo, bl;
    if (parse_record(b, off, bs, &why, &bo, &bl) == 0)
        return false;   /* a fence whose CRC fails names nothing (FORMAT.md 6.5) */
    uint64_t v;
    if (runnel__varint_get(b + bo, bl, &v) <= 0 || v > UINT32_MAX)
        return false;
    *end = (uint32_t)v;
    return true;
}

/* A BLOCK_SUMMARY body (FORMAT.md "Block summaries"): its block is the
 * one before, and its items parse. NULL, or what is wrong. */
static const char *summary_check(const uint8_t *p, uint32_t len, uint64_t seq, uint32_t bs)
{
    uint32_t off = 0;
    uint64_t v;
    int k = runnel__varint_get(p, len, &v);

    if (k <= 0)
        return "its block number does not parse";
    if (((v + 1u) & 0xFFFFFFFFu) != (seq & 0xFFFFFFFFu))
        return "it names another block than the one before it";
    off = (uint32_t)k;
    while (off < len) {
        uint8_t tag = p[off++];
        uint32_t fields, i;
        if (tag == 0x01 || tag == 0x02) {
            k = runnel__varint_get(p + off, len - off, &v);
            if (k <= 0 || v < HDR_SIZE || v >= bs)
                return "a pointer outside the block";
            off += (uint32_t)k;
            continue;
        }
        if ((tag & 0xF0u) != 0x10u && (tag & 0xE0u) != 0x20u)
            return "an item of unknown kind";
        /* a NODE item's flags are in its tag; 0x20-0x3F: none, and the slot */
        uint8_t flags = (tag & 0xF0u) == 0x10u ? tag & 0x0Fu : 0u;
        /* [slot], [master ms seq first_off first_size], count (added) lp_rest
         * dlast_ms last_seq last_off, [first: 2], [above] */
        fields = ((tag & 0xF0u) == 0x10u ? 1u : 0u) + ((flags & 1u) ? 4u : 0u) + 5u +
                 ((flags & 4u) ? 2u : 0u) + ((flags & 8u) ? 1u : 0u);
        for (i = 0; i < fields; i++) {
            if (i == 5u && (flags & 1u)) {
                if (len - off < 4u)
                    return "a NODE item cut short";
                off += 4u;              /* fields_hash:le32 */
            }
            k = runnel__varint_get(p + off, len - off, &v);
            if (k <= 0)
                return "a NODE item cut short";
            off += (uint32_t)k;
        }
    }
    return NULL;
}

typedef struct ckpt_state {
    bool have_begin;
    uint64_t begin_number, begin_seq, begin_records, begin_bytes;
    uint32_t begin_phys, begin_off;
} ckpt_state_t;

/* Walks one log block's records up to limit, counting them into out. */
static void walk_block(const insp_image_t *img, const uint8_t *b, uint32_t limit, uint64_t seq,
                       uint32_t phys, insp_scan_t *out, ckpt_state_t *ck, walk_t *w)
{
    uint32_t off = HDR_SIZE;

    w->records = 0;
    w->why = NULL;
    while (off < limit) {
        uint8_t t = b[off];
        if (t == REC_PAD) {
            out->pad_bytes++;
            off++;
            continue;
        }
        if (is_unused(t, img->erase_value)) {
            w->stop = STOP_ERASED;
            w->end = off;
            return;
        }
        uint32_t bo, bl;
        uint32_t n = parse_record(b, off, limit, &w->why, &bo, &bl);
        if (n == 0) {
            w->stop = STOP_BAD;
            w->end = off;
            return;
        }
        if (!known_type(t))
            insp_report(INSP_WARN, phys, (long)seq, off, "a record of type 0x%02X, which format "
                        "version %u does not define (its CRC checks; mount skips it)", t,
                        (unsigned)RUNNEL_FORMAT_VERSION);
        if (t == REC_FENCE && w->records > 0)
            insp_report(INSP_WARN, phys, (long)seq, off, "a FENCE that is not the block's first "
                        "record (readers ignore it)");
        if (t == REC_BLOCK_SUMMARY) {
            const char *bad = w->records > 0 ? "it is not the block's first record"
                                             : summary_check(b + bo, bl, seq, img->block_size);
            if (bad != NULL)
                insp_report(INSP_CORRUPT, phys, (long)seq, off, "a BLOCK_SUMMARY whose CRC "
                            "checks but %s", bad);
        }
        out->records++;
        out->record_bytes += n;
        out->records_by_type[t]++;
        if (t == REC_CKPT_BEGIN || t == REC_CKPT_END) {
            uint64_t number;
            if (runnel__varint_get(b + bo, bl, &number) > 0) {
                if (t == REC_CKPT_BEGIN) {
                    ck->have_begin = true;
                    ck->begin_number = number;
                    ck->begin_seq = seq;
                    ck->begin_phys = phys;
                    ck->begin_off = off;
                    ck->begin_records = out->records - 1u;
                    ck->begin_bytes = out->record_bytes - n;
                } else if (ck->have_begin && ck->begin_number == number) {
                    out->has_checkpoint = true;
                    out->ckpt_number = number;
                    out->ckpt_seq = ck->begin_seq;
                    out->ckpt_phys = ck->begin_phys;
                    out->ckpt_off = ck->begin_off;
                    /* replay counts from the BEGIN: set back below */
                    out->records_after_ckpt = ck->begin_records;
                    out->bytes_after_ckpt = ck->begin_bytes;
                }
            }
        }
        w->records++;
        off += n;
    }
    w->stop = off == img->block_size ? STOP_END : STOP_LIMIT;
    w->end = off;
}

/* a newer than b, wrap-safe (FORMAT.md section 2) */
static bool seq_newer(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

static const char *state_name(uint8_t st)
{
    switch (st) {
    case B_ERASED: return "erased";
    case B_VALID: return "a valid header";
    case B_OTHER_VERSION: return "a header of another format version";
    case B_OTHER_SIZE: return "a header of another block size";
    case B_MISPLACED: return "a header of another position";
    default: return "neither a header nor erased bytes";
    }
}

/* What the passes share: the image, the findings, a header per block and
 * two block buffers (the block walked and the next one, for its fence). */
typedef struct scan {
    const insp_image_t *img;
    insp_scan_t *out;
    blk_t *blk;
    uint8_t *b, *nb;
    ckpt_state_t ck;
    uint32_t N, bs;
} scan_t;

/* The log's extent, from the newest header (pass 2). */
typedef struct extent {
    uint32_t newest;   /* physical block of the newest header */
    uint32_t n, T;     /* its sequence and the tail it names */
    uint32_t first;    /* oldest block whose header is in place */
    bool full;         /* the ring was full when the newest block opened */
} extent_t;

/* Pass 1: every block's header. False if none is valid. */
static bool scan_headers(scan_t *c, uint32_t *newest_out)
{
    const insp_image_t *img = c->img;
    insp_scan_t *out = c->out;
    blk_t *blk = c->blk;
    uint8_t *b = c->b;
    uint32_t N = c->N, bs = c->bs, misplaced = 0, newest = 0;
    bool any = false;

    for (uint32_t p = 0; p < N; p++) {
        if (insp_image_read(img, p, 0, b, bs) != 0)
            exit(INSP_EXIT_USAGE);
        blk_t *k = &blk[p];
        if (all_erased(b, bs, img->erase_value)) {
            k->state = B_ERASED;
            out->erased_blocks++;
            continue;
        }
        if (runnel__get_le32(b) != HDR_MAGIC || runnel__get_le32(b + 20) !=
            runnel__crc32c(0, b, 20)) {
            k->state = B_FOREIGN;
            continue;
        }
        k->seq = runnel__get_le32(b + 8);
        k->tail = runnel__get_le32(b + 12);
        if (runnel__get_le16(b + 4) != RUNNEL_FORMAT_VERSION) {
            k->state = B_OTHER_VERSION;
            insp_report(INSP_CORRUPT, p, -1, 0, "the header says format version %u; this "
                        "runnel-inspect (and this runnel) reads version %u",
                        runnel__get_le16(b + 4), RUNNEL_FORMAT_VERSION);
            continue;
        }
        if (runnel__get_le32(b + 16) != bs || runnel__get_le16(b + 6) != HDR_SIZE) {
            k->state = B_OTHER_SIZE;
            insp_report(INSP_CORRUPT, p, -1, 0, "the header says block size %u and header "
                        "length %u; the store's are %u and %u", runnel__get_le32(b + 16),
                        runnel__get_le16(b + 6), bs, HDR_SIZE);
            continue;
        }
        if (k->seq % N != p) {
            k->state = B_MISPLACED;
            if (++misplaced <= 3)
                insp_report(INSP_CORRUPT, p, k->seq, 0, "a block with sequence %u lives at "
                            "block %u of a ring of %u: this image is not the whole store "
                            "(truncated, or --block-count is wrong)", k->seq, k->seq % N, N);
            continue;
        }
        k->state = B_VALID;
        out->valid_headers++;
        if (!any || k->seq < out->seq_min_seen)
            out->seq_min_seen = k->seq;
        if (!any || k->seq > out->seq_max_seen)
            out->seq_max_seen = k->seq;
        if (!any || seq_newer(k->seq, blk[newest].seq))
            newest = p;
        any = true;
    }
    if (misplaced > 3)
        insp_report(INSP_CORRUPT, -1, -1, -1, "%u more headers are not where a ring of %u "
                    "blocks puts them", misplaced - 3u, N);
    *newest_out = newest;
    return any;
}

/* Pass 2: from the tail the newest header names to the newest block,
 * every block must hold its sequence; a gap is damage. */
static void find_extent(scan_t *c, extent_t *e)
{
    insp_scan_t *out = c->out;
    blk_t *blk = c->blk;
    uint32_t N = c->N, newest = e->newest;

    uint32_t n = blk[newest].seq, T = blk[newest].tail;
    if (seq_newer(T, n) || n - T >= N) {
        insp_report(INSP_CORRUPT, newest, n, 0, "the newest block's header names tail "
                    "sequence %u, which no writer of a %u-block ring could have had (a "
                    "truncated image, or --block-count is wrong?); the log is taken as the "
                    "newest block alone", T, N);
        T = n;
    }
    bool full = n - T + 1u == N;
    uint32_t first = T;   /* oldest block whose header is in place */
    for (uint32_t s = T; s != n; s++) {
        blk_t *k = &blk[s % N];
        if (k->state == B_VALID && k->seq == s)
            continue;
        if (s == T && full) {
            insp_report(INSP_NOTE, s % N, s, -1, "the tail block holds %s: the erase that "
                        "was reclaiming it when power went (mount starts after it)",
                        state_name(k->state));
            first = s + 1u;
            continue;
        }
        insp_report(INSP_CORRUPT, s % N, s, 0, "block %u should hold sequence %u of the log "
                    "(tail %u .. newest %u) but holds %s%s", s % N, s, T, n,
                    state_name(k->state), k->state == B_VALID ? " of another sequence" : "");
        first = s + 1u;   /* what follows the gap is readable on its own */
    }
    out->found_log = true;
    out->newest_phys = newest;
    out->newest_seq = n;
    out->tail_seq = first;
    out->log_blocks = n - first + 1u;

    e->n = n;
    e->T = T;
    e->first = first;
    e->full = full;
}

/* Pass 3, for one block that is not the head's special case: where its
 * valid data ends (its fence, erased bytes, or bytes that are not a record)
 * and what that means. Sets *torn when the verdict waits for the next
 * block (records that stop in bytes that are not a record, no fence). */
static void judge_block_end(scan_t *c, const extent_t *e, uint32_t s, const walk_t *wp,
                            bool has_fence, uint32_t fence, bool head, bool *torn)
{
    const insp_image_t *img = c->img;
    insp_scan_t *out = c->out;
    const uint8_t *b = c->b;
    uint32_t p = s % c->N, bs = c->bs, first = e->first, T = e->T;
    bool full = e->full;
    walk_t w = *wp;

    if (has_fence) {
        if (w.stop != STOP_LIMIT && w.stop != STOP_END)
            insp_report(INSP_CORRUPT, p, s, w.end, "the records stop here (%s) before "
                        "offset %u, where the fence in the next block says this block's "
                        "valid data ends: committed data is damaged",
                        w.stop == STOP_BAD ? w.why : "an erased type byte", fence);
        else if (insp_verbose)
            insp_report(INSP_NOTE, p, s, fence, "ends at its fence (the bytes after it "
                        "were torn by a power cut)");
        out->torn_bytes += bs - fence;
    } else if (w.stop == STOP_ERASED || w.stop == STOP_BAD) {
        bool rest_erased = w.stop == STOP_ERASED &&
                           all_erased(b + w.end, bs - w.end, img->erase_value);
        uint32_t at = 0;
        bool later = !rest_erased && record_after(b, w.end + 1u, bs, &at);
        if (rest_erased) {
            /* an intact block's unused end */
        } else if (later) {
            insp_report(INSP_CORRUPT, p, s, w.end, "%s here, yet a record that checks "
                        "follows at offset %u: no power cut leaves that, so committed "
                        "data is damaged (readers stop in this block here)",
                        w.stop == STOP_BAD ? w.why : "an erased type byte", at);
        } else if (s == first && full && first == T) {
            insp_report(INSP_NOTE, p, s, w.end, "the tail block's records stop here "
                        "(%s): the erase that was reclaiming it when power went; mount "
                        "moves the tail past it", w.stop == STOP_BAD ? w.why : "erased");
        } else if (w.stop == STOP_ERASED) {
            insp_report(INSP_WARN, p, s, w.end, "bytes that are not erased after the "
                        "block's last record (readers stop at the erased byte before "
                        "them)");
        } else if (head) {
            insp_report(INSP_NOTE, p, s, w.end, "torn tail: %u bytes here are not a "
                        "record (%s); a power cut during a write leaves this and mount "
                        "discards it", bs - w.end, w.why);
            out->torn_bytes += bs - w.end;
        } else {
            *torn = true;   /* decided at the next block */
            out->torn_bytes += bs - w.end;
        }
    }
}

/* Pass 3: every record, oldest block first (checkpoints are in log order). */
static void walk_log(scan_t *c, const extent_t *e)
{
    const insp_image_t *img = c->img;
    insp_scan_t *out = c->out;
    uint8_t *b = c->b, *nb = c->nb;
    uint32_t N = c->N, bs = c->bs, n = e->n, first = e->first;
    walk_t w_prev;
    bool prev_torn = false;
    uint32_t prev_phys = 0;

    memset(&w_prev, 0, sizeof w_prev);
    for (uint32_t s = first;; s++) {
        uint32_t p = s % N, fence = 0;
        bool has_fence = false;
        walk_t w;

        if (insp_image_read(img, p, 0, b, bs) != 0)
            exit(INSP_EXIT_USAGE);
        if (s != n) {
            if (insp_image_read(img, (s + 1u) % N, 0, nb, bs) != 0)
                exit(INSP_EXIT_USAGE);
            has_fence = read_fence(nb, bs, img->erase_value, &fence);
            if (has_fence && (fence < HDR_SIZE || fence > bs)) {
                insp_report(INSP_CORRUPT, (s + 1u) % N, s + 1u, HDR_SIZE, "its fence names "
                            "offset %u of the block before, outside 24..%u", fence, bs);
                has_fence = false;
            }
        }
        walk_block(img, b, has_fence ? fence : bs, s, p, out, &c->ck, &w);
        if (insp_verbose)
            printf("  block %u (seq %u): %u records, valid data ends at offset %u (%s)\n", p, s,
                   w.records, w.end, w.stop == STOP_END ? "block end"
                   : w.stop == STOP_LIMIT ? "its fence"
                   : w.stop == STOP_ERASED ? "erased bytes" : "bytes that are not a record");
        bool head = s == n;
        bool clean = false;
        if (head) {
            clean = w.stop != STOP_BAD && w.end % img->prog_size == 0 &&
                    all_erased(b + w.end, bs - w.end, img->erase_value);
            if (w.records == 0 && s != first && prev_torn) {
                /* FORMAT.md 6.4: the fence the block before is owed is
                 * this block's first record, which power stopped */
                insp_report(INSP_NOTE, prev_phys, s - 1u, w_prev.end, "torn tail: the "
                            "block's valid data ends here (%s; what follows was being "
                            "written when power went, and mount discards it)",
                            w_prev.why != NULL ? w_prev.why : "non-erased bytes");
                prev_torn = false;
            }
            if (w.records == 0 && !clean && s != first) {
                /* mount drops it; the block before is the head */
                insp_report(INSP_NOTE, p, s, w.end, "the newest block was opened but holds "
                            "no record and is not clean (power went while it was opened): "
                            "mount drops it");
                out->torn_bytes += bs - w.end;
                out->head_off = w_prev.end;
                out->head_clean = false;
                break;
            }
        }
        if (prev_torn) {
            /* the block before was left torn: only a newest block without
             * records excuses that (handled above) */
            insp_report(INSP_CORRUPT, prev_phys, s - 1u, w_prev.end, "the block's records end "
                        "here in bytes that are not a record (%s), no fence says where its "
                        "data ends, and the log goes on after it: committed data is damaged",
                        w_prev.why != NULL ? w_prev.why : "non-erased bytes after it");
            prev_torn = false;
        }
        judge_block_end(c, e, s, &w, has_fence, fence, head, &prev_torn);
        if (head) {
            out->head_off = w.end;
            out->head_clean = clean;
            break;
        }
        w_prev = w;
        prev_phys = p;
    }
    if (out->has_checkpoint) {
        out->records_after_ckpt = out->records - out->records_after_ckpt;
        out->bytes_after_ckpt = out->record_bytes - out->bytes_after_ckpt;
    }
}

/* Pass 4: what lies outside the log. */
static void scan_outside(scan_t *c, const extent_t *e)
{
    insp_scan_t *out = c->out;
    blk_t *blk = c->blk;
    uint32_t N = c->N, first = e->first;

    for (uint32_t p = 0; p < N; p++) {
        blk_t *k = &blk[p];
        bool in_log = ((uint64_t)p + N - first % N) % N < out->log_blocks;
        if (in_log)
            continue;
        if (k->state == B_VALID)
            out->stale_blocks++;
        else if (k->state == B_FOREIGN)
            out->foreign_blocks++;
    }
    if (out->foreign_blocks > 0)
        insp_report(INSP_NOTE, -1, -1, -1, "%u block(s) outside the log are neither erased "
                    "nor headed (never used since the format, which erases only the first "
                    "block, or an erase power interrupted): the ring erases them before use",
                    out->foreign_blocks);
}

void insp_scan(const insp_image_t *img, insp_scan_t *out)
{
    scan_t c;
    extent_t e;

    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    memset(&e, 0, sizeof e);
    c.img = img;
    c.out = out;
    c.N = img->block_count;
    c.bs = img->block_size;
    c.blk = calloc(c.N, sizeof *c.blk);
    c.b = malloc(c.bs);
    c.nb = malloc(c.bs);
    if (c.blk == NULL || c.b == NULL || c.nb == NULL) {
        fprintf(stderr, "runnel-inspect: out of memory for %u blocks of %u bytes\n", c.N, c.bs);
        exit(INSP_EXIT_USAGE);
    }
    if (!scan_headers(&c, &e.newest))
        insp_report(INSP_CORRUPT, -1, -1, -1, "no block holds a valid header of this store: "
                    "there is no log to read");
    else {
        find_extent(&c, &e);
        walk_log(&c, &e);
        scan_outside(&c, &e);
    }
    free(c.blk);
    free(c.b);
    free(c.nb);
}
