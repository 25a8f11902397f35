/*
 * net.c - the event loop: one thread, epoll, non-blocking sockets.
 *
 * For each readable client: read what is there into its fixed query
 * buffer, then parse and execute every complete command in it (pipelines
 * are answered in one go), then write all replies with one send(). Replies
 * that do not go out at once stay in the client's fixed output buffer and
 * EPOLLOUT is armed.
 *
 * Limits, as Redis applies them:
 *   - a command larger than client-query-buffer-limit: the client is
 *     closed with "Closing client that reached max query buffer length";
 *     a bulk header over the limit is a protocol error right away;
 *   - output: when more than half the output buffer is waiting, the client's
 *     input is no longer read or executed (backpressure) until the socket
 *     drains; a reply that would overflow the buffer closes the client with
 *     "Client ... scheduled to be closed ASAP for overcoming of output
 *     buffer limits.";
 *   - maxclients, protected mode, idle timeout.
 * A blocked client (XREAD BLOCK) keeps its later pipelined commands in its
 * query buffer until it is served or times out.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runneld.h"

#define TAG_LISTEN 0x80000000u

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
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAG_LISTEN | (uint32_t)s->nlisten};
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

static void update_events(rd_server_t *s, rd_client_t *c)
{
    struct epoll_event ev = {.events = 0, .data.u32 = c->slot};
    if (!c->paused && !c->close_after_flush)
        ev.events |= EPOLLIN;
    if (c->want_write)
        ev.events |= EPOLLOUT;
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->c.fd, &ev);
}

/* Gives back the pages a client dirtied beyond the first few, so resident
 * memory follows the clients that are connected now, not the largest load
 * ever seen. The mapping stays: no allocation happens on the next accept. */
static void release_pages(void *p, size_t len)
{
    const size_t keep = 16 * 1024;
    uintptr_t start = ((uintptr_t)p + keep + 4095) & ~(uintptr_t)4095;
    uintptr_t end = ((uintptr_t)p + len) & ~(uintptr_t)4095;
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
}

static void free_client(rd_server_t *s, rd_client_t *c)
{
    runnel_cmd_client_closed(&s->srv, &c->c);
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->c.fd, NULL);
    close(c->c.fd);
    release_pages(c->qbuf, s->cfg.query_limit);
    release_pages(c->c.out.buf, c->c.out.cap);
    release_pages(c->c.multi_buf, c->c.multi_cap);
    release_pages(c->c.block_buf, c->c.block_cap);
    c->used = false;
    s->free_slots[s->nfree++] = c->slot;
    /* Swap-remove from the dense active list. */
    uint32_t last = s->active[--s->nclients];
    s->active[c->active_pos] = last;
    s->clients[last].active_pos = c->active_pos;
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

static void accept_one(rd_server_t *s, int lfd, bool is_unix)
{
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (s->nclients >= s->cfg.maxclients || s->nfree == 0) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        if (send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL) < 0) { /* best effort */ }
        close(fd);
        s->srv.rejected_connections++;
        return;
    }
    if (s->cfg.protected_mode && s->cfg.requirepass[0] == '\0' && !is_unix &&
        !is_loopback(&peer)) {
        if (send(fd, protected_msg, sizeof protected_msg - 1, MSG_NOSIGNAL) < 0) { }
        close(fd);
        s->srv.rejected_connections++;
        return;
    }
    if (!is_unix) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    uint32_t slot = s->free_slots[--s->nfree];
    rd_client_t *c = &s->clients[slot];
    uint8_t *out = c->c.out.buf;
    uint8_t *mb = c->c.multi_buf, *wb = c->c.watch_buf, *bb = c->c.block_buf;
    uint8_t *qb = c->qbuf;
    size_t ocap = c->c.out.cap;
    memset(c, 0, sizeof *c);
    c->qbuf = qb;
    c->slot = slot;
    c->used = true;
    c->is_unix = is_unix;
    runnel_client_init(&c->c, s->next_client_id++, out, ocap, mb, s->multi_cap, wb, s->watch_cap,
                       bb, s->block_cap, s->cfg.requirepass[0] == '\0');
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
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = slot};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        c->used = false;
        s->free_slots[s->nfree++] = slot;
        return;
    }
    c->active_pos = s->nclients;
    s->active[s->nclients++] = slot;
    s->srv.total_connections++;
    rd_log(RD_LL_VERBOSE, "Accepted %s", c->c.addr);
}

