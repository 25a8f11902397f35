/*
 * posix_bd.c - the file-backed block device (see posix_bd.h for the rules).
 *
 * This file owns every system call the device makes: creating, locking,
 * sizing and filling the store file at open, and pread / pwrite(v) /
 * fdatasync behind read / prog / erase / sync. Nothing here allocates.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
/* Feature macros for this file only: POSIX 2008 (pread, pwrite, fdatasync,
 * posix_fallocate), flock and pwritev (BSD/Linux, _DEFAULT_SOURCE), and a
 * 64-bit off_t on 32-bit Linux (armhf, mips) so a store may pass 2 GiB. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix_bd.h"

_Static_assert(sizeof(off_t) >= 8, "posix_bd needs a 64-bit off_t (_FILE_OFFSET_BITS=64)");

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Chunks of the fill buffer per pwritev: 64 x 4 KiB = 256 KiB per call, so
 * erasing a 64 KiB block is one system call and filling 64 MiB is 256. */
#define FILL_IOVS 64

#define KNOWN_FLAGS (RUNNEL_POSIX_BD_CREATE | RUNNEL_POSIX_BD_RESIZE | RUNNEL_POSIX_BD_STRICT)

/* Returned internally by create_store when <path> appeared meanwhile. */
#define RETRY_OPEN 1

/* ---- failure record ---- */

static int fail(runnel_posix_bd_t *bd, runnel_posix_bd_fail_t reason, const char *op, int err, int code)
{
    bd->reason = reason;
    bd->last_op = op;
    bd->last_errno = err;
    return code;
}

static int is_space_error(int err)
{
#ifdef EDQUOT
    if (err == EDQUOT)
        return 1;
#endif
    return err == ENOSPC || err == EFBIG;
}

/* An OS error. Space errors get their own reason at open (where they mean
 * "the store does not fit"); on the hot path they are plain I/O errors. */
static int os_fail(runnel_posix_bd_t *bd, const char *op, int err, int at_open)
{
    bd->os_errors++;
    if (at_open && is_space_error(err))
        return fail(bd, RUNNEL_POSIX_BD_FAIL_NOSPC, op, err, RUNNEL_ERR_NOSPC);
    return fail(bd, RUNNEL_POSIX_BD_FAIL_OS, op, err, RUNNEL_ERR_IO);
}

/* ---- whole transfers ---- */

/* pwrite until all n bytes are written: a signal (EINTR) or a short write
 * (a file size limit, a nearly full disk) is not the end of the story, the
 * next call either writes more or says why it cannot. Returns 0 or errno. */
static int write_all(int fd, const uint8_t *buf, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, buf, n, at);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (w == 0)
            return EIO; /* no progress and no reason: do not spin */
        buf += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

/* pread until all n bytes are read. End of file before n bytes means the
 * file shrank under us (the store is always full-size): returns -1 so the
 * caller can say so, since there is no errno for it. */
static int read_all(int fd, uint8_t *buf, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, at);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return -1;
        buf += r;
        n -= (size_t)r;
        at += r;
    }
    return 0;
}

/* Writes n erase-value bytes at `at` from the struct's fill buffer: the
 * same 4 KiB chunk repeated in an iovec, so no buffer the size of a block
 * is needed and a block is still one system call. A partial write just
 * resumes further on, since every chunk holds the same bytes. */
static int fill_range(runnel_posix_bd_t *bd, int fd, off_t at, uint64_t n)
{
    while (n > 0) {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__)
        struct iovec iov[FILL_IOVS];
        int cnt = 0;
        uint64_t want = 0;
        ssize_t w;

        while (cnt < FILL_IOVS && want < n) {
            uint64_t part = n - want < sizeof bd->fill ? n - want : sizeof bd->fill;
            iov[cnt].iov_base = bd->fill;
            iov[cnt].iov_len = (size_t)part;
            want += part;
            cnt++;
        }
        w = pwritev(fd, iov, cnt, at);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (w == 0)
            return EIO;
        at += w;
        n -= (uint64_t)w;
#else
        size_t part = n < sizeof bd->fill ? (size_t)n : sizeof bd->fill;
        int err = write_all(fd, bd->fill, part, at);
        if (err)
            return err;
        at += (off_t)part;
        n -= part;
#endif
    }
    return 0;
}

