/*
 * cmd_server_monitor.c - MONITOR: every command the server runs, one line
 * each, to the clients that asked, in Redis 7.0.15's words:
 *
 *     +<unix seconds>.<micros> [<db> <addr>] "cmd" "arg" ...\r\n
 *
 * <addr> is the client's "ip:port", or "unix:<socket path>" for a Unix
 * socket client (runneld's addr for those is "<path>:0"). Arguments are
 * quoted as Redis's sdscatrepr does (\\ \" \n \r \t \a \b escaped, other
 * bytes outside 0x20..0x7e as \xHH), as typed (case kept).
 *
 * What is fed is what Redis 7.0's call() feeds: a command that ran (also
 * one that answered an error, and a blocking read when it blocks), after
 * it ran (so SELECT shows the new db, and EXEC follows the commands it
 * executed); not a command refused before running (unknown, arity, NOAUTH,
 * ...), not one queued by MULTI until EXEC runs it, and not Redis's
 * "admin" commands (CONFIG, DEBUG, MONITOR, SHUTDOWN, CLIENT LIST / KILL /
 * NO-EVICT, SAVE, BGSAVE). Passwords are redacted as Redis does: AUTH's
 * arguments (when it has at most two), HELLO's AUTH username and password.
 *
 * The line is written in pieces through ops->monitor_write, so an argument
 * of any size needs no buffer; a monitor that runs a command itself gets
 * its line after the reply, in its own reply writer, as Redis orders them.
 */
#include <string.h>

#include "cmd.h"

#define ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

runnel_cmd_result_t runnel__cmd_monitor(runnel_cmd_t *cmd)
{
    runnel_client_t *c = cmd->client;
    const runnel_server_ops_t *ops = cmd->srv->ops;
    if (cmd->in_exec) {
        /* Redis: EXEC (and scripts) deny blocking, and a monitor is a
         * client that never gets a reply per command again. */
        ERR_LIT(cmd, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return RUNNEL_CMD_DONE;
    }
    if (ops == NULL || ops->monitor_write == NULL || ops->foreach_client == NULL) {
        ERR_LIT(cmd, "ERR runnel: this host has no MONITOR output");
        return RUNNEL_CMD_DONE;
    }
    if (c->monitor)
        return RUNNEL_CMD_DONE;    /* Redis ignores it, without a reply */
    c->monitor = true;
    cmd->srv->monitors++;
    runnel_resp_simple(cmd->w, "OK", 2);
    return RUNNEL_CMD_DONE;
}

/* Redis's CMD_ADMIN commands runneld has: never shown to monitors. */
static bool is_admin(const runnel_cmd_def_t *d, int argc, const runnel_str_t *argv)
{
    static const char *const admin[] = {"config", "debug", "monitor", "shutdown",
                                        "save", "bgsave", NULL};
    for (size_t i = 0; admin[i] != NULL; i++)
        if (strcmp(d->name, admin[i]) == 0)
            return true;
    if (strcmp(d->name, "client") == 0 && argc >= 2)
        return runnel__arg_is(argv[1], "list") || runnel__arg_is(argv[1], "kill") ||
               runnel__arg_is(argv[1], "no-evict");
    return false;
}

/* Which arguments Redis replaces with "(redacted)". */
static bool redacted(const runnel_cmd_def_t *d, int argc, const runnel_str_t *argv, int j)
{
    if (strcmp(d->name, "auth") == 0)
        return argc <= 3 && j >= 1;
    if (strcmp(d->name, "hello") != 0 || argc < 2)
        return false;
    int64_t ver;
    if (!runnel__arg_i64(argv[1], &ver) || ver < 2 || ver > 3)
        return false;
    /* HELLO's option loop: AUTH takes two, SETNAME one; it stops at the
     * first word it does not know (whose error Redis then answers). */
    for (int k = 2; k < argc; k++) {
        int more = argc - 1 - k;
        if (runnel__arg_is(argv[k], "auth") && more >= 2) {
            if (j == k + 1 || j == k + 2)
                return true;
            k += 2;
        } else if (runnel__arg_is(argv[k], "setname") && more >= 1) {
            k++;
        } else {
            break;
        }
    }
    return false;
}

/* A line in pieces: a small stack buffer, flushed to one monitor. */
typedef struct line {
    runnel_server_t *s;
    runnel_client_t *mon;
    runnel_resp_writer_t *own;   /* the monitor runs the command: its writer */
    char buf[256];
    size_t len;
} line_t;

static void ln_flush(line_t *l)
{
    if (l->len == 0)
        return;
    if (l->own != NULL)
        runnel_resp_raw(l->own, l->buf, l->len);
    else
        l->s->ops->monitor_write(l->s->ops->ctx, l->mon, l->buf, l->len);
    l->len = 0;
}

static void ln_put(line_t *l, const char *p, size_t n)
{
    while (n > 0) {
        if (l->len == sizeof l->buf)
            ln_flush(l);
        size_t k = sizeof l->buf - l->len;
        if (k > n)
            k = n;
        memcpy(l->buf + l->len, p, k);
        l->len += k;
        p += k;
        n -= k;
    }
}

static void ln_str(line_t *l, const char *s)
{
    ln_put(l, s, strlen(s));
}

static void ln_u64(line_t *l, uint64_t v, int min_digits)
{
    char tmp[21];
    int k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || k < min_digits);
    while (k > 0)
        ln_put(l, &tmp[--k], 1);
}