static void log_client(int level, rd_server_t *s, rd_client_t *c, const char *pre,
                       const char *post)
{
    char info[768];
    size_t n = runnel_client_info_string(&c->c, rd_now_ms(), info, sizeof info - 1);
    info[n] = '\0';
    (void)s;
    rd_log(level, "%s%s%s", pre, info, post);
}

/* Input is not read while more than half the output buffer waits for the
 * socket (backpressure), nor while a blocked client's query buffer is full
 * of commands it cannot run yet. Re-arms epoll when that changes, and
 * queues the client to run its buffered commands when reading resumes. */
static void refresh_events(rd_server_t *s, rd_client_t *c)
{
    const runnel_resp_writer_t *w = &c->c.out;
    bool want = w->len > c->out_sent;
    bool pause = w->len > w->cap / 2 ||
                 (c->c.block.active && c->qlen == s->cfg.query_limit);
    if (want != c->want_write || pause != c->paused) {
        bool resumed = c->paused && !pause;
        c->want_write = want;
        c->paused = pause;
        update_events(s, c);
        if (resumed)
            rd_client_schedule(s, c);
    }
}

/* Writes what is waiting. Returns false if the client was closed. */
static bool flush_client(rd_server_t *s, rd_client_t *c)
{
    runnel_resp_writer_t *w = &c->c.out;
    while (c->out_sent < w->len) {
        ssize_t n = send(c->c.fd, w->buf + c->out_sent, w->len - c->out_sent, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_sent += (size_t)n;
            s->net_out += (uint64_t)n;
            s->writes++;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        free_client(s, c);
        return false;
    }
    if (c->out_sent == w->len) {
        w->len = 0;
        c->out_sent = 0;
        if (c->close_after_flush) {
            free_client(s, c);
            return false;
        }
    } else if (c->out_sent > 0) {
        memmove(w->buf, w->buf + c->out_sent, w->len - c->out_sent);
        w->len -= c->out_sent;
        c->out_sent = 0;
    }
    refresh_events(s, c);
    /* Commands left waiting for output room: run them now there is some. */
    if (c->more_input && !c->paused && w->len <= w->cap / 2) {
        c->more_input = false;
        rd_client_schedule(s, c);
    }
    return true;
}

/* Parses and executes every complete command in the query buffer. */
static void process_input(rd_server_t *s, rd_client_t *c)
{
    while (c->qpos < c->qlen && !c->close_after_flush && !c->close_asap &&
           !c->c.block.active) {
        if (c->c.out.len > c->c.out.cap / 2) {
            c->more_input = true;   /* flush_client resumes us once it drains */
            break;
        }
        size_t argc = 0;
        const char *errmsg = NULL;
        int rc = runnel_resp_parse_command(&c->pst, &s->limits, c->qbuf + c->qpos,
                                           c->qlen - c->qpos, s->argv, s->argv_cap, &argc,
                                           &errmsg);
        if (rc == RUNNEL_ERR_AGAIN)
            break;
        if (rc == RUNNEL_ERR_PROTO || rc == RUNNEL_ERR_NOMEM || rc < 0) {
            if (errmsg == NULL)
                errmsg = "ERR Protocol error: invalid multibulk length";
            rd_log(RD_LL_VERBOSE, "Protocol error (%s) from client: %s", errmsg, c->c.addr);
            runnel_cmd_protocol_error(&s->srv, &c->c, errmsg);
            c->close_after_flush = true;
            c->qlen = c->qpos = 0;
            break;
        }
        c->qpos += (size_t)rc;
        runnel_resp_cmd_reset(&c->pst);
        if (argc == 0)
            continue;
        runnel_cmd_result_t res = runnel_cmd_execute(&s->srv, &c->c, (int)argc, s->argv);
        runnel_cmd_serve_ready(&s->srv);
        if (c->c.out.overflow) {
            log_client(RD_LL_WARNING, s, c, "Client ",
                       " scheduled to be closed ASAP for overcoming of output buffer limits.");
            s->obuf_disconnects++;
            c->close_asap = true;
            break;
        }
        if (res == RUNNEL_CMD_CLOSE || c->c.close_after_reply) {
            c->close_after_flush = true;
            break;
        }
    }
    if (c->qpos == c->qlen) {
        c->qpos = c->qlen = 0;
    } else if (c->qpos > 0 && !c->c.block.active) {
        /* Keep the partial command at the front; the parser state counts
         * from the command's start, which is what moves here. */
        memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
        c->qlen -= c->qpos;
        c->qpos = 0;
    }
}

/* Reads and serves one readable client. */
static void handle_read(rd_server_t *s, rd_client_t *c)
{
    if (c->paused || c->close_after_flush)
        return;
    if (c->qlen == s->cfg.query_limit) {
        /* A blocked client's buffer can be full of later commands: wait. */
        if (c->c.block.active) {
            refresh_events(s, c);
            return;
        }
        char head[64];
        size_t n = c->qlen < 32 ? c->qlen : 32;
        for (size_t i = 0; i < n; i++)
            head[i] = (c->qbuf[i] >= 32 && c->qbuf[i] < 127) ? (char)c->qbuf[i] : '.';
        head[n] = '\0';
        char post[128];
        snprintf(post, sizeof post, " (qbuf initial bytes: \"%s\")", head);
        log_client(RD_LL_WARNING, s, c, "Closing client that reached max query buffer length: ",
                   post);
        s->qbuf_disconnects++;
        free_client(s, c);
        return;
    }
    ssize_t n = read(c->c.fd, c->qbuf + c->qlen, s->cfg.query_limit - c->qlen);
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
    c->qlen += (size_t)n;
    s->net_in += (uint64_t)n;
    s->reads++;
    c->last_io_ms = s->loop_now;
    process_input(s, c);
    if (c->close_asap) {
        free_client(s, c);
        return;
    }
    if (!flush_client(s, c))
        return;
    /* A full buffer with no complete command: handled on the next read. */
    if (c->qlen == s->cfg.query_limit && !c->c.block.active && !c->paused)
        handle_read(s, c);
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
        if (!c->used)
            continue;
        if (c->close_asap) {
            free_client(s, c);
            continue;
        }
        if (!c->c.block.active)
            process_input(s, c);
        if (c->close_asap) {
            free_client(s, c);
            continue;
        }
        flush_client(s, c);
    }
}

