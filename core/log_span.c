/*
 * log_span.c - records larger than a block: one head and its pieces.
 *
 * A record never straddles blocks (log.c), so a body that does not fit
 * one block is written as a *spanning record* (FORMAT.md, "Spanning
 * records"):
 *
 *     SPAN (0x03)       type:u8 total:varint pieces:varint chunk0
 *     SPAN_CONT (0x04)  chunk            (x pieces)
 *
 * The head goes at the head of the log (or opens the next block when
 * fewer than SPAN_HEAD_MIN body bytes would fit there) and holds the
 * first bytes of the logical body; piece k is the first record of the
 * k-th block after the head's, and every piece but the last fills its
 * block. So a logical offset maps to its piece by arithmetic, and a
 * reader of a 100 MB value never walks the log.
 *
 * Why the head is written first: a node's first record must precede all
 * its records (the full-ring policy drops a node when the block holding
 * its start goes), and the head is the record links and node
 * descriptors name, so every piece lies after it and goes after it. A
 * power cut in the middle leaves a head whose pieces are not all there:
 * mount checks that they are (runnel__log_span_complete) before it
 * applies the record, and an incomplete one was never acknowledged (the
 * append had not returned). Nothing else is ever written between a head
 * and its pieces, so the check is exact: the piece positions are fixed,
 * and any record found there that is not the expected piece, or a piece
 * whose CRC fails, means the append was cut short.
 *
 * The owner is asked once, before the head is written, for every block
 * the pieces will need (one reclaim request, as for a single record): a
 * refusal leaves the log as it was.
 */
#include <string.h>

#include "log.h"

/* Fewest logical bytes a head carries: below this the head opens the next
 * block (so its prefix - type, total, pieces - never spans). */
#define SPAN_HEAD_MIN 64u
/* type + total varint + pieces varint */
#define SPAN_PREFIX_MAX (1u + 2u * RUNNEL_VARINT_MAX)

static uint64_t blk(const runnel_log_t *log, runnel_pos_t pos)
{
    return pos / log->block_size;
}

/* Body bytes a record can have when it starts at `at` and runs to the
 * block's end. */
static uint32_t body_room(const runnel_log_t *log, runnel_pos_t at)
{
    uint32_t room = (uint32_t)(log->block_size - at % log->block_size);
    uint32_t len;

    if (room < 1u + 1u + 4u)
        return 0;
    room -= 1u + 4u;            /* type, crc */
    len = room - 1u;
    while (len > 0 && len + (uint32_t)runnel__varint_len(len) > room)
        len--;
    return len;
}

/* The layout of a span of `total` bytes appended now: where the head
 * goes, how much it carries, how many pieces follow. */
typedef struct span_plan {
    runnel_pos_t at;
    uint32_t head_len;          /* the head's body */
    uint32_t prefix;
    uint32_t chunk0;
    uint32_t pieces;
} span_plan_t;

static void plan_at(const runnel_log_t *log, uint64_t total, runnel_pos_t at, span_plan_t *p)
{
    uint32_t max = runnel__log_max_body(log);
    uint32_t room;

    p->at = at;
    room = body_room(log, p->at) - p->prefix;
    p->chunk0 = total < room ? (uint32_t)total : room;
    p->pieces = (uint32_t)((total - p->chunk0 + max - 1u) / max);
    /* the real prefix may be a byte shorter than the bound: the head then
     * ends a byte before its block does, which readers do not mind */
    p->prefix = 1u + (uint32_t)runnel__varint_len(total) +
                (uint32_t)runnel__varint_len(p->pieces);
    p->head_len = p->prefix + p->chunk0;
}

/* Where the head goes: at the log's head when SPAN_HEAD_MIN bytes fit
 * there, else at the next block's first record - and there too when the
 * span needs the ring to give back blocks, so that the tail it moves is
 * in the head's own block header: mount then drops what the append
 * dropped before it replays the head, in the order the append did. */
