/*
 * store.c - where runneld keeps its streams, and when they become durable.
 *
 * The store (store-type file, the default) is one file in `dir`, named by
 * store-filename ("runnel.store"), opened through port/posix: created
 * (filled with 0xFF) and formatted when absent, mounted when present. A
 * file that does not mount stops start-up with the reason and is left as
 * it was; only --format-store (format-store yes) erases it. A file of
 * another size is refused (never truncated), and a file another runneld
 * holds is refused (flock). store-type ram keeps the ring in RAM (tests,
 * demos): nothing survives a restart, and INFO and SAVE say so.
 *
 * Durability, as Redis's appendfsync (the engine runs with commit policy
 * NONE; runneld decides when to sync, so the policy can change at run time
 * and `always` is a group commit):
 *   - before any reply leaves the process, the engine's write page is
 *     programmed into the file (runnel_flush: a pwrite, no fsync), so a
 *     kill -9 never loses an acknowledged write;
 *   - always:   while anything written is not yet synced, replies wait in
 *               the clients' output buffers; at the end of the event-loop
 *               turn one runnel_commit (fdatasync) covers them all, then
 *               they are sent (as Redis's beforeSleep: one fsync, then the
 *               writes);
 *   - everysec: runnel_commit from the loop once commit-interval-ms (1000)
 *               passed since the last sync, if anything is unsynced: a
 *               power cut loses at most about a second;
 *   - no:       never synced by runneld; the kernel writes back when it
 *               likes (a power cut may lose its writeback window).
 * SAVE, BGSAVE, SHUTDOWN and SIGTERM commit and sync. LASTSAVE and INFO's
 * last-commit time are the last successful sync.
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64   /* pread offsets past 2 GiB on 32-bit Linux */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runneld.h"
#include "util.h"   /* runnel__crc32c: block headers for the wear estimate */

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *rd_appendfsync_name(runnel_commit_policy_t p)
{
    return p == RUNNEL_COMMIT_ALWAYS ? "always" : p == RUNNEL_COMMIT_INTERVAL ? "everysec" : "no";
}

/* A file that holds nothing but erased bytes: created by a start that died
 * before its format finished. Formatting it loses nothing. */
static bool file_all_erased(int fd, uint64_t size)
{
    static uint8_t buf[256 * 1024];
    uint64_t off = 0;
    while (off < size) {
        size_t want = size - off < sizeof buf ? (size_t)(size - off) : sizeof buf;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n <= 0)
            return false;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != 0xFF)
                return false;
        off += (uint64_t)n;
    }
    return true;
}

static const char *mount_hint(int rc)
{
    switch (rc) {
    case RUNNEL_ERR_NOT_FORMATTED:
        return "it holds no runnel store (a foreign or damaged file)";
    case RUNNEL_ERR_GEOMETRY:
        return "it was formatted with another store-block-size";
    case RUNNEL_ERR_FORMAT_VERSION:
        return "it was written in another on-disk format version (another runnel version)";
    case RUNNEL_ERR_CORRUPT:
        return "a record the store needs does not check";
    case RUNNEL_ERR_NOMEM:
    case RUNNEL_ERR_POOL_STREAMS:
    case RUNNEL_ERR_POOL_NODES:
    case RUNNEL_ERR_POOL_GROUPS:
    case RUNNEL_ERR_POOL_CONSUMERS:
    case RUNNEL_ERR_POOL_PEL:
        return "it holds more than this configuration's pools (max-streams, max-nodes, "
               "max-groups, max-consumers, max-pending) can take: start with larger ones";
    case RUNNEL_ERR_IO:
        return "reading it failed";
    default:
        return "see the error above";
    }
}

