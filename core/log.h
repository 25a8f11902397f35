/*
 * log.h - the log-structured page layer: records in blocks in a ring.
 *
 * The log owns the block device. It appends typed records at one head,
 * programs them a page at a time (a caller-provided page buffer holds the
 * hot, not yet programmed bytes), reads any record back by position, and
 * gives blocks back at the tail when the owner of the data says so.
 *
 * Positions are free-running logical byte offsets (as kfifo's indices):
 *     pos = block_seq * block_size + offset_in_block
 * The block with sequence number s lives at physical block s % block_count,
 * so positions never repeat over the life of a store, a stale position can
 * be recognised (pos < tail), and wear is even by construction.
 *
 * Byte layouts (block header, record framing) are in FORMAT.md. In short: a
 * block starts with a 24-byte header (magic, format version, sequence, CRC)
 * that reaches flash with the block's first records; a record is
 *     type:u8 | body_len:varint | crc32c:u32le | body
 * and never straddles blocks; the CRC covers type, length and body.
 *
 * After a restart, runnel__log_mount finds tail, head and the durable
 * records again from a bounded number of reads (FORMAT.md section 6).
 *
 * Appends are atomic per record: a record that does not fit into the rest of
 * the current block starts the next block. When the ring has no free block,
 * the owner's reclaim callback is asked to release the oldest block; if it
 * refuses, the append returns RUNNEL_ERR_NOSPC and nothing is written.
 */
#ifndef RUNNEL_LOG_H
#define RUNNEL_LOG_H

#include "internal.h"

typedef uint64_t runnel_pos_t;

/* Record types live in FORMAT.md; the log only reserves these. Type bytes
 * 0x00 and 0xFF are never used (they are what erased or zeroed flash reads). */
#define RUNNEL_REC_PAD 0x01u      /* a single pad byte written by a commit */
/* First record of a block whose predecessor holds bytes a reader must not
 * parse (a torn program found by mount): body = varint offset at which the
 * predecessor's valid data ends. Log-internal: runnel__log_next skips it. */
#define RUNNEL_REC_FENCE 0x02u
/* A record whose body is larger than a block (format 4, log_span.c): the
 * head carries the record's own type, its total length and the first
 * bytes; SPAN_CONT records, each the first record of the next blocks,
 * carry the rest. */
#define RUNNEL_REC_SPAN 0x03u
#define RUNNEL_REC_SPAN_CONT 0x04u

/* Gather list for a record body assembled from several pieces. */
typedef struct runnel__iov {
    const void *p;
    size_t len;
} runnel__iov_t;

/* A record's header as found in the log. */
typedef struct runnel__rec {
    runnel_pos_t pos;     /* position of the type byte */
    runnel_pos_t body;    /* position of the first body byte */
    runnel_pos_t next;    /* position just after the record */
    uint32_t len;         /* body length */
    uint32_t crc;         /* stored crc32c */
    uint8_t type;
} runnel__rec_t;

/* Called when the head needs the oldest block [start, end). Return 0 once
 * nothing live remains there (the log may then erase it), or NOSPC. The
 * callback runs in the middle of an append: it must not append to, commit
 * or otherwise change the log (relocate live data before the ring fills).
 * A NULL callback refuses (NOSPC). */
typedef int (*runnel__reclaim_fn)(void *ctx, runnel_pos_t start, runnel_pos_t end);

/* The owner's part in a block switch (FORMAT.md, "Block summaries"): the
 * first record of each new block may be one the owner supplies about the
 * block the head leaves.
 *   first  the body of that record for block `closing` (its type is
 *          first_type), or 0 for none; it must not change the owner's
 *          state, since runnel__log_place asks it too. The body stays
 *          valid until `opened`.
 *   opened block `seq` was opened (`summarised`: with the owner's record).
 *   note   a record of `type` was appended at `pos` (every append).
 * The log skips the record when it would not leave room for the append
 * that switched the block, and when the switch is a fence's. */
typedef struct runnel__log_owner {
    uint32_t (*first)(void *ctx, uint64_t closing, const uint8_t **body);
    void (*opened)(void *ctx, uint64_t seq, bool summarised);
    void (*note)(void *ctx, uint8_t type, runnel_pos_t pos);
    void *ctx;
    uint8_t first_type;
} runnel__log_owner_t;

