/*
 * posix_net.c - runnel_net_t over a non-blocking TCP socket (see posix_net.h).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include "posix_net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static void set_error(runnel_posix_net_t *pn, const char *what, const char *why)
{
    snprintf(pn->error, sizeof pn->error, "%.16s %.255s:%u: %.80s", what, pn->host, (unsigned)pn->port, why);
}

static void drop(runnel_posix_net_t *pn)
{
    if (pn->fd >= 0)
        close(pn->fd);
    pn->fd = -1;
    pn->connected = false;
}

/* Starts a non-blocking connect to the addr_index'th address of host.
 * 0 started (or done), IO when there is no such address or the socket
 * call fails at once (the caller then tries the next address). */
static int start_attempt(runnel_posix_net_t *pn, bool *no_more)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portbuf[8];
    uint32_t i = 0;
    int rc;

    *no_more = false;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(portbuf, sizeof portbuf, "%u", (unsigned)pn->port);
    rc = getaddrinfo(pn->host, portbuf, &hints, &res);
    if (rc != 0) {
        set_error(pn, "resolve", gai_strerror(rc));
        *no_more = true;
        return RUNNEL_ERR_IO;
    }
    for (ai = res; ai != NULL && i < pn->addr_index; ai = ai->ai_next)
        i++;
    if (ai == NULL) {
        freeaddrinfo(res);
        *no_more = true;
        return RUNNEL_ERR_IO;
    }
    pn->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (pn->fd < 0) {
        set_error(pn, "socket", strerror(errno));
        freeaddrinfo(res);
        return RUNNEL_ERR_IO;
    }
    pn->generation++;
    int one = 1;
    (void)setsockopt(pn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rc = connect(pn->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(res);
    if (rc == 0) {
        pn->connected = true;
        return 0;
    }
    if (errno == EINPROGRESS || errno == EINTR)
        return 0;
    set_error(pn, "connect", strerror(errno));
    drop(pn);
    return RUNNEL_ERR_IO;
}

static int net_connect(void *ctx, const char *host, uint16_t port)
{
    runnel_posix_net_t *pn = ctx;
    size_t hl;

    if (host == NULL || port == 0 || (hl = strlen(host)) == 0 || hl >= sizeof pn->host)
        return RUNNEL_ERR_INVAL;
    if (pn->fd < 0 || strcmp(pn->host, host) != 0 || pn->port != port) {
        /* A new connection: first address first. */
        drop(pn);
        memcpy(pn->host, host, hl + 1);
        pn->port = port;
        pn->addr_index = 0;
        pn->error[0] = '\0';
        for (;;) {
            bool no_more;
            if (start_attempt(pn, &no_more) == 0)
                break;
            if (no_more) {
                pn->host[0] = '\0';
                return RUNNEL_ERR_IO;
            }
            pn->addr_index++;
        }
    }
    if (pn->connected)
        return 0;
    /* In progress: done when writable; SO_ERROR tells how it ended. */
    struct pollfd pfd = {pn->fd, POLLOUT, 0};
    int pr = poll(&pfd, 1, 0);
    if (pr == 0 || (pr < 0 && errno == EINTR))
        return RUNNEL_ERR_AGAIN;
    int err = 0;
    socklen_t len = sizeof err;
    if (pr < 0 || getsockopt(pn->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err == 0) {
        pn->connected = true;
        return 0;
    }
    set_error(pn, "connect", strerror(err));
    drop(pn);
    /* The next resolved address, if any (an IPv6 one that is refused
     * leaves the IPv4 one to try). */
    for (;;) {
        bool no_more;
        pn->addr_index++;
        if (start_attempt(pn, &no_more) == 0)
            break;
        if (no_more) {
            pn->host[0] = '\0';
            return RUNNEL_ERR_IO;
        }
    }
    return pn->connected ? 0 : RUNNEL_ERR_AGAIN;
}

static int net_send(void *ctx, const void *buf, size_t n)
{
    runnel_posix_net_t *pn = ctx;
    if (pn->fd < 0 || !pn->connected)
        return RUNNEL_ERR_IO;
    if (n > (size_t)1 << 30)
        n = (size_t)1 << 30;
    for (;;) {
        ssize_t w = send(pn->fd, buf, n, MSG_NOSIGNAL);
        if (w > 0)
            return (int)w;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return RUNNEL_ERR_AGAIN;
        set_error(pn, "send to", w < 0 ? strerror(errno) : "nothing sent");
        return RUNNEL_ERR_IO;
    }
}

static int net_recv(void *ctx, void *buf, size_t cap)
{
    runnel_posix_net_t *pn = ctx;
    if (pn->fd < 0 || !pn->connected)
        return RUNNEL_ERR_IO;
    if (cap > (size_t)1 << 30)
        cap = (size_t)1 << 30;
    for (;;) {
        ssize_t r = recv(pn->fd, buf, cap, 0);
        if (r > 0)
            return (int)r;
        if (r == 0) {
            set_error(pn, "recv from", "connection closed by the upstream");
            return RUNNEL_ERR_IO;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return RUNNEL_ERR_AGAIN;
        set_error(pn, "recv from", strerror(errno));
        return RUNNEL_ERR_IO;
    }
}

static void net_close(void *ctx)
{
    runnel_posix_net_t *pn = ctx;
    drop(pn);
    pn->host[0] = '\0';
}

static const char *net_strerror(void *ctx)
{
    runnel_posix_net_t *pn = ctx;
    return pn->error;
}

void runnel_posix_net_init(runnel_posix_net_t *pn, runnel_net_t *net)
{
    memset(pn, 0, sizeof *pn);
    pn->fd = -1;
    memset(net, 0, sizeof *net);
    net->ctx = pn;
    net->connect = net_connect;
    net->send = net_send;
    net->recv = net_recv;
    net->close = net_close;
    net->strerror = net_strerror;
}

int runnel_posix_net_fd(const runnel_posix_net_t *pn)
{
    return pn->fd;
}
