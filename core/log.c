/*
 * log.c - the log-structured page layer: typed records in erase blocks that
 * form a ring, appended at one head and reclaimed at the tail.
 *
 * What this file owns (byte layouts are in FORMAT.md):
 *   - the block header (written in the page buffer at the start of a block,
 *     so it is programmed together with the block's first records);
 *   - record framing  type | len varint | crc32c | body;
 *   - the page buffer: appended bytes wait there until a page fills or a
 *     commit pads them to the program unit; no flash location is ever
 *     programmed twice between erases;
 *   - reading records back by position, from flash or from the page buffer;
 *   - turning the ring: asking the owner to release the tail block, erasing
 *     it just before reuse.
 *
 * Every byte read back from flash is untrusted: a bad type, a length past
 * the block or the head, or a truncated/overlong varint is RUNNEL_ERR_CORRUPT.
 */
#include <string.h>

#include "log.h"

#define LOG_MAGIC 0x4C4E5552u     /* "RUNL" as little-endian bytes R U N L */
#define REC_FRAME_MAX (1u + 5u + 4u) /* type + u32 varint + crc */

/* Byte offsets inside the block header (FORMAT.md, "Block header"). */
#define HDR_OFF_MAGIC 0u
#define HDR_OFF_VERSION 4u
#define HDR_OFF_HDRLEN 6u
#define HDR_OFF_SEQ 8u
#define HDR_OFF_ERASES 12u
#define HDR_OFF_BLOCKSIZE 16u
#define HDR_OFF_CRC 20u

/* ---- positions ---- */

static uint64_t pos_seq(const runnel_log_t *log, runnel_pos_t pos)
{
    return pos / log->block_size;
}

static uint32_t pos_off(const runnel_log_t *log, runnel_pos_t pos)
{
    return (uint32_t)(pos % log->block_size);
}

static uint32_t pos_phys(const runnel_log_t *log, runnel_pos_t pos)
{
    return (uint32_t)(pos_seq(log, pos) % log->block_count);
}

static runnel_pos_t block_start(const runnel_log_t *log, runnel_pos_t pos)
{
    return pos - pos_off(log, pos);
}

static bool is_unused_type(const runnel_log_t *log, uint8_t t)
{
    return t == 0x00u || t == 0xFFu || t == log->erase_value;
}

/* ---- device access ---- */

/* Reads n bytes at (block, off) for any off and n: the aligned middle goes
 * straight into buf, the unaligned edges bounce through log->rbuf, so a
 * device with read_size > 1 never sees a misaligned request. */
static int flash_read(runnel_log_t *log, uint32_t block, uint32_t off, uint8_t *buf, uint32_t n)
{
    const runnel_bd_t *bd = log->bd;
    uint32_t rs = log->read_size;
    int err;

    if (rs == 1)
        return n ? bd->read(bd->ctx, block, off, buf, n) : 0;
    while (n > 0) {
        uint32_t lead = off % rs;
        if (lead != 0 || n < rs) {
            uint32_t take = rs - lead < n ? rs - lead : n;
            err = bd->read(bd->ctx, block, off - lead, log->rbuf, rs);
            if (err)
                return err;
            memcpy(buf, log->rbuf + lead, take);
            off += take;
            buf += take;
            n -= take;
        } else {
            uint32_t mid = n - n % rs;
            err = bd->read(bd->ctx, block, off, buf, mid);
            if (err)
                return err;
            off += mid;
            buf += mid;
            n -= mid;
        }
    }
    return 0;
}

static int flash_prog(runnel_log_t *log, runnel_pos_t pos, const uint8_t *buf, uint32_t n)
{
    const runnel_bd_t *bd = log->bd;
    int err = bd->prog(bd->ctx, pos_phys(log, pos), pos_off(log, pos), buf, n);
    if (err)
        return err;
    if (log->stats)
        log->stats->bytes_programmed += n;
    return 0;
}

/* Reads [pos, pos+n) of appended data, which never crosses a block: the
 * part before page_pos is on flash, the rest is still in the page buffer.
 * Anything outside [tail, head) is refused rather than read as garbage. */