/* Bytes of the block header (FORMAT.md); records start right after it. */
#define RUNNEL_LOG_HDR_SIZE 24u
/* Largest read_size the log supports (it bounces unaligned read edges
 * through a buffer of this size inside runnel_log_t). */
#define RUNNEL_LOG_READ_MAX 64u

typedef struct runnel_log {
    const runnel_bd_t *bd;
    uint32_t block_size, block_count, prog_size, hdr_size;
    uint32_t read_size;         /* from the geometry */
    uint8_t erase_value;        /* from the geometry */
    uint8_t *page;              /* page buffer, page_size bytes */
    uint32_t page_size;
    runnel_pos_t page_pos;      /* logical position of page[0] (prog aligned) */
    uint32_t page_fill;         /* bytes of page[] holding appended data */
    runnel_pos_t head;          /* next append position */
    runnel_pos_t tail;          /* first position still owned (block aligned) */
    uint32_t reserve;           /* blocks kept free for the owner's
                                   checkpoints: a block switch reclaims
                                   while fewer would be left ... */
    bool use_reserve;           /* ... unless the owner is writing one */
    uint32_t headroom;          /* blocks kept free, beyond the reserve,
                                   for the owner's relocated copies
                                   (RELOCATE policy, core/relocate.c) ... */
    bool use_headroom;          /* ... unless it is writing them */
    bool seal;                  /* the next append opens a new block (and
                                   so reclaims): the owner asks for it
                                   right after a checkpoint that released
                                   the tail, before anything pins it again */
    runnel_pos_t committed;     /* everything before it is durable */
    runnel__reclaim_fn reclaim;
    void *reclaim_ctx;
    runnel__log_owner_t owner;  /* zeroed: no block summaries */
    runnel_stats_t *stats;      /* counters updated by the log (may be NULL) */
    uint64_t read_calls;        /* bd->read calls made by the log */
    uint64_t bytes_read;        /* bytes those calls asked for */
    /* Fences (FORMAT.md section 6): a fence mount decided on but not yet
     * appended (it is written as the first record of block fence_seq + 1
     * by the next append), and the last fence a reader looked up. */
    bool fence_pending;
    uint64_t fence_seq;
    uint32_t fence_off;
    bool fcache_valid;
    uint64_t fcache_seq;
    uint32_t fcache_off;
    uint8_t rbuf[RUNNEL_LOG_READ_MAX]; /* bounce buffer for unaligned read edges */
    runnel_pos_t span_checked;  /* the last span piece whose CRC a reader
                                   checked (positions are never reused) */
    /* Read window (runnel__log_window): while set, reads of programmed
     * bytes are served from one aligned stretch of a block read whole. */
    uint8_t *win;
    uint32_t win_cap, win_len;
    runnel_pos_t win_pos;       /* logical position of win[0] */
    uint64_t win_seq;           /* the block the window serves */
    bool win_valid;
} runnel_log_t;

/* Binds the log to a device and a page buffer (page_size a multiple of
 * prog_size). Checks geometry: INVAL if unusable. */
int runnel__log_init(runnel_log_t *log, const runnel_bd_t *bd, uint8_t *page,
                     uint32_t page_size, runnel__reclaim_fn reclaim, void *reclaim_ctx,
                     runnel_stats_t *stats);

/* Starts an empty log on the device (erases the first block, writes its
 * header). */
int runnel__log_format(runnel_log_t *log);

/* Finds the log on the device after a restart or a power cut (FORMAT.md
 * section 6): the newest block by a binary search over the ring, the tail,
 * and the head inside the newest block, so that appends, commits, block
 * switches and reclaim continue where the last durable record ends. Reads
 * O(log block_count) headers plus at most a few blocks; never programs or
 * erases. Records found are durable (committed == head).
 *   RUNNEL_ERR_NOT_FORMATTED  no valid block header on the device
 *   RUNNEL_ERR_GEOMETRY       headers written with another block size
 *   RUNNEL_ERR_FORMAT_VERSION headers of another format version
 *   RUNNEL_ERR_IO             the device failed a read
 * Bytes read and read calls land in stats->mount_bytes_read/_read_calls. */
