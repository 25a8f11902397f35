/*
 * bench_consumer.c - load generator for the consumer-group loop
 * (XREADGROUP ... COUNT b STREAMS key >  then XACK of the delivered IDs),
 * against runneld or redis-server alike.
 *
 * redis-benchmark sends a fixed command, so it cannot feed the IDs one reply
 * delivers into the next command; a scripted single client measures the
 * script instead of the server. This tool runs c connections concurrently
 * (non-blocking sockets, one epoll loop), each a tiny state machine:
 *
 *     send XREADGROUP -> await reply -> send XACK <ids> -> await :k -> ...
 *
 * until every connection has read nil (the group has delivered everything).
 * Replies are parsed with runnel's own allocation-free client-side reader
 * (runnel_resp_next from core/resp.h): a reply may arrive in any number of
 * pieces, the reader consumes only whole items, and AGAIN means "read more".
 * Delivered IDs are copied out of the input buffer as soon as their item is
 * read, straight into the wire form of the XACK that follows, so the buffer
 * can be compacted between reads without leaving dangling pointers.
 *
 * Sequence: DEL key; XGROUP CREATE key group 0 MKSTREAM; XADD n entries
 * (pipelined, 1000 per write); the measured phase; then checks: every entry
 * was delivered once and acked once (each XACK answers the number of IDs it
 * carried), XPENDING's summary count is 0 and XLEN is n. Any protocol error,
 * error reply or mismatch exits 1; usage errors exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "resp.h"
#include "runnel_err.h"

#define PREFILL_CHUNK 1000
#define MAX_ID_TEXT 48          /* "18446744073709551615-18446744073709551615" is 41 */
#define IO_TIMEOUT_MS 30000     /* no progress for this long = the server hung */

typedef struct options {
    const char *host;
    const char *port;
    long conns;
    long entries;
    long batch;
    bool prefill;
    bool explicit_ids;
    const char *key;
    const char *group;
    bool csv;
    bool quiet;
} options_t;

typedef enum conn_state {
    ST_SEND_READ, ST_AWAIT_READ, ST_SEND_ACK, ST_AWAIT_ACK, ST_DONE
} conn_state_t;

/* One consumer connection. `in` holds received bytes not yet consumed by the
 * reader; `out` the command being sent; `ids` the delivered IDs of the
 * current XREADGROUP reply, already in RESP bulk form for the XACK. */
typedef struct conn {
    int fd;
    int index;
    conn_state_t state;
    runnel_resp_reader_t rd;
    uint8_t *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    char *ids;
    size_t ids_len, ids_cap;
    long ids_count;
    bool want_id;           /* the next depth-4 bulk is an entry's ID */
    bool read_was_nil;      /* the reply being read is nil / has no entries */
    bool want_out;          /* EPOLLOUT is armed */
    long delivered, acked, round_trips;
} conn_t;

static const char *g_prog = "bench_consumer";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: error: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Building commands                                                   */
/* ------------------------------------------------------------------ */

/* Appends one RESP bulk string to a growable buffer. */
static void put_bulk(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    size_t need = *len + n + 32;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            die("out of memory");
        *buf = nb;
        *cap = ncap;
    }
    *len += (size_t)sprintf(*buf + *len, "$%zu\r\n", n);
    memcpy(*buf + *len, s, n);
    *len += n;
    memcpy(*buf + *len, "\r\n", 2);
    *len += 2;
}

static void put_raw(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < *len + n)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            die("out of memory");
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

/* Appends a whole command from NULL-terminated C strings. */
static void put_command(char **buf, size_t *len, size_t *cap, const char *const *argv)
{
    char head[32];
    size_t argc = 0;
    while (argv[argc])
        argc++;
    int h = snprintf(head, sizeof head, "*%zu\r\n", argc);
    put_raw(buf, len, cap, head, (size_t)h);
    for (size_t i = 0; i < argc; i++)
        put_bulk(buf, len, cap, argv[i], strlen(argv[i]));
}

/* ------------------------------------------------------------------ */
/* Sockets                                                             */
/* ------------------------------------------------------------------ */