static int log_read_raw(runnel_log_t *log, runnel_pos_t pos, uint8_t *buf, uint32_t n)
{
    if (pos < log->tail || pos > log->head || n > log->head - pos)
        return RUNNEL_ERR_INVAL;
    if (n == 0)
        return 0;
    if (pos_seq(log, pos) != pos_seq(log, pos + n - 1))
        return RUNNEL_ERR_INVAL;
    if (pos < log->page_pos) {
        uint32_t from_flash = n;
        int err;
        if (pos + n > log->page_pos)
            from_flash = (uint32_t)(log->page_pos - pos);
        err = flash_read(log, pos_phys(log, pos), pos_off(log, pos), buf, from_flash);
        if (err)
            return err;
        pos += from_flash;
        buf += from_flash;
        n -= from_flash;
    }
    if (n > 0)
        memcpy(buf, log->page + (pos - log->page_pos), n);
    return 0;
}

/* ---- the page buffer ---- */

/* How many bytes the page buffer may hold starting at page_pos: up to the
 * next page_size boundary of the block (so programs stay inside aligned
 * page windows, which page-programmed NOR needs) and never past the block. */
static uint32_t page_cap(const runnel_log_t *log)
{
    uint32_t off = pos_off(log, log->page_pos);
    uint32_t window_end = off - off % log->page_size;
    if (log->block_size - window_end <= log->page_size)
        window_end = log->block_size;
    else
        window_end += log->page_size;
    return window_end - off;
}

/* Programs the page buffer's fill rounded up to prog_size, filling the
 * round-up with `filler`, and moves page_pos past what was programmed.
 * Those bytes are never programmed again until the block is erased. */
static int page_flush(runnel_log_t *log, uint8_t filler)
{
    uint32_t n = log->page_fill;
    uint32_t rem = n % log->prog_size;
    int err;

    if (n == 0)
        return 0;
    if (rem) {
        memset(log->page + n, filler, log->prog_size - rem);
        n += log->prog_size - rem;
    }
    err = flash_prog(log, log->page_pos, log->page, n);
    if (err)
        return err;
    log->page_pos += n;
    log->page_fill = 0;
    log->head = log->page_pos;
    return 0;
}

/* Copies bytes into the page buffer at the head, programming each page as
 * it fills. The caller guarantees the bytes fit in the current block. */
static int page_put(runnel_log_t *log, const uint8_t *src, size_t n)
{
    while (n > 0) {
        uint32_t cap = page_cap(log);
        uint32_t room = cap - log->page_fill;
        uint32_t take = n < room ? (uint32_t)n : room;
        memcpy(log->page + log->page_fill, src, take);
        log->page_fill += take;
        log->head += take;
        src += take;
        n -= take;
        if (log->page_fill == cap) {
            int err = page_flush(log, log->erase_value);
            if (err)
                return err;
        }
    }
    return 0;
}

/* ---- blocks ---- */

static void hdr_encode(const runnel_log_t *log, uint8_t *h, uint64_t seq)
{
    runnel__put_le32(h + HDR_OFF_MAGIC, LOG_MAGIC);
    runnel__put_le16(h + HDR_OFF_VERSION, (uint16_t)RUNNEL_FORMAT_VERSION);
    runnel__put_le16(h + HDR_OFF_HDRLEN, (uint16_t)RUNNEL_LOG_HDR_SIZE);
    runnel__put_le32(h + HDR_OFF_SEQ, (uint32_t)seq);
    runnel__put_le32(h + HDR_OFF_ERASES, 0); /* erase-count hint: v1 writes 0 */
    runnel__put_le32(h + HDR_OFF_BLOCKSIZE, log->block_size);
    runnel__put_le32(h + HDR_OFF_CRC, runnel__crc32c(0, h, HDR_OFF_CRC));
}

/* 0 and *seq when the bytes are a valid v1 header for this geometry. */
static int hdr_decode(const runnel_log_t *log, const uint8_t *h, uint32_t *seq)
{
    if (runnel__get_le32(h + HDR_OFF_MAGIC) != LOG_MAGIC)
        return RUNNEL_ERR_CORRUPT;
    if (runnel__get_le32(h + HDR_OFF_CRC) != runnel__crc32c(0, h, HDR_OFF_CRC))
        return RUNNEL_ERR_CORRUPT;
    if (runnel__get_le16(h + HDR_OFF_VERSION) != RUNNEL_FORMAT_VERSION ||
        runnel__get_le16(h + HDR_OFF_HDRLEN) != RUNNEL_LOG_HDR_SIZE ||
        runnel__get_le32(h + HDR_OFF_BLOCKSIZE) != log->block_size)
        return RUNNEL_ERR_CORRUPT;
    *seq = runnel__get_le32(h + HDR_OFF_SEQ);
    return 0;
}