/* fdatasync writes the data and the metadata needed to read it back (the
 * size), not timestamps: all a store needs. fsync where it is missing. */
static int data_sync(int fd)
{
    int rc;
    do {
#if defined(_POSIX_SYNCHRONIZED_IO) && _POSIX_SYNCHRONIZED_IO > 0
        rc = fdatasync(fd);
#else
        rc = fsync(fd);
#endif
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : errno;
}

static off_t block_offset(const runnel_posix_bd_t *bd, uint32_t block, uint32_t off)
{
    return (off_t)((uint64_t)block * bd->dev.geometry.block_size + off);
}

/* ---- the device ---- */

/* Bounds and alignment shared by read and prog, as in port/ram: the range
 * sits inside one block and starts and ends on a multiple of the unit.
 * Overflow-proof (off + size is never computed). */
static int check_range(runnel_posix_bd_t *bd, uint32_t block, uint32_t off, const void *buf,
                       uint32_t size, uint32_t unit)
{
    const runnel_bd_geometry_t *g = &bd->dev.geometry;
    if (bd->fd < 0 || block >= g->block_count || off > g->block_size || size > g->block_size - off ||
        off % unit != 0 || size % unit != 0 || (buf == NULL && size != 0)) {
        bd->rejected_calls++;
        return fail(bd, RUNNEL_POSIX_BD_FAIL_CONTRACT, "contract check", 0, RUNNEL_ERR_INVAL);
    }
    return 0;
}

static int posix_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    runnel_posix_bd_t *bd = (runnel_posix_bd_t *)ctx;
    int err = check_range(bd, block, off, buf, size, bd->dev.geometry.read_size);
    if (err)
        return err;
    err = read_all(bd->fd, (uint8_t *)buf, size, block_offset(bd, block, off));
    if (err < 0)
        return os_fail(bd, "pread (end of file: the store file is shorter than configured)", 0, 0);
    if (err)
        return os_fail(bd, "pread", err, 0);
    bd->read_calls++;
    bd->bytes_read += size;
    return 0;
}

/* STRICT: every byte about to be programmed must read 0xFF, like flash
 * that can only clear bits. Checked in small stack chunks (no allocation,
 * no second buffer in the struct). */
static int check_erased(runnel_posix_bd_t *bd, off_t at, uint32_t size)
{
    uint8_t chunk[512];
    while (size > 0) {
        uint32_t part = size < sizeof chunk ? size : (uint32_t)sizeof chunk;
        uint32_t i;
        int err = read_all(bd->fd, chunk, part, at);
        if (err < 0)
            return os_fail(bd, "pread (end of file: the store file is shorter than configured)", 0, 0);
        if (err)
            return os_fail(bd, "pread", err, 0);
        for (i = 0; i < part; i++) {
            if (chunk[i] != RUNNEL_POSIX_BD_ERASE_VALUE) {
                bd->prog_violations++;
                return fail(bd, RUNNEL_POSIX_BD_FAIL_NOT_ERASED, "prog over non-erased bytes", 0,
                            RUNNEL_ERR_IO);
            }
        }
        at += part;
        size -= part;
    }
    return 0;
}

static int posix_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size)
{
    runnel_posix_bd_t *bd = (runnel_posix_bd_t *)ctx;
    off_t at;
    int err = check_range(bd, block, off, buf, size, bd->dev.geometry.prog_size);
    if (err)
        return err;
    at = block_offset(bd, block, off);
    if (bd->open_flags & RUNNEL_POSIX_BD_STRICT) {
        err = check_erased(bd, at, size);
        if (err)
            return err;
    }
    err = write_all(bd->fd, (const uint8_t *)buf, size, at);
    if (err)
        return os_fail(bd, "pwrite", err, 0);
    bd->prog_calls++;
    bd->bytes_programmed += size;
    return 0;
}

