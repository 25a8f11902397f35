/*
 * emu_bd.c - the emulated flash: port/ram's contract plus power cuts,
 * read bit flips and bad blocks (see emu_bd.h for the rules).
 */
#include <string.h>

#include "emu_bd.h"

#define EMU_SEED_DEFAULT 0x9E3779B9u

size_t runnel_emu_bd_storage_size(const runnel_bd_geometry_t *g)
{
    if (g == NULL || g->block_size == 0 || g->block_count == 0)
        return 0;
    if ((size_t)g->block_count > SIZE_MAX / g->block_size)
        return 0;
    return (size_t)g->block_size * g->block_count;
}

void runnel_emu_bd_seed(runnel_emu_bd_t *eb, uint32_t seed)
{
    eb->rng = seed ? seed : EMU_SEED_DEFAULT;
}

/* xorshift32 (Marsaglia): tiny, no multiply, full period over non-zero
 * states, identical on every target. */
uint32_t runnel_emu_bd_rand(runnel_emu_bd_t *eb)
{
    uint32_t x = eb->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    eb->rng = x;
    return x;
}

static uint8_t *block_ptr(runnel_emu_bd_t *eb, uint32_t block)
{
    return eb->storage + (size_t)block * eb->geometry.block_size;
}

/* Same checks as port/ram: one block, aligned to the unit, overflow-proof. */
static int check_range(const runnel_emu_bd_t *eb, uint32_t block, uint32_t off, const void *buf,
                       uint32_t size, uint32_t unit)
{
    const runnel_bd_geometry_t *g = &eb->geometry;
    if (block >= g->block_count || off > g->block_size || size > g->block_size - off)
        return RUNNEL_ERR_INVAL;
    if (off % unit != 0 || size % unit != 0)
        return RUNNEL_ERR_INVAL;
    if (buf == NULL && size != 0)
        return RUNNEL_ERR_INVAL;
    return 0;
}

static bool is_bad(const runnel_emu_bd_t *eb, uint32_t block)
{
    uint32_t i;
    for (i = 0; i < eb->bad_count; i++)
        if (eb->bad_blocks[i] == block)
            return true;
    return false;
}

/* Counts a mutating operation that reached the device and says whether
 * power goes during it. */
static bool op_is_cut(runnel_emu_bd_t *eb)
{
    eb->mut_ops++;
    return eb->cut_at != 0 && eb->mut_ops == eb->cut_at;
}

/* The program "lands" the bits of src[i] that leave the erased state, each
 * with probability 1/2. For NOR (erase 0xFF) programming only clears bits,
 * so the landed value is old & ~(cleared & mask); for erase 0x00 it only
 * sets bits: old | (set & mask). Another erase value has no physical
 * direction, so any differing bit may land. */
static uint8_t torn_bits_prog(runnel_emu_bd_t *eb, uint8_t old, uint8_t want)
{
    uint8_t mask = (uint8_t)runnel_emu_bd_rand(eb);
    uint8_t e = eb->geometry.erase_value;
    if (e == 0xFFu)
        return (uint8_t)(old & (uint8_t)~((uint8_t)(old & (uint8_t)~want) & mask));
    if (e == 0x00u)
        return (uint8_t)(old | (uint8_t)((uint8_t)(~old & want) & mask));
    return (uint8_t)(old ^ ((old ^ want) & mask));
}

/* An erase moves bits the other way: towards the erase value. */
static uint8_t torn_bits_erase(runnel_emu_bd_t *eb, uint8_t old)
{
    uint8_t mask = (uint8_t)runnel_emu_bd_rand(eb);
    uint8_t e = eb->geometry.erase_value;
    return (uint8_t)(old ^ ((old ^ e) & mask));
}

/* What the program during which power goes leaves behind. */
static void cut_prog(runnel_emu_bd_t *eb, uint8_t *dst, const uint8_t *src, uint32_t size)
{
    uint32_t i, n;

    switch (eb->cut_model) {
    case RUNNEL_EMU_CUT_ATOMIC:
        memcpy(dst, src, size);
        eb->torn_bytes = size;
        break;
    case RUNNEL_EMU_CUT_TORN_PREFIX:
        n = size ? runnel_emu_bd_rand(eb) % size : 0;
        memcpy(dst, src, n);
        eb->torn_bytes = n;
        break;
    case RUNNEL_EMU_CUT_TORN_BITS:
        eb->torn_bytes = 0;
        for (i = 0; i < size; i++) {
            uint8_t v = torn_bits_prog(eb, dst[i], src[i]);
            eb->torn_bytes += v != dst[i];
            dst[i] = v;
        }
        break;
    case RUNNEL_EMU_CUT_INTERRUPTED_ERASE:
    default:
        eb->torn_bytes = 0; /* power went before the program started */
        break;
    }
}