/* Erases the block for `start` (a block-aligned position) and opens it:
 * the header goes into the page buffer and reaches flash with the block's
 * first page, so a block whose header never got programmed reads as erased,
 * i.e. unused, after a power cut. */
static int block_open(runnel_log_t *log, runnel_pos_t start)
{
    const runnel_bd_t *bd = log->bd;
    uint8_t h[RUNNEL_LOG_HDR_SIZE];
    int err = bd->erase(bd->ctx, pos_phys(log, start));
    if (err)
        return err;
    if (log->stats)
        log->stats->blocks_erased++;
    log->page_pos = start;
    log->page_fill = 0;
    log->head = start;
    hdr_encode(log, h, pos_seq(log, start));
    return page_put(log, h, sizeof h);
}

static void update_usage(runnel_log_t *log)
{
    if (log->stats) {
        log->stats->block_count = log->block_count;
        log->stats->blocks_used = runnel__log_blocks_used(log);
    }
}

uint32_t runnel__log_blocks_used(const runnel_log_t *log)
{
    if (log->head <= log->tail)
        return 0;
    return (uint32_t)(pos_seq(log, log->head - 1) - pos_seq(log, log->tail) + 1);
}

/* ---- setup ---- */

int runnel__log_init(runnel_log_t *log, const runnel_bd_t *bd, uint8_t *page,
                     uint32_t page_size, runnel__reclaim_fn reclaim, void *reclaim_ctx,
                     runnel_stats_t *stats)
{
    const runnel_bd_geometry_t *g;

    if (log == NULL || bd == NULL || page == NULL || bd->read == NULL || bd->prog == NULL ||
        bd->erase == NULL)
        return RUNNEL_ERR_INVAL;
    g = &bd->geometry;
    if (g->read_size == 0 || g->read_size > RUNNEL_LOG_READ_MAX || g->prog_size == 0 ||
        g->block_size == 0 || g->block_count < 2)
        return RUNNEL_ERR_INVAL;
    if (g->block_size % g->read_size != 0 || g->block_size % g->prog_size != 0)
        return RUNNEL_ERR_INVAL;
    /* Room for the header and at least a small record; positions stay
     * representable: block_size * 2^32 sequences fits in 64 bits. */
    if (g->block_size < RUNNEL_LOG_HDR_SIZE + REC_FRAME_MAX + 64u || g->block_size > (1u << 30))
        return RUNNEL_ERR_INVAL;
    if (page_size == 0 || page_size % g->prog_size != 0)
        return RUNNEL_ERR_INVAL;

    memset(log, 0, sizeof *log);
    log->bd = bd;
    log->block_size = g->block_size;
    log->block_count = g->block_count;
    log->prog_size = g->prog_size;
    log->read_size = g->read_size;
    log->erase_value = g->erase_value;
    log->hdr_size = RUNNEL_LOG_HDR_SIZE;
    log->page = page;
    log->page_size = page_size;
    log->reclaim = reclaim;
    log->reclaim_ctx = reclaim_ctx;
    log->stats = stats;
    return 0;
}

/* A device that held an older store still carries valid block headers. The
 * new log starts at a sequence number above every one of them, with a gap,
 * so a later mount, which follows consecutive sequence numbers backwards
 * from the newest header, can never chain an old block onto the new log.
 * The start is a multiple of block_count so the log begins at physical
 * block 0. Costs one small read per block; unreadable headers are ignored. */
int runnel__log_format(runnel_log_t *log)
{
    uint8_t h[RUNNEL_LOG_HDR_SIZE];
    uint64_t start_seq = 0;
    bool found = false;
    uint32_t max_seq = 0, b, seq;
    int err;

    if (log == NULL || log->bd == NULL)
        return RUNNEL_ERR_INVAL;
    for (b = 0; b < log->block_count; b++) {
        if (flash_read(log, b, 0, h, sizeof h) != 0)
            continue;
        if (hdr_decode(log, h, &seq) == 0 && (!found || seq > max_seq)) {
            max_seq = seq;
            found = true;
        }
    }
    if (found) {
        start_seq = (uint64_t)max_seq + 2u + log->block_count - 1u;
        start_seq -= start_seq % log->block_count;
        if (start_seq > UINT32_MAX)
            start_seq = 0; /* after 2^32 blocks the counter wraps (FORMAT.md) */
    }

    log->tail = start_seq * log->block_size;
    log->committed = log->tail;
    err = block_open(log, log->tail);
    if (err)
        return err;
    err = runnel__log_commit(log);
    update_usage(log);
    return err;
}