static int posix_erase(void *ctx, uint32_t block)
{
    runnel_posix_bd_t *bd = (runnel_posix_bd_t *)ctx;
    int err;
    if (bd->fd < 0 || block >= bd->dev.geometry.block_count) {
        bd->rejected_calls++;
        return fail(bd, RUNNEL_POSIX_BD_FAIL_CONTRACT, "contract check", 0, RUNNEL_ERR_INVAL);
    }
    err = fill_range(bd, bd->fd, block_offset(bd, block, 0), bd->dev.geometry.block_size);
    if (err)
        return os_fail(bd, "pwrite (erase)", err, 0);
    bd->erases++;
    return 0;
}

static int posix_sync(void *ctx)
{
    runnel_posix_bd_t *bd = (runnel_posix_bd_t *)ctx;
    int err;
    if (bd->fd < 0) {
        bd->rejected_calls++;
        return fail(bd, RUNNEL_POSIX_BD_FAIL_CONTRACT, "contract check", 0, RUNNEL_ERR_INVAL);
    }
    if (bd->sync_failed) {
        /* See the field's comment: a retry could "succeed" over lost data. */
        return fail(bd, RUNNEL_POSIX_BD_FAIL_OS, "fdatasync (failed earlier; data may be lost)", EIO,
                    RUNNEL_ERR_IO);
    }
    err = data_sync(bd->fd);
    if (err) {
        bd->sync_failed = 1;
        return os_fail(bd, "fdatasync", err, 0);
    }
    bd->sync_calls++;
    return 0;
}

/* ---- open ---- */

/* Exclusive and non-blocking: a second runneld on the same store must fail
 * at start, not wait. flock (not fcntl) because fcntl locks belong to the
 * process and are dropped when ANY descriptor of the file is closed, and
 * two opens in one process would not conflict. */
static int lock_file(runnel_posix_bd_t *bd, int fd)
{
    int rc;
    do {
        rc = flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0)
        return 0;
    if (errno == EWOULDBLOCK)
        return fail(bd, RUNNEL_POSIX_BD_FAIL_LOCKED, "flock", errno, RUNNEL_ERR_IO);
    return os_fail(bd, "flock", errno, 1);
}

/* fsync of the directory makes a new name durable (a created file whose
 * entry was lost in a power cut would come back as "no store"). Some file
 * systems refuse fsync on a directory (EINVAL): nothing more can be done. */
static int sync_parent_dir(runnel_posix_bd_t *bd, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t len;
    int dfd, err = 0;

    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        len = slash == path ? 1 : (size_t)(slash - path);
        if (len >= sizeof dir)
            return os_fail(bd, "open (directory)", ENAMETOOLONG, 1);
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd < 0)
        return os_fail(bd, "open (directory)", errno, 1);
    if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
        err = errno;
    close(dfd);
    return err ? os_fail(bd, "fsync (directory)", err, 1) : 0;
}

/* posix_fallocate makes ENOSPC show now instead of at some later write (a
 * sparse or delayed-allocation file would accept the fill into the page
 * cache and fail at writeback). A file system without it (or a libc that
 * does not emulate it) is fine: the fill below allocates every block too. */
static int preallocate(runnel_posix_bd_t *bd, int fd, uint64_t size)
{
    int err;
    do {
        err = posix_fallocate(fd, 0, (off_t)size);
    } while (err == EINTR);
    if (err == 0 || err == EINVAL || err == EOPNOTSUPP || err == ENOSYS)
        return 0;
    return os_fail(bd, "posix_fallocate", err, 1);
}

/* Creates <path> crash-safely: builds "<path>.tmp" (locked, so two
 * creators do not both fill it), fills it with 0xFF, syncs it, then links
 * it to <path> (link refuses to replace a file that appeared meanwhile;
 * rename where the file system has no hard links, e.g. vfat) and syncs the
 * directory. The lock taken on the temporary file is the store's lock: it
 * belongs to the inode, which simply gains its final name.
 * Returns 0 with *out set, RETRY_OPEN when <path> exists now, or an error. */
