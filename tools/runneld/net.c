/*
 * net.c - the event loop: one thread, epoll, non-blocking sockets.
 *
 * For each readable client: read what is there (into the shared read
 * buffer when nothing of an earlier command is pending, else into its own
 * query buffer), parse and execute every complete command (pipelines are
 * answered in one go), then send the replies. Bytes of a command that did
 * not arrive whole, or of commands that must wait, move to the client's
 * query buffer (mem.c). A reply is built in the shared staging area and
 * leaves it before anything else can write there: it goes to the socket
 * directly, and what the socket does not take waits in the client's output
 * buffer with EPOLLOUT armed.
 *
 * Limits, as Redis applies them:
 *   - a query buffer longer than client-query-buffer-limit: the client is
 *     closed with "Closing client that reached max query buffer length";
 *     a bulk over proto-max-bulk-len is a protocol error right away;
 *   - client-output-buffer-limit normal <hard> <soft> <secs> (none by
 *     default, as Redis); a reply built whole (EXEC, XINFO, ...) larger
 *     than max-reply-size (ours: the staging area) closes the client;
 *     range reads (XRANGE, XREAD, XREADGROUP >) are not built whole: past
 *     64 KiB their entries stream from the log (reply.c), and a client
 *     with a streamed reply in flight runs no further command until it is
 *     out;
 *   - backpressure: while RD_OUT_HIGH_WATER bytes wait for a client's
 *     socket, its input is neither read nor executed, so a client that does
 *     not read costs at most that plus the one reply it asked for;
 *   - client-max-memory and maxmemory-clients (mem.c);
 *   - maxclients, protected mode, idle timeout.
 * A blocked client (XREAD BLOCK) keeps its later pipelined commands in its
 * query buffer until it is served or times out.
 *
 * Durability (store.c): before a reply leaves staging, the engine's write
 * page is programmed into the store file (a pwrite), so a reply never
 * announces a write a kill -9 could lose. Under appendfsync always, while
 * anything is unsynced replies go to the clients' output buffers instead
 * (await_sync); at the end of the loop turn one sync covers them all and
 * they are sent (a group commit, as Redis's beforeSleep).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rd_sync.h"
#include "runneld.h"

/* epoll tags: a listener is TAG_LISTEN | index; a client is its slot in the
 * low 32 bits and the low 31 bits of its id above them, so an event still
 * queued for a client closed earlier in the same batch never reaches the
 * client that took its slot. */
#define TAG_LISTEN (1ull << 63)

static const char protected_msg[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    "the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    "from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis configuration "
    "file, and setting the protected mode option to 'no', and then restarting the server. 3) "
    "If you started the server manually just for testing, restart it with the "
    "'--protected-mode no' option. 4) Setup a an authentication password for the default user. "
    "NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.\r\n";

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */

static int add_listener(rd_server_t *s, int fd, bool is_unix)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN | (uint64_t)s->nlisten};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        return -1;
    s->listen_fds[s->nlisten] = fd;
    s->listen_unix[s->nlisten] = is_unix;
    s->nlisten++;
    return 0;
}

static int listen_tcp(rd_server_t *s, const char *addr_in)
{
    bool optional = addr_in[0] == '-';
    const char *addr = optional ? addr_in + 1 : addr_in;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    int family;
    if (!strcmp(addr, "*") || strchr(addr, ':') == NULL) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)s->cfg.port);
        if (!strcmp(addr, "*"))
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
            goto bad;
        sl = sizeof *a;
        family = AF_INET;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)s->cfg.port);
        if (!strcmp(addr, "::*"))
            a->sin6_addr = in6addr_any;
        else if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            goto bad;
        sl = sizeof *a;
        family = AF_INET6;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto bad;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 511) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        goto bad;
    }
    if (add_listener(s, fd, false) != 0) {
        close(fd);
        goto bad;
    }
    return 0;
bad:
    if (optional)
        return 0;
    rd_log(RD_LL_WARNING, "Warning: Could not create server TCP listening socket %s:%d: %s",
           addr, s->cfg.port, strerror(errno));
    return -1;
}

