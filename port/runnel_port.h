/*
 * runnel_port.h - the contract between the runnel core and the platform.
 *
 * The core never touches hardware, an OS or a heap. Everything it needs from
 * the outside world arrives through the tables below, each a set of function
 * pointers plus an opaque context pointer (the shape of SQLite's
 * sqlite3_io_methods and littlefs's struct lfs_config):
 *
 *   - runnel_bd_t     a block device: read / program / erase / sync + geometry.
 *                     NOR flash, RAM (port/ram), a fault-injecting emulator
 *                     (port/emu) or a file (port/posix) all look alike.
 *   - runnel_clock_t  milliseconds, wall clock when the device has one.
 *   - runnel_lock_t   optional mutual exclusion around every public call.
 *   - runnel_net_t    one non-blocking byte stream to the upstream (the
 *                     forwarder, core/sync.h): sockets (port/posix), lwIP,
 *                     a modem, or TLS behind the same four calls.
 *
 * Return values follow the library convention: 0 is success, a negative
 * RUNNEL_ERR_* code is an error (the codes live in core/runnel_err.h so a port
 * can return them without pulling in the whole library header).
 *
 * Contract a block device must honour (the core relies on it, the RAM port
 * enforces it so tests catch violations):
 *   - read(block, off, buf, n):  off and n are multiples of read_size.
 *   - prog(block, off, buf, n):  off and n are multiples of prog_size; every
 *     byte being programmed is in the erased state unless flags say the device
 *     allows reprogramming. Programming never spans two blocks.
 *   - erase(block):              every byte of the block reads as erase_value.
 *   - sync():                    everything programmed before it is durable.
 */
#ifndef RUNNEL_PORT_H
#define RUNNEL_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "runnel_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device may program an already-programmed location again (e.g. RAM, some
 * MRAM/FRAM). The core never relies on it; it only relaxes the RAM port. */
#define RUNNEL_BD_REPROGRAMMABLE 0x1u

typedef struct runnel_bd_geometry {
    /* Smallest unit the device reads; offsets and lengths of reads are
     * multiples of it. 1 for memory-mapped NOR. */
    uint32_t read_size;
    /* Smallest unit the device programs (1 for byte-writable NOR, 16 for ECC
     * flash with 128-bit words, 256 for page-programmed devices). Every
     * program operation is aligned to and a multiple of it. */
    uint32_t prog_size;
    /* Erase block size in bytes: the unit of erase, a multiple of prog_size. */
    uint32_t block_size;
    /* Number of erase blocks the store may use (at least 4). */
    uint32_t block_count;
    /* Value every byte has after erase: 0xFF for NOR, 0x00 for some others. */
    uint8_t erase_value;
    /* RUNNEL_BD_* flags. */
    uint32_t flags;
} runnel_bd_geometry_t;

typedef struct runnel_bd {
    /* Opaque pointer handed back to every call. */
    void *ctx;
    runnel_bd_geometry_t geometry;
    int (*read)(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size);
    int (*prog)(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size);
    int (*erase)(void *ctx, uint32_t block);
    /* May be NULL when programming is synchronous and durable. */
    int (*sync)(void *ctx);
} runnel_bd_t;

typedef struct runnel_clock {
    void *ctx;
    /* Milliseconds. Wall clock (unix epoch) when the device has one, else a
     * monotonic count since boot. The core tolerates it standing still or
     * going backwards: stream IDs stay monotonic regardless. */
    uint64_t (*now_ms)(void *ctx);
} runnel_clock_t;

typedef struct runnel_lock {
    void *ctx;
    /* Both may be NULL: the caller then serialises access itself. */
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
} runnel_lock_t;

/*
 * One outgoing connection, non-blocking (the upstream forwarder's link).
 * Nothing here may block: a call that would wait returns RUNNEL_ERR_AGAIN
 * and the forwarder calls again from a later poll. A TLS transport fits
 * behind the same table (its handshake is part of "connect in progress").
 *
 *   connect(host, port)  starts a connection, or reports how the one in
 *       progress is doing when called again with the same arguments:
 *       0 connected, RUNNEL_ERR_AGAIN still in progress, RUNNEL_ERR_IO
 *       failed (refused, unreachable, name not resolved), RUNNEL_ERR_INVAL
 *       bad arguments. host is a name or a numeric IPv4/IPv6 address,
 *       NUL-terminated. A failed connect needs no close.
 *   send(buf, n)  > 0 bytes taken (may be fewer than n), AGAIN when the
 *       link takes nothing now, IO when the connection is broken.
 *   recv(buf, cap)  > 0 bytes read, AGAIN when nothing is waiting, IO when
 *       the peer closed the connection or it broke.
 *   close()  drops the connection (any state); harmless when closed.
 *   strerror()  optional (may be NULL): text of the last failure, for the
 *       forwarder's last-error report ("connection refused").
 */
typedef struct runnel_net {
    void *ctx;
    int (*connect)(void *ctx, const char *host, uint16_t port);
    int (*send)(void *ctx, const void *buf, size_t n);
    int (*recv)(void *ctx, void *buf, size_t cap);
    void (*close)(void *ctx);
    const char *(*strerror)(void *ctx);
} runnel_net_t;

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_PORT_H */