static int create_store(runnel_posix_bd_t *bd, const char *path, uint32_t mode, int *out)
{
    char tmp[PATH_MAX];
    struct stat by_fd, by_name;
    int fd, err, n;

    n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return os_fail(bd, "open", ENAMETOOLONG, 1);
    fd = open(tmp, O_RDWR | O_CREAT | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return os_fail(bd, "open (creating)", errno, 1);
    err = lock_file(bd, fd);
    if (err) {
        close(fd);
        return err;
    }
    /* Another creator may have finished (and removed its .tmp) between our
     * open and our lock: then the name is no longer ours, or <path> exists. */
    if (fstat(fd, &by_fd) != 0) {
        err = os_fail(bd, "fstat", errno, 1);
        close(fd);
        return err;
    }
    if (stat(tmp, &by_name) != 0 || by_fd.st_ino != by_name.st_ino || by_fd.st_dev != by_name.st_dev) {
        close(fd); /* our inode lost its name: another creator's round */
        return RETRY_OPEN;
    }
    if (access(path, F_OK) == 0) {
        unlink(tmp); /* the name is ours (we hold its lock) and not needed */
        close(fd);
        return RETRY_OPEN;
    }

    /* A stale .tmp from a crashed creator holds unknown bytes: start over. */
    if (ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)bd->size) != 0) {
        err = os_fail(bd, "ftruncate", errno, 1);
        goto drop;
    }
    err = preallocate(bd, fd, bd->size);
    if (err)
        goto drop;
    err = fill_range(bd, fd, 0, bd->size);
    if (err) {
        err = os_fail(bd, "pwrite (filling with 0xFF)", err, 1);
        goto drop;
    }
    err = data_sync(fd);
    if (err) {
        err = os_fail(bd, "fdatasync", err, 1);
        goto drop;
    }
    if (link(tmp, path) == 0) {
        unlink(tmp);
    } else if (errno == EEXIST) {
        unlink(tmp);
        close(fd);
        return RETRY_OPEN;
    } else if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS || errno == EMLINK) {
        /* No hard links here. Only a creator outside this protocol can race
         * us (protocol creators are serialised by the .tmp lock and check
         * for <path> after locking). */
        if (access(path, F_OK) == 0) {
            unlink(tmp);
            close(fd);
            return RETRY_OPEN;
        }
        if (rename(tmp, path) != 0) {
            err = os_fail(bd, "rename", errno, 1);
            goto drop;
        }
    } else {
        err = os_fail(bd, "link", errno, 1);
        goto drop;
    }
    /* <path> is complete from here on; a failure below leaves it in place. */
    err = sync_parent_dir(bd, path);
    if (err) {
        close(fd);
        return err;
    }
    *out = fd;
    return 0;

drop:
    unlink(tmp);
    close(fd);
    return err;
}

/* Makes an existing file of another size fit (RUNNEL_POSIX_BD_RESIZE).
 * Growing appends 0xFF from the old end rather than ftruncate-then-fill, so
 * a crash mid-way leaves a file whose size shows it unfinished instead of a
 * full-size file with a zero-filled tail (zeros are not erased). A failed
 * grow is truncated back: the old bytes are never touched. */
static int resize_store(runnel_posix_bd_t *bd, int fd, uint64_t old_size)
{
    int err;
    if (old_size > bd->size) {
        if (ftruncate(fd, (off_t)bd->size) != 0)
            return os_fail(bd, "ftruncate", errno, 1);
    } else {
        err = fill_range(bd, fd, (off_t)old_size, bd->size - old_size);
        if (err) {
            int rc = os_fail(bd, "pwrite (growing with 0xFF)", err, 1);
            if (ftruncate(fd, (off_t)old_size) != 0)
                bd->os_errors++;
            return rc;
        }
    }
    err = data_sync(fd);
    return err ? os_fail(bd, "fdatasync", err, 1) : 0;
}

/* Locks an opened existing file and checks it is a regular file of the
 * configured size (or resizes it when told to). Nothing is written unless
 * RUNNEL_POSIX_BD_RESIZE asked for it. */