static int listen_unix(rd_server_t *s)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t plen = strnlen(s->cfg.unixsocket, sizeof a.sun_path - 1);
    memcpy(a.sun_path, s->cfg.unixsocket, plen);   /* config.c caps it at 107 */
    unlink(s->cfg.unixsocket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 511) != 0) {
        rd_log(RD_LL_WARNING, "Failed opening Unix socket: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (s->cfg.unixsocketperm != 0)
        chmod(s->cfg.unixsocket, (mode_t)s->cfg.unixsocketperm);
    return add_listener(s, fd, true);
}

int rd_net_listen(rd_server_t *s)
{
    s->nlisten = 0;
    if (s->cfg.port != 0)
        for (int i = 0; i < s->cfg.nbind; i++)
            if (listen_tcp(s, s->cfg.bind[i]) != 0)
                return -1;
    if (s->cfg.unixsocket[0] != '\0' && listen_unix(s) != 0)
        return -1;
    if (s->nlisten == 0) {
        rd_log(RD_LL_WARNING, "Configured to not listen anywhere, exiting.");
        return -1;
    }
    return 0;
}

void rd_net_close_listeners(rd_server_t *s)
{
    for (int i = 0; i < s->nlisten; i++)
        close(s->listen_fds[i]);
    if (s->cfg.unixsocket[0] != '\0')
        unlink(s->cfg.unixsocket);
    s->nlisten = 0;
}


/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

/* A blocked client's later commands wait in its query buffer; past this
 * much it is not read until it is served. */
#define BLOCKED_QBUF_MAX (64u * 1024)

static uint64_t client_tag(const rd_client_t *c)
{
    return ((uint64_t)(c->c.id & 0x7fffffffu) << 32) | c->slot;
}

static bool can_read(const rd_client_t *c)
{
    if (c->close_after_flush || c->close_asap || c->out_paused)
        return false;
    return !(c->c.block.active && c->qlen >= BLOCKED_QBUF_MAX);
}

void rd_client_refresh(rd_server_t *s, rd_client_t *c)
{
    if (c->close_asap)
        return;
    size_t pending = c->olen - c->osent, hw = rd_out_high_water(&s->cfg);
    bool was_paused = c->out_paused;
    /* A streamed reply in flight holds the client's next commands back
     * until it is out, as a full output buffer does. */
    if (pending >= hw || c->nranges > 0)
        c->out_paused = true;
    else if (pending <= hw / 2)
        c->out_paused = false;
    uint32_t ev = EPOLLRDHUP;
    if (can_read(c))
        ev |= EPOLLIN;
    if (pending > 0 || c->nranges > 0)
        ev |= EPOLLOUT;
    if (ev != c->armed) {
        struct epoll_event e = {.events = ev, .data.u64 = client_tag(c)};
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->c.fd, &e);
        c->armed = ev;
    }
    /* Commands left waiting for output room: run them now there is some. */
    if (!c->out_paused && (was_paused || c->more_input) && c->qlen > 0) {
        c->more_input = false;
        rd_client_schedule(s, c);
    }
}

static void unlink_pending(rd_server_t *s, rd_client_t *c)
{
    if (!c->pending)
        return;
    rd_client_t *prev = NULL;
    for (rd_client_t *x = s->pending_head; x != NULL; prev = x, x = x->next_pending) {
        if (x != c)
            continue;
        if (prev)
            prev->next_pending = x->next_pending;
        else
            s->pending_head = x->next_pending;
        if (s->pending_tail == x)
            s->pending_tail = prev;
        break;
    }
    c->pending = false;
}

static void unlink_sync(rd_server_t *s, rd_client_t *c)
{
    if (!c->await_sync)
        return;
    for (rd_client_t **pp = &s->sync_head; *pp != NULL; pp = &(*pp)->next_sync) {
        if (*pp == c) {
            *pp = c->next_sync;
            break;
        }
    }
    c->await_sync = false;
    c->next_sync = NULL;
}