/* What the erase during which power goes leaves behind. */
static void cut_erase(runnel_emu_bd_t *eb, uint8_t *dst)
{
    uint32_t bs = eb->geometry.block_size, i, n, c = 0;
    uint8_t e = eb->geometry.erase_value;

    switch (eb->cut_model) {
    case RUNNEL_EMU_CUT_ATOMIC:
        for (i = 0; i < bs; i++)
            c += dst[i] != e;
        memset(dst, e, bs);
        break;
    case RUNNEL_EMU_CUT_TORN_PREFIX:
        n = runnel_emu_bd_rand(eb) % bs;
        for (i = 0; i < n; i++)
            c += dst[i] != e;
        memset(dst, e, n);
        break;
    case RUNNEL_EMU_CUT_TORN_BITS:
        for (i = 0; i < bs; i++) {
            uint8_t v = torn_bits_erase(eb, dst[i]);
            c += v != dst[i];
            dst[i] = v;
        }
        break;
    case RUNNEL_EMU_CUT_INTERRUPTED_ERASE:
    default:
        for (i = 0; i < bs; i++) {
            if (runnel_emu_bd_rand(eb) & 1u) {
                c += dst[i] != e;
                dst[i] = e;
            }
        }
        break;
    }
    eb->torn_bytes = c;
}

static int emu_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    runnel_emu_bd_t *eb = (runnel_emu_bd_t *)ctx;
    int err;

    if (eb->cut) {
        eb->dead_calls++;
        return RUNNEL_ERR_IO;
    }
    err = check_range(eb, block, off, buf, size, eb->geometry.read_size);
    if (err) {
        eb->rejected_calls++;
        return err;
    }
    if (size)
        memcpy(buf, block_ptr(eb, block) + off, size);
    if (eb->flip_rate) {
        uint8_t *p = (uint8_t *)buf;
        uint32_t i;
        for (i = 0; i < size; i++) {
            if (runnel_emu_bd_rand(eb) < eb->flip_rate) {
                p[i] ^= (uint8_t)(1u << (runnel_emu_bd_rand(eb) & 7u));
                eb->bit_flips++;
            }
        }
    }
    eb->read_calls++;
    eb->bytes_read += size;
    return 0;
}

/* Order of checks: power, contract (nothing counted as an operation when
 * the call is malformed), bad block, program-once, then the cut. A refused
 * program over programmed bytes still counts as an operation reaching the
 * device, so cut indices do not shift when a violation is present. */
static int emu_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size)
{
    runnel_emu_bd_t *eb = (runnel_emu_bd_t *)ctx;
    uint8_t *dst;
    uint32_t i;
    bool dirty = false;
    int err;

    if (eb->cut) {
        eb->dead_calls++;
        return RUNNEL_ERR_IO;
    }
    err = check_range(eb, block, off, buf, size, eb->geometry.prog_size);
    if (err) {
        eb->rejected_calls++;
        return err;
    }
    dst = block_ptr(eb, block) + off;
    if (is_bad(eb, block)) {
        eb->mut_ops++;
        eb->bad_block_errors++;
        return RUNNEL_ERR_IO;
    }
    for (i = 0; i < size; i++) {
        if (dst[i] != eb->geometry.erase_value) {
            dirty = true;
            break;
        }
    }
    if (dirty) {
        if ((eb->geometry.flags & RUNNEL_BD_REPROGRAMMABLE) == 0) {
            eb->mut_ops++;
            eb->prog_violations++;
            return RUNNEL_ERR_IO;
        }
        eb->reprograms++;
    }
    if (op_is_cut(eb)) {
        cut_prog(eb, dst, (const uint8_t *)buf, size);
        eb->cut = true;
        return RUNNEL_ERR_IO;
    }
    if (size)
        memcpy(dst, buf, size);
    eb->prog_calls++;
    eb->bytes_programmed += size;
    return 0;
}

static int emu_erase(void *ctx, uint32_t block)
{
    runnel_emu_bd_t *eb = (runnel_emu_bd_t *)ctx;

    if (eb->cut) {
        eb->dead_calls++;
        return RUNNEL_ERR_IO;
    }
    if (block >= eb->geometry.block_count) {
        eb->rejected_calls++;
        return RUNNEL_ERR_INVAL;
    }
    if (is_bad(eb, block)) {
        eb->mut_ops++;
        eb->bad_block_errors++;
        return RUNNEL_ERR_IO;
    }
    if (op_is_cut(eb)) {
        cut_erase(eb, block_ptr(eb, block));
        eb->cut = true;
        return RUNNEL_ERR_IO;
    }
    memset(block_ptr(eb, block), eb->geometry.erase_value, eb->geometry.block_size);
    eb->erases++;
    if (eb->erase_counts)
        eb->erase_counts[block]++;
    return 0;
}

