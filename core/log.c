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
 *     it just before reuse;
 *   - mount: finding the newest block, the tail and the head again after a
 *     restart or a power cut, and fences (a log-internal record that tells
 *     readers where a block with a torn end stops).
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

    if (rs == 1) {
        if (n == 0)
            return 0;
        log->read_calls++;
        log->bytes_read += n;
        return bd->read(bd->ctx, block, off, buf, n);
    }
    while (n > 0) {
        uint32_t lead = off % rs;
        log->read_calls++;
        if (lead != 0 || n < rs) {
            uint32_t take = rs - lead < n ? rs - lead : n;
            log->bytes_read += rs;
            err = bd->read(bd->ctx, block, off - lead, log->rbuf, rs);
            if (err)
                return err;
            memcpy(buf, log->rbuf + lead, take);
            off += take;
            buf += take;
            n -= take;
        } else {
            uint32_t mid = n - n % rs;
            log->bytes_read += mid;
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

/* Reads [pos, pos+n) of programmed bytes (one block) through the window:
 * from the stretch it holds, else after reading the aligned stretch of
 * win_cap bytes around pos (cut at the block's end and at page_pos). A
 * read that would cross the window's end goes to the device directly. */
static int window_read(runnel_log_t *log, runnel_pos_t pos, uint8_t *buf, uint32_t n)
{
    runnel_pos_t start, end;
    int err;

    if (pos_seq(log, pos) != log->win_seq)
        return flash_read(log, pos_phys(log, pos), pos_off(log, pos), buf, n);
    if (!log->win_valid || pos < log->win_pos || pos + n > log->win_pos + log->win_len) {
        start = pos - pos_off(log, pos) % log->win_cap;
        end = start + log->win_cap;
        if (end > block_start(log, pos) + log->block_size)
            end = block_start(log, pos) + log->block_size;
        if (end > log->page_pos)
            end = log->page_pos;
        if (pos + n > end)
            return flash_read(log, pos_phys(log, pos), pos_off(log, pos), buf, n);
        log->win_valid = false;
        err = flash_read(log, pos_phys(log, start), pos_off(log, start), log->win,
                         (uint32_t)(end - start));
        if (err)
            return err;
        log->win_pos = start;
        log->win_len = (uint32_t)(end - start);
        log->win_valid = true;
    }
    memcpy(buf, log->win + (pos - log->win_pos), n);
    return 0;
}

void runnel__log_window(runnel_log_t *log, uint8_t *buf, uint32_t cap)
{
    log->win = cap >= log->read_size ? buf : NULL;
    log->win_cap = cap - cap % log->read_size;
    log->win_valid = false;
    log->win_seq = UINT64_MAX;
}

void runnel__log_window_block(runnel_log_t *log, uint64_t seq)
{
    if (log->win_seq != seq)
        log->win_valid = false;
    log->win_seq = seq;
}

/* Reads [pos, pos+n) of appended data, which never crosses a block: the
 * part before page_pos is on flash, the rest is still in the page buffer.
 * Anything outside [tail, head) is refused rather than read as garbage:
 * CORRUPT, because readers get their positions from stored bytes (entry
 * links, a checkpoint's node positions), and a position that leaves the
 * log is a store that does not check, not a caller's mistake. */
static int log_read_raw(runnel_log_t *log, runnel_pos_t pos, uint8_t *buf, uint32_t n)
{
    if (pos < log->tail || pos > log->head || n > log->head - pos)
        return RUNNEL_ERR_CORRUPT;
    if (n == 0)
        return 0;
    if (pos_seq(log, pos) != pos_seq(log, pos + n - 1))
        return RUNNEL_ERR_CORRUPT;
    if (pos < log->page_pos) {
        uint32_t from_flash = n;
        int err;
        if (pos + n > log->page_pos)
            from_flash = (uint32_t)(log->page_pos - pos);
        if (log->win != NULL)
            err = window_read(log, pos, buf, from_flash);
        else
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
    /* The tail when the block was opened (FORMAT.md 3.1): a replay learns
     * from it when the owner's reclaim gave blocks back, which the ring's
     * own shape does not tell once part of it is reserved. */
    runnel__put_le32(h + HDR_OFF_ERASES, (uint32_t)pos_seq(log, log->tail));
    runnel__put_le32(h + HDR_OFF_BLOCKSIZE, log->block_size);
    runnel__put_le32(h + HDR_OFF_CRC, runnel__crc32c(0, h, HDR_OFF_CRC));
}

/* 0 and *seq when the bytes are a valid header of this format version and
 * block size. A header with a good magic and CRC but another version or
 * block size is a store this build cannot open, which mount reports as
 * such (FORMAT_VERSION, GEOMETRY); anything else is CORRUPT ("no header"). */
static int hdr_decode(const runnel_log_t *log, const uint8_t *h, uint32_t *seq)
{
    if (runnel__get_le32(h + HDR_OFF_MAGIC) != LOG_MAGIC)
        return RUNNEL_ERR_CORRUPT;
    if (runnel__get_le32(h + HDR_OFF_CRC) != runnel__crc32c(0, h, HDR_OFF_CRC))
        return RUNNEL_ERR_CORRUPT;
    if (runnel__get_le16(h + HDR_OFF_VERSION) != RUNNEL_FORMAT_VERSION)
        return RUNNEL_ERR_FORMAT_VERSION;
    if (runnel__get_le16(h + HDR_OFF_HDRLEN) != RUNNEL_LOG_HDR_SIZE)
        return RUNNEL_ERR_CORRUPT;
    if (runnel__get_le32(h + HDR_OFF_BLOCKSIZE) != log->block_size)
        return RUNNEL_ERR_GEOMETRY;
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
    log->fence_pending = false;
    log->fcache_valid = false;
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

/* ---- fences ---- */

/* A power cut can leave the newest block with bytes after its last valid
 * record that are not all erased: a record whose page was only partly
 * programmed, or a torn program. Nothing may be programmed there again, so
 * mount sends the writer to the next block; but a reader walking the old
 * block would then parse those bytes as a record. The writer therefore
 * starts the next block with a FENCE record naming the offset where the
 * old block's valid data ends, and readers stop there (FORMAT.md 6.5). */
#define FENCE_MAX (1u + 1u + 4u + RUNNEL_VARINT_MAX)

static uint32_t fence_encode(const runnel_log_t *log, uint8_t *f)
{
    uint8_t body[RUNNEL_VARINT_MAX];
    size_t blen = runnel__varint_put(body, log->fence_off);
    size_t flen;
    uint32_t crc;

    f[0] = RUNNEL_REC_FENCE;
    flen = 1 + runnel__varint_put(f + 1, blen);
    crc = runnel__crc32c(0, f, flen);
    crc = runnel__crc32c(crc, body, blen);
    runnel__put_le32(f + flen, crc);
    flen += 4;
    memcpy(f + flen, body, blen);
    return (uint32_t)(flen + blen);
}

static int ensure_room(runnel_log_t *log, uint32_t need, bool first);

/* The owner's reserve stays free for its checkpoints and the headroom for
 * its relocated copies (log.h); at least two blocks stay usable for
 * everything else. */
uint32_t runnel__log_span_limit(const runnel_log_t *log)
{
    uint64_t keep = 0;

    if (!log->use_reserve) {
        keep = log->reserve;
        if (!log->use_headroom)
            keep += log->headroom;
    }
    if (keep > log->block_count - 2u)
        keep = log->block_count - 2u;
    return log->block_count - (uint32_t)keep;
}

/* Appends the fence mount decided on, as the first record of block
 * fence_seq + 1 (the head is either at the end of the fenced block, so
 * the fence opens the next one, or at the start of that next block). */
static int fence_put(runnel_log_t *log)
{
    uint8_t f[FENCE_MAX];
    uint32_t fl = fence_encode(log, f);
    int err = ensure_room(log, fl, false);

    if (err)
        return err;
    if (pos_seq(log, log->head) != log->fence_seq + 1)
        return RUNNEL_ERR_CORRUPT; /* mount state does not fit the log: refuse */
    err = page_put(log, f, fl);
    if (err)
        return err;
    log->fence_pending = false;
    log->fcache_valid = true;
    log->fcache_seq = log->fence_seq;
    log->fcache_off = log->fence_off;
    return 0;
}

/* Where readers stop in block `seq`: block_size, or the offset a fence in
 * the first record of block seq + 1 names. One looked-up fence is cached,
 * so a walk reads each next block's first bytes once. */
static uint32_t block_fence_read(runnel_log_t *log, uint64_t seq);

static uint32_t block_fence(runnel_log_t *log, uint64_t seq)
{
    if (log->fence_pending && seq == log->fence_seq)
        return log->fence_off;
    if (log->fcache_valid && log->fcache_seq == seq)
        return log->fcache_off;
    return block_fence_read(log, seq);
}

static uint32_t block_fence_read(runnel_log_t *log, uint64_t seq)
{
    runnel_pos_t pos = (seq + 1u) * log->block_size + log->hdr_size;
    uint8_t chunk[32], body[RUNNEL_VARINT_MAX], first = 0;
    runnel__rec_t rec;
    uint64_t off;

    if (log->fence_pending && seq == log->fence_seq)
        return log->fence_off;
    if (log->fcache_valid && log->fcache_seq == seq)
        return log->fcache_off;
    /* Skip the PAD bytes a header-only commit leaves, up to the head. */
    for (;;) {
        uint32_t n, i;
        runnel_pos_t limit = block_start(log, pos) + log->block_size;
        if (pos >= log->head || pos >= limit)
            return log->block_size; /* no first record yet: no fence yet */
        if (limit > log->head)
            limit = log->head;
        n = (uint32_t)(limit - pos);
        if (n > sizeof chunk)
            n = sizeof chunk;
        if (log_read_raw(log, pos, chunk, n) != 0)
            return log->block_size;
        for (i = 0; i < n && chunk[i] == RUNNEL_REC_PAD; i++)
            ;
        pos += i;
        if (i < n) {
            first = chunk[i];
            break;
        }
    }
    off = log->block_size;
    if (first == RUNNEL_REC_FENCE) {
        uint64_t v;
        /* A fence that does not verify names nothing: readers then meet the
         * bytes it would have hidden and report them as CORRUPT. */
        if (runnel__log_header(log, pos, &rec) == 0 && rec.len <= sizeof body &&
            runnel__log_read_body(log, &rec, body, sizeof body) == 0 &&
            runnel__varint_get(body, rec.len, &v) == (int)rec.len && v >= log->hdr_size &&
            v <= log->block_size)
            off = v;
    }
    log->fcache_valid = true;
    log->fcache_seq = seq;
    log->fcache_off = (uint32_t)off;
    return (uint32_t)off;
}

/* ---- append ---- */

/* Makes sure `need` bytes fit between the head and the end of the head's
 * block, opening the next block if not. Opening may turn the ring: the
 * owner is asked first, before anything changes, so a refusal leaves the
 * log exactly as it was. Only then is the old block's partial page
 * programmed (its round-up left at the erase value = "rest unused"), the
 * tail advanced and the recycled block erased. */
/* The owner's record for the block the head leaves (log.h), as it would
 * go at the start of the next one: its frame length, or 0 for none (no
 * owner record, or it would leave no room for `need` more bytes). */
static uint32_t owner_first(const runnel_log_t *log, runnel_pos_t cur_start, uint32_t need,
                            const uint8_t **body)
{
    uint32_t len;

    if (log->owner.first == NULL)
        return 0;
    len = log->owner.first(log->owner.ctx, pos_seq(log, cur_start), body);
    if (len == 0 || len > runnel__log_max_body(log))
        return 0;
    len += 1u + (uint32_t)runnel__varint_len(len) + 4u;
    if ((uint64_t)log->hdr_size + len + need > log->block_size)
        return 0;
    return len;
}

static int owner_put(runnel_log_t *log, const uint8_t *body, uint32_t frame_len)
{
    uint8_t frame[REC_FRAME_MAX];
    size_t flen;
    uint32_t blen = frame_len - 5u, crc;   /* frame_len = 5 + varint + blen */
    int err;

    while (1u + (uint32_t)runnel__varint_len(blen) + 4u + blen > frame_len)
        blen--;
    frame[0] = log->owner.first_type;
    flen = 1 + runnel__varint_put(frame + 1, blen);
    crc = runnel__crc32c(0, frame, flen);
    crc = runnel__crc32c(crc, body, blen);
    runnel__put_le32(frame + flen, crc);
    flen += 4;
    err = page_put(log, frame, flen);
    if (err == 0)
        err = page_put(log, body, blen);
    if (err == 0 && log->stats)
        log->stats->bytes_appended += frame_len;
    return err;
}

static int ensure_room(runnel_log_t *log, uint32_t need, bool first)
{
    const uint8_t *fbody = NULL;
    uint32_t flen = 0;
    runnel_pos_t cur_start = block_start(log, log->head - 1);
    runnel_pos_t next_start = cur_start + log->block_size;
    uint32_t limit;
    int err;

    if (log->head + need <= next_start && !log->seal)
        return 0;
    if (first)
        flen = owner_first(log, cur_start, need, &fbody);
    limit = runnel__log_span_limit(log);
    if (pos_seq(log, next_start) - pos_seq(log, log->tail) >= limit) {
        runnel_pos_t new_tail = log->tail;

        if (log->reclaim == NULL)
            return RUNNEL_ERR_NOSPC;
        /* Every block to give back in one request: a refusal must leave
         * the log and its owner as they were, and a tail moved over some
         * blocks but recorded by no block header would not survive a
         * power cut (mount takes the tail from the newest header). */
        while (pos_seq(log, next_start) - pos_seq(log, new_tail) >= limit)
            new_tail += log->block_size;
        err = log->reclaim(log->reclaim_ctx, log->tail, new_tail);
        if (err)
            return err < 0 ? err : RUNNEL_ERR_NOSPC;
        log->tail = new_tail;
        err = page_flush(log, log->erase_value);
        if (err)
            return err;
    } else {
        err = page_flush(log, log->erase_value);
        if (err)
            return err;
    }
    err = block_open(log, next_start);
    if (err == 0)
        log->seal = false;
    if (err == 0 && flen > 0)
        err = owner_put(log, fbody, flen);
    if (err == 0 && log->owner.opened != NULL)
        log->owner.opened(log->owner.ctx, pos_seq(log, next_start), flen > 0);
    update_usage(log);
    return err;
}

int runnel__log_append(runnel_log_t *log, uint8_t type, const runnel__iov_t *iov,
                       int niov, runnel_pos_t *pos)
{
    uint8_t frame[REC_FRAME_MAX];
    size_t total = 0, flen;
    runnel_pos_t pos_at;
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

    if (log->fence_pending) {
        err = fence_put(log);
        if (err)
            return err;
    }
    err = ensure_room(log, (uint32_t)(flen + total), true);
    if (err)
        return err;
    pos_at = log->head;
    if (pos)
        *pos = pos_at;
    err = page_put(log, frame, flen);
    for (i = 0; err == 0 && i < niov; i++)
        err = page_put(log, (const uint8_t *)iov[i].p, iov[i].len);
    if (err)
        return err;
    if (log->stats)
        log->stats->bytes_appended += flen + total;
    if (log->owner.note != NULL)
        log->owner.note(log->owner.ctx, type, pos_at);
    return 0;
}

/* ---- services for spanning records (log_span.c) ---- */

int runnel__log_room(runnel_log_t *log, uint32_t need, bool first)
{
    return ensure_room(log, need, first);
}

int runnel__log_put(runnel_log_t *log, const uint8_t *src, size_t n)
{
    int err = page_put(log, src, n);

    if (err == 0 && log->stats)
        log->stats->bytes_appended += n;
    return err;
}

int runnel__log_fence_flush(runnel_log_t *log)
{
    return log->fence_pending ? fence_put(log) : 0;
}

/* Where a record of `need` bytes goes when the head is at `head`: there,
 * or after the next block's header (the rule of ensure_room). */
static runnel_pos_t place_at(const runnel_log_t *log, runnel_pos_t head, uint64_t need,
                             bool first, bool sealed)
{
    runnel_pos_t next_start = block_start(log, head - 1) + log->block_size;
    const uint8_t *ignored;

    if (head + need <= next_start && !sealed)
        return head;
    return next_start + log->hdr_size +
           (first && need <= log->block_size
                ? owner_first(log, next_start - log->block_size, (uint32_t)need, &ignored)
                : 0u);
}

runnel_pos_t runnel__log_place(const runnel_log_t *log, uint32_t body_len)
{
    if (body_len > runnel__log_max_body(log))
        return runnel__log_span_place(log, body_len);
    return runnel__log_place_one(log, body_len);
}

/* Mirrors append: a pending fence first, then type byte, length varint,
 * CRC, body; `sealed` as the log's seal (the record opens a block). */
static runnel_pos_t place_one(const runnel_log_t *log, uint32_t body_len, bool sealed)
{
    uint64_t need = 1u + (uint64_t)runnel__varint_len(body_len) + 4u + body_len;
    runnel_pos_t head = log->head;

    if (log->fence_pending) {
        uint8_t f[FENCE_MAX];
        uint32_t fl = fence_encode(log, f);
        head = place_at(log, head, fl, false, sealed) + fl;
    }
    return place_at(log, head, need, true, sealed);
}

runnel_pos_t runnel__log_place_one(const runnel_log_t *log, uint32_t body_len)
{
    return place_one(log, body_len, log->seal);
}

runnel_pos_t runnel__log_place_sealed(const runnel_log_t *log, uint32_t body_len)
{
    return place_one(log, body_len, true);
}

/* A flush programs the partial page as a commit does (padded with PAD
 * bytes to the program unit) but does not sync: the records reach the
 * device (a file: the kernel) and `committed` stays where it was. */
int runnel__log_flush(runnel_log_t *log)
{
    if (log == NULL || log->bd == NULL)
        return RUNNEL_ERR_INVAL;
    return page_flush(log, RUNNEL_REC_PAD);
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
        return RUNNEL_ERR_CORRUPT;   /* a stored position outside the log */
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
 * walk jumps to the next block's first record; so does reaching a block's
 * fence (bytes a power cut left that are no records). FENCE records belong
 * to the log and are skipped. */
int runnel__log_next(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec)
{
    uint8_t chunk[32];

    if (log == NULL || rec == NULL)
        return RUNNEL_ERR_INVAL;
    if (pos < log->tail)
        pos = log->tail;
    while (pos < log->head) {
        uint32_t off = pos_off(log, pos);
        runnel_pos_t start = block_start(log, pos);
        runnel_pos_t limit = start + block_fence(log, pos_seq(log, pos));
        uint32_t n, i;
        int err;

        if (off < log->hdr_size) {
            pos += log->hdr_size - off;
            continue;
        }
        if (pos >= limit) {
            pos = start + log->block_size;
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
            pos = start + log->block_size;
            continue;
        }
        err = runnel__log_header(log, pos, rec);
        if (err)
            return err;
        if (rec->type == RUNNEL_REC_FENCE) {
            pos = rec->next;
            continue;
        }
        return 1;
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
        return RUNNEL_ERR_CORRUPT;   /* a stored position outside the log */
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

/* ---- mount ---- */

/* Internal result of mount_search: the ring does not look the way the
 * writer leaves it, so the answer of a binary search cannot be trusted. */
#define MOUNT_FALLBACK 1

/* Header problems are reasons to remember, not errors: only a failing
 * device (IO, or a refused read) stops a mount. */
static bool mount_fatal(int err)
{
    return err != 0 && err != RUNNEL_ERR_CORRUPT && err != RUNNEL_ERR_GEOMETRY &&
           err != RUNNEL_ERR_FORMAT_VERSION;
}

/* What a device without one valid header is: another version beats
 * another geometry beats blank/foreign. */
static void mount_note(int *reason, int err)
{
    if (err == RUNNEL_ERR_FORMAT_VERSION || *reason == RUNNEL_ERR_FORMAT_VERSION)
        *reason = RUNNEL_ERR_FORMAT_VERSION;
    else if (err == RUNNEL_ERR_GEOMETRY || *reason == RUNNEL_ERR_GEOMETRY)
        *reason = RUNNEL_ERR_GEOMETRY;
    else
        *reason = RUNNEL_ERR_NOT_FORMATTED;
}

/* Header of physical block p: 0 and *seq when it is valid and sits where
 * the writer puts sequence *seq (seq % block_count == p). */
static int mount_hdr(runnel_log_t *log, uint32_t p, uint32_t *seq, int *reason)
{
    uint8_t h[RUNNEL_LOG_HDR_SIZE];
    int err = flash_read(log, p, 0, h, sizeof h);

    if (err)
        return err;
    err = hdr_decode(log, h, seq);
    if (err == 0 && *seq % log->block_count != p)
        err = RUNNEL_ERR_CORRUPT;
    if (err)
        mount_note(reason, err);
    return err;
}

/*
 * Finds the newest block and the tail from O(log block_count) headers.
 *
 * Why a binary search works: block sequence s lives at physical s % N
 * (N = block_count), and every generation of the log (format) starts at a
 * multiple of N, so a valid header at physical p always carries
 * s = round * N + p. The writer fills physical blocks in order 0, 1, ...,
 * N-1, 0, ... So with the newest block n = R * N + q, blocks 0..q carry
 * round R and blocks q+1..N-1 carry an older round, an older generation,
 * or no valid header (never written, erased, or the one block being
 * opened or erased when power went). "Block p carries the same round as
 * block 0" is therefore true for p <= q and false after: monotone, and the
 * last p where it holds is q.
 *
 * Block 0 itself has no valid header in one legal case: it is the block
 * being (re)opened, i.e. q = N - 1 of the previous round and power went
 * during its erase or before its header was programmed. Then block 1 is
 * the reference instead (and the chain cannot include block 0).
 *
 * The tail: the blocks after q belong to the log only if the previous
 * round is complete in this generation, which block N-1 shows (it must
 * carry R * N - 1; the format rule FORMAT.md 5.5 keeps an older
 * generation from ever holding that number). Then every block after q is
 * in the chain except q+1 when it is the one being erased/opened.
 *
 * A header damaged some other way breaks the monotony the search relies
 * on. The neighbours of the answer are checked (the block after q must not
 * be newer, and a hole at q+1 must not be followed by round R again);
 * when they do not fit, or blocks 0 and 1 are both invalid (a blank
 * device, or not a runnel store), the caller falls back to reading every
 * header, as FORMAT.md section 6 first described.
 */
static int mount_search(runnel_log_t *log, uint64_t *newest, uint64_t *tail, int *reason)
{
    uint32_t N = log->block_count, p0 = 0, lo, hi, s0, s;
    uint64_t base, n;
    int r;

    r = mount_hdr(log, 0, &s0, reason);
    if (mount_fatal(r))
        return r;
    if (r) {
        p0 = 1;
        r = mount_hdr(log, 1, &s0, reason);
        if (mount_fatal(r))
            return r;
        if (r)
            return MOUNT_FALLBACK;
    }
    base = (uint64_t)s0 - p0;
    lo = p0;
    hi = N - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1u) / 2u;
        r = mount_hdr(log, mid, &s, reason);
        if (mount_fatal(r))
            return r;
        if (r == 0 && s == base + mid)
            lo = mid;
        else
            hi = mid - 1u;
    }
    n = base + lo;
    if (lo + 1u < N) {
        r = mount_hdr(log, lo + 1u, &s, reason);
        if (mount_fatal(r))
            return r;
        if (r == 0 && (int32_t)(s - (uint32_t)n) > 0)
            return MOUNT_FALLBACK;
        if (r != 0 && lo + 2u < N) {
            r = mount_hdr(log, lo + 2u, &s, reason);
            if (mount_fatal(r))
                return r;
            if (r == 0 && s == base + lo + 2u)
                return MOUNT_FALLBACK;
        }
    }
    if (lo == N - 1u || p0 == 1u || base < N) {
        *tail = base + p0;
    } else {
        r = mount_hdr(log, N - 1u, &s, reason);
        if (mount_fatal(r))
            return r;
        if (r == 0 && s == base - 1u) {
            r = mount_hdr(log, lo + 1u, &s, reason);
            if (mount_fatal(r))
                return r;
            *tail = (r == 0 && s == base - N + lo + 1u) ? n - N + 1u : n - N + 2u;
        } else {
            *tail = base;
        }
    }
    *newest = n;
    return 0;
}

/* The safety net: every header, the greatest sequence (wrap-safe), then
 * back while s - 1 sits where it belongs. */
static int mount_scan_all(runnel_log_t *log, uint64_t *newest, uint64_t *tail, int *reason)
{
    uint32_t N = log->block_count, p, s, best = 0;
    uint64_t t;
    bool found = false;
    int r;

    for (p = 0; p < N; p++) {
        r = mount_hdr(log, p, &s, reason);
        if (mount_fatal(r))
            return r;
        if (r == 0 && (!found || (int32_t)(s - best) > 0)) {
            best = s;
            found = true;
        }
    }
    if (!found)
        return *reason ? *reason : RUNNEL_ERR_NOT_FORMATTED;
    t = best;
    while (best - t + 1u < N && t > 0) {
        r = mount_hdr(log, (uint32_t)((t - 1u) % N), &s, reason);
        if (mount_fatal(r))
            return r;
        if (r != 0 || s != t - 1u)
            break;
        t--;
    }
    *newest = best;
    *tail = t;
    return 0;
}

/* What a walk of one block found. */
typedef struct block_scan {
    uint32_t end;       /* where valid data stops (PAD bytes included) */
    uint32_t records;   /* valid records, fences included */
    bool clean;         /* the writer may go on at end: end == block_size, or
                         * end is prog-aligned and [end, block_size) erased */
    bool needs_fence;   /* [end, block_size) is not all erased: bytes a
                         * torn program left, which no reader may parse and
                         * the tail check must tell from a half erase */
    bool unparsable;    /* the walk stopped at a byte a reader would take
                         * for a record (no erased type byte) */
} block_scan_t;

/* A read-ahead window over one block, so a walk reads each byte once
 * whatever the record sizes. */
typedef struct mount_win {
    uint32_t phys, base, len;
    uint8_t b[128];
} mount_win_t;

/* Makes [off, off + need) available (need <= sizeof b, clipped at the
 * block end): *p points at off, *avail bytes follow it in the window. */
static int win_at(runnel_log_t *log, mount_win_t *w, uint32_t off, uint32_t need,
                  const uint8_t **p, uint32_t *avail)
{
    uint32_t bs = log->block_size;

    if (need > bs - off)
        need = bs - off;
    if (off < w->base || off + need > w->base + w->len) {
        int err;
        w->base = off;
        w->len = bs - off < sizeof w->b ? bs - off : (uint32_t)sizeof w->b;
        err = flash_read(log, w->phys, off, w->b, w->len);
        if (err) {
            w->len = 0;
            return err;
        }
    }
    *p = w->b + (off - w->base);
    *avail = w->base + w->len - off;
    return 0;
}

/* Walks block `seq` from its first record, checking every CRC, up to an
 * erased type byte, a record that does not parse or verify, or the block
 * end; then checks whether the rest is erased. Reads the block at most
 * once. */
static int mount_scan_block(runnel_log_t *log, uint64_t seq, block_scan_t *sc)
{
    uint32_t bs = log->block_size, off = log->hdr_size, avail;
    mount_win_t w;
    const uint8_t *p;
    uint8_t stop = 0;
    int err;

    memset(sc, 0, sizeof *sc);
    w.phys = (uint32_t)(seq % log->block_count);
    w.base = w.len = 0;
    while (off < bs) {
        uint32_t i, stored, crc, at, left;
        uint64_t len;
        int k;

        err = win_at(log, &w, off, REC_FRAME_MAX, &p, &avail);
        if (err)
            return err;
        for (i = 0; i < avail && p[i] == RUNNEL_REC_PAD; i++)
            ;
        off += i;
        if (i > 0)
            continue; /* so that p[0] is the byte at off with a full frame */
        stop = p[0];
        if (is_unused_type(log, stop))
            break;
        k = runnel__varint_get(p + 1, avail - 1u, &len);
        if (k <= 0 || 1u + (uint32_t)k + 4u > avail)
            break; /* truncated or non-minimal length */
        if (len > bs - off - 1u - (uint32_t)k - 4u)
            break; /* body past the block */
        crc = runnel__crc32c(0, p, 1u + (uint32_t)k);
        stored = runnel__get_le32(p + 1 + k);
        at = off + 1u + (uint32_t)k + 4u;
        left = (uint32_t)len;
        while (left > 0) {
            uint32_t c;
            err = win_at(log, &w, at, 1, &p, &avail);
            if (err)
                return err;
            c = left < avail ? left : avail;
            crc = runnel__crc32c(crc, p, c);
            at += c;
            left -= c;
        }
        if (crc != stored)
            break;
        sc->records++;
        off = at;
    }
    sc->end = off;
    if (off >= bs) {
        sc->end = bs;
        sc->clean = true;
        return 0;
    }
    sc->needs_fence = true;
    if (!is_unused_type(log, stop)) {
        sc->unparsable = true;
        return 0;
    }
    while (off < bs) {
        uint32_t i;
        err = win_at(log, &w, off, 1, &p, &avail);
        if (err)
            return err;
        for (i = 0; i < avail; i++)
            if (p[i] != log->erase_value)
                return 0;
        off += avail;
    }
    sc->needs_fence = false;
    /* A program unit the end falls into was programmed (or torn): only an
     * aligned end lets the writer go on in this block. */
    sc->clean = sc->end % log->prog_size == 0;
    return 0;
}

/* The fence the first record of block `seq` carries for block seq - 1, or
 * block_size when it carries none (mount's version of block_fence, which
 * reads flash directly because the log's bounds are not set yet). */
static int mount_fence_of(runnel_log_t *log, uint64_t seq, uint32_t *fence)
{
    uint32_t phys = (uint32_t)(seq % log->block_count), bs = log->block_size;
    uint32_t off = log->hdr_size, crc;
    uint8_t buf[32];
    uint64_t len, v;
    int err, k;

    *fence = bs;
    for (;;) {
        uint32_t n = bs - off < sizeof buf ? bs - off : (uint32_t)sizeof buf, i;
        if (n == 0)
            return 0;
        err = flash_read(log, phys, off, buf, n);
        if (err)
            return err;
        for (i = 0; i < n && buf[i] == RUNNEL_REC_PAD; i++)
            ;
        if (i == 0)
            break;
        off += i;
    }
    if (buf[0] != RUNNEL_REC_FENCE)
        return 0;
    k = runnel__varint_get(buf + 1, sizeof buf - 1u, &len);
    if (k <= 0 || len == 0 || len > RUNNEL_VARINT_MAX || off + 1u + (uint32_t)k + 4u + len > bs ||
        1u + (uint32_t)k + 4u + len > sizeof buf)
        return 0;
    crc = runnel__crc32c(0, buf, 1u + (uint32_t)k);
    crc = runnel__crc32c(crc, buf + 1 + k + 4, (size_t)len);
    if (crc != runnel__get_le32(buf + 1 + k))
        return 0;
    if (runnel__varint_get(buf + 1 + k + 4, (size_t)len, &v) != (int)len || v < log->hdr_size ||
        v > bs)
        return 0;
    *fence = (uint32_t)v;
    return 0;
}

/* When every block is in the chain, the tail is the block the writer
 * erases next, and it only does so after the owner released it: if power
 * went during that erase, the header may have survived while the rest did
 * not. Every block the writer left behind ends in one of two ways: its
 * valid records run up to bytes that are all erased (or to its end), or
 * the next block's fence names where they stop (mount fences every block
 * it leaves with anything else after its records). A tail block whose walk
 * stops at bytes a reader would parse as a record, and not at its fence,
 * is such a half-erased block, released already, and is left out. (One
 * that stops at an erased type byte is kept: readers stop there too, and
 * a stray byte in the unused end of an intact block must not cost its
 * records.) Costs one walk of the tail block, and only for a full ring. */
static int mount_check_tail(runnel_log_t *log, uint64_t *t)
{
    block_scan_t sc;
    uint32_t fence;
    int err = mount_scan_block(log, *t, &sc);

    if (err)
        return err;
    if (!sc.unparsable)
        return 0;
    err = mount_fence_of(log, *t + 1u, &fence);
    if (err)
        return err;
    if (sc.end != fence)
        (*t)++;
    return 0;
}

/*
 * Mount (FORMAT.md section 6): search, then decide where the writer goes
 * on. The newest block n is walked:
 *   - clean with room: the head is where its valid data ends;
 *   - otherwise the writer must not program that block again: the head is
 *     its end, so the next append opens block n + 1; when the bytes after
 *     the valid data would parse as a record, that block starts with a
 *     fence for n.
 * A newest block holding no valid record needs one more look, because a
 * fence owed to its predecessor is written as its first record and may be
 * what power interrupted: if the block is not clean it is dropped (the
 * next append erases and re-opens it; nothing valid is lost), and the
 * predecessor becomes the newest; if it is clean, the predecessor is
 * walked to see whether it still needs its fence.
 */
/* The tail a header of block `seq` names (3.1: the low 32 bits of the
 * tail's sequence when the block was opened). */
static int hdr_tail(const runnel_log_t *log, const uint8_t *h, uint64_t seq, uint64_t *tail_seq)
{
    uint32_t s, stored;
    int err = hdr_decode(log, h, &s);

    if (err)
        return err;
    if (s != (uint32_t)seq)
        return RUNNEL_ERR_CORRUPT;
    stored = runnel__get_le32(h + HDR_OFF_ERASES);
    if ((uint32_t)(s - stored) > (uint32_t)seq || (uint32_t)(s - stored) >= log->block_count)
        return RUNNEL_ERR_CORRUPT;      /* a tail no writer could have had */
    *tail_seq = seq - (uint32_t)(s - stored);
    return 0;
}

int runnel__log_block_tail(runnel_log_t *log, uint64_t seq, uint64_t *tail_seq)
{
    uint8_t h[RUNNEL_LOG_HDR_SIZE];
    int err;

    if (log == NULL || tail_seq == NULL)
        return RUNNEL_ERR_INVAL;
    err = log_read_raw(log, seq * log->block_size, h, sizeof h);
    if (err)
        return err;
    return hdr_tail(log, h, seq, tail_seq);
}

int runnel__log_mount(runnel_log_t *log)
{
    uint64_t n = 0, t = 0, reads0, bytes0;
    block_scan_t sc, pc;
    int reason = 0, err;

    if (log == NULL || log->bd == NULL)
        return RUNNEL_ERR_INVAL;
    reads0 = log->read_calls;
    bytes0 = log->bytes_read;
    log->fence_pending = false;
    log->fcache_valid = false;

    err = mount_search(log, &n, &t, &reason);
    if (err == MOUNT_FALLBACK)
        err = mount_scan_all(log, &n, &t, &reason);
    if (err)
        goto out;

    for (;;) {
        err = mount_scan_block(log, n, &sc);
        if (err)
            goto out;
        if (sc.records > 0 || n == t)
            break;
        if (!sc.clean) {
            n--;
            continue;
        }
        err = mount_scan_block(log, n - 1u, &pc);
        if (err)
            goto out;
        if (pc.needs_fence) {
            log->fence_pending = true;
            log->fence_seq = n - 1u;
            log->fence_off = pc.end;
        }
        break;
    }
    /* The newest block's header names the tail the writer had when it
     * opened it (section 3.1). Reclaiming moves the tail over blocks
     * without erasing them - only the block reused is erased - so their
     * headers still chain: without this the blocks released before a
     * power cut would come back. */
    if (n > t) {
        uint8_t h[RUNNEL_LOG_HDR_SIZE];
        uint64_t ht;

        err = flash_read(log, (uint32_t)(n % log->block_count), 0, h, sizeof h);
        if (err)
            goto out;
        if (hdr_tail(log, h, n, &ht) == 0 && ht > t && ht <= n)
            t = ht;
    }
    /* The tail can be half erased only if the writer was opening the block
     * after the newest one (the same physical block, in a full ring), and
     * it never leaves a block without records: a newest block holding
     * none means that erase never started. */
    if (sc.records > 0 && n - t + 1u == log->block_count && n > t) {
        err = mount_check_tail(log, &t);
        if (err)
            goto out;
    }

    log->tail = t * log->block_size;
    if (sc.clean && sc.end < log->block_size) {
        log->head = n * log->block_size + sc.end;
    } else {
        log->head = (n + 1u) * log->block_size;
        if (sc.needs_fence) {
            log->fence_pending = true;
            log->fence_seq = n;
            log->fence_off = sc.end;
        }
    }
    log->page_pos = log->head;
    log->page_fill = 0;
    log->committed = log->head;
    update_usage(log);
out:
    if (log->stats) {
        log->stats->mount_read_calls = (uint32_t)(log->read_calls - reads0);
        log->stats->mount_bytes_read = log->bytes_read - bytes0;
    }
    return err;
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
        return RUNNEL_ERR_CORRUPT;   /* a stored position or size outside the log */
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
