/*
 * emu_bd.h - an emulated flash for power-cut and fault testing.
 *
 * What it owns: a block device over a caller-provided RAM image that obeys
 * the same contract as port/ram (alignment, bounds, program-once unless
 * RUNNEL_BD_REPROGRAMMABLE) and adds the faults a storage layer must
 * survive:
 *
 *   - power cuts: "power goes during the N-th mutating operation" (program
 *     or erase, counted from when the cut is scheduled). What the N-th
 *     operation leaves behind depends on the cut model (below). From then
 *     on every call (read, program, erase, sync) returns RUNNEL_ERR_IO and
 *     changes nothing, until runnel_emu_bd_power_on() "reboots" the device:
 *     the image then holds exactly what a real chip would show after the
 *     brown-out;
 *   - snapshot / restore of the whole image into caller buffers, so a test
 *     can replay a workload from a known point (littlefs's emubd and
 *     SQLite's test6.c crash simulation do the same job with a heap);
 *   - bit flips on read (transient, the image is not changed) at a rate,
 *     and bad blocks (program/erase of a listed block fails with IO);
 *   - counters of everything asked of it.
 *
 * Randomness (which prefix lands, which bits land, where flips go) comes
 * from a xorshift32 generator whose state lives in the struct, seeded by
 * the caller: the same seed and the same sequence of calls give the same
 * image, on every host and on the Cortex-M boards.
 *
 * Only <string.h>/<stdint.h>-level C: no malloc, no stdio, no globals.
 */
#ifndef RUNNEL_EMU_BD_H
#define RUNNEL_EMU_BD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "runnel_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the operation during which power goes leaves on flash. */
typedef enum runnel_emu_cut_model {
    /* The operation completes, then power goes. */
    RUNNEL_EMU_CUT_ATOMIC = 0,
    /* Program: a random prefix of the bytes lands (0 .. size-1 bytes), the
     * rest of the range is untouched. Erase: a random prefix of the block
     * (0 .. block_size-1 bytes) is erased, the rest keeps its old bytes. */
    RUNNEL_EMU_CUT_TORN_PREFIX = 1,
    /* Program: every bit that the program would move away from the erased
     * state moves with probability 1/2 (NOR, erase 0xFF: some 1->0
     * transitions land; erase 0x00: some 0->1 transitions land). Erase:
     * every bit not yet in the erased state reaches it with probability 1/2. */
    RUNNEL_EMU_CUT_TORN_BITS = 2,
    /* Erase: each byte of the block is either erased or keeps its old value
     * (probability 1/2 each), as an erase interrupted part way through
     * sectors or rows. Program: power goes just before the operation, so
     * nothing of it lands. */
    RUNNEL_EMU_CUT_INTERRUPTED_ERASE = 3
} runnel_emu_cut_model_t;

#define RUNNEL_EMU_CUT_MODELS 4

typedef struct runnel_emu_bd {
    runnel_bd_geometry_t geometry;
    uint8_t *storage;          /* block b starts at storage + b * block_size */
    uint32_t *erase_counts;    /* per-block erases, or NULL */
    uint32_t rng;              /* xorshift32 state, never 0 */

    /* Power cut. */
    uint64_t mut_ops;          /* program + erase operations that reached the
                                * device (passed the contract checks) */
    uint64_t cut_at;           /* power goes during mutating op number
                                * cut_at (compared with mut_ops); 0 = none */
    runnel_emu_cut_model_t cut_model;
    bool cut;                  /* power has gone; every call fails */

    /* Faults. */
    uint32_t flip_rate;        /* per byte read: P(flip one bit) = rate/2^32 */
    const uint32_t *bad_blocks;
    uint32_t bad_count;

    /* Counters since init (or runnel_emu_bd_reset_counters). */
    uint64_t read_calls, bytes_read;
    uint64_t prog_calls, bytes_programmed; /* completed programs */
    uint64_t erases;           /* completed erases */
    uint64_t sync_calls;
    uint64_t prog_violations;  /* refused programs over non-erased bytes */
    uint64_t reprograms;       /* allowed ones (RUNNEL_BD_REPROGRAMMABLE) */
    uint64_t rejected_calls;   /* refused with INVAL (bounds/alignment) */
    uint64_t bad_block_errors; /* program/erase refused on a bad block */
    uint64_t dead_calls;       /* calls refused because power is gone */
    uint64_t bit_flips;        /* bits flipped in data returned by reads */
    uint32_t torn_bytes;       /* bytes the cut op changed (information) */
} runnel_emu_bd_t;

/* Bytes of storage (and of a snapshot) a geometry needs; 0 on overflow. */
size_t runnel_emu_bd_storage_size(const runnel_bd_geometry_t *g);

/* Checks the geometry (as runnel_ram_bd_init), erases the image to
 * g->erase_value (not counted), zeroes counters and erase_counts, seeds
 * the generator (seed 0 is replaced by a fixed non-zero value), schedules
 * no cut, no flips, no bad blocks, and fills *out (out->ctx = eb).
 * RUNNEL_ERR_INVAL on a bad geometry or NULL arguments. */
int runnel_emu_bd_init(runnel_emu_bd_t *eb, runnel_bd_t *out, const runnel_bd_geometry_t *g,
                       uint8_t *storage, uint32_t *erase_counts, uint32_t seed);

/* Re-seeds the generator (0 -> fixed non-zero value). */
void runnel_emu_bd_seed(runnel_emu_bd_t *eb, uint32_t seed);

/* Next value of the generator (tests may draw from it too). */
uint32_t runnel_emu_bd_rand(runnel_emu_bd_t *eb);

/* Power goes during the `nth` mutating operation from now (1 = the next
 * program or erase), with the given model. nth == 0 cancels. */
void runnel_emu_bd_schedule_cut(runnel_emu_bd_t *eb, uint64_t nth, runnel_emu_cut_model_t model);

/* True once power has gone. */
bool runnel_emu_bd_cut_happened(const runnel_emu_bd_t *eb);

/* Power comes back: calls work again on the image as the cut left it; any
 * schedule is cancelled. */
void runnel_emu_bd_power_on(runnel_emu_bd_t *eb);

/* Copies the whole image to buf (cap >= storage size) / back from it
 * (len == storage size). INVAL otherwise. Counters, schedule and the
 * generator are not part of the image. */
int runnel_emu_bd_snapshot(const runnel_emu_bd_t *eb, uint8_t *buf, size_t cap);
int runnel_emu_bd_restore(runnel_emu_bd_t *eb, const uint8_t *buf, size_t len);

/* Each byte returned by a read gets one random bit flipped with
 * probability rate / 2^32 (0 = off). The image itself is not changed. */
void runnel_emu_bd_set_read_flips(runnel_emu_bd_t *eb, uint32_t rate);

/* Blocks whose program and erase fail with RUNNEL_ERR_IO (reads work).
 * The array is the caller's and must outlive its use; NULL/0 clears. */
void runnel_emu_bd_set_bad_blocks(runnel_emu_bd_t *eb, const uint32_t *blocks, uint32_t n);

/* Zeroes the counters (not mut_ops' schedule, not erase_counts, not data). */
void runnel_emu_bd_reset_counters(runnel_emu_bd_t *eb);

/* Direct pointer to byte `off` of block `block`, or NULL when out of range. */
uint8_t *runnel_emu_bd_data(runnel_emu_bd_t *eb, uint32_t block, uint32_t off);

/* "ATOMIC", "TORN_PREFIX", "TORN_BITS", "INTERRUPTED_ERASE" or "?". */
const char *runnel_emu_cut_model_name(runnel_emu_cut_model_t model);

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_EMU_BD_H */