static int connect_to(const options_t *o)
{
    struct addrinfo hints, *res, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(o->host, o->port, &hints, &res);
    if (rc != 0)
        die("cannot resolve %s:%s: %s", o->host, o->port, gai_strerror(rc));
    int fd = -1, err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        die("cannot connect to %s:%s: %s", o->host, o->port, strerror(err));
    /* A request/reply loop: Nagle would hold each small command back. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static void set_nonblocking(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)) < 0)
        die("fcntl: %s", strerror(errno));
}

/* Makes room for at least `more` bytes after in_len. */
static void in_reserve(conn_t *c, size_t more)
{
    if (c->in_cap - c->in_len >= more)
        return;
    size_t ncap = c->in_cap ? c->in_cap : 65536;
    while (ncap - c->in_len < more)
        ncap *= 2;
    uint8_t *nb = realloc(c->in, ncap);
    if (!nb)
        die("out of memory");
    c->in = nb;
    c->in_cap = ncap;
}

/* Drops the first `used` bytes of the input buffer. */
static void in_consume(conn_t *c, size_t used)
{
    if (used == 0)
        return;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
}

/* ------------------------------------------------------------------ */
/* Synchronous calls (setup and verification, one connection)          */
/* ------------------------------------------------------------------ */

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("write: %s", w < 0 ? strerror(errno) : "closed");
        p += w;
        n -= (size_t)w;
    }
}

/* What a synchronous caller needs from one reply: the top-level item, and
 * the first integer child of a top-level array (XPENDING's count). */
typedef struct reply_summary {
    runnel_resp_type_t type;
    bool is_null;
    int64_t integer;
    char text[256];            /* SIMPLE / ERROR / BULK, truncated */
    bool have_first_int;
    int64_t first_int;
} reply_summary_t;

/* Reads exactly one whole reply from the blocking socket. */
static void read_reply(conn_t *c, reply_summary_t *out)
{
    memset(out, 0, sizeof *out);
    bool top_seen = false;
    size_t pos = 0;
    for (;;) {
        runnel_resp_item_t it;
        int r = c->in_len > pos ? runnel_resp_next(&c->rd, c->in + pos, c->in_len - pos, &it)
                                : RUNNEL_ERR_AGAIN;
        if (r == RUNNEL_ERR_AGAIN) {
            in_consume(c, pos);
            pos = 0;
            in_reserve(c, 4096);
            ssize_t got = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                die("read: %s", got < 0 ? strerror(errno) : "server closed the connection");
            c->in_len += (size_t)got;
            continue;
        }
        if (r < 0)
            die("protocol error in a reply");
        pos += (size_t)r;
        if (!top_seen) {
            top_seen = true;
            out->type = it.type;
            out->is_null = it.is_null;
            out->integer = it.integer;
            size_t n = it.str.len < sizeof out->text - 1 ? it.str.len : sizeof out->text - 1;
            if (it.str.p)
                memcpy(out->text, it.str.p, n);
            out->text[n] = '\0';
        } else if (it.depth == 1 && !out->have_first_int && it.type == RUNNEL_RESP_INTEGER) {
            out->have_first_int = true;
            out->first_int = it.integer;
        }
        if (it.ends_value) {
            in_consume(c, pos);
            return;
        }
    }
}

static void call(conn_t *c, const char *const *argv, reply_summary_t *rep)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    put_command(&buf, &len, &cap, argv);
    send_all(c->fd, buf, len);
    free(buf);
    read_reply(c, rep);
    if (rep->type == RUNNEL_RESP_ERROR)
        die("%s answered an error: %s", argv[0], rep->text);
}