int runnel__log_mount(runnel_log_t *log);

/* Largest body a single record may have with this geometry. */
uint32_t runnel__log_max_body(const runnel_log_t *log);

/* Appends one record; *pos receives its position. NOSPC (ring full and the
 * reclaim callback refused), ENTRY_TOO_LARGE (body > max_body), IO. */
int runnel__log_append(runnel_log_t *log, uint8_t type, const runnel__iov_t *iov,
                       int niov, runnel_pos_t *pos);

/* The position an append of a body_len-byte body would get right now: the
 * head, or the first record position of the next block when the record
 * does not fit into the current one (the same rule as the append). Lets a
 * record name its distance to an earlier record before it is written. */
runnel_pos_t runnel__log_place(const runnel_log_t *log, uint32_t body_len);

/* The position a single record (never a span) of body_len bytes would get. */
runnel_pos_t runnel__log_place_one(const runnel_log_t *log, uint32_t body_len);

/* runnel__log_place_one as if the log's seal were set: the record opens
 * the next block (a record whose body was planned for there). */
runnel_pos_t runnel__log_place_sealed(const runnel_log_t *log, uint32_t body_len);

/* ---- spanning records (log_span.c; FORMAT.md "Spanning records") ---- */

/* Fills dst with n bytes of a spanning record's body from offset off.
 * The bytes are asked for in order, each piece's twice (once for its CRC,
 * once to program it): a call with n == 0 marks off as a piece's start,
 * and no later call asks for bytes below the last mark. 0 or an error. */
typedef int (*runnel__span_src_fn)(void *ctx, uint64_t off, uint8_t *dst, uint32_t n);

/* A spanning record as a reader found its head. */
typedef struct runnel__span {
    runnel_pos_t pos;           /* the head record (its type byte) */
    runnel_pos_t end;           /* just after the last piece */
    uint64_t total;             /* bytes of the logical body */
    uint32_t pieces;            /* SPAN_CONT records after the head */
    uint32_t chunk0;            /* logical bytes the head holds ... */
    uint32_t chunk0_off;        /* ... from this offset of its body */
    uint8_t type;               /* the record type the span stands for */
} runnel__span_t;

/* Largest logical body a spanning record may have now: the ring minus
 * the reserves and three blocks (the head's block, the one before it,
 * and one for everything else). 0 when the ring is too small. */
uint64_t runnel__log_span_max(const runnel_log_t *log);

/* Where the last piece of a spanning record of body_len bytes would go
 * (runnel__log_place for bodies larger than a block). */
runnel_pos_t runnel__log_span_place(const runnel_log_t *log, uint64_t body_len);

/* Appends a record of `type` with a body of total bytes from src as one
 * head and its pieces, in one go (nothing else between them): every block
 * the pieces need is reclaimed up front in one request, so a refusal
 * (NOSPC) leaves the log as it was. *pos receives the head's position.
 * ENTRY_TOO_LARGE when total > runnel__log_span_max. */
int runnel__log_append_span(runnel_log_t *log, uint8_t type, uint64_t total,
                            runnel__span_src_fn src, void *ctx, runnel_pos_t *pos);

/* Reads the head at pos whole into buf (cap >= its length; CRC-checked)
 * and fills *sp. CORRUPT when it is no span head or does not parse. */
int runnel__log_span_open(runnel_log_t *log, runnel_pos_t pos, runnel__span_t *sp,
                          uint8_t *buf, uint32_t cap);

/* Reads n logical bytes from offset off of an opened span into dst. The
 * pieces it touches are CRC-checked whole the first time (through vbuf,
 * vcap >= one block's body; the log remembers the last piece checked). */
int runnel__log_span_read(runnel_log_t *log, const runnel__span_t *sp, uint64_t off,
                          void *dst, uint32_t n, uint8_t *vbuf, uint32_t vcap);

/* Mount: 0 when every piece of the span is in the log, right where the
 * writer put it, and checks; 1 when one is missing or damaged (the append
 * was cut short: the record was never written); IO. */