/* One byte as Redis's sdscatrepr writes it (\\ \" \n \r \t \a \b, other
 * unprintables \xHH, the rest as is); its length (1, 2 or 4). */
static size_t repr_byte(unsigned char ch, char out[4])
{
    static const char hex[] = "0123456789abcdef";
    static const char from[] = "\\\"\n\r\t\a\b", to[] = "\\\"nrtab";
    const char *hit = ch != 0 ? strchr(from, ch) : NULL;

    if (hit != NULL) {
        out[0] = '\\';
        out[1] = to[hit - from];
        return 2;
    }
    if (ch >= 0x20 && ch <= 0x7e) {
        out[0] = (char)ch;
        return 1;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[ch >> 4];
    out[3] = hex[ch & 15];
    return 4;
}

/* sdscatrepr without the surrounding quotes. */
static void ln_repr(line_t *l, const char *p, size_t n)
{
    char esc[4];

    for (size_t i = 0; i < n; i++)
        ln_put(l, esc, repr_byte((unsigned char)p[i], esc));
}

size_t runnel_repr(char *buf, size_t cap, const void *p, size_t n)
{
    const unsigned char *b = p;
    char esc[4];
    size_t len = 0, k;

    if (cap < 3) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    buf[len++] = '"';
    for (size_t i = 0; i < n; i++) {
        k = repr_byte(b[i], esc);
        if (len + k + 2 > cap)
            break;   /* whole escapes only, room left for the quote and NUL */
        memcpy(buf + len, esc, k);
        len += k;
    }
    buf[len++] = '"';
    buf[len] = '\0';
    return len;
}

typedef struct feed {
    runnel_server_t *s;
    const runnel_client_t *src;
    const runnel_cmd_def_t *d;
    int argc;
    const runnel_str_t *argv;
    uint64_t us;
} feed_t;

static void write_line(const feed_t *f, runnel_client_t *mon)
{
    line_t l;
    l.s = f->s;
    l.mon = mon;
    l.own = mon == f->src ? &mon->out : NULL;
    l.len = 0;
    const runnel_client_t *c = f->src;
    ln_str(&l, "+");
    ln_u64(&l, f->us / 1000000u, 1);
    ln_str(&l, ".");
    ln_u64(&l, f->us % 1000000u, 6);
    ln_str(&l, " [");
    ln_u64(&l, c->db, 1);
    ln_str(&l, " ");
    /* runneld names a Unix socket client "<path>:0"; Redis shows
     * "unix:<path>" in MONITOR. */
    size_t alen = 0;
    while (alen < sizeof c->addr && c->addr[alen] != '\0')
        alen++;
    if (alen >= 2 && c->addr[0] == '/' && c->addr[alen - 2] == ':' && c->addr[alen - 1] == '0') {
        ln_str(&l, "unix:");
        ln_put(&l, c->addr, alen - 2);
    } else {
        ln_put(&l, c->addr, alen);
    }
    ln_str(&l, "] ");
    for (int j = 0; j < f->argc; j++) {
        ln_str(&l, "\"");
        if (redacted(f->d, f->argc, f->argv, j))
            ln_str(&l, "(redacted)");
        else
            ln_repr(&l, f->argv[j].p, f->argv[j].len);
        ln_str(&l, j + 1 < f->argc ? "\" " : "\"");
    }
    ln_str(&l, "\r\n");
    ln_flush(&l);
}

static void feed_one(void *arg, runnel_client_t *c)
{
    const feed_t *f = arg;
    if (c->monitor)
        write_line(f, c);
}

void runnel__monitor_feed(runnel_server_t *s, const runnel_client_t *c,
                          const runnel_cmd_def_t *d, int argc, const runnel_str_t *argv)
{
    if (s->monitors == 0 || s->ops == NULL || s->ops->monitor_write == NULL ||
        s->ops->foreach_client == NULL || is_admin(d, argc, argv))
        return;
    feed_t f = {s, c, d, argc, argv, 0};
    f.us = s->ops->now_us != NULL ? s->ops->now_us(s->ops->ctx)
                                  : s->clock->now_ms(s->clock->ctx) * 1000u;
    s->ops->foreach_client(s->ops->ctx, feed_one, &f);
}