static int emu_sync(void *ctx)
{
    runnel_emu_bd_t *eb = (runnel_emu_bd_t *)ctx;
    if (eb->cut) {
        eb->dead_calls++;
        return RUNNEL_ERR_IO;
    }
    eb->sync_calls++;
    return 0;
}

int runnel_emu_bd_init(runnel_emu_bd_t *eb, runnel_bd_t *out, const runnel_bd_geometry_t *g,
                       uint8_t *storage, uint32_t *erase_counts, uint32_t seed)
{
    size_t bytes;

    if (eb == NULL || out == NULL || g == NULL || storage == NULL)
        return RUNNEL_ERR_INVAL;
    if (g->read_size == 0 || g->prog_size == 0 || g->block_size == 0 || g->block_count == 0)
        return RUNNEL_ERR_INVAL;
    if (g->block_size % g->read_size != 0 || g->block_size % g->prog_size != 0)
        return RUNNEL_ERR_INVAL;
    bytes = runnel_emu_bd_storage_size(g);
    if (bytes == 0)
        return RUNNEL_ERR_INVAL;

    memset(eb, 0, sizeof *eb);
    eb->geometry = *g;
    eb->storage = storage;
    eb->erase_counts = erase_counts;
    runnel_emu_bd_seed(eb, seed);
    memset(storage, g->erase_value, bytes);
    if (erase_counts)
        memset(erase_counts, 0, sizeof *erase_counts * g->block_count);

    memset(out, 0, sizeof *out);
    out->ctx = eb;
    out->geometry = *g;
    out->read = emu_read;
    out->prog = emu_prog;
    out->erase = emu_erase;
    out->sync = emu_sync;
    return 0;
}

void runnel_emu_bd_schedule_cut(runnel_emu_bd_t *eb, uint64_t nth, runnel_emu_cut_model_t model)
{
    eb->cut_at = nth ? eb->mut_ops + nth : 0;
    eb->cut_model = model;
}

bool runnel_emu_bd_cut_happened(const runnel_emu_bd_t *eb)
{
    return eb->cut;
}

void runnel_emu_bd_power_on(runnel_emu_bd_t *eb)
{
    eb->cut = false;
    eb->cut_at = 0;
}

int runnel_emu_bd_snapshot(const runnel_emu_bd_t *eb, uint8_t *buf, size_t cap)
{
    size_t bytes = runnel_emu_bd_storage_size(&eb->geometry);
    if (buf == NULL || cap < bytes)
        return RUNNEL_ERR_INVAL;
    memcpy(buf, eb->storage, bytes);
    return 0;
}

int runnel_emu_bd_restore(runnel_emu_bd_t *eb, const uint8_t *buf, size_t len)
{
    size_t bytes = runnel_emu_bd_storage_size(&eb->geometry);
    if (buf == NULL || len != bytes)
        return RUNNEL_ERR_INVAL;
    memcpy(eb->storage, buf, bytes);
    return 0;
}

void runnel_emu_bd_set_read_flips(runnel_emu_bd_t *eb, uint32_t rate)
{
    eb->flip_rate = rate;
}

void runnel_emu_bd_set_bad_blocks(runnel_emu_bd_t *eb, const uint32_t *blocks, uint32_t n)
{
    eb->bad_blocks = n ? blocks : NULL;
    eb->bad_count = blocks ? n : 0;
}

void runnel_emu_bd_reset_counters(runnel_emu_bd_t *eb)
{
    eb->read_calls = eb->bytes_read = 0;
    eb->prog_calls = eb->bytes_programmed = 0;
    eb->erases = eb->sync_calls = 0;
    eb->prog_violations = eb->reprograms = eb->rejected_calls = 0;
    eb->bad_block_errors = eb->dead_calls = eb->bit_flips = 0;
    eb->torn_bytes = 0;
}

uint8_t *runnel_emu_bd_data(runnel_emu_bd_t *eb, uint32_t block, uint32_t off)
{
    if (block >= eb->geometry.block_count || off >= eb->geometry.block_size)
        return NULL;
    return block_ptr(eb, block) + off;
}

const char *runnel_emu_cut_model_name(runnel_emu_cut_model_t model)
{
    switch (model) {
    case RUNNEL_EMU_CUT_ATOMIC: return "ATOMIC";
    case RUNNEL_EMU_CUT_TORN_PREFIX: return "TORN_PREFIX";
    case RUNNEL_EMU_CUT_TORN_BITS: return "TORN_BITS";
    case RUNNEL_EMU_CUT_INTERRUPTED_ERASE: return "INTERRUPTED_ERASE";
    }
    return "?";
}
