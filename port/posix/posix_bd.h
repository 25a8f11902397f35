/*
 * posix_bd.h - a runnel block device over one regular file (runneld on Linux).
 *
 * This file owns the file-backed device: how a store file is created, sized,
 * locked and opened, how read/prog/erase/sync map onto pread/pwrite/
 * fdatasync, and how an OS failure is reported to the operator.
 *
 * The file emulates NOR flash: it is block_size * block_count bytes, block b
 * starts at byte b * block_size, and "erased" means every byte is 0xFF
 * (RUNNEL_POSIX_BD_ERASE_VALUE). A new file is filled with 0xFF when it is
 * created, so it reads as erased everywhere before the core formats it.
 *
 * Creation is crash-safe: the file is built as "<path>.tmp", filled, synced
 * and only then linked to <path> (and the directory synced), so <path> never
 * exists half-filled. A stale .tmp left by a crash is simply rebuilt.
 *
 * One process at a time: open takes an exclusive, non-blocking flock() on the
 * file. A second opener (another process, or a second open in this process:
 * flock locks belong to the open file description) fails with reason
 * RUNNEL_POSIX_BD_FAIL_LOCKED. The lock goes away with close or process exit
 * (also kill -9); a forked child that keeps the descriptor keeps the lock,
 * which is why the descriptor is O_CLOEXEC.
 *
 * The port contract is checked as port/ram checks it: a read or program
 * outside one block, or not aligned to read_size / prog_size, returns
 * RUNNEL_ERR_INVAL and is counted in rejected_calls. An OS failure (EIO,
 * ENOSPC, EFBIG, ...) on the hot path returns RUNNEL_ERR_IO (not NOSPC: to
 * the core NOSPC means "ring full, nothing written", and a failed pwrite may
 * have written part of its range); the errno and the failing call are kept
 * for the caller's message (runnel_posix_bd_last_errno, _describe).
 *
 * Durability: prog is a pwrite into the page cache; sync is fdatasync (fsync
 * where fdatasync is missing). Only sync makes programs durable, which is
 * the contract in runnel_port.h. No mmap, no O_DIRECT.
 *
 * No allocation: the caller owns the struct; erase writes from a fill buffer
 * inside it. One device is used by one thread at a time (the core serialises
 * its calls).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#ifndef RUNNEL_POSIX_BD_H
#define RUNNEL_POSIX_BD_H

#include <stddef.h>
#include <stdint.h>

#include "runnel_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every byte of an erased block. Fixed: the file stands in for NOR flash. */
#define RUNNEL_POSIX_BD_ERASE_VALUE 0xFFu

/* ---- open flags ---- */
/* Create the file (filled with 0xFF) when it does not exist. Without it a
 * missing file is an error (reason FAIL_OS, errno ENOENT). */
#define RUNNEL_POSIX_BD_CREATE 0x1u
/* An existing file of another size is made to fit: grown (the new blocks are
 * filled with 0xFF, the old bytes untouched) or truncated (the blocks past
 * the new end are lost). Without it a size mismatch is refused and the file
 * is left exactly as it was: a store is never truncated by accident. */
#define RUNNEL_POSIX_BD_RESIZE 0x2u
/* Behave like strict flash, as port/ram does: a program over any byte that
 * is not 0xFF is refused whole (RUNNEL_ERR_IO, reason FAIL_NOT_ERASED,
 * counted in prog_violations). Costs one pread per program; for tests and
 * for running a new core against a real file. Without it the device
 * advertises RUNNEL_BD_REPROGRAMMABLE (a file can be rewritten in place). */
#define RUNNEL_POSIX_BD_STRICT 0x4u

/* Bytes in the erase fill buffer (erase = block_size / this pwrites,
 * batched into one pwritev per 64 chunks). */
#define RUNNEL_POSIX_BD_FILL_SIZE 4096u

/* Why the last failing call failed (runnel_posix_bd_reason). */
typedef enum runnel_posix_bd_fail {
    RUNNEL_POSIX_BD_FAIL_NONE = 0,
    /* Bad arguments or geometry (RUNNEL_ERR_INVAL). */
    RUNNEL_POSIX_BD_FAIL_CONFIG,
    /* Another open file description holds the lock: another process runs
     * on this store, or it is open twice here (RUNNEL_ERR_IO, errno
     * EWOULDBLOCK). */
    RUNNEL_POSIX_BD_FAIL_LOCKED,
    /* The file exists with a size other than block_size * block_count and
     * RUNNEL_POSIX_BD_RESIZE was not given; nothing was changed
     * (RUNNEL_ERR_EXIST; found_size says what is there). */
    RUNNEL_POSIX_BD_FAIL_SIZE,
    /* The path is not a regular file (RUNNEL_ERR_INVAL). */
    RUNNEL_POSIX_BD_FAIL_NOT_FILE,
    /* No room to create or grow the file: ENOSPC, EDQUOT or EFBIG
     * (RUNNEL_ERR_NOSPC from open; nothing is left behind). */
    RUNNEL_POSIX_BD_FAIL_NOSPC,
    /* Any other system call failure: see last_errno and last_op
     * (RUNNEL_ERR_IO). Also ENOSPC/EFBIG met by prog or erase. */
    RUNNEL_POSIX_BD_FAIL_OS,
    /* A read or prog broke the port contract: bounds, alignment, NULL
     * buffer, or the device is not open (RUNNEL_ERR_INVAL). */
    RUNNEL_POSIX_BD_FAIL_CONTRACT,
    /* STRICT: a program over bytes that are not erased (RUNNEL_ERR_IO). */
    RUNNEL_POSIX_BD_FAIL_NOT_ERASED
} runnel_posix_bd_fail_t;