int rd_store_open(rd_server_t *s, const runnel_config_t *rc_in, uint8_t *ram, char *err,
                  size_t errcap)
{
    runnel_config_t rc = *rc_in;
    runnel_bd_geometry_t g = s->bd.geometry;
    int code;

    if (s->cfg.store_type == RD_STORE_RAM) {
        if (runnel_ram_bd_init(&s->ram, &s->bd, &g, ram, NULL) != 0) {
            snprintf(err, errcap, "RAM block device init failed");
            return -1;
        }
        rc.bd = &s->bd;
        code = runnel_format(&s->store, &rc);
        if (code != 0) {
            snprintf(err, errcap, "runnel_format failed: %s", runnel_strerror(code));
            return -1;
        }
        s->store_path[0] = '\0';
        s->last_sync_ms = 0;
        rd_log(RD_LL_NOTICE, "Store: %llu bytes in RAM (store-type ram): nothing survives a "
               "restart", (unsigned long long)s->cfg.store_size);
        return 0;
    }

    /* The path as the operator should see it: absolute (we chdir'ed to dir). */
    char cwd[RUNNELD_PATH_MAX];
    const char *name = s->cfg.store_filename;
    if (getcwd(cwd, sizeof cwd) == NULL)
        snprintf(cwd, sizeof cwd, "%s", s->cfg.dir[0] ? s->cfg.dir : ".");
    if (name[0] == '/')
        snprintf(s->store_path, sizeof s->store_path, "%s", name);
    else if ((size_t)snprintf(s->store_path, sizeof s->store_path, "%s/%s", cwd, name) >=
             sizeof s->store_path)
        snprintf(s->store_path, sizeof s->store_path, "%s", name);

    struct stat st;
    bool existed = stat(name, &st) == 0;
    runnel_posix_bd_config_t pc;
    memset(&pc, 0, sizeof pc);
    pc.block_size = g.block_size;
    pc.block_count = g.block_count;
    pc.read_size = 1;
    pc.prog_size = 1;
    uint64_t t0 = mono_us();
    code = runnel_posix_bd_open(&s->pbd, name, &pc, RUNNEL_POSIX_BD_CREATE);
    if (code != 0) {
        char why[512];
        runnel_posix_bd_describe(&s->pbd, why, sizeof why);
        if (runnel_posix_bd_reason(&s->pbd) == RUNNEL_POSIX_BD_FAIL_LOCKED)
            snprintf(err, errcap, "Can't open the store file '%s': %s. Is another runneld "
                     "running with dir %s?", s->store_path, why, cwd);
        else if (code == RUNNEL_ERR_EXIST)
            snprintf(err, errcap, "Can't open the store file '%s': %s. Start with the "
                     "store-size it was made with (%llu), or move the file away; runneld never "
                     "truncates a store.", s->store_path, why,
                     (unsigned long long)s->pbd.found_size);
        else
            snprintf(err, errcap, "Can't open the store file '%s': %s", s->store_path, why);
        return -1;
    }
    existed = existed && (st.st_mode & S_IFMT) == S_IFREG;
    rc.bd = &s->pbd.dev;
    rc.durable = &runnel_durability;    /* a file store is mounted again at the next start */
    s->bd = s->pbd.dev;   /* geometry for INFO */
    if (existed && !s->cfg.format_store) {
        /* What mount read, as the file saw it (the device's counters). */
        uint64_t rd0 = s->pbd.bytes_read, rc0 = s->pbd.read_calls;
        t0 = mono_us();
        code = runnel_mount(&s->store, &rc);
        s->mount_us = mono_us() - t0;
        s->mount_bytes_read = s->pbd.bytes_read - rd0;
        s->mount_read_calls = s->pbd.read_calls - rc0;
        if (code == RUNNEL_ERR_NOT_FORMATTED && file_all_erased(s->pbd.fd, s->pbd.size)) {
            rd_log(RD_LL_WARNING, "The store file %s holds only erased bytes (a start that "
                   "stopped before formatting it): formatting it", s->store_path);
            existed = false;
        } else if (code != 0) {
            const char *e = runnel_strerror(code);
            if (strncmp(e, "ERR ", 4) == 0)
                e += 4;
            snprintf(err, errcap, "Can't mount the store file '%s': %s [%s]. The file was left "
                     "untouched. To erase it and start with an empty store (its data is lost), "
                     "start runneld once with --format-store; or point dir / store-filename "
                     "elsewhere.", s->store_path, mount_hint(code), e);
            runnel_posix_bd_close(&s->pbd);
            return -1;
        }
    }
    if (!existed || s->cfg.format_store) {
        code = runnel_format(&s->store, &rc);
        if (code != 0) {
            char why[512];
            runnel_posix_bd_describe(&s->pbd, why, sizeof why);
            snprintf(err, errcap, "Can't format the store file '%s': %s (%s)", s->store_path,
                     runnel_strerror(code), why);
            runnel_posix_bd_close(&s->pbd);
            return -1;
        }
        s->mount_us = 0;
        if (s->cfg.format_store && existed)
            rd_log(RD_LL_WARNING, "format-store: the store file %s was erased and formatted as "
                   "asked; every start with format-store erases it again (use the flag for "
                   "one start, not the config file)", s->store_path);
        rd_log(RD_LL_NOTICE, "Store: %s %s (%llu bytes, %u blocks of %u)",
               s->cfg.format_store && existed ? "re-formatted (--format-store)" : "created",
               s->store_path, (unsigned long long)s->pbd.size, g.block_count, g.block_size);
    } else {
        /* Everything mount found may still be only in the page cache (a
         * kill -9 under everysec): sync it now, so "committed" means durable. */
        uint64_t t1 = mono_us();
        if (s->pbd.dev.sync(s->pbd.dev.ctx) != 0) {
            char why[512];
            runnel_posix_bd_describe(&s->pbd, why, sizeof why);
            snprintf(err, errcap, "Can't sync the store file '%s' after mounting it: %s",
                     s->store_path, why);
            runnel_posix_bd_close(&s->pbd);
            return -1;
        }
        uint64_t sync_us = mono_us() - t1;
        runnel_stats_t stt;
        runnel_stats(s->store, &stt);
        s->mount_engine_bytes_read = stt.mount_bytes_read;
        rd_log(RD_LL_NOTICE, "Store: mounted %s in %.3f ms (%llu bytes read in %llu reads; %u of "
               "%u blocks in use; then synced in %.3f ms)", s->store_path,
               (double)s->mount_us / 1000.0, (unsigned long long)s->mount_bytes_read,
               (unsigned long long)s->mount_read_calls, stt.blocks_used, stt.block_count,
               (double)sync_us / 1000.0);
    }
    s->last_sync_ms = s->sync_try_ms = rd_now_ms();
    s->commit_ok = s->flush_ok = true;
    s->wear_scanned = false;
    return 0;
}