static void free_client(rd_server_t *s, rd_client_t *c)
{
    unlink_sync(s, c);
    runnel_cmd_client_closed(&s->srv, &c->c);
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->c.fd, NULL);
    close(c->c.fd);
    unlink_pending(s, c);
    if (s->stage_owner == c)
        s->stage_owner = NULL;
    s->slot_tab[c->slot] = NULL;
    s->free_slots[s->nfree++] = c->slot;
    /* Swap-remove from the dense active list. */
    rd_client_t *last = s->active[--s->nclients];
    s->active[c->active_pos] = last;
    last->active_pos = c->active_pos;
    rd_client_free_memory(s, c);
}

void rd_client_schedule(rd_server_t *s, rd_client_t *c)
{
    if (c->pending)
        return;
    c->pending = true;
    c->next_pending = NULL;
    if (s->pending_tail != NULL)
        s->pending_tail->next_pending = c;
    else
        s->pending_head = c;
    s->pending_tail = c;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
            return true;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            return a->sin6_addr.s6_addr[12] == 127;
        return false;
    }
    return ss->ss_family == AF_UNIX;
}

static void format_addr(const struct sockaddr_storage *ss, const char *unix_path, char *out,
                        size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin6_port));
    } else {
        snprintf(out, cap, "%s:0", unix_path);
    }
}

/* Out of file descriptors: stop polling the listeners until the next cron
 * tick instead of spinning on a listener that stays readable. */
static void pause_listeners(rd_server_t *s, bool pause)
{
    if (s->listen_paused == pause)
        return;
    s->listen_paused = pause;
    for (int i = 0; i < s->nlisten; i++) {
        struct epoll_event ev = {.events = pause ? 0 : EPOLLIN, .data.u64 = TAG_LISTEN | (uint64_t)i};
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fds[i], &ev);
    }
}

/* Makes room for maxclients clients in the slot arrays (start-up, and
 * CONFIG SET maxclients). Pointers and slot numbers: 16 bytes a client. */
int rd_net_reserve_slots(rd_server_t *s, uint32_t n)
{
    if (n <= s->slot_cap)
        return 0;
    size_t bytes_p, bytes_u;
    if (!rd_mul(n, sizeof(rd_client_t *), &bytes_p) || !rd_mul(n, sizeof(uint32_t), &bytes_u))
        return -1;
    rd_client_t **tab = realloc(s->slot_tab, bytes_p);
    if (tab == NULL)
        return -1;
    s->slot_tab = tab;
    for (uint32_t i = s->slot_cap; i < n; i++)
        tab[i] = NULL;
    rd_client_t **act = realloc(s->active, bytes_p);
    if (act == NULL)
        return -1;
    s->active = act;
    uint32_t *fr = realloc(s->free_slots, bytes_u);
    if (fr == NULL)
        return -1;
    s->free_slots = fr;
    s->slot_cap = n;
    return 0;
}

/* Returns false when there was nothing (more) to accept. */
static bool accept_one(rd_server_t *s, int lfd, bool is_unix)
{
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            rd_log(RD_LL_WARNING, "Accepting client connection: %s", strerror(errno));
            pause_listeners(s, true);
        }
        return false;
    }
    if (s->nclients >= s->cfg.maxclients || s->nclients >= s->slot_cap) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        if (send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL) < 0) { /* best effort */ }
        close(fd);
        s->srv.rejected_connections++;
        return true;
    }
    if (s->cfg.protected_mode && s->cfg.requirepass[0] == '\0' && !is_unix &&
        !is_loopback(&peer)) {
        if (send(fd, protected_msg, sizeof protected_msg - 1, MSG_NOSIGNAL) < 0) { }
        close(fd);
        s->srv.rejected_connections++;
        return true;
    }
    rd_client_t *c = rd_client_new(s);
    if (c == NULL) {
        rd_log(RD_LL_WARNING, "Accepting client connection: out of memory");
        close(fd);
        return true;
    }
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    c->slot = s->nfree > 0 ? s->free_slots[--s->nfree] : s->next_slot++;
    c->is_unix = is_unix;
    /* Every client's writer points at the staging area: whoever the core
     * writes a reply for, it lands there and is moved out at once. */
    runnel_client_init(&c->c, s->next_client_id++, s->stage, s->stage_cap, NULL, 0, NULL, 0,
                       NULL, 0, s->cfg.requirepass[0] == '\0');
    c->c.fd = fd;
    c->c.host = c;
    uint64_t now = rd_now_ms();
    c->c.created_ms = now;
    c->c.last_cmd_ms = now;
    c->last_io_ms = now;
    format_addr(&peer, s->cfg.unixsocket, c->c.addr, sizeof c->c.addr);
    struct sockaddr_storage local;
    socklen_t ll = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &ll) == 0)
        format_addr(&local, s->cfg.unixsocket, c->c.laddr, sizeof c->c.laddr);
    c->armed = EPOLLIN | EPOLLRDHUP;
    struct epoll_event ev = {.events = c->armed, .data.u64 = client_tag(c)};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        s->free_slots[s->nfree++] = c->slot;
        rd_client_free_memory(s, c);
        return true;
    }
    s->slot_tab[c->slot] = c;
    c->active_pos = s->nclients;
    s->active[s->nclients++] = c;
    s->srv.total_connections++;
    rd_log(RD_LL_VERBOSE, "Accepted %s", c->c.addr);
    return true;
}