uint32_t runnel__log_max_body(const runnel_log_t *log)
{
    uint32_t room = log->block_size - log->hdr_size - 1u - 4u; /* minus type, crc */
    uint32_t len = room - 1u;
    while (len + (uint32_t)runnel__varint_len(len) > room)
        len--;
    return len;
}

/* ---- append ---- */

/* Makes sure `need` bytes fit between the head and the end of the head's
 * block, opening the next block if not. Opening may turn the ring: the
 * owner is asked first, before anything changes, so a refusal leaves the
 * log exactly as it was. Only then is the old block's partial page
 * programmed (its round-up left at the erase value = "rest unused"), the
 * tail advanced and the recycled block erased. */
static int ensure_room(runnel_log_t *log, uint32_t need)
{
    runnel_pos_t cur_start = block_start(log, log->head - 1);
    runnel_pos_t next_start = cur_start + log->block_size;
    int err;

    if (log->head + need <= next_start)
        return 0;
    if (pos_seq(log, next_start) - pos_seq(log, log->tail) >= log->block_count) {
        if (log->reclaim == NULL)
            return RUNNEL_ERR_NOSPC;
        err = log->reclaim(log->reclaim_ctx, log->tail, log->tail + log->block_size);
        if (err)
            return err < 0 ? err : RUNNEL_ERR_NOSPC;
        err = page_flush(log, log->erase_value);
        if (err)
            return err;
        log->tail += log->block_size;
    } else {
        err = page_flush(log, log->erase_value);
        if (err)
            return err;
    }
    err = block_open(log, next_start);
    update_usage(log);
    return err;
}

int runnel__log_append(runnel_log_t *log, uint8_t type, const runnel__iov_t *iov,
                       int niov, runnel_pos_t *pos)
{
    uint8_t frame[REC_FRAME_MAX];
    size_t total = 0, flen;
    uint32_t crc;
    int i, err;

    if (log == NULL || log->head == 0 || niov < 0 || (niov > 0 && iov == NULL))
        return RUNNEL_ERR_INVAL;
    if (is_unused_type(log, type) || type == RUNNEL_REC_PAD)
        return RUNNEL_ERR_INVAL;
    for (i = 0; i < niov; i++) {
        if (iov[i].len > 0 && iov[i].p == NULL)
            return RUNNEL_ERR_INVAL;
        if (iov[i].len > runnel__log_max_body(log) - total)
            return RUNNEL_ERR_ENTRY_TOO_LARGE;
        total += iov[i].len;
    }

    frame[0] = type;
    flen = 1 + runnel__varint_put(frame + 1, total);
    crc = runnel__crc32c(0, frame, flen);
    for (i = 0; i < niov; i++)
        crc = runnel__crc32c(crc, iov[i].p, iov[i].len);
    runnel__put_le32(frame + flen, crc);
    flen += 4;

    err = ensure_room(log, (uint32_t)(flen + total));
    if (err)
        return err;
    if (pos)
        *pos = log->head;
    err = page_put(log, frame, flen);
    for (i = 0; err == 0 && i < niov; i++)
        err = page_put(log, (const uint8_t *)iov[i].p, iov[i].len);
    if (err)
        return err;
    if (log->stats)
        log->stats->bytes_appended += flen + total;
    return 0;
}

runnel_pos_t runnel__log_place(const runnel_log_t *log, uint32_t body_len)
{
    /* Mirrors ensure_room: type byte, length varint, CRC, body. */
    uint64_t need = 1u + (uint64_t)runnel__varint_len(body_len) + 4u + body_len;
    runnel_pos_t next_start = block_start(log, log->head - 1) + log->block_size;

    if (log->head + need <= next_start)
        return log->head;
    return next_start + log->hdr_size;
}

/* A commit programs the partial page padded with PAD bytes to the program
 * unit; the next append continues after the padding, so nothing committed
 * is ever programmed again. With nothing pending it only syncs. */
