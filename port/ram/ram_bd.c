/*
 * ram_bd.c - the strict RAM block device (see ram_bd.h for the rules).
 */
#include <string.h>

#include "ram_bd.h"

size_t runnel_ram_bd_storage_size(const runnel_bd_geometry_t *g)
{
    if (g == NULL || g->block_size == 0 || g->block_count == 0)
        return 0;
    if ((size_t)g->block_count > SIZE_MAX / g->block_size)
        return 0;
    return (size_t)g->block_size * g->block_count;
}

static uint8_t *block_ptr(runnel_ram_bd_t *rb, uint32_t block)
{
    return rb->storage + (size_t)block * rb->geometry.block_size;
}

/* Bounds and alignment shared by read and prog: the range must sit inside
 * one block and start and end on a multiple of the unit. Written to be
 * overflow-proof (off + size is never computed on untrusted values). */
static int check_range(const runnel_ram_bd_t *rb, uint32_t block, uint32_t off, const void *buf,
                       uint32_t size, uint32_t unit)
{
    const runnel_bd_geometry_t *g = &rb->geometry;
    if (block >= g->block_count || off > g->block_size || size > g->block_size - off)
        return RUNNEL_ERR_INVAL;
    if (off % unit != 0 || size % unit != 0)
        return RUNNEL_ERR_INVAL;
    if (buf == NULL && size != 0)
        return RUNNEL_ERR_INVAL;
    return 0;
}

static int ram_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    runnel_ram_bd_t *rb = (runnel_ram_bd_t *)ctx;
    int err = check_range(rb, block, off, buf, size, rb->geometry.read_size);
    if (err) {
        rb->rejected_calls++;
        return err;
    }
    if (size)
        memcpy(buf, block_ptr(rb, block) + off, size);
    rb->read_calls++;
    rb->bytes_read += size;
    return 0;
}

/* Flash can only move bits from the erased state, and the core promises to
 * program each location once per erase. A program over any non-erased byte
 * is refused whole (nothing written) so a test sees the violation as an
 * error at the exact call and as a counter afterwards. */
static int ram_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size)
{
    runnel_ram_bd_t *rb = (runnel_ram_bd_t *)ctx;
    uint8_t *dst;
    uint32_t i;
    bool dirty = false;
    int err = check_range(rb, block, off, buf, size, rb->geometry.prog_size);

    if (err) {
        rb->rejected_calls++;
        return err;
    }
    dst = block_ptr(rb, block) + off;
    for (i = 0; i < size; i++) {
        if (dst[i] != rb->geometry.erase_value) {
            dirty = true;
            break;
        }
    }
    if (dirty) {
        if ((rb->geometry.flags & RUNNEL_BD_REPROGRAMMABLE) == 0) {
            rb->prog_violations++;
            return RUNNEL_ERR_IO;
        }
        rb->reprograms++;
    }
    if (size)
        memcpy(dst, buf, size);
    rb->prog_calls++;
    rb->bytes_programmed += size;
    return 0;
}

static int ram_erase(void *ctx, uint32_t block)
{
    runnel_ram_bd_t *rb = (runnel_ram_bd_t *)ctx;
    if (block >= rb->geometry.block_count) {
        rb->rejected_calls++;
        return RUNNEL_ERR_INVAL;
    }
    memset(block_ptr(rb, block), rb->geometry.erase_value, rb->geometry.block_size);
    rb->erases++;
    if (rb->erase_counts)
        rb->erase_counts[block]++;
    return 0;
}

static int ram_sync(void *ctx)
{
    runnel_ram_bd_t *rb = (runnel_ram_bd_t *)ctx;
    rb->sync_calls++;
    return 0;
}

void runnel_ram_bd_reset_counters(runnel_ram_bd_t *rb)
{
    rb->read_calls = rb->bytes_read = 0;
    rb->prog_calls = rb->bytes_programmed = 0;
    rb->erases = rb->sync_calls = 0;
    rb->prog_violations = rb->reprograms = rb->rejected_calls = 0;
}

int runnel_ram_bd_init(runnel_ram_bd_t *rb, runnel_bd_t *out, const runnel_bd_geometry_t *g,
                       uint8_t *storage, uint32_t *erase_counts)
{
    size_t bytes;

    if (rb == NULL || out == NULL || g == NULL || storage == NULL)
        return RUNNEL_ERR_INVAL;
    if (g->read_size == 0 || g->prog_size == 0 || g->block_size == 0 || g->block_count == 0)
        return RUNNEL_ERR_INVAL;
    if (g->block_size % g->read_size != 0 || g->block_size % g->prog_size != 0)
        return RUNNEL_ERR_INVAL;
    bytes = runnel_ram_bd_storage_size(g);
    if (bytes == 0)
        return RUNNEL_ERR_INVAL;

    memset(rb, 0, sizeof *rb);
    rb->geometry = *g;
    rb->storage = storage;
    rb->erase_counts = erase_counts;
    memset(storage, g->erase_value, bytes);
    if (erase_counts)
        memset(erase_counts, 0, sizeof *erase_counts * g->block_count);

    memset(out, 0, sizeof *out);
    out->ctx = rb;
    out->geometry = *g;
    out->read = ram_read;
    out->prog = ram_prog;
    out->erase = ram_erase;
    out->sync = ram_sync;
    return 0;
}

void runnel_ram_bd_wear(const runnel_ram_bd_t *rb, uint32_t *min, uint32_t *max)
{
    uint32_t lo = 0, hi = 0, b;
    if (rb->erase_counts && rb->geometry.block_count > 0) {
        lo = hi = rb->erase_counts[0];
        for (b = 1; b < rb->geometry.block_count; b++) {
            if (rb->erase_counts[b] < lo)
                lo = rb->erase_counts[b];
            if (rb->erase_counts[b] > hi)
                hi = rb->erase_counts[b];
        }
    }
    if (min)
        *min = lo;
    if (max)
        *max = hi;
}

uint8_t *runnel_ram_bd_data(runnel_ram_bd_t *rb, uint32_t block, uint32_t off)
{
    if (block >= rb->geometry.block_count || off >= rb->geometry.block_size)
        return NULL;
    return block_ptr(rb, block) + off;
}