static void plan(const runnel_log_t *log, uint64_t total, span_plan_t *p)
{
    uint64_t pieces_bound = total / runnel__log_max_body(log) + 2u;
    runnel_pos_t at;

    p->prefix = 1u + (uint32_t)runnel__varint_len(total) +
                (uint32_t)runnel__varint_len(pieces_bound);
    at = runnel__log_place_one(
        log, p->prefix + (total < SPAN_HEAD_MIN ? (uint32_t)total : SPAN_HEAD_MIN));
    plan_at(log, total, at, p);
    if (blk(log, at) == blk(log, log->head - 1u) && p->pieces > 0 &&
        blk(log, at) + p->pieces - blk(log, log->tail) >= runnel__log_span_limit(log)) {
        p->prefix = 1u + (uint32_t)runnel__varint_len(total) +
                    (uint32_t)runnel__varint_len(pieces_bound);
        plan_at(log, total, (blk(log, at) + 1u) * log->block_size + log->hdr_size, p);
    }
}

uint64_t runnel__log_span_max(const runnel_log_t *log)
{
    uint32_t limit = runnel__log_span_limit(log);

    if (limit < 4u)
        return 0;
    return (uint64_t)(limit - 3u) * runnel__log_max_body(log);
}

runnel_pos_t runnel__log_span_place(const runnel_log_t *log, uint64_t body_len)
{
    span_plan_t p;

    plan(log, body_len, &p);
    if (p.pieces == 0)
        return p.at;
    return (blk(log, p.at) + p.pieces) * log->block_size + log->hdr_size;
}

/* Reclaims, in one request, every block the span's last piece needs
 * (log.c's ensure_room would ask once per block switch, and a refusal
 * half-way would leave a span cut short). */
static int reclaim_ahead(runnel_log_t *log, const span_plan_t *p)
{
    uint64_t last = blk(log, p->at) + p->pieces, limit = runnel__log_span_limit(log);
    runnel_pos_t new_tail = log->tail;
    int err;

    if (last - blk(log, log->tail) < limit)
        return 0;
    while (last - blk(log, new_tail) >= limit)
        new_tail += log->block_size;
    /* never the block the head is in (span_max keeps it out of reach) */
    if (blk(log, new_tail) > blk(log, log->head - 1u))
        return RUNNEL_ERR_ENTRY_TOO_LARGE;
    if (log->reclaim == NULL)
        return RUNNEL_ERR_NOSPC;
    err = log->reclaim(log->reclaim_ctx, log->tail, new_tail);
    if (err)
        return err < 0 ? err : RUNNEL_ERR_NOSPC;
    /* the next block header records it (log.c block_open) */
    log->tail = new_tail;
    return 0;
}

/* One record: frame (type, len, crc over frame and body) then the body
 * bytes [off, off + len) of the source, fetched twice (CRC, then
 * program) through a small buffer. */
static int put_piece(runnel_log_t *log, uint8_t type, const uint8_t *pre, uint32_t pre_len,
                     runnel__span_src_fn src, void *ctx, uint64_t off, uint32_t len)
{
    uint8_t frame[1u + RUNNEL_VARINT_MAX + 4u], buf[128];
    uint32_t body = pre_len + len, crc, done;
    size_t flen;
    int err;

    frame[0] = type;
    flen = 1u + runnel__varint_put(frame + 1, body);
    crc = runnel__crc32c(0, frame, flen);
    crc = runnel__crc32c(crc, pre, pre_len);
    err = src(ctx, off, buf, 0);
    if (err)
        return err;
    for (done = 0; done < len;) {
        uint32_t n = len - done < sizeof buf ? len - done : (uint32_t)sizeof buf;
        err = src(ctx, off + done, buf, n);
        if (err)
            return err;
        crc = runnel__crc32c(crc, buf, n);
        done += n;
    }
    runnel__put_le32(frame + flen, crc);
    flen += 4u;
    /* a piece is its block's first record: no owner record (block
     * summary) before it, so the block the head is in has none either
     * and mount replays it record by record (its span check included) */
    err = runnel__log_room(log, (uint32_t)flen + body, type != RUNNEL_REC_SPAN_CONT);
    if (err == 0)
        err = runnel__log_put(log, frame, flen);
    if (err == 0)
        err = runnel__log_put(log, pre, pre_len);
    for (done = 0; err == 0 && done < len;) {
        uint32_t n = len - done < sizeof buf ? len - done : (uint32_t)sizeof buf;
        err = src(ctx, off + done, buf, n);
        if (err == 0)
            err = runnel__log_put(log, buf, n);
        done += n;
    }
    return err;
}