void rd_store_close(rd_server_t *s)
{
    if (s->cfg.store_type == RD_STORE_FILE)
        runnel_posix_bd_close(&s->pbd);
}

int rd_store_commit(rd_server_t *s, const char *why)
{
    if (s->store == NULL || s->cfg.store_type == RD_STORE_RAM)
        return 0;
    int rc = runnel_commit(s->store);
    if (rc == 0) {
        s->unsynced = false;
        s->last_sync_ms = s->sync_try_ms = rd_now_ms();
        s->commit_ok = true;
        return 0;
    }
    char d[512];
    runnel_posix_bd_describe(&s->pbd, d, sizeof d);
    if (s->commit_ok || why != NULL)
        rd_log(RD_LL_WARNING, "Error committing the store%s%s: %s (%s)", why ? " for " : "",
               why ? why : "", runnel_strerror(rc), d);
    s->commit_ok = false;
    snprintf(s->store_error, sizeof s->store_error, "%s", d);
    return rc;
}

int rd_store_before_reply(rd_server_t *s)
{
    if (s->store == NULL || s->cfg.store_type == RD_STORE_RAM)
        return 0;
    int rc = runnel_flush(s->store);
    if (rc < 0) {
        char d[512];
        runnel_posix_bd_describe(&s->pbd, d, sizeof d);
        if (s->flush_ok)
            rd_log(RD_LL_WARNING, "Error writing the store: %s (%s); replies that depend on "
                   "it are not sent (their clients are closed)", runnel_strerror(rc), d);
        s->flush_ok = false;
        snprintf(s->store_error, sizeof s->store_error, "%s", d);
        return -1;
    }
    s->flush_ok = true;
    if (rc > 0)
        s->unsynced = true;
    return rc;
}

