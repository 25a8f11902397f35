/*
 * posix_net.h - runnel_net_t over a non-blocking TCP socket (Linux, BSD).
 *
 * This file owns the upstream forwarder's link on a POSIX host: name
 * resolution (getaddrinfo: host names, IPv4 and IPv6 literals, every
 * address tried in turn), the non-blocking connect and its completion
 * (SO_ERROR), send/recv mapped to the port's AGAIN/IO convention, and the
 * text of the last failure for the operator.
 *
 * Name resolution is getaddrinfo, which blocks while it asks DNS: the
 * forwarder calls connect from its poll loop, so a slow resolver stalls
 * that loop for as long as the lookup takes (numeric addresses and
 * /etc/hosts names are immediate). A host that cannot afford that
 * resolves the name itself and passes an address.
 *
 * No allocation beyond getaddrinfo's own (freed before connect returns);
 * the caller owns the struct. One connection at a time.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#ifndef RUNNEL_POSIX_NET_H
#define RUNNEL_POSIX_NET_H

#include <stdint.h>

#include "runnel_port.h"

typedef struct runnel_posix_net {
    int fd;                 /* -1 when closed */
    bool connected;
    /* Which resolved address a connect in progress is on, so a refused
     * IPv6 attempt moves on to the IPv4 one at the next call. */
    char host[256];
    uint16_t port;
    uint32_t addr_index;
    /* Counts connections made, so a host that registers fd with its event
     * loop can tell a new socket from an old one with a reused number. */
    uint64_t generation;
    char error[384];
} runnel_posix_net_t;

/* Fills *net with the table over *pn (closed). */
void runnel_posix_net_init(runnel_posix_net_t *pn, runnel_net_t *net);
/* The socket now (-1 when closed): for a host's epoll/poll. */
int runnel_posix_net_fd(const runnel_posix_net_t *pn);

#endif /* RUNNEL_POSIX_NET_H */
