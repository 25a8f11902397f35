/*
 * notify.c - the systemd readiness protocol (sd_notify) without libsystemd:
 * one datagram "KEY=value\n..." to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace), as
 * redis-server's `supervised systemd` does. runneld sends READY=1 once it
 * listens (the store is mounted by then), STATUS= lines on the way, and
 * STOPPING=1 at shutdown. Best effort: a missing or unreachable socket is
 * logged once and never stops the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "runneld.h"

bool rd_notify_available(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    return path != NULL && (path[0] == '/' || path[0] == '@') && path[1] != '\0';
}

int rd_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@')) {
        rd_log(RD_LL_WARNING, "systemd supervision requested, but NOTIFY_SOCKET is %s",
               path == NULL ? "not set" : "not a socket path");
        return -1;
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof sa.sun_path) {
        rd_log(RD_LL_WARNING, "NOTIFY_SOCKET path too long (%zu bytes)", len);
        return -1;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';   /* abstract namespace: no terminating NUL counted */
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                  (path[0] == '@' ? 0 : 1));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rd_log(RD_LL_WARNING, "systemd notify: socket: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) {
        rd_log(RD_LL_WARNING, "systemd notify to %s: %s", path, strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}