/* Queues n reply bytes for c: to the socket if nothing is queued before
 * them, the rest to c's output buffer. false = c is closing. */
static bool out_queue(rd_server_t *s, rd_client_t *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    if (n == 0)
        return true;
    c->out_in += n;
    if (c->olen == c->osent && !c->await_sync && !rd_reply_placed(c)) {
        ssize_t k;
        do {
            k = send(c->c.fd, p, n, MSG_NOSIGNAL);
        } while (k < 0 && errno == EINTR);
        if (k > 0) {
            off = (size_t)k;
            c->out_done += (uint64_t)k;
            s->net_out += (uint64_t)k;
            s->writes++;
            c->last_io_ms = s->loop_now;
        } else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            rd_log(RD_LL_VERBOSE, "Error writing to client: %s", strerror(errno));
            c->close_asap = true;
            rd_client_schedule(s, c);
            return false;
        }
    }
    return rd_obuf_append(s, c, p + off, n - off);
}

/* Moves the reply the core just wrote for c out of the staging area (the
 * bytes, and the streamed ranges between them, in order). false = c is
 * closing. */
static bool stage_drain(rd_server_t *s, rd_client_t *c)
{
    size_t n = c->c.out.len;
    if (n == 0)
        return !c->close_asap;
    c->c.out.len = 0;
    if (n > s->stage_dirty)
        s->stage_dirty = n;
    if (c->close_asap)
        return false;
    /* The records behind this reply go to the store file first. */
    int st = rd_store_before_reply(s);
    if (st < 0) {
        rd_client_close_logged(s, c, RD_LL_WARNING, "Client ",
                               " closed: the store write behind its reply failed");
        return false;
    }
    if (st > 0 && s->cfg.commit_policy == RUNNEL_COMMIT_ALWAYS && !c->await_sync) {
        c->await_sync = true;
        c->next_sync = s->sync_head;
        s->sync_head = c;
    }
    size_t prev = 0;
    rd_range_t *r;
    while ((r = rd_reply_next_staged(c)) != NULL) {
        size_t at = r->at < n ? (size_t)r->at : n;
        if (at < prev || !out_queue(s, c, s->stage + prev, at - prev))
            return false;
        prev = at;
        rd_reply_place(c, r);
    }
    return out_queue(s, c, s->stage + prev, n - prev);
}

/* After a command: a reply too big for the staging area, the client's
 * memory (its reply counts until it leaves staging), output limits. */
static bool after_command(rd_server_t *s, rd_client_t *c)
{
    if (c->c.out.overflow) {
        char post[160];
        c->c.out.len = 0;
        c->c.out.overflow = false;
        snprintf(post, sizeof post,
                 " closed: its reply, built whole (EXEC, a history XREADGROUP, XINFO, XCLAIM), "
                 "is larger than max-reply-size (%zu bytes).",
                 s->stage_cap - RD_STAGE_BATCH);
        s->obuf_disconnects++;
        rd_client_close_logged(s, c, RD_LL_WARNING, "Client ", post);
        return false;
    }
    if (!rd_mem_admit(s, c, 0))
        return false;
    return rd_output_limits_ok(s, c);
}