int runnel__log_commit(runnel_log_t *log)
{
    const runnel_bd_t *bd;
    int err;

    if (log == NULL || log->bd == NULL)
        return RUNNEL_ERR_INVAL;
    bd = log->bd;
    err = page_flush(log, RUNNEL_REC_PAD);
    if (err)
        return err;
    if (bd->sync) {
        err = bd->sync(bd->ctx);
        if (err)
            return err;
    }
    log->committed = log->head;
    if (log->stats)
        log->stats->commits++;
    return 0;
}

/* ---- reading ---- */

int runnel__log_header(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec)
{
    uint8_t h[REC_FRAME_MAX];
    runnel_pos_t limit;
    uint64_t len;
    uint32_t avail;
    int n, err;

    if (log == NULL || rec == NULL)
        return RUNNEL_ERR_INVAL;
    if (pos < log->tail || pos >= log->head || pos_off(log, pos) < log->hdr_size)
        return RUNNEL_ERR_INVAL;
    limit = block_start(log, pos) + log->block_size;
    if (limit > log->head)
        limit = log->head;
    avail = (uint32_t)(limit - pos);
    if (avail > sizeof h)
        avail = sizeof h;
    err = log_read_raw(log, pos, h, avail);
    if (err)
        return err;
    if (is_unused_type(log, h[0]) || h[0] == RUNNEL_REC_PAD)
        return RUNNEL_ERR_CORRUPT;
    n = runnel__varint_get(h + 1, avail - 1, &len);
    if (n <= 0 || (uint32_t)n + 5u > avail)
        return RUNNEL_ERR_CORRUPT; /* truncated, overlong, or no room for the crc */
    if (len > limit - pos - 1u - (uint32_t)n - 4u)
        return RUNNEL_ERR_CORRUPT; /* body runs past the block or the head */
    rec->pos = pos;
    rec->type = h[0];
    rec->len = (uint32_t)len;
    rec->crc = runnel__get_le32(h + 1 + n);
    rec->body = pos + 1u + (uint32_t)n + 4u;
    rec->next = rec->body + len;
    return 0;
}

/* Walks from pos to the next record start. PAD bytes are skipped in chunks
 * (a commit on 256-byte program units can leave 255 of them); a type byte
 * that reads as erased means the rest of the block was never used, so the
 * walk jumps to the next block's first record. */
/* Like runnel__log_header, plus the first body bytes, in one device read:
 * a reader that follows links from record to record (node.c) needs the
 * header and a few fields of each, and a second read call per record would
 * double its calls. A record's frame is at least 6 bytes, so asking for
 * 6 + cap bytes reads no more than the frame and cap body bytes when the
 * length varint is one byte (records under 128 bytes); longer records get
 * fewer body bytes (*got says how many). */
int runnel__log_peek(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec, uint8_t *body,
                     uint32_t cap, uint32_t *got)
{
    uint8_t h[6u + RUNNEL_LOG_PEEK_MAX];
    runnel_pos_t limit;
    uint64_t len;
    uint32_t avail, hl;
    int n, err;

    if (log == NULL || rec == NULL || got == NULL || cap > RUNNEL_LOG_PEEK_MAX)
        return RUNNEL_ERR_INVAL;
    if (pos < log->tail || pos >= log->head || pos_off(log, pos) < log->hdr_size)
        return RUNNEL_ERR_INVAL;
    limit = block_start(log, pos) + log->block_size;
    if (limit > log->head)
        limit = log->head;
    avail = limit - pos < 6u + cap ? (uint32_t)(limit - pos) : 6u + cap;
    err = log_read_raw(log, pos, h, avail);
    if (err)
        return err;
    if (is_unused_type(log, h[0]) || h[0] == RUNNEL_REC_PAD)
        return RUNNEL_ERR_CORRUPT;
    n = runnel__varint_get(h + 1, avail - 1, &len);
    if (n <= 0 || (uint32_t)n + 5u > avail)
        return RUNNEL_ERR_CORRUPT;
    if (len > limit - pos - 1u - (uint32_t)n - 4u)
        return RUNNEL_ERR_CORRUPT;
    hl = 1u + (uint32_t)n + 4u;
    rec->pos = pos;
    rec->type = h[0];
    rec->len = (uint32_t)len;
    rec->crc = runnel__get_le32(h + 1 + n);
    rec->body = pos + hl;
    rec->next = rec->body + len;
    *got = avail - hl < rec->len ? avail - hl : rec->len;
    if (*got > cap)
        *got = cap;
    memcpy(body, h + hl, *got);
    return 0;
}

