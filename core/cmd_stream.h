/*
 * cmd_stream.h - private seams between the stream command files:
 *
 *   cmd_stream.c        the table (runnel__stream_commands); XADD, XTRIM,
 *                       XRANGE, XREVRANGE, XLEN, XDEL, XSETID; shared helpers
 *   cmd_stream_read.c   XREAD, XREADGROUP (the synchronous part)
 *   cmd_stream_group.c  XGROUP *, XACK, XPENDING, XCLAIM, XAUTOCLAIM
 *   cmd_stream_info.c   XINFO STREAM [FULL], GROUPS, CONSUMERS, HELP
 *   cmd_block.c         blocked XREAD / XREADGROUP: store, serve, expire
 */
#ifndef RUNNEL_CMD_STREAM_H
#define RUNNEL_CMD_STREAM_H

#include "cmd.h"

#define CMD_ERR_LIT(cmd, lit) runnel__cmd_error_text((cmd), (lit), sizeof(lit) - 1)

/* A strict stream ID (no "-", "+", "*"; missing seq = 0). */
bool runnel__parse_strict_id(runnel_str_t a, runnel_id_t *id);

/* ID lists (XDEL, XACK, XCLAIM) are parsed into a stack array of this many
 * IDs at a time, so a command of any length needs no buffer. */
#define RUNNEL__CMD_ID_CHUNK 32

/* Applies one chunk of parsed IDs (XDEL, XACK): 0 and *count, or an error. */
typedef int (*runnel__id_batch_fn)(runnel_cmd_t *cmd, const runnel_id_t *ids, size_t n,
                                   uint64_t *count);
/* The ID-list tail of XDEL and XACK: every argv[first..] is parsed strictly
 * before anything is applied (one bad ID: the invalid-ID error, nothing
 * changed), then the IDs go to fn in chunks and the summed count is the
 * integer reply. An engine error from fn becomes the reply. */
runnel_cmd_result_t runnel__cmd_id_batches(runnel_cmd_t *cmd, int first, runnel__id_batch_fn fn);

/* XREADGROUP: does this ID argument ask for new entries? True for ">" and,
 * as in Redis 7.0.15 (which stores ">" internally as the maximum ID), for an
 * explicit 18446744073709551615-18446744073709551615 too: that ID can never
 * have a history entry after it, so Redis serves it exactly like ">". The
 * caller has already validated the argument. */
bool runnel__xreadgroup_wants_new(runnel_str_t ida);

/* Entry callback writing one entry to the runnel_resp_writer_t in ctx. */
int runnel__write_entry(void *w, const runnel_entry_t *e);

/* Drops everything written after `len` (a reply abandoned half-way, e.g.
 * an engine error after a deferred header). No-op once overflowed. */
void runnel__rollback(runnel_resp_writer_t *w, size_t len);

/* "ERR unknown subcommand or wrong number of arguments for '<argv[1]>'.
 * Try <CONTAINER> HELP." (Redis's addReplySubcommandSyntaxError). */
void runnel__sub_syntax_error(runnel_cmd_t *cmd, const char *container_upper);

/* Handlers, by file. */
runnel_cmd_result_t runnel__cmd_xread(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xreadgroup(runnel_cmd_t *cmd);

runnel_cmd_result_t runnel__cmd_xgroup_create(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xgroup_setid(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xgroup_destroy(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xgroup_createconsumer(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xgroup_delconsumer(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xgroup_help(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xack(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xpending(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xclaim(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xautoclaim(runnel_cmd_t *cmd);

runnel_cmd_result_t runnel__cmd_xinfo_stream(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xinfo_groups(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xinfo_consumers(runnel_cmd_t *cmd);
runnel_cmd_result_t runnel__cmd_xinfo_help(runnel_cmd_t *cmd);

/* ---- blocking (cmd_block.c) ---- */

/* Parks the client on the keys of an XREAD / XREADGROUP whose arguments
 * were already validated: keys are argv[streams_arg .. +nkeys), their IDs
 * follow. "$" is resolved to the stream's last_id now (0-0 when missing),
 * ">" is re-read from the group at wake-up. count as given (0 = absent),
 * timeout_ms 0 = forever. Returns RUNNEL_CMD_BLOCKED, or DONE with an error
 * written when block_buf cannot hold the request. */
runnel_cmd_result_t runnel__block_client(runnel_cmd_t *cmd, int streams_arg, int nkeys,
                                         bool group_read, runnel_str_t group,
                                         runnel_str_t consumer, int64_t count, bool noack,
                                         uint64_t timeout_ms);

/* Writes the reply header for one served key of XREAD / XREADGROUP:
 * RESP2 "*2 $key" (inside the outer array), RESP3 "$key" (inside the map). */
void runnel__read_key_header(runnel_resp_writer_t *w, runnel_str_t key);

#endif /* RUNNEL_CMD_STREAM_H */