/* XADD n entries, PREFILL_CHUNK commands per write, each reply checked. */
static void prefill(conn_t *c, const options_t *o)
{
    char *buf = NULL;
    size_t cap = 0;
    char idtext[MAX_ID_TEXT];
    for (long done = 0; done < o->entries;) {
        long chunk = o->entries - done < PREFILL_CHUNK ? o->entries - done : PREFILL_CHUNK;
        size_t len = 0;
        for (long i = 0; i < chunk; i++) {
            if (o->explicit_ids)
                snprintf(idtext, sizeof idtext, "%ld-1", done + i + 1);
            else
                strcpy(idtext, "*");
            const char *argv[] = {"XADD", o->key, idtext, "f", "v", NULL};
            put_command(&buf, &len, &cap, argv);
        }
        send_all(c->fd, buf, len);
        for (long i = 0; i < chunk; i++) {
            reply_summary_t rep;
            read_reply(c, &rep);
            if (rep.type != RUNNEL_RESP_BULK || rep.is_null)
                die("XADD #%ld answered %c%s", done + i + 1, (char)rep.type, rep.text);
        }
        done += chunk;
    }
    free(buf);
}

/* ------------------------------------------------------------------ */
/* The measured loop                                                   */
/* ------------------------------------------------------------------ */

static void conn_fail(const conn_t *c, const char *what)
{
    die("connection %d (consumer c%d): %s", c->index, c->index, what);
}

/* Prepares the next command in c->out for the current state. */
static void prepare_read(conn_t *c, const options_t *o)
{
    char consumer[32], count[32];
    snprintf(consumer, sizeof consumer, "c%d", c->index);
    snprintf(count, sizeof count, "%ld", o->batch);
    const char *argv[] = {"XREADGROUP", "GROUP", o->group, consumer, "COUNT", count,
                          "STREAMS", o->key, ">", NULL};
    c->out_len = c->out_off = 0;
    put_command(&c->out, &c->out_len, &c->out_cap, argv);
    c->ids_len = 0;
    c->ids_count = 0;
    c->want_id = false;
    c->read_was_nil = false;
}

static void prepare_ack(conn_t *c, const options_t *o)
{
    char head[32];
    c->out_len = c->out_off = 0;
    int h = snprintf(head, sizeof head, "*%ld\r\n", 3 + c->ids_count);
    put_raw(&c->out, &c->out_len, &c->out_cap, head, (size_t)h);
    put_bulk(&c->out, &c->out_len, &c->out_cap, "XACK", 4);
    put_bulk(&c->out, &c->out_len, &c->out_cap, o->key, strlen(o->key));
    put_bulk(&c->out, &c->out_len, &c->out_cap, o->group, strlen(o->group));
    put_raw(&c->out, &c->out_len, &c->out_cap, c->ids, c->ids_len);
}

/* One item of an XREADGROUP reply. RESP2 shape:
 *   *1 [ *2 [ $key, *N [ *2 [ $id, *2k [fields] ], ... ] ] ]   or *-1
 * (depths 0, 1, 2, 3, 4): an entry is an array at depth 3 and the bulk
 * right after it, at depth 4, is its ID. */
static void on_read_item(conn_t *c, const options_t *o, const runnel_resp_item_t *it)
{
    if (it->type == RUNNEL_RESP_ERROR) {
        char msg[300];
        snprintf(msg, sizeof msg, "XREADGROUP answered -%.*s", (int)it->str.len, it->str.p);
        conn_fail(c, msg);
    }
    if (it->depth == 0) {
        if (it->type != RUNNEL_RESP_ARRAY && it->type != RUNNEL_RESP_NULL)
            conn_fail(c, "XREADGROUP reply is not an array");
        c->read_was_nil = it->is_null || it->integer == 0;
        return;
    }
    if (it->depth == 3 && it->type == RUNNEL_RESP_ARRAY) {
        c->want_id = true;
        return;
    }
    if (it->depth == 4 && c->want_id) {
        c->want_id = false;
        if (it->type != RUNNEL_RESP_BULK || it->is_null || it->str.len == 0 ||
            it->str.len >= MAX_ID_TEXT)
            conn_fail(c, "an entry without a valid ID");
        if (c->ids_count >= o->batch)
            conn_fail(c, "more entries than COUNT");
        put_bulk(&c->ids, &c->ids_len, &c->ids_cap, it->str.p, it->str.len);
        c->ids_count++;
    }
}