int runnel__log_span_complete(runnel_log_t *log, const runnel__span_t *sp, uint8_t *vbuf,
                              uint32_t vcap);

/* For log_span.c only: ensure_room (first: the owner's record may open
 * the block, as for any append), page_put (counted in the stats) and the
 * pending fence of the log's append path. */
int runnel__log_room(runnel_log_t *log, uint32_t need, bool first);
int runnel__log_put(runnel_log_t *log, const uint8_t *src, size_t n);
int runnel__log_fence_flush(runnel_log_t *log);

/* Programs the partial page (padded to prog_size with RUNNEL_REC_PAD) and
 * syncs the device. After it, every record appended so far is durable. */
int runnel__log_commit(runnel_log_t *log);

/* Programs the partial page as runnel__log_commit does, without the sync:
 * every record appended so far has been handed to bd->prog, none is
 * promised durable (committed does not move). */
int runnel__log_flush(runnel_log_t *log);

/* Reads the record header at pos (pos must be a record start returned by
 * append or next). CORRUPT if it does not parse, or if pos lies outside
 * [tail, head) or in a block header (readers follow positions stored in
 * links and checkpoints: one that leaves the log is a damaged store). */
int runnel__log_header(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec);

/* The whole record at pos, header and body (size = rec.next - rec.pos as
 * an earlier header read found), in one device read into buf, CRC-checked.
 * The body starts at buf + (rec->body - pos). */
int runnel__log_read_record(runnel_log_t *log, runnel_pos_t pos, uint32_t size, uint8_t *buf,
                            uint32_t cap, runnel__rec_t *rec);

/* The tail (block sequence) the log had when block `seq` was opened, from
 * its header: CORRUPT when no writer could have written it. */
int runnel__log_block_tail(runnel_log_t *log, uint64_t seq, uint64_t *tail_seq);

/* Most body bytes runnel__log_peek returns. */
#define RUNNEL_LOG_PEEK_MAX 64u

/* The record header at pos and up to cap (<= RUNNEL_LOG_PEEK_MAX) of its
 * first body bytes, in one read; *got receives how many body bytes. The
 * body bytes are not CRC-checked (the header's length is bounded). */
int runnel__log_peek(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec, uint8_t *body,
                     uint32_t cap, uint32_t *got);

/* The first record at or after pos, skipping pad bytes and unused block
 * tails. Returns 1 and *rec, or 0 when pos reached the head. */
int runnel__log_next(runnel_log_t *log, runnel_pos_t pos, runnel__rec_t *rec);

/* Reads n bytes of a record's body starting at body offset off (from flash
 * or the page buffer, as the position requires). */
int runnel__log_read(runnel_log_t *log, const runnel__rec_t *rec, uint32_t off,
                     void *buf, uint32_t n);

/* Reads the whole body into buf (cap >= rec->len) and checks the CRC:
 * CORRUPT on mismatch. */
int runnel__log_read_body(runnel_log_t *log, const runnel__rec_t *rec, void *buf,
                          uint32_t cap);

/* Lets reads of one block go through a window of cap bytes (buf; NULL to
 * stop): a reader that walks a block's records in order - mount - then
 * reads each stretch of it once, in one call, instead of a header and a
 * body per record; reads elsewhere (a node's master, the next block's
 * fence) go to the device as before and leave the window alone. Only for
 * a log nothing is appended to while it is set: appends, commits and
 * erases do not update the window. */
void runnel__log_window(runnel_log_t *log, uint8_t *buf, uint32_t cap);
/* The block (sequence) the window serves from now on. */
void runnel__log_window_block(runnel_log_t *log, uint64_t seq);

/* How many blocks, tail block to head block, an append may span right
 * now without reclaiming: block_count minus the reserve (checkpoints) and
 * the headroom (relocated copies), as use_reserve / use_headroom allow;
 * at least two blocks stay usable for everything else. The rule of the
 * append's block switch, for owners that plan ahead of it. */
uint32_t runnel__log_span_limit(const runnel_log_t *log);

/* Blocks in use (tail block .. head block inclusive). */
uint32_t runnel__log_blocks_used(const runnel_log_t *log);

#endif /* RUNNEL_LOG_H */