void rd_store_tick(rd_server_t *s, uint64_t now)
{
    if (s->store == NULL || s->cfg.store_type == RD_STORE_RAM)
        return;
    if (s->cfg.commit_policy != RUNNEL_COMMIT_INTERVAL)
        return;
    /* Records a page fill programmed are unsynced too: ask the engine. */
    if (!s->unsynced && rd_store_before_reply(s) <= 0)
        return;
    if (now >= s->sync_try_ms && now - s->sync_try_ms < s->cfg.commit_interval_ms)
        return;
    (void)rd_store_commit(s, NULL);
    s->sync_try_ms = now;   /* a failing sync is retried a period later */
}

/* ---- SAVE / BGSAVE / LASTSAVE ---- */

static void reply_raw(rd_client_t *c, const char *text)
{
    runnel_resp_raw(&c->c.out, text, strlen(text));
}

static bool name_is(const runnel_str_t *a, const char *kw)
{
    return a->len == strlen(kw) && strncasecmp(a->p, kw, a->len) == 0;
}

/* The persistence commands the engine's table does not have. Returns true
 * when it answered the command. Not taken: inside MULTI (the engine then
 * answers "unknown command", and EXEC aborts), and before AUTH (NOAUTH). */
bool rd_store_command(rd_server_t *s, rd_client_t *c, size_t argc, const runnel_str_t *argv)
{
    const runnel_str_t *a = &argv[0];
    int which = name_is(a, "save") ? 1 : name_is(a, "bgsave") ? 2 : name_is(a, "lastsave") ? 3 : 0;
    if (which == 0)
        return false;
    if (c->c.in_multi)
        return false;
    if (!c->c.authenticated) {
        reply_raw(c, "-NOAUTH Authentication required.\r\n");
        return true;
    }
    s->srv.total_commands++;
    c->c.last_cmd_ms = rd_now_ms();
    const char *names[] = {"", "save", "bgsave", "lastsave"};
    snprintf(c->c.last_cmd, sizeof c->c.last_cmd, "%s", names[which]);
    if ((which != 2 && argc != 1) || (which == 2 && argc > 2)) {
        char e[96];
        snprintf(e, sizeof e, "-ERR wrong number of arguments for '%s' command\r\n", names[which]);
        reply_raw(c, e);
        return true;
    }
    if (which == 2 && argc == 2 && !name_is(&argv[1], "schedule")) {
        reply_raw(c, "-ERR syntax error\r\n");
        return true;
    }
    if (which == 3) {
        runnel_resp_int(&c->c.out, (int64_t)(s->last_sync_ms / 1000));
        return true;
    }
    if (s->cfg.store_type == RD_STORE_RAM) {
        reply_raw(c, "-ERR the store is in RAM (store-type ram): runneld keeps nothing on disk\r\n");
        return true;
    }
    if (rd_store_commit(s, names[which]) != 0) {
        char e[700];
        snprintf(e, sizeof e, "-ERR store commit failed: %s\r\n", s->store_error);
        reply_raw(c, e);
        return true;
    }
    /* BGSAVE: the commit is one fdatasync, done before the reply; the
     * reply is Redis's. */
    reply_raw(c, which == 1 ? "+OK\r\n" : "+Background saving started\r\n");
    return true;
}

/* ---- INFO persistence ---- */

/* Erase counts per block. The ring erases blocks in turn (block with
 * sequence s lives at s % block_count, formats continue the sequence), so
 * the newest sequence number n says how often each block was opened:
 * (n - b) / block_count + 1 for block b <= n. The newest header is found
 * once (block_count reads of 24 bytes, at the first INFO); blocks opened
 * since then are the device's erase counter. */