int runnel__log_next(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec)
{
    uint8_t chunk[32];

    if (log == NULL || rec == NULL)
        return RUNNEL_ERR_INVAL;
    if (pos < log->tail)
        pos = log->tail;
    while (pos < log->head) {
        uint32_t off = pos_off(log, pos);
        runnel_pos_t limit = block_start(log, pos) + log->block_size;
        uint32_t n, i;
        int err;

        if (off < log->hdr_size) {
            pos += log->hdr_size - off;
            continue;
        }
        if (limit > log->head)
            limit = log->head;
        n = (uint32_t)(limit - pos);
        if (n > sizeof chunk)
            n = sizeof chunk;
        err = log_read_raw(log, pos, chunk, n);
        if (err)
            return err;
        for (i = 0; i < n && chunk[i] == RUNNEL_REC_PAD; i++)
            ;
        pos += i;
        if (i == n)
            continue;
        if (is_unused_type(log, chunk[i])) {
            pos = block_start(log, pos) + log->block_size;
            continue;
        }
        err = runnel__log_header(log, pos, rec);
        return err ? err : 1;
    }
    return 0;
}

int runnel__log_read(runnel_log_t *log, const runnel__rec_t *rec, uint32_t off,
                     void *buf, uint32_t n)
{
    if (log == NULL || rec == NULL || (buf == NULL && n > 0))
        return RUNNEL_ERR_INVAL;
    if (off > rec->len || n > rec->len - off)
        return RUNNEL_ERR_INVAL;
    return log_read_raw(log, rec->body + off, (uint8_t *)buf, n);
}

int runnel__log_read_body(runnel_log_t *log, const runnel__rec_t *rec, void *buf,
                          uint32_t cap)
{
    uint8_t frame[1 + RUNNEL_VARINT_MAX];
    size_t flen;
    uint32_t crc;
    int err;

    if (log == NULL || rec == NULL || (buf == NULL && rec->len > 0) || cap < rec->len)
        return RUNNEL_ERR_INVAL;
    err = log_read_raw(log, rec->body, (uint8_t *)buf, rec->len);
    if (err)
        return err;
    frame[0] = rec->type;
    flen = 1 + runnel__varint_put(frame + 1, rec->len);
    crc = runnel__crc32c(0, frame, flen);
    crc = runnel__crc32c(crc, buf, rec->len);
    return crc == rec->crc ? 0 : RUNNEL_ERR_CORRUPT;
}

/* The whole record at pos, header and body, in ONE device read: a reader
 * that already knows the record's size (it read the header on its way
 * there, as node.c's link walk does) saves the separate header read of
 * runnel__log_header + runnel__log_read_body. The header is parsed again
 * from the bytes read and must span exactly `size` bytes; the CRC is
 * checked. The body is at buf + (rec->body - pos). */
int runnel__log_read_record(runnel_log_t *log, runnel_pos_t pos, uint32_t size, uint8_t *buf,
                            uint32_t cap, runnel__rec_t *rec)
{
    uint64_t len;
    uint32_t hl, crc;
    int n, err;

    if (log == NULL || rec == NULL || buf == NULL || size > cap || size < 6u)
        return RUNNEL_ERR_INVAL;
    if (pos < log->tail || pos >= log->head || pos_off(log, pos) < log->hdr_size ||
        size > log->head - pos || pos_off(log, pos) + (uint64_t)size > log->block_size)
        return RUNNEL_ERR_INVAL;
    err = log_read_raw(log, pos, buf, size);
    if (err)
        return err;
    if (is_unused_type(log, buf[0]) || buf[0] == RUNNEL_REC_PAD)
        return RUNNEL_ERR_CORRUPT;
    n = runnel__varint_get(buf + 1, size - 1u, &len);
    if (n <= 0 || (uint32_t)n + 5u > size)
        return RUNNEL_ERR_CORRUPT;
    hl = 1u + (uint32_t)n + 4u;
    if (len != size - hl)
        return RUNNEL_ERR_CORRUPT;
    rec->pos = pos;
    rec->type = buf[0];
    rec->len = (uint32_t)len;
    rec->crc = runnel__get_le32(buf + 1 + n);
    rec->body = pos + hl;
    rec->next = pos + size;
    crc = runnel__crc32c(0, buf, 1u + (uint32_t)n);
    crc = runnel__crc32c(crc, buf + hl, rec->len);
    return crc == rec->crc ? 0 : RUNNEL_ERR_CORRUPT;
}
