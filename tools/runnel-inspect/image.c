/*
 * image.c - the image runnel-inspect reads: opened read-only, its geometry
 * found from its own block headers.
 *
 * A store image is self-describing enough: every block header carries the
 * block size the store was formatted with (FORMAT.md 3.1), and the block
 * count is what the file holds. The program unit and the erase value are
 * not on flash; they default to runneld's file store (1 and 0xFF) and can
 * be given for a raw dump of another device.
 *
 * The image is never written: it is opened O_RDONLY and read with pread.
 * A runneld running on the same file holds an exclusive flock on it; we
 * only test for that (a shared, non-blocking lock) to warn that the image
 * may change while it is read.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect.h"
#include "util.h"   /* runnel__crc32c, runnel__get_le32: header checks */

#define HDR_MAGIC 0x4C4E5552u
#define HDR_SIZE 24u
/* Block sizes a header may claim that we believe: a block holds at least
 * its header and a record; more than 1 GiB is not a flash erase unit. */
#define BLOCK_SIZE_MIN 64u
#define BLOCK_SIZE_MAX (1u << 30)
/* Header candidates are looked for at this step when block 0 has none. */
#define SEARCH_STEP 64u

static bool header_ok(const uint8_t *h, uint32_t *block_size)
{
    if (runnel__get_le32(h) != HDR_MAGIC)
        return false;
    if (runnel__get_le32(h + 20) != runnel__crc32c(0, h, 20))
        return false;
    *block_size = runnel__get_le32(h + 16);
    return *block_size >= BLOCK_SIZE_MIN && *block_size <= BLOCK_SIZE_MAX;
}

int insp_image_read(const insp_image_t *img, uint32_t b, uint32_t off, void *buf, uint32_t n)
{
    uint64_t at = (uint64_t)b * img->block_size + off;
    size_t done = 0;

    while (done < n) {
        ssize_t got = pread(img->fd, (uint8_t *)buf + done, n - done, (off_t)(at + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            fprintf(stderr, "runnel-inspect: %s: read of block %u offset %u failed: %s\n",
                    img->path, b, off, got < 0 ? strerror(errno) : "unexpected end of file");
            return -1;
        }
        done += (size_t)got;
    }
    return 0;
}

/* The block size the first valid header found says (0 if none), and
 * whether every byte of the file is one value (a blank image). */
static int find_block_size(const insp_image_t *img, uint32_t *bs, bool *blank, uint8_t *fill)
{
    static uint8_t buf[1u << 20];
    uint64_t at = 0;
    bool first = true;

    *bs = 0;
    *blank = true;
    while (at < img->size) {
        size_t want = img->size - at < sizeof buf ? (size_t)(img->size - at) : sizeof buf;
        ssize_t got = pread(img->fd, buf, want, (off_t)at);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            fprintf(stderr, "runnel-inspect: %s: read failed: %s\n", img->path,
                    got < 0 ? strerror(errno) : "unexpected end of file");
            return -1;
        }
        if (first)
            *fill = buf[0];
        first = false;
        for (ssize_t i = 0; *blank && i < got; i++)
            if (buf[i] != *fill)
                *blank = false;
        /* candidates at multiples of SEARCH_STEP; a header must sit at a
         * multiple of the block size it names */
        for (size_t o = 0; *bs == 0 && o + HDR_SIZE <= (size_t)got; o += SEARCH_STEP) {
            uint32_t cand;
            if (header_ok(buf + o, &cand) && (at + o) % cand == 0)
                *bs = cand;
        }
        if (*bs != 0 && !*blank)
            return 0;
        /* the next chunk overlaps this one by a step, so a header that
         * straddles the chunk end is looked at again */
        at += (size_t)got == want && at + (uint64_t)got < img->size && (size_t)got > SEARCH_STEP
                  ? (uint64_t)got - SEARCH_STEP
                  : (uint64_t)got;
    }
    return 0;
}

int insp_image_open(insp_image_t *img, const char *path, uint32_t block_size,
                    uint32_t block_count)
{
    struct stat st;
    uint32_t found = 0;
    bool blank = false;
    uint8_t fill = 0;

    img->path = path;
    img->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (img->fd < 0) {
        fprintf(stderr, "runnel-inspect: cannot open %s: %s\n", path, strerror(errno));
        return INSP_EXIT_USAGE;
    }
    if (fstat(img->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        /* a block device or a pipe has no size to take blocks from */
        fprintf(stderr, "runnel-inspect: %s is not a regular file (copy the device to a file "
                "first, e.g. with dd)\n", path);
        return INSP_EXIT_USAGE;
    }
    img->size = (uint64_t)st.st_size;
    if (flock(img->fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        img->locked_by_other = true;
        insp_report(INSP_WARN, -1, -1, -1, "another process (a running runneld?) holds this "
                    "store: it may change while it is read, and findings at its head may be "
                    "writes in progress");
    }
    if (img->size == 0) {
        printf("not formatted: %s is empty\n", path);
        return INSP_EXIT_CORRUPT;
    }
    if (find_block_size(img, &found, &blank, &fill) != 0)
        return INSP_EXIT_USAGE;
    if (found == 0) {
        if (blank)
            printf("not formatted: no runnel block header in %s (blank: every one of its "
                   "%llu bytes is 0x%02X)\n", path, (unsigned long long)img->size, fill);
        else
            printf("not formatted: no runnel block header in %s (%llu bytes of other data: "
                   "not a runnel store, or every header is damaged)\n", path,
                   (unsigned long long)img->size);
        return INSP_EXIT_CORRUPT;
    }
    if (block_size != 0 && block_size != found) {
        fprintf(stderr, "runnel-inspect: the block headers of %s say block size %u, "
                "--block-size says %u (leave --block-size out to take it from the headers)\n",
                path, found, block_size);
        return INSP_EXIT_USAGE;
    }
    img->block_size = found;
    if (img->size % found != 0)
        insp_report(INSP_CORRUPT, -1, -1, -1, "the image is %llu bytes: not a whole number of "
                    "%u-byte blocks (truncated? its last block has only %llu bytes, and is not "
                    "read)", (unsigned long long)img->size, found,
                    (unsigned long long)(img->size % found));
    uint64_t whole = img->size / found;
    if (block_count != 0 && whole < block_count) {
        insp_report(INSP_CORRUPT, -1, -1, -1, "the image holds %llu whole blocks, "
                    "--block-count says the store has %u: it is truncated",
                    (unsigned long long)whole, block_count);
    } else if (block_count != 0) {
        whole = block_count;   /* a dump of a larger device: the store is its start */
    }
    if (whole < 4 || whole > UINT32_MAX) {
        printf("the image holds %llu blocks of %u bytes: a store has 4 to 2^32-1 blocks\n",
               (unsigned long long)whole, found);
        return INSP_EXIT_CORRUPT;
    }
    img->block_count = (uint32_t)whole;
    if (img->prog_size == 0 || found % img->prog_size != 0) {
        fprintf(stderr, "runnel-inspect: --prog-size %u does not divide the block size %u\n",
                img->prog_size, found);
        return INSP_EXIT_USAGE;
    }
    return 0;
}

void insp_image_close(insp_image_t *img)
{
    if (img->fd >= 0)
        close(img->fd);
    img->fd = -1;
}