/* A blocked client got its reply (or an error, or its timeout) while
 * another command ran or from the loop: move it out of staging now, before
 * the next client's reply is written there. */
void rd_net_client_woken(rd_server_t *s, rd_client_t *c)
{
    rd_client_t *o = s->stage_owner;
    if (o != NULL && o != c && o->c.out.len > 0) {
        /* Never happens (the owner's reply leaves staging before blocked
         * clients are served); if a future core change made it happen,
         * both replies would be mixed: drop both clients, send nothing. */
        rd_log(RD_LL_WARNING, "Internal error: two replies in the staging area; closing both");
        o->c.out.len = 0;
        c->c.out.len = 0;
        o->close_asap = c->close_asap = true;
        rd_client_schedule(s, o);
        rd_client_schedule(s, c);
        return;
    }
    if (!after_command(s, c)) {
        c->c.out.len = 0;   /* closing: the reply is dropped */
        return;
    }
    (void)stage_drain(s, c);
    rd_client_schedule(s, c);
}

/* The count of a multibulk header at buf ("*<n>\r\n"), for growing argv. */
static size_t mbulk_count(const uint8_t *buf, size_t len)
{
    size_t v = 0;
    for (size_t i = 1; i < len && i < 24 && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (v > (SIZE_MAX - 9) / 10)
            return SIZE_MAX;
        v = v * 10 + (size_t)(buf[i] - '0');
    }
    return v;
}

/* Executes the complete commands in buf[0..len) for c and returns the
 * bytes consumed. Stops at a partial command, when c blocks, when its
 * output backlog reaches the high-water mark, or when it is closing. */
static size_t run_commands(rd_server_t *s, rd_client_t *c, uint8_t *buf, size_t len)
{
    size_t pos = 0;
    s->stage_owner = c;
    while (pos < len && !c->close_after_flush && !c->close_asap && !c->c.block.active) {
        /* Backpressure counts the replies still in staging too: then
         * queued + staged stays under high-water + one reply, and with a
         * hard output limit (high-water = half of it) only a single reply
         * over half the limit can reach it. */
        size_t hw = rd_out_high_water(&s->cfg);
        if (rd_out_pending(s, c) >= hw || c->nranges > 0) {
            if (!stage_drain(s, c))
                break;
            if (c->olen - c->osent >= hw || c->nranges > 0) {
                c->more_input = true;   /* resumed by rd_client_refresh once it drains */
                c->out_paused = true;
                break;
            }
        }
        /* Pipelined replies go out in batches, and before they could
         * count against a configured output limit. */
        if (c->c.out.len >= (hw < RD_STAGE_BATCH ? hw : RD_STAGE_BATCH) && !stage_drain(s, c))
            break;
        size_t argc = 0;
        const char *errmsg = NULL;
        int rc = runnel_resp_parse_command(&c->pst, &s->limits, buf + pos, len - pos, s->argv,
                                           s->argv_cap, &argc, &errmsg);
        if (rc == RUNNEL_ERR_NOMEM) {
            /* More arguments than argv holds: grow it (the parser checked
             * the count against proto limits already) and parse again. */
            size_t want = mbulk_count(buf + pos, len - pos);
            if (want > s->argv_cap && want != SIZE_MAX && rd_argv_reserve(s, want))
                continue;
            rc = RUNNEL_ERR_PROTO;
            errmsg = "ERR Protocol error: invalid multibulk length";
        }
        if (rc == RUNNEL_ERR_AGAIN)
            break;
        if (rc < 0) {
            if (errmsg == NULL)
                errmsg = "ERR Protocol error: invalid multibulk length";
            rd_log(RD_LL_VERBOSE, "Protocol error (%s) from client: %s", errmsg, c->c.addr);
            runnel_cmd_protocol_error(&s->srv, &c->c, errmsg);
            c->close_after_flush = true;
            runnel_resp_cmd_reset(&c->pst);
            pos = len;
            break;
        }
        pos += (size_t)rc;
        runnel_resp_cmd_reset(&c->pst);
        if (argc == 0)
            continue;
        if (rd_store_command(s, c, argc, s->argv)) {
            if (!after_command(s, c))
                break;
            continue;
        }
        if (!rd_prepare_command(s, c, argc, s->argv))
            break;
        /* Streamed replies in flight hold entries by ID: before anything
         * may remove entries, they are written out whole (reply.c). */
        if (s->range_clients > 0 && runnel_cmd_may_remove_entries(&c->c, (int)argc, s->argv)) {
            if (!stage_drain(s, c))
                break;
            rd_reply_settle_all(s);
            if (c->close_asap)
                break;
        }
        runnel_cmd_result_t res = runnel_cmd_execute(&s->srv, &c->c, (int)argc, s->argv);
        if (!after_command(s, c))
            break;
        /* Blocked clients are about to be served: their replies are
         * written to staging too, so ours leaves it first. */
        if (s->srv.blocked_count > 0 && (s->srv.ready_len > 0 || s->srv.ready_overflow) &&
            !stage_drain(s, c))
            break;
        runnel_cmd_serve_ready(&s->srv);
        if (res == RUNNEL_CMD_CLOSE || c->c.close_after_reply) {
            c->close_after_flush = true;
            break;
        }
    }
    (void)stage_drain(s, c);
    s->stage_owner = NULL;
    return pos;
}