static void wear(rd_server_t *s, uint64_t *min, uint64_t *max)
{
    uint32_t count = s->pbd.dev.geometry.block_count, bsize = s->pbd.dev.geometry.block_size;
    if (!s->wear_scanned) {
        uint8_t h[24];
        bool found = false;
        uint32_t best = 0;
        for (uint32_t b = 0; b < count; b++) {
            if (pread(s->pbd.fd, h, sizeof h, (off_t)b * bsize) != (ssize_t)sizeof h)
                continue;
            uint32_t magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                             (uint32_t)h[3] << 24;
            uint32_t crc = (uint32_t)h[20] | (uint32_t)h[21] << 8 | (uint32_t)h[22] << 16 |
                           (uint32_t)h[23] << 24;
            if (magic != 0x4C4E5552u || crc != runnel__crc32c(0, h, 20))
                continue;
            uint32_t seq = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
                           (uint32_t)h[11] << 24;
            if (!found || seq > best)
                best = seq;
            found = true;
        }
        s->wear_newest_seq = found ? best : 0;
        s->wear_erases_at_scan = s->pbd.erases;
        s->wear_found = found;
        s->wear_scanned = true;
    }
    if (!s->wear_found) {
        *min = *max = 0;
        return;
    }
    uint64_t n = s->wear_newest_seq + (s->pbd.erases - s->wear_erases_at_scan);
    uint64_t opens = n + 1;   /* sequences 0..n */
    *min = opens / count;
    *max = (opens + count - 1) / count;
}

typedef struct info_out {
    char *buf;
    size_t cap, len;
} info_out_t;

static void line(info_out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(info_out_t *o, const char *fmt, ...)
{
    if (o->len >= o->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->len = o->cap;
    else
        o->len += (size_t)n;
}

size_t rd_store_info(rd_server_t *s, char *buf, size_t cap)
{
    info_out_t out = {buf, cap, 0}, *o = &out;
    runnel_stats_t st;
    runnel_stats(s->store, &st);
    uint64_t bsize = s->bd.geometry.block_size;
    bool file = s->cfg.store_type == RD_STORE_FILE;
    line(o, "runnel_store_type:%s\r\n", file ? "file" : "ram");
    line(o, "runnel_store_path:%s\r\n", file ? s->store_path : "");
    line(o, "runnel_store_survives_restart:%s\r\n", file ? "yes" : "no");
    line(o, "runnel_store_size:%llu\r\n", (unsigned long long)(bsize * st.block_count));
    line(o, "runnel_store_used:%llu\r\n", (unsigned long long)(bsize * st.blocks_used));
    line(o, "runnel_store_blocks:%u\r\n", st.block_count);
    line(o, "runnel_store_free_blocks:%u\r\n", st.block_count - st.blocks_used);
    if (file) {
        uint64_t wmin, wmax;
        wear(s, &wmin, &wmax);
        line(o, "runnel_store_wear_min:%llu\r\nrunnel_store_wear_max:%llu\r\n",
             (unsigned long long)wmin, (unsigned long long)wmax);
    }
    line(o, "runnel_appendfsync:%s\r\n", file ? rd_appendfsync_name(s->cfg.commit_policy)
                                              : "none (store-type ram)");
    line(o, "runnel_commit_interval_ms:%u\r\n", s->cfg.commit_interval_ms);
    line(o, "runnel_last_commit_time:%llu\r\n", (unsigned long long)(s->last_sync_ms / 1000));
    line(o, "runnel_last_commit_status:%s\r\n", !file ? "none" : s->commit_ok && s->flush_ok
                                                               ? "ok" : "err");
    if ((!s->commit_ok || !s->flush_ok) && file)
        line(o, "runnel_last_commit_error:%s\r\n", s->store_error);
    line(o, "runnel_unsynced_writes:%d\r\n", s->unsynced ? 1 : 0);
    line(o, "runnel_commits:%llu\r\n", (unsigned long long)st.commits);
    line(o, "runnel_mount_time_ms:%.3f\r\n", (double)s->mount_us / 1000.0);
    line(o, "runnel_mount_bytes_read:%llu\r\n", (unsigned long long)s->mount_bytes_read);
    line(o, "runnel_mount_read_calls:%llu\r\n", (unsigned long long)s->mount_read_calls);
    /* The engine's own count (runnel_stats): what its log layer read. */
    line(o, "runnel_mount_engine_bytes_read:%llu\r\n",
         (unsigned long long)s->mount_engine_bytes_read);
    if (file) {
        line(o, "runnel_store_bytes_written:%llu\r\n",
             (unsigned long long)s->pbd.bytes_programmed);
        line(o, "runnel_store_syncs:%llu\r\n", (unsigned long long)s->pbd.sync_calls);
    }
    return o->len;
}