typedef struct runnel_posix_bd_config {
    /* Erase block size in bytes: non-zero, a multiple of read_size and of
     * prog_size. What the core's log calls a block; 4 KiB..1 MiB is sane on
     * a file (the page cache works in 4 KiB pages). */
    uint32_t block_size;
    /* Number of blocks; the file is block_size * block_count bytes. */
    uint32_t block_count;
    /* Read unit; 0 means 1 (a file reads any byte range). */
    uint32_t read_size;
    /* Program unit; 0 means 1 (a file writes any byte range). Set it to a
     * real part's page or ECC word to test the core against that part. */
    uint32_t prog_size;
    /* Permission bits of a created file; 0 means 0600 (the store holds the
     * application's data, readable by its owner only). */
    uint32_t mode;
} runnel_posix_bd_config_t;

typedef struct runnel_posix_bd {
    /* The device to hand to the core (runnel_config's bd): its ctx points
     * back to this struct. Usable after a successful open; after a failed
     * open or a close its calls return RUNNEL_ERR_INVAL. */
    runnel_bd_t dev;

    int fd;                    /* -1 when not open */
    uint32_t open_flags;       /* RUNNEL_POSIX_BD_* given to open */
    uint64_t size;             /* block_size * block_count */

    /* Counters since open (or runnel_posix_bd_reset_counters), for INFO. */
    uint64_t read_calls, bytes_read;
    uint64_t prog_calls, bytes_programmed;
    uint64_t erases;           /* erase calls that succeeded */
    uint64_t sync_calls;       /* syncs that succeeded */
    uint64_t os_errors;        /* calls that failed in the OS */
    uint64_t rejected_calls;   /* calls refused with INVAL (contract) */
    uint64_t prog_violations;  /* STRICT: programs refused over non-erased bytes */

    /* Set when fdatasync failed once: Linux may drop the dirty pages it
     * could not write and report success to a later fsync ("fsyncgate"),
     * so every later sync fails too rather than claim durability. */
    uint8_t sync_failed;

    /* Last failure (kept until the next failure; open clears it). */
    runnel_posix_bd_fail_t reason;
    int last_errno;            /* errno of the failing call, 0 if none */
    const char *last_op;       /* the failing call, e.g. "pwrite", or NULL */
    uint64_t found_size;       /* FAIL_SIZE: the size of the file found */

    /* 0xFF bytes that erase and creation write from (no allocation). */
    uint8_t fill[RUNNEL_POSIX_BD_FILL_SIZE];
} runnel_posix_bd_t;

/* Opens (and with RUNNEL_POSIX_BD_CREATE creates) the store file at `path`,
 * locks it, checks its size against cfg and fills bd->dev. `flags` is a set
 * of RUNNEL_POSIX_BD_*. On failure bd is left closed (fd -1) with reason,
 * last_errno and last_op set, and the file is as it was (a file this call
 * was creating is removed unless it was already complete and linked, and a
 * failed grow is truncated back). Returns 0, or
 *   RUNNEL_ERR_INVAL   bad arguments/geometry, or the path is not a file
 *   RUNNEL_ERR_EXIST   the file has another size (FAIL_SIZE)
 *   RUNNEL_ERR_NOSPC   no room to create or grow it (FAIL_NOSPC)
 *   RUNNEL_ERR_IO      locked by another opener (FAIL_LOCKED) or any other
 *                      OS failure (FAIL_OS; ENOENT without CREATE). */
int runnel_posix_bd_open(runnel_posix_bd_t *bd, const char *path,
                         const runnel_posix_bd_config_t *cfg, uint32_t flags);

/* Releases the lock and the descriptor. Does not sync (commit is the
 * core's decision). Safe on a closed or never-opened-successfully device.
 * Returns 0, or RUNNEL_ERR_IO if close() reported an error (the lock is
 * released regardless). */
int runnel_posix_bd_close(runnel_posix_bd_t *bd);

/* errno of the last failure, 0 when the last failure was not an OS one. */
int runnel_posix_bd_last_errno(const runnel_posix_bd_t *bd);

/* Why the last failure happened. */
runnel_posix_bd_fail_t runnel_posix_bd_reason(const runnel_posix_bd_t *bd);

/* Writes a one-line operator message for the last failure into buf
 * (NUL-terminated, truncated to cap), e.g.
 *   "store file is locked: another process (or another open in this one)
 *    is using it (flock: Resource temporarily unavailable)"
 *   "store file is 1048576 bytes, the configuration needs 2097152 (refusing
 *    to change it; resize explicitly)"
 * Returns the length the full text needs, like snprintf. */
size_t runnel_posix_bd_describe(const runnel_posix_bd_t *bd, char *buf, size_t cap);

/* Zeroes the counters (not the last-failure record). */
void runnel_posix_bd_reset_counters(runnel_posix_bd_t *bd);

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_POSIX_BD_H */