/* A whole XREADGROUP reply arrived: ack what it delivered, or stop. */
static void on_read_done(conn_t *c, const options_t *o)
{
    c->round_trips++;
    if (c->read_was_nil || c->ids_count == 0) {
        c->state = ST_DONE;
        return;
    }
    c->delivered += c->ids_count;
    prepare_ack(c, o);
    c->state = ST_SEND_ACK;
}

static void on_ack_item(conn_t *c, const options_t *o, const runnel_resp_item_t *it)
{
    c->round_trips++;
    if (it->depth != 0 || it->type != RUNNEL_RESP_INTEGER) {
        char msg[300];
        snprintf(msg, sizeof msg, "XACK answered %c%.*s", (char)it->type,
                 it->str.p ? (int)it->str.len : 0, it->str.p ? it->str.p : "");
        conn_fail(c, msg);
    }
    if (it->integer != c->ids_count) {
        char msg[128];
        snprintf(msg, sizeof msg, "XACK of %ld IDs answered %" PRId64, c->ids_count, it->integer);
        conn_fail(c, msg);
    }
    c->acked += it->integer;
    prepare_read(c, o);
    c->state = ST_SEND_READ;
}

/* Feeds every whole item in the input buffer to the state machine. */
static void parse_input(conn_t *c, const options_t *o)
{
    size_t pos = 0;
    while (c->state == ST_AWAIT_READ || c->state == ST_AWAIT_ACK) {
        runnel_resp_item_t it;
        if (pos == c->in_len)
            break;
        int r = runnel_resp_next(&c->rd, c->in + pos, c->in_len - pos, &it);
        if (r == RUNNEL_ERR_AGAIN)
            break;
        if (r < 0)
            conn_fail(c, "protocol error in a reply");
        pos += (size_t)r;
        if (c->state == ST_AWAIT_READ) {
            on_read_item(c, o, &it);
            if (it.ends_value)
                on_read_done(c, o);
        } else {
            if (!it.ends_value)
                conn_fail(c, "XACK answered an aggregate");
            on_ack_item(c, o, &it);
        }
    }
    if (pos < c->in_len && c->state != ST_AWAIT_READ && c->state != ST_AWAIT_ACK)
        conn_fail(c, "bytes after the reply (unsolicited data)");
    in_consume(c, pos);
}

static void arm(int ep, conn_t *c, bool want_out)
{
    if (c->want_out == want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    c->want_out = want_out;
}

/* Writes what it can of c->out; moves to the await state when all is sent. */
static void flush_out(int ep, conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm(ep, c, true);
            return;
        }
        if (w <= 0)
            conn_fail(c, w < 0 ? strerror(errno) : "write returned 0");
        c->out_off += (size_t)w;
    }
    arm(ep, c, false);
    c->state = c->state == ST_SEND_READ ? ST_AWAIT_READ : ST_AWAIT_ACK;
}

/* Reads until EAGAIN, parsing as bytes arrive; EOF or an error is fatal. */
static void fill_in(conn_t *c, const options_t *o)
{
    for (;;) {
        in_reserve(c, 16384);
        ssize_t got = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got < 0)
            conn_fail(c, strerror(errno));
        if (got == 0)
            conn_fail(c, "server closed the connection");
        c->in_len += (size_t)got;
        parse_input(c, o);
    }
}

