/*
 * inspect.h - what the parts of runnel-inspect share: the image being
 * read, the findings, and the two passes over it.
 *
 *   image.c    opens the image (a runneld store file or a raw flash dump)
 *              read-only and finds its geometry from the block headers
 *   scan.c     the physical pass: every block header, every record's
 *              framing and CRC, where the log's valid data ends, fences,
 *              torn tails, checkpoints (FORMAT.md sections 3-6)
 *   engine.c   the logical pass: the real engine mounts the image over a
 *              block device that refuses every program and erase, then
 *              every stream, group and consumer is read back
 *   main.c     options, the report, the exit status
 *
 * Every finding is printed as it is made and counted by severity; the exit
 * status follows the counts (main.c).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#ifndef RUNNEL_INSPECT_H
#define RUNNEL_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runnel.h"

/* Exit statuses (README, --help). */
#define INSP_EXIT_CLEAN 0
#define INSP_EXIT_CORRUPT 1
#define INSP_EXIT_USAGE 2

/* The image, read with pread only: nothing ever writes to it. */
typedef struct insp_image {
    const char *path;
    int fd;
    uint64_t size;              /* bytes in the file */
    uint32_t block_size;        /* from the headers, or --block-size */
    uint32_t block_count;       /* whole blocks in the file, or --block-count */
    uint32_t prog_size;         /* --prog-size (runneld: 1) */
    uint8_t erase_value;        /* --erase-value (runneld's file: 0xFF) */
    bool locked_by_other;       /* a runneld holds it (flock): it may change */
} insp_image_t;

/* What each finding means for the exit status. */
typedef enum insp_severity {
    INSP_NOTE = 0,       /* worth knowing, not damage (a torn tail a power
                            cut left, a block being erased, stale blocks) */
    INSP_WARN = 1,       /* unusual but readable; exit status stays 0 */
    INSP_CORRUPT = 2     /* damage: exit status 1 */
} insp_severity_t;

typedef struct insp_counts {
    uint32_t notes, warnings, corrupt;
} insp_counts_t;

extern insp_counts_t insp_counts;
extern bool insp_verbose;

/* Prints one finding ("CORRUPT block 3 (seq 19) offset 412: ...") and
 * counts it. block < 0: not about one block. */
void insp_report(insp_severity_t sev, long block, long seq, long offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- image.c ---- */

/* Opens path read-only and settles the geometry: block_size 0 = from the
 * first valid block header found; block_count 0 = the whole blocks in the
 * file. Returns 0, or INSP_EXIT_USAGE / INSP_EXIT_CORRUPT after printing
 * why (cannot open, not formatted, truncated, geometry mismatch). */
int insp_image_open(insp_image_t *img, const char *path, uint32_t block_size,
                    uint32_t block_count);
void insp_image_close(insp_image_t *img);
/* Reads n bytes of block b at offset off; 0 or -1 (an I/O error, printed). */
int insp_image_read(const insp_image_t *img, uint32_t b, uint32_t off, void *buf, uint32_t n);

/* ---- scan.c ---- */

/* What the physical pass found (printed by main.c). */
typedef struct insp_scan {
    uint32_t valid_headers, erased_blocks, foreign_blocks, stale_blocks;
    bool found_log;
    uint32_t newest_phys;       /* physical block of the newest block */
    uint64_t newest_seq, tail_seq;
    uint32_t log_blocks;        /* tail .. newest */
    uint32_t head_off;          /* where the newest block's valid data ends */
    bool head_clean;            /* the writer can continue there */
    uint64_t records, record_bytes, pad_bytes;
    uint64_t records_by_type[256];
    uint64_t torn_bytes;        /* bytes after a torn tail (not data) */
    bool has_checkpoint;
    uint64_t ckpt_number, ckpt_seq;   /* newest complete checkpoint: number, block seq */
    uint32_t ckpt_phys, ckpt_off;
    uint64_t records_after_ckpt, bytes_after_ckpt;
    uint64_t seq_min_seen, seq_max_seen;   /* over every valid header */
} insp_scan_t;

/* Runs the physical pass; findings go through insp_report. */
void insp_scan(const insp_image_t *img, insp_scan_t *out);

/* ---- engine.c ---- */

typedef struct insp_engine {
    int mount_rc;               /* runnel_mount's answer */
    uint64_t streams, entries, groups, consumers, pending;
    uint64_t refused_writes;    /* programs/erases the engine tried (and we refused) */
    /* streams with a persisted sync cursor, and their backlog (entries
     * after the cursor, and those entries' field and value bytes) */
    uint64_t sync_streams, sync_backlog_entries, sync_backlog_bytes;
    runnel_stats_t stats;
} insp_engine_t;

/* Mounts the image read-only through the engine and prints every stream,
 * group and consumer. Pools are grown and the mount retried when the
 * store holds more than a pool allows. */
void insp_engine(const insp_image_t *img, insp_engine_t *out);

#endif /* RUNNEL_INSPECT_H */