/* Keeps what run_commands left of buf (a partial command, or commands that
 * wait) in c's query buffer. false = c is closing. */
static bool keep_rest(rd_server_t *s, rd_client_t *c, const uint8_t *buf, size_t len,
                      size_t used)
{
    size_t rest = len - used;
    if (c->close_after_flush || c->close_asap)
        rest = 0;
    if (buf == c->qbuf) {
        if (rest > 0 && used > 0)
            memmove(c->qbuf, c->qbuf + used, rest);
        c->qlen = rest;
    } else if (rest > 0) {
        if (!rd_qbuf_reserve(s, c, rest))
            return false;
        memcpy(c->qbuf, buf + used, rest);
        c->qlen = rest;
    }
    if (c->qlen > c->qpeak)
        c->qpeak = c->qlen;
    if (c->qlen == 0 && c->qcap > 32 * 1024)
        rd_qbuf_release(s, c);   /* a big command is done: give its memory back now */
    return !c->close_asap;
}

/* Writes what is waiting. Returns false if the client was closed. */
static bool flush_client(rd_server_t *s, rd_client_t *c)
{
    while (!c->await_sync) {
        /* The first streamed range's entries when everything before them
         * is out, else the queued bytes up to the next range. */
        size_t avail;
        if (!rd_reply_ready(s, c, &avail)) {
            free_client(s, c);
            return false;
        }
        const uint8_t *p = c->fbuf + c->fsent;
        bool from_range = avail > 0;
        if (!from_range) {
            avail = c->olen - c->osent;
            if (rd_reply_placed(c) && c->ranges[0].at - c->out_done < avail)
                avail = (size_t)(c->ranges[0].at - c->out_done);
            p = c->obuf + c->osent;
        }
        if (avail == 0)
            break;
        ssize_t n = send(c->c.fd, p, avail, MSG_NOSIGNAL);
        if (n > 0) {
            if (from_range) {
                c->fsent += (size_t)n;
            } else {
                c->osent += (size_t)n;
                c->out_done += (uint64_t)n;
            }
            s->net_out += (uint64_t)n;
            s->writes++;
            c->last_io_ms = s->loop_now;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        rd_log(RD_LL_VERBOSE, "Error writing to client: %s", strerror(errno));
        free_client(s, c);
        return false;
    }
    if (c->osent == c->olen && c->nranges == 0 && !c->await_sync) {
        c->olen = c->osent = 0;
        c->soft_since_ms = 0;
        if (c->close_after_flush) {
            free_client(s, c);
            return false;
        }
        if (c->ocap > 16 * 1024)
            rd_obuf_release(s, c);  /* a big reply went out: its memory goes back now */
    }
    rd_client_refresh(s, c);
    return true;
}

static void query_limit_close(rd_server_t *s, rd_client_t *c)
{
    /* Redis logs the first 64 bytes through sdscatrepr */
    char head[64 * 4 + 3];
    runnel_repr(head, sizeof head, c->qbuf, c->qlen < 64 ? c->qlen : 64);
    char post[sizeof head + 32];
    snprintf(post, sizeof post, " (qbuf initial bytes: %s)", head);
    s->qbuf_disconnects++;
    rd_client_close_logged(s, c, RD_LL_WARNING,
                           "Closing client that reached max query buffer length: ", post);
}

/* Reads and serves one readable client. */
static void handle_read(rd_server_t *s, rd_client_t *c)
{
    uint8_t *buf;
    size_t room;
    if (c->qlen == 0) {
        buf = s->rbuf;
        room = RD_READ_CHUNK;
    } else {
        /* Read a chunk; for a bulk still arriving, up to its end, the
         * buffer growing geometrically (never past the bulk: Redis's
         * non-greedy growth for big arguments). */
        size_t want, twice;
        if (!rd_add(c->qlen, RD_READ_CHUNK, &want))
            want = SIZE_MAX;
        size_t bulk_end = rd_clamp(c->pst.need);
        if (!rd_mul(c->qcap, 2, &twice))
            twice = SIZE_MAX;
        if (bulk_end > want)
            want = bulk_end < twice ? bulk_end : (twice > want ? twice : want);
        else if (want > c->qcap && c->qcap + c->qcap / 2 > want)
            want = c->qcap + c->qcap / 2;   /* many small arguments: geometric */
        size_t lim = rd_clamp(s->cfg.query_limit), limit_room;
        if (rd_add(lim, RD_READ_CHUNK, &limit_room) && want > limit_room)
            want = limit_room > c->qlen ? limit_room : c->qlen + 1;
        if (!rd_qbuf_reserve(s, c, want)) {
            free_client(s, c);
            return;
        }
        buf = c->qbuf;
        room = c->qcap - c->qlen;
    }
    ssize_t n = read(c->c.fd, buf == s->rbuf ? buf : buf + c->qlen, room);
    if (n == 0) {
        rd_log(RD_LL_VERBOSE, "Client closed connection %s", c->c.addr);
        free_client(s, c);
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        rd_log(RD_LL_VERBOSE, "Reading from client: %s", strerror(errno));
        free_client(s, c);
        return;
    }
    s->net_in += (uint64_t)n;
    s->reads++;
    c->last_io_ms = s->loop_now;
    size_t len = (size_t)n;
    if (buf == c->qbuf) {
        c->qlen += (size_t)n;
        len = c->qlen;
        if (c->qlen > c->qpeak)
            c->qpeak = c->qlen;   /* Redis's querybuf_peak: before execution */
    }
    size_t used = run_commands(s, c, buf, len);
    if (!keep_rest(s, c, buf, len, used) || c->close_asap) {
        free_client(s, c);
        return;
    }
    if (c->qlen > s->recent_max_in)
        s->recent_max_in = c->qlen;
    if (c->qlen > rd_clamp(s->cfg.query_limit)) {
        query_limit_close(s, c);
        free_client(s, c);
        return;
    }
    (void)flush_client(s, c);
}

/* Clients woken by another's command, resumed after backpressure, or
 * killed: served here, outside any command. */
static void run_pending(rd_server_t *s)
{
    while (s->pending_head != NULL) {
        rd_client_t *c = s->pending_head;
        s->pending_head = c->next_pending;
        if (s->pending_head == NULL)
            s->pending_tail = NULL;
        c->pending = false;
        if (c->close_asap) {
            free_client(s, c);
            continue;
        }
        if (!c->c.block.active && !c->out_paused && c->qlen > 0) {
            size_t used = run_commands(s, c, c->qbuf, c->qlen);
            if (!keep_rest(s, c, c->qbuf, c->qlen, used) || c->close_asap) {
                free_client(s, c);
                continue;
            }
        }
        flush_client(s, c);
    }
}

/* Once a second: idle timeouts, buffer shrinking, listeners back after
 * running out of descriptors. */
static void cron(rd_server_t *s, uint64_t now)
{
    if (s->cfg.timeout != 0) {
        /* Backwards: free_client swap-removes, moving a visited entry here. */
        for (uint32_t i = s->nclients; i-- > 0;) {
            rd_client_t *c = s->active[i];
            if (c->c.block.active)
                continue;
            if (now - c->last_io_ms > (uint64_t)s->cfg.timeout * 1000) {
                rd_log(RD_LL_VERBOSE, "Closing idle client");
                free_client(s, c);
            }
        }
    }
    rd_mem_cron(s, now);
    pause_listeners(s, false);
}

/* appendfsync always: one sync for every reply that waits for it, then
 * the replies go out; if the sync fails they never do (their clients are
 * closed: a reply would claim a durability that is not there). */
static void release_sync_waiters(rd_server_t *s)
{
    if (s->sync_head == NULL)
        return;
    int rc = rd_store_commit(s, NULL);
    rd_client_t *c = s->sync_head;
    s->sync_head = NULL;
    while (c != NULL) {
        rd_client_t *next = c->next_sync;
        c->await_sync = false;
        c->next_sync = NULL;
        if (rc != 0)
            rd_client_close_logged(s, c, RD_LL_WARNING, "Client ",
                                   " closed: the store sync behind its reply failed");
        else
            (void)flush_client(s, c);
        c = next;
    }
}

int rd_net_loop(rd_server_t *s)
{
    struct epoll_event events[256];
    sigset_t waitmask;
    sigemptyset(&waitmask);
    uint64_t last_cron = rd_now_ms();
    bool sync_more = false;   /* the forwarder has work it can do at once */
    while (!s->shutdown_signal) {
        if (s->reopen_log) {   /* SIGHUP (main.c), delivered only in epoll_pwait */
            s->reopen_log = 0;
            rd_log_reopen();
        }
        uint64_t now = rd_now_ms();
        int timeout = s->pending_head != NULL || s->sync_head != NULL || sync_more ? 0 : 100;
        uint64_t deadline = runnel_cmd_next_deadline(&s->srv);
        if (deadline != 0) {
            int until = deadline > now ? (int)(deadline - now < 100 ? deadline - now : 100) : 0;
            if (until < timeout)
                timeout = until;
        }
        int n = epoll_pwait(s->epfd, events, 256, timeout, &waitmask);
        s->loop_now = rd_now_ms();
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rd_log(RD_LL_WARNING, "epoll_wait: %s", strerror(errno));
            return -1;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == RD_SYNC_TAG)
                continue;   /* the upstream socket: rd_sync_tick below */
            if (tag & TAG_LISTEN) {
                uint32_t li = (uint32_t)(tag & 0xffffffffu);
                for (int k = 0; k < 64 && !s->listen_paused; k++)
                    if (!accept_one(s, s->listen_fds[li], s->listen_unix[li]))
                        break;
                continue;
            }
            uint32_t slot = (uint32_t)(tag & 0xffffffffu);
            rd_client_t *c = slot < s->slot_cap ? s->slot_tab[slot] : NULL;
            if (c == NULL || client_tag(c) != tag)
                continue;   /* closed earlier in this batch */
            if (c->close_asap) {
                free_client(s, c);   /* evicted or killed meanwhile */
                continue;
            }
            uint32_t ev = events[i].events;
            if (ev & EPOLLOUT) {
                if (!flush_client(s, c))
                    continue;
            }
            if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
                if (can_read(c))
                    handle_read(s, c);
                else if (ev & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                    free_client(s, c);   /* gone while we were not reading it */
            }
        }
        run_pending(s);
        now = rd_now_ms();
        runnel_cmd_expire_blocked(&s->srv, now);
        run_pending(s);
        runnel_poll(s->store);
        sync_more = rd_sync_tick(s, rd_now_ms());
        release_sync_waiters(s);
        run_pending(s);
        release_sync_waiters(s);
        rd_store_tick(s, now);
        rd_sync_after_turn(s);
        if (s->stage_dirty > 4 * RD_STAGE_BATCH)
            rd_stage_trim(s);
        if (now - last_cron >= 1000) {
            last_cron = now;
            cron(s, now);
        }
    }
    return 0;
}