int runnel__log_append_span(runnel_log_t *log, uint8_t type, uint64_t total,
                            runnel__span_src_fn src, void *ctx, runnel_pos_t *pos)
{
    uint8_t pre[SPAN_PREFIX_MAX];
    uint32_t max, k, pl;
    uint64_t off;
    span_plan_t p;
    int err;

    if (log == NULL || src == NULL || log->head == 0 || type <= RUNNEL_REC_SPAN_CONT ||
        type == 0xFFu || type == log->erase_value)
        return RUNNEL_ERR_INVAL;
    if (total > runnel__log_span_max(log) || total > UINT32_MAX)
        return RUNNEL_ERR_ENTRY_TOO_LARGE;
    err = runnel__log_fence_flush(log);
    if (err)
        return err;
    plan(log, total, &p);
    err = reclaim_ahead(log, &p);
    if (err)
        return err;
    max = runnel__log_max_body(log);
    pre[0] = type;
    pl = 1u + (uint32_t)runnel__varint_put(pre + 1, total);
    pl += (uint32_t)runnel__varint_put(pre + pl, p.pieces);
    /* the head goes where plan() put it */
    if (p.at != log->head)
        log->seal = true;
    err = runnel__log_room(log, 1u + (uint32_t)runnel__varint_len(pl + p.chunk0) + 4u + pl +
                                    p.chunk0, true);
    if (err)
        return err;
    if (log->head != p.at)
        return RUNNEL_ERR_CORRUPT;  /* cannot happen: plan and append disagree */
    if (pos)
        *pos = log->head;
    err = put_piece(log, RUNNEL_REC_SPAN, pre, pl, src, ctx, 0, p.chunk0);
    for (k = 0, off = p.chunk0; err == 0 && k < p.pieces; k++) {
        uint32_t n = total - off < max ? (uint32_t)(total - off) : max;
        /* the rest of the block stays unused: the next piece opens the
         * next block as its first record */
        log->seal = true;
        err = put_piece(log, RUNNEL_REC_SPAN_CONT, NULL, 0, src, ctx, off, n);
        off += n;
    }
    return err;
}

/* ---- reading ---- */

int runnel__log_span_open(runnel_log_t *log, runnel_pos_t pos, runnel__span_t *sp,
                          uint8_t *buf, uint32_t cap)
{
    runnel__rec_t rec;
    uint64_t total, pieces;
    uint32_t max = runnel__log_max_body(log), off;
    int k, err = runnel__log_header(log, pos, &rec);

    if (err)
        return err;
    if (rec.type != RUNNEL_REC_SPAN || rec.len > cap || rec.len < 3u)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_read_body(log, &rec, buf, cap);
    if (err)
        return err;
    sp->type = buf[0];
    off = 1;
    k = runnel__varint_get(buf + off, rec.len - off, &total);
    if (k <= 0)
        return RUNNEL_ERR_CORRUPT;
    off += (uint32_t)k;
    k = runnel__varint_get(buf + off, rec.len - off, &pieces);
    if (k <= 0)
        return RUNNEL_ERR_CORRUPT;
    off += (uint32_t)k;
    sp->pos = pos;
    sp->chunk0_off = off;
    sp->chunk0 = rec.len - off;
    /* the pieces must carry exactly the rest, each but the last full */
    if (sp->type <= RUNNEL_REC_SPAN_CONT || total < sp->chunk0 || total > UINT32_MAX ||
        pieces != (total - sp->chunk0 + max - 1u) / max ||
        pieces >= log->block_count)
        return RUNNEL_ERR_CORRUPT;
    sp->total = total;
    sp->pieces = (uint32_t)pieces;
    if (pieces == 0) {
        sp->end = rec.next;
    } else {
        uint64_t last = total - sp->chunk0 - (pieces - 1u) * max;
        sp->end = (blk(log, pos) + pieces) * log->block_size + log->hdr_size + 1u +
                  runnel__varint_len(last) + 4u + last;
    }
    return 0;
}