/* Runs all connections until each has read nil. Returns the seconds taken. */
static double run_loop(conn_t *cs, long n, const options_t *o)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1: %s", strerror(errno));
    for (long i = 0; i < n; i++) {
        set_nonblocking(cs[i].fd, true);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
        cs[i].want_out = false;
        prepare_read(&cs[i], o);
        cs[i].state = ST_SEND_READ;
    }
    long running = n;
    double t0 = now_seconds();
    for (long i = 0; i < n; i++)
        flush_out(ep, &cs[i]);
    struct epoll_event evs[256];
    while (running > 0) {
        int k = epoll_wait(ep, evs, 256, IO_TIMEOUT_MS);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            die("epoll_wait: %s", strerror(errno));
        if (k == 0)
            die("no reply for %d s: the server hung (%ld connections still running)",
                IO_TIMEOUT_MS / 1000, running);
        for (int e = 0; e < k; e++) {
            conn_t *c = evs[e].data.ptr;
            if (c->state == ST_DONE)
                continue;
            if (evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                fill_in(c, o);
            if ((evs[e].events & EPOLLOUT) && (c->state == ST_SEND_READ || c->state == ST_SEND_ACK))
                flush_out(ep, c);
            /* A reply moved the machine to a send state: send at once. */
            if (c->state == ST_SEND_READ || c->state == ST_SEND_ACK)
                flush_out(ep, c);
            if (c->state == ST_DONE) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                running--;
            }
        }
    }
    double dt = now_seconds() - t0;
    close(ep);
    for (long i = 0; i < n; i++)
        set_nonblocking(cs[i].fd, false);
    return dt;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [-h host] [-p port] [-c connections] [-n entries] [-b count]\n"
            "          [--prefill | --no-prefill] [--explicit-ids] [-k key] [-g group] [--csv] [-q]\n"
            "Consumer-group load: every connection is consumer c<i> and loops\n"
            "  XREADGROUP GROUP <group> c<i> COUNT <b> STREAMS <key> >  then  XACK <key> <group> <ids>\n"
            "until the stream is drained, then checks XPENDING (0) and XLEN (n).\n"
            "  -h host        server host (127.0.0.1)\n"
            "  -p port        server port (6379)\n"
            "  -c n           concurrent connections (50)\n"
            "  -n n           entries (200000)\n"
            "  -b n           XREADGROUP COUNT (100)\n"
            "  --prefill      DEL key, create the group, XADD n entries 'f v' first (default)\n"
            "  --no-prefill   consume the existing stream (n = its XLEN; group must not exist)\n"
            "  --explicit-ids prefill with IDs 1-1, 2-1, ... instead of *\n"
            "  -k key, -g group  stream and group names (bench:consumer, g)\n"
            "  --csv          print one redis-benchmark style CSV row\n"
            "  -q             print only the result line\n"
            "Exit status: 0 all checks passed, 1 error or mismatch, 2 usage.\n",
            g_prog);
}

static long parse_count(const char *opt, const char *v, long min)
{
    char *end;
    errno = 0;
    long x = strtol(v ? v : "", &end, 10);
    if (!v || *v == '\0' || *end != '\0' || errno || x < min) {
        fprintf(stderr, "%s: bad value for %s: '%s'\n", g_prog, opt, v ? v : "");
        exit(2);
    }
    return x;
}