static int adopt_existing(runnel_posix_bd_t *bd, int fd, uint32_t flags)
{
    struct stat st;
    int err = lock_file(bd, fd);
    if (err)
        return err;
    if (fstat(fd, &st) != 0)
        return os_fail(bd, "fstat", errno, 1);
    if (!S_ISREG(st.st_mode))
        return fail(bd, RUNNEL_POSIX_BD_FAIL_NOT_FILE, "fstat", 0, RUNNEL_ERR_INVAL);
    if ((uint64_t)st.st_size == bd->size)
        return 0;
    bd->found_size = (uint64_t)st.st_size;
    if ((flags & RUNNEL_POSIX_BD_RESIZE) == 0)
        return fail(bd, RUNNEL_POSIX_BD_FAIL_SIZE, "size check", 0, RUNNEL_ERR_EXIST);
    return resize_store(bd, fd, (uint64_t)st.st_size);
}

static int check_config(runnel_posix_bd_t *bd, const char *path, const runnel_posix_bd_config_t *cfg,
                        uint32_t flags, runnel_bd_geometry_t *g)
{
    if (path == NULL || path[0] == '\0' || cfg == NULL || (flags & ~KNOWN_FLAGS) != 0)
        return fail(bd, RUNNEL_POSIX_BD_FAIL_CONFIG, "arguments", 0, RUNNEL_ERR_INVAL);
    memset(g, 0, sizeof *g);
    g->read_size = cfg->read_size ? cfg->read_size : 1;
    g->prog_size = cfg->prog_size ? cfg->prog_size : 1;
    g->block_size = cfg->block_size;
    g->block_count = cfg->block_count;
    g->erase_value = RUNNEL_POSIX_BD_ERASE_VALUE;
    g->flags = (flags & RUNNEL_POSIX_BD_STRICT) ? 0 : RUNNEL_BD_REPROGRAMMABLE;
    if (g->block_size == 0 || g->block_count == 0 || g->block_size % g->read_size != 0 ||
        g->block_size % g->prog_size != 0 || (cfg->mode & ~07777u) != 0)
        return fail(bd, RUNNEL_POSIX_BD_FAIL_CONFIG, "geometry", 0, RUNNEL_ERR_INVAL);
    /* (2^32-1)^2 fits in uint64_t; off_t is signed. */
    if ((uint64_t)g->block_size * g->block_count > (uint64_t)INT64_MAX)
        return fail(bd, RUNNEL_POSIX_BD_FAIL_CONFIG, "geometry", 0, RUNNEL_ERR_INVAL);
    return 0;
}

int runnel_posix_bd_open(runnel_posix_bd_t *bd, const char *path, const runnel_posix_bd_config_t *cfg,
                         uint32_t flags)
{
    runnel_bd_geometry_t g;
    int err, fd = -1, attempt;

    if (bd == NULL)
        return RUNNEL_ERR_INVAL;
    memset(bd, 0, sizeof *bd);
    bd->fd = -1;
    /* The device is callable even when open fails: every call then refuses
     * with RUNNEL_ERR_INVAL (fd is -1) instead of jumping through NULL. */
    bd->dev.ctx = bd;
    bd->dev.read = posix_read;
    bd->dev.prog = posix_prog;
    bd->dev.erase = posix_erase;
    bd->dev.sync = posix_sync;
    err = check_config(bd, path, cfg, flags, &g);
    if (err)
        return err;
    bd->size = (uint64_t)g.block_size * g.block_count;
    bd->open_flags = flags;
    memset(bd->fill, RUNNEL_POSIX_BD_ERASE_VALUE, sizeof bd->fill);

    /* Open the existing file, or create it; a creation that finds the file
     * appeared meanwhile (another process created it) opens that instead.
     * Three rounds is plenty: each retry means someone else made progress. */
    for (attempt = 0;; attempt++) {
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            err = adopt_existing(bd, fd, flags);
            if (err) {
                close(fd);
                return err;
            }
            break;
        }
        if (errno != ENOENT || (flags & RUNNEL_POSIX_BD_CREATE) == 0 || attempt == 3)
            return os_fail(bd, "open", errno, 1);
        err = create_store(bd, path, cfg->mode ? cfg->mode : 0600u, &fd);
        if (err == 0)
            break;
        if (err != RETRY_OPEN)
            return err;
    }

    bd->fd = fd;
    bd->reason = RUNNEL_POSIX_BD_FAIL_NONE;
    bd->last_op = NULL;
    bd->last_errno = 0;
    bd->os_errors = 0;
    bd->dev.geometry = g;
    return 0;
}

