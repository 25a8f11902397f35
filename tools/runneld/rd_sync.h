/*
 * rd_sync.h - runneld's upstream forwarding (sync.c): directives, the
 * event-loop hook and INFO sync.
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#ifndef RD_SYNC_H
#define RD_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runneld.h"

/* epoll tag of the upstream socket (net.c: never a client slot or listener). */
#define RD_SYNC_TAG (1ull << 62)

/* "upstream" or "sync-*". */
bool rd_sync_is_directive(const char *name);
/* Applies one directive (config file, --flag); NULL or the error text. */
const char *rd_sync_directive(int argc, char **argv);
/* CONFIG GET / SET of the same names; SET upstream restarts forwarding. */
extern const char *const rd_sync_names[];
int rd_sync_config_get(const char *name, char *buf, size_t cap);
int rd_sync_config_set(const char *name, const char *value, size_t vlen);
/* Once per event-loop turn (and when the upstream socket is ready). true
 * = it stopped with work it can do at once: do not sleep before the next. */
bool rd_sync_tick(rd_server_t *s, uint64_t now);
/* At the end of each event-loop turn, after the store's syncs: lets the
 * forwarder send what the store file has made durable. */
void rd_sync_after_turn(rd_server_t *s);
/* The INFO sync lines. */
size_t rd_sync_info(rd_server_t *s, char *buf, size_t cap);

#endif /* RD_SYNC_H */