/* Piece k (1-based) of a span: its header, checked against where and how
 * long the writer made it. CORRUPT when it is not there. */
static int piece_header(runnel_log_t *log, const runnel__span_t *sp, uint32_t k,
                        runnel__rec_t *rec)
{
    uint32_t max = runnel__log_max_body(log);
    uint64_t before = sp->chunk0 + (uint64_t)(k - 1u) * max;
    uint64_t want = sp->total - before < max ? sp->total - before : max;
    runnel_pos_t at = (blk(log, sp->pos) + k) * log->block_size + log->hdr_size;
    int err;

    if (at >= log->head)
        return RUNNEL_ERR_CORRUPT;
    err = runnel__log_header(log, at, rec);
    if (err)
        return err;
    if (rec->type != RUNNEL_REC_SPAN_CONT || rec->len != want)
        return RUNNEL_ERR_CORRUPT;
    return 0;
}

static int piece_check(runnel_log_t *log, const runnel__rec_t *rec, uint8_t *vbuf,
                       uint32_t vcap)
{
    int err;

    if (log->span_checked == rec->pos)
        return 0;
    err = runnel__log_read_body(log, rec, vbuf, vcap);
    if (err == 0)
        log->span_checked = rec->pos;
    return err;
}

int runnel__log_span_read(runnel_log_t *log, const runnel__span_t *sp, uint64_t off,
                          void *dst, uint32_t n, uint8_t *vbuf, uint32_t vcap)
{
    uint32_t max = runnel__log_max_body(log);
    uint8_t *out = dst;
    int err;

    if (off > sp->total || n > sp->total - off)
        return RUNNEL_ERR_INVAL;
    while (n > 0) {
        runnel__rec_t rec;
        uint32_t k, in, take;

        if (off < sp->chunk0) {
            /* in the head (its CRC was checked when it was opened) */
            err = runnel__log_header(log, sp->pos, &rec);
            in = (uint32_t)off + sp->chunk0_off;
            take = sp->chunk0 - (uint32_t)off;
        } else {
            k = (uint32_t)((off - sp->chunk0) / max) + 1u;
            in = (uint32_t)((off - sp->chunk0) % max);
            err = piece_header(log, sp, k, &rec);
            if (err == 0)
                err = piece_check(log, &rec, vbuf, vcap);
            take = rec.len - in;
        }
        if (err)
            return err;
        if (take > n)
            take = n;
        err = runnel__log_read(log, &rec, in, out, take);
        if (err)
            return err;
        out += take;
        off += take;
        n -= take;
    }
    return 0;
}

int runnel__log_span_complete(runnel_log_t *log, const runnel__span_t *sp, uint8_t *vbuf,
                              uint32_t vcap)
{
    uint32_t k;

    for (k = 1; k <= sp->pieces; k++) {
        runnel__rec_t rec;
        int err = piece_header(log, sp, k, &rec);

        if (err == 0)
            err = runnel__log_read_body(log, &rec, vbuf, vcap);
        if (err == RUNNEL_ERR_CORRUPT)
            return 1;
        if (err)
            return err;
    }
    return 0;
}