int runnel_posix_bd_close(runnel_posix_bd_t *bd)
{
    int rc;
    if (bd == NULL || bd->fd < 0)
        return 0;
    /* The lock goes with the last descriptor of this open file description.
     * close() is not retried on EINTR: on Linux the descriptor is gone. */
    rc = close(bd->fd);
    bd->fd = -1;
    if (rc != 0)
        return os_fail(bd, "close", errno, 0);
    return 0;
}

int runnel_posix_bd_last_errno(const runnel_posix_bd_t *bd)
{
    return bd ? bd->last_errno : 0;
}

runnel_posix_bd_fail_t runnel_posix_bd_reason(const runnel_posix_bd_t *bd)
{
    return bd ? bd->reason : RUNNEL_POSIX_BD_FAIL_NONE;
}

size_t runnel_posix_bd_describe(const runnel_posix_bd_t *bd, char *buf, size_t cap)
{
    char sys[160];
    int n;

    if (bd == NULL)
        return 0;
    sys[0] = '\0';
    if (bd->last_op != NULL && bd->last_errno != 0)
        snprintf(sys, sizeof sys, " (%s: %s)", bd->last_op, strerror(bd->last_errno));
    else if (bd->last_op != NULL)
        snprintf(sys, sizeof sys, " (%s)", bd->last_op);

    switch (bd->reason) {
    case RUNNEL_POSIX_BD_FAIL_NONE:
        n = snprintf(buf, cap, "no error");
        break;
    case RUNNEL_POSIX_BD_FAIL_CONFIG:
        n = snprintf(buf, cap, "invalid store configuration: block size and count must be non-zero, "
                     "the block size a multiple of the read and program sizes%s", sys);
        break;
    case RUNNEL_POSIX_BD_FAIL_LOCKED:
        n = snprintf(buf, cap, "store file is locked: another process (or another open in this one) "
                     "is using it%s", sys);
        break;
    case RUNNEL_POSIX_BD_FAIL_SIZE:
        n = snprintf(buf, cap, "store file is %llu bytes, the configuration needs %llu (refusing to "
                     "change it; resize explicitly)", (unsigned long long)bd->found_size,
                     (unsigned long long)bd->size);
        break;
    case RUNNEL_POSIX_BD_FAIL_NOT_FILE:
        n = snprintf(buf, cap, "store path is not a regular file");
        break;
    case RUNNEL_POSIX_BD_FAIL_NOSPC:
        n = snprintf(buf, cap, "no room for a %llu-byte store file%s", (unsigned long long)bd->size, sys);
        break;
    case RUNNEL_POSIX_BD_FAIL_OS:
        n = snprintf(buf, cap, "store file I/O error%s", sys);
        break;
    case RUNNEL_POSIX_BD_FAIL_CONTRACT:
        n = snprintf(buf, cap, "block device call out of bounds, misaligned, or on a closed device");
        break;
    case RUNNEL_POSIX_BD_FAIL_NOT_ERASED:
        n = snprintf(buf, cap, "program over bytes that are not erased (strict mode)");
        break;
    default:
        n = snprintf(buf, cap, "unknown error");
        break;
    }
    return n < 0 ? 0 : (size_t)n;
}

void runnel_posix_bd_reset_counters(runnel_posix_bd_t *bd)
{
    bd->read_calls = bd->bytes_read = 0;
    bd->prog_calls = bd->bytes_programmed = 0;
    bd->erases = bd->sync_calls = 0;
    bd->os_errors = bd->rejected_calls = bd->prog_violations = 0;
}
