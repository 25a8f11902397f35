/*
 * runnel-inspect - reads a runnel store image (runneld's store file or a
 * raw flash dump), checks every block and record, and prints what it
 * holds: the log's blocks, checkpoints, streams, groups, pending entries,
 * wear and free space. It never writes to the image.
 *
 *   runnel-inspect [options] <image>
 *
 * Exit status: 0 the store is clean (torn tails a power cut left are
 * reported and are not damage: mount discards them, as FORMAT.md 6.3
 * says); 1 damage found, each finding with its block, sequence and offset,
 * or no store at all (not formatted, another format version, truncated);
 * 2 usage or I/O error.
 *
 * This file owns the options, the report's layout and the exit status;
 * inspect.h says where the passes live.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

insp_counts_t insp_counts;
bool insp_verbose;

void insp_report(insp_severity_t sev, long block, long seq, long offset, const char *fmt, ...)
{
    static const char *const tag[] = { "note", "WARNING", "CORRUPT" };
    va_list ap;

    if (sev == INSP_NOTE)
        insp_counts.notes++;
    else if (sev == INSP_WARN)
        insp_counts.warnings++;
    else
        insp_counts.corrupt++;
    printf("%s", tag[sev]);
    if (block >= 0) {
        printf(" block %ld", block);
        if (seq >= 0)
            printf(" (seq %ld)", seq);
        if (offset >= 0)
            printf(" offset %ld", offset);
    }
    printf(": ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x02: return "FENCE";
    case 0x03: return "SPAN";
    case 0x04: return "SPAN_CONT";
    case 0x10: return "ENTRY_NODE_START";
    case 0x11: return "ENTRY";
    case 0x12: return "STREAM_CREATE";
    case 0x13: return "STREAM_DELETE";
    case 0x14: return "XDEL";
    case 0x15: return "TRIM";
    case 0x16: return "XSETID";
    case 0x17: return "RENAME";
    case 0x18: return "FLUSH";
    case 0x19: return "ENTRY_SAME_FIELDS";
    case 0x1B: return "ENTRY_SEQ0";
    case 0x1C: return "ENTRY_SAME_FIELDS_SEQ0";
    case 0x1D: return "RELOC_MASTER";
    case 0x1E: return "RELOC_DONE";
    case 0x51: return "RELOC_ENTRY";
    case 0x59: return "RELOC_ENTRY_SAME_FIELDS";
    case 0x5B: return "RELOC_ENTRY_SEQ0";
    case 0x5C: return "RELOC_ENTRY_SAME_FIELDS_SEQ0";
    case 0x20: return "GROUP_CREATE";
    case 0x21: return "GROUP_SETID";
    case 0x22: return "GROUP_DESTROY";
    case 0x23: return "CONSUMER_CREATE";
    case 0x24: return "CONSUMER_DELETE";
    case 0x25: return "DELIVERY";
    case 0x26: return "ACK";
    case 0x27: return "CLAIM";
    case 0x28: return "NACK_STATE";
    case 0x29: return "AUTOCLAIM";
    case 0x30: return "CKPT_BEGIN";
    case 0x31: return "CKPT_STREAM";
    case 0x32: return "CKPT_NODES";
    case 0x35: return "CKPT_NODE_RUN";
    case 0x36: return "CKPT_PEL_RUN";
    case 0x37: return "BLOCK_SUMMARY";
    case 0x38: return "CKPT_NODE_DIR";
    case 0x39: return "CKPT_DIR_REF";
    case 0x3A: return "CKPT_NODE_MORE";
    case 0x33: return "CKPT_END";
    case 0x34: return "CKPT_GROUP";
    case 0x40: return "SYNC_CURSOR";
    default: return "unknown";
    }
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: runnel-inspect [options] <image>\n"
"Checks a runnel store image (runneld's store file, or a raw dump of a\n"
"device's store area) block by block and record by record, mounts it\n"
"read-only through the engine, and prints its streams, groups, pending\n"
"entries, wear and free space. The image is never written.\n"
"\n"
"Options:\n"
"  --block-size <n>    expect this block size (default: the block headers')\n"
"  --block-count <n>   the store has this many blocks (default: the whole\n"
"                      blocks in the file; a dump of a larger device)\n"
"  --prog-size <n>     the device's program unit (default 1, runneld's file)\n"
"  --erase-value <v>   0xFF (default: NOR, runneld's file) or 0x00\n"
"  --physical-only     skip the engine's mount (blocks and records only)\n"
"  -v, --verbose       also print each log block: its records, where its data ends\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 clean (a torn tail a power cut left is reported as such\n"
"and is not damage); 1 damage found (each with its block and offset), or\n"
"not a store (not formatted, truncated, another format version); 2 usage\n"
"or I/O error.\n");
}

static bool parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static void print_human_bytes(uint64_t b)
{
    if (b >= 10u * 1024u * 1024u)
        printf("%" PRIu64 " bytes (%.1f MiB)", b, (double)b / (1024.0 * 1024.0));
    else if (b >= 10u * 1024u)
        printf("%" PRIu64 " bytes (%.1f KiB)", b, (double)b / 1024.0);
    else
        printf("%" PRIu64 " bytes", b);
}

int main(int argc, char **argv)
{
    insp_image_t img;
    uint32_t want_bs = 0, want_count = 0, v;
    const char *path = NULL;
    bool physical_only = false;
    int rc;

    memset(&img, 0, sizeof img);
    img.fd = -1;
    img.prog_size = 1;
    img.erase_value = 0xFF;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_arg = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return INSP_EXIT_CLEAN;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            insp_verbose = true;
        } else if (!strcmp(a, "--physical-only")) {
            physical_only = true;
        } else if (!strcmp(a, "--block-size") && has_arg && parse_u32(argv[i + 1], &v) &&
                   v > 0) {
            want_bs = v;
            i++;
        } else if (!strcmp(a, "--block-count") && has_arg && parse_u32(argv[i + 1], &v) &&
                   v > 0) {
            want_count = v;
            i++;
        } else if (!strcmp(a, "--prog-size") && has_arg && parse_u32(argv[i + 1], &v) &&
                   v > 0) {
            img.prog_size = v;
            i++;
        } else if (!strcmp(a, "--erase-value") && has_arg && parse_u32(argv[i + 1], &v) &&
                   (v == 0xFF || v == 0x00)) {
            img.erase_value = (uint8_t)v;
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "runnel-inspect: bad option or value: %s%s%s\n", a,
                    has_arg ? " " : "", has_arg ? argv[i + 1] : "");
            usage(stderr);
            return INSP_EXIT_USAGE;
        } else if (path == NULL) {
            path = a;
        } else {
            fprintf(stderr, "runnel-inspect: one image at a time (%s and %s)\n", path, a);
            return INSP_EXIT_USAGE;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return INSP_EXIT_USAGE;
    }

    printf("runnel-inspect %s: %s\n", RUNNEL_VERSION_STRING, path);
    rc = insp_image_open(&img, path, want_bs, want_count);
    if (rc != 0) {
        insp_image_close(&img);
        return rc;
    }
    printf("Geometry: %u blocks of %u bytes (%" PRIu64 " bytes; block size from the "
           "headers), program unit %u, erase value 0x%02X; reading format version %u\n",
           img.block_count, img.block_size, (uint64_t)img.block_count * img.block_size,
           img.prog_size, img.erase_value, RUNNEL_FORMAT_VERSION);

    /* ---- physical pass ---- */
    printf("\nBlocks and records:\n");
    static insp_scan_t sc;
    insp_scan(&img, &sc);
    uint64_t bs = img.block_size;
    if (sc.found_log) {
        printf("  log: %u of %u blocks, sequences %" PRIu64 " .. %" PRIu64 " (tail at block "
               "%" PRIu64 ", newest at block %u)\n", sc.log_blocks, img.block_count,
               sc.tail_seq, sc.newest_seq, sc.tail_seq % img.block_count, sc.newest_phys);
        printf("  head: block %u offset %u (%s)\n", sc.newest_phys, sc.head_off,
               sc.head_clean ? "clean: the next write continues there"
                             : "the next write opens a new block");
        printf("  records: %" PRIu64 " (", sc.records);
        print_human_bytes(sc.record_bytes);
        printf(" with their headers), pad bytes %" PRIu64 ", torn bytes %" PRIu64 "\n",
               sc.pad_bytes, sc.torn_bytes);
        for (unsigned t = 0; t < 256; t++)
            if (sc.records_by_type[t] > 0)
                printf("    0x%02X %-24s %" PRIu64 "\n", t, type_name(t),
                       sc.records_by_type[t]);
        if (sc.has_checkpoint)
            printf("  newest checkpoint: #%" PRIu64 " at block %u (seq %" PRIu64 ") offset %u; "
                   "mount replays %" PRIu64 " records (%" PRIu64 " bytes) from it\n",
                   sc.ckpt_number, sc.ckpt_phys, sc.ckpt_seq, sc.ckpt_off,
                   sc.records_after_ckpt, sc.bytes_after_ckpt);
        else
            printf("  newest checkpoint: none (mount replays the whole log from its tail)\n");
        printf("  outside the log: %u erased, %u stale (older rounds), %u neither\n",
               sc.erased_blocks, sc.stale_blocks, sc.foreign_blocks);

        /* Wear: erase counts are not stored on flash. The ring opens its
         * blocks in turn (block with sequence s lives at s % count), so the
         * newest sequence says how often each block was opened. */
        uint64_t opens = sc.newest_seq + 1u, cnt = img.block_count;
        printf("  wear (estimated from block sequences; erase counts are not on flash): "
               "min %" PRIu64 ", max %" PRIu64 " erases per block\n", opens / cnt,
               (opens + cnt - 1u) / cnt);

        uint64_t used = (uint64_t)sc.log_blocks * bs;
        uint64_t free_blocks = img.block_count - sc.log_blocks;
        uint64_t free_bytes = free_blocks * bs + (sc.head_clean ? bs - sc.head_off : 0);
        printf("  space: used %u blocks (", sc.log_blocks);
        print_human_bytes(used);
        printf("), free %" PRIu64 " blocks + %s (", free_blocks,
               sc.head_clean ? "the rest of the head block" : "nothing in the head block");
        print_human_bytes(free_bytes);
        printf(")\n");
    }

    /* ---- logical pass ---- */
    static insp_engine_t en;
    bool mounted = false;
    if (!physical_only && sc.found_log) {
        insp_engine(&img, &en);
        mounted = en.mount_rc == 0;
        if (mounted) {
            if (en.stats.blocks_used != sc.log_blocks)
                insp_report(INSP_WARN, -1, -1, -1, "the engine's log spans %u blocks, the "
                            "block scan's %u", en.stats.blocks_used, sc.log_blocks);
        }
    }

    /* ---- backlog ---- */
    if (mounted) {
        printf("\nBacklog:\n");
        printf("  streams %" PRIu64 ", entries %" PRIu64 ", consumer groups %" PRIu64
               ", consumers %" PRIu64 ", pending (delivered, not acknowledged) %" PRIu64 "\n",
               en.streams, en.entries, en.groups, en.consumers, en.pending);
        printf("  stored: ");
        print_human_bytes(sc.record_bytes);
        printf(" of records in the log\n");
        /* The forwarder (core/sync.h) persists a cursor per stream it
         * follows (SYNC_CURSOR 0x40); each stream's line above shows its
         * own. */
        if (en.sync_streams == 0)
            printf("  upstream sync: no stream has a sync cursor (never forwarded)\n");
        else {
            printf("  upstream sync: %" PRIu64 " stream(s) with a cursor, backlog %" PRIu64
                   " entries (", en.sync_streams, en.sync_backlog_entries);
            print_human_bytes(en.sync_backlog_bytes);
            printf(") not yet forwarded\n");
        }
    }

    printf("\nResult: %s (%u damaged, %u warnings, %u notes)\n",
           insp_counts.corrupt > 0 ? "DAMAGED" : "clean", insp_counts.corrupt,
           insp_counts.warnings, insp_counts.notes);
    insp_image_close(&img);
    return insp_counts.corrupt > 0 ? INSP_EXIT_CORRUPT : INSP_EXIT_CLEAN;
}