/* Once a second: idle timeouts. */
static void cron(rd_server_t *s, uint64_t now)
{
    if (s->cfg.timeout == 0)
        return;
    /* Backwards: free_client swap-removes, moving a visited entry here. */
    for (uint32_t i = s->nclients; i-- > 0;) {
        rd_client_t *c = &s->clients[s->active[i]];
        if (c->c.block.active)
            continue;
        if (now - c->last_io_ms > (uint64_t)s->cfg.timeout * 1000) {
            rd_log(RD_LL_VERBOSE, "Closing idle client");
            free_client(s, c);
        }
    }
}

int rd_net_loop(rd_server_t *s)
{
    struct epoll_event events[256];
    sigset_t waitmask;
    sigemptyset(&waitmask);
    uint64_t last_cron = rd_now_ms();
    while (!s->shutdown_signal) {
        uint64_t now = rd_now_ms();
        int timeout = 100;
        uint64_t deadline = runnel_cmd_next_deadline(&s->srv);
        if (deadline != 0) {
            int until = deadline > now ? (int)(deadline - now) : 0;
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
            uint32_t tag = events[i].data.u32;
            if (tag & TAG_LISTEN) {
                uint32_t li = tag & ~TAG_LISTEN;
                for (int k = 0; k < 64; k++) {
                    uint32_t before = s->nclients;
                    uint64_t rej = s->srv.rejected_connections;
                    accept_one(s, s->listen_fds[li], s->listen_unix[li]);
                    if (s->nclients == before && s->srv.rejected_connections == rej)
                        break;
                }
                continue;
            }
            rd_client_t *c = &s->clients[tag];
            if (!c->used)
                continue;
            uint32_t ev = events[i].events;
            if (ev & EPOLLOUT) {
                if (!flush_client(s, c))
                    continue;
            }
            if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
                handle_read(s, c);
        }
        run_pending(s);
        now = rd_now_ms();
        runnel_cmd_expire_blocked(&s->srv, now);
        run_pending(s);
        runnel_poll(s->store);
        if (now - last_cron >= 1000) {
            last_cron = now;
            cron(s, now);
        }
    }
    return 0;
}