static void parse_options(int argc, char **argv, options_t *o)
{
    *o = (options_t){.host = "127.0.0.1", .port = "6379", .conns = 50, .entries = 200000,
                     .batch = 100, .prefill = true, .key = "bench:consumer", .group = "g"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "-h") && v) {
            o->host = v, i++;
        } else if (!strcmp(a, "-p") && v) {
            parse_count(a, v, 1);
            o->port = v, i++;
        } else if (!strcmp(a, "-c")) {
            o->conns = parse_count(a, v, 1), i++;
        } else if (!strcmp(a, "-n")) {
            o->entries = parse_count(a, v, 0), i++;
        } else if (!strcmp(a, "-b")) {
            o->batch = parse_count(a, v, 1), i++;
        } else if (!strcmp(a, "-k") && v) {
            o->key = v, i++;
        } else if (!strcmp(a, "-g") && v) {
            o->group = v, i++;
        } else if (!strcmp(a, "--prefill")) {
            o->prefill = true;
        } else if (!strcmp(a, "--no-prefill")) {
            o->prefill = false;
        } else if (!strcmp(a, "--explicit-ids")) {
            o->explicit_ids = true;
        } else if (!strcmp(a, "--csv")) {
            o->csv = true;
        } else if (!strcmp(a, "-q")) {
            o->quiet = true;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", g_prog, a);
            usage(stderr);
            exit(2);
        }
    }
    if (o->conns > 10000 || o->batch > 1000000) {
        fprintf(stderr, "%s: -c at most 10000, -b at most 1000000\n", g_prog);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    options_t o;
    parse_options(argc, argv, &o);

    conn_t *cs = xmalloc(sizeof(conn_t) * (size_t)o.conns);
    memset(cs, 0, sizeof(conn_t) * (size_t)o.conns);
    for (long i = 0; i < o.conns; i++) {
        cs[i].fd = connect_to(&o);
        cs[i].index = (int)i;
        runnel_resp_reader_init(&cs[i].rd, NULL);
    }

    conn_t *c0 = &cs[0];
    reply_summary_t rep;
    double prefill_s = 0;
    if (o.prefill) {
        call(c0, (const char *const[]){"DEL", o.key, NULL}, &rep);
        call(c0, (const char *const[]){"XGROUP", "CREATE", o.key, o.group, "0", "MKSTREAM", NULL}, &rep);
        double t = now_seconds();
        prefill(c0, &o);
        prefill_s = now_seconds() - t;
    } else {
        call(c0, (const char *const[]){"XGROUP", "CREATE", o.key, o.group, "0", "MKSTREAM", NULL}, &rep);
        call(c0, (const char *const[]){"XLEN", o.key, NULL}, &rep);
        o.entries = (long)rep.integer;
    }
    if (!o.quiet && !o.csv)
        fprintf(stderr, "%s: %s:%s key %s group %s, %ld entries (prefill %.2f s), "
                "%ld connections, COUNT %ld\n", g_prog, o.host, o.port, o.key, o.group,
                o.entries, prefill_s, o.conns, o.batch);

    double dt = run_loop(cs, o.conns, &o);

    long delivered = 0, acked = 0, round_trips = 0, busiest = 0, idlest = -1;
    for (long i = 0; i < o.conns; i++) {
        delivered += cs[i].delivered;
        acked += cs[i].acked;
        round_trips += cs[i].round_trips;
        if (cs[i].acked > busiest)
            busiest = cs[i].acked;
        if (idlest < 0 || cs[i].acked < idlest)
            idlest = cs[i].acked;
    }

    int failed = 0;
    if (delivered != o.entries) {
        fprintf(stderr, "%s: FAIL: %ld entries delivered, expected %ld\n", g_prog, delivered, o.entries);
        failed = 1;
    }
    if (acked != o.entries) {
        fprintf(stderr, "%s: FAIL: %ld entries acked, expected %ld\n", g_prog, acked, o.entries);
        failed = 1;
    }
    call(c0, (const char *const[]){"XPENDING", o.key, o.group, NULL}, &rep);
    if (rep.type != RUNNEL_RESP_ARRAY || !rep.have_first_int) {
        fprintf(stderr, "%s: FAIL: XPENDING summary has no count\n", g_prog);
        failed = 1;
    } else if (rep.first_int != 0) {
        fprintf(stderr, "%s: FAIL: XPENDING count %" PRId64 ", expected 0\n", g_prog, rep.first_int);
        failed = 1;
    }
    call(c0, (const char *const[]){"XLEN", o.key, NULL}, &rep);
    if (rep.type != RUNNEL_RESP_INTEGER || rep.integer != o.entries) {
        fprintf(stderr, "%s: FAIL: XLEN %" PRId64 ", expected %ld\n", g_prog, rep.integer, o.entries);
        failed = 1;
    }

    double rate = dt > 0 ? (double)acked / dt : 0;
    if (o.csv) {
        printf("\"test\",\"entries_per_sec\",\"seconds\",\"round_trips\",\"connections\",\"count\"\n");
        printf("\"XREADGROUP+XACK\",\"%.2f\",\"%.3f\",\"%ld\",\"%ld\",\"%ld\"\n",
               rate, dt, round_trips, o.conns, o.batch);
    } else {
        printf("%ld entries consumed+acked in %.3f s: %.2f entries/s, %ld round trips "
               "(%.0f/s), per consumer %ld..%ld entries%s\n",
               acked, dt, rate, round_trips, dt > 0 ? (double)round_trips / dt : 0.0,
               idlest, busiest, failed ? " [CHECKS FAILED]" : "; XPENDING 0, XLEN ok");
    }

    for (long i = 0; i < o.conns; i++) {
        close(cs[i].fd);
        free(cs[i].in);
        free(cs[i].out);
        free(cs[i].ids);
    }
    free(cs);
    return failed;
}
