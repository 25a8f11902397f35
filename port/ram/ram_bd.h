/*
 * ram_bd.h - a block device in RAM that behaves like strict NOR flash.
 *
 * Used by RAM-only stores and by every test. It enforces the contract in
 * runnel_port.h instead of merely tolerating it, so a core bug that would
 * only show on real flash shows here:
 *   - reads must be aligned to read_size, programs to prog_size, and stay
 *     inside one block                                    -> RUNNEL_ERR_INVAL
 *   - programming a byte that is not in the erased state  -> RUNNEL_ERR_IO,
 *     nothing is written, and prog_violations counts it (tests assert it
 *     stays 0), unless geometry.flags has RUNNEL_BD_REPROGRAMMABLE, in which
 *     case the bytes are simply overwritten and `reprograms` counts it.
 * It also counts what the core asks of the device (bytes read, bytes
 * programmed, calls, erases per block = wear, syncs) so tests and benchmarks
 * can measure write amplification and wear levelling.
 *
 * No allocation: the caller provides the storage (block_size * block_count
 * bytes, see runnel_ram_bd_storage_size) and an erase-count array of
 * block_count entries (may be NULL when wear is not of interest).
 */
#ifndef RUNNEL_RAM_BD_H
#define RUNNEL_RAM_BD_H

#include <stddef.h>
#include <stdint.h>

#include "runnel_port.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct runnel_ram_bd {
    runnel_bd_geometry_t geometry;
    uint8_t *storage;          /* block b starts at storage + b * block_size */
    uint32_t *erase_counts;    /* per-block erases since init, or NULL */

    /* Counters since init (or runnel_ram_bd_reset_counters). */
    uint64_t read_calls, bytes_read;
    uint64_t prog_calls, bytes_programmed;
    uint64_t erases;           /* total erase calls that succeeded */
    uint64_t sync_calls;
    uint64_t prog_violations;  /* refused programs over non-erased bytes */
    uint64_t reprograms;       /* allowed ones (RUNNEL_BD_REPROGRAMMABLE) */
    uint64_t rejected_calls;   /* calls refused with INVAL (bad bounds/alignment) */
} runnel_ram_bd_t;

/* Bytes of storage a geometry needs (0 if the product overflows size_t). */
size_t runnel_ram_bd_storage_size(const runnel_bd_geometry_t *g);

/* Checks the geometry (read_size, prog_size > 0; block_size a non-zero
 * multiple of both; block_count > 0), erases the whole storage to
 * g->erase_value (not counted as wear), zeroes erase_counts and every
 * counter, and fills *out with the device (out->ctx = rb).
 * RUNNEL_ERR_INVAL on a bad geometry or NULL arguments. */
int runnel_ram_bd_init(runnel_ram_bd_t *rb, runnel_bd_t *out, const runnel_bd_geometry_t *g,
                       uint8_t *storage, uint32_t *erase_counts);

/* Zeroes the counters (not erase_counts, not the data). */
void runnel_ram_bd_reset_counters(runnel_ram_bd_t *rb);

/* Smallest and largest per-block erase count (both 0 without an array). */
void runnel_ram_bd_wear(const runnel_ram_bd_t *rb, uint32_t *min, uint32_t *max);

/* Direct pointer to byte `off` of block `block` (tests corrupt or inspect
 * flash through it), or NULL when out of range. */
uint8_t *runnel_ram_bd_data(runnel_ram_bd_t *rb, uint32_t block, uint32_t off);

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_RAM_BD_H */
