/*
 * errors.c - the text of every result code.
 *
 * Redis codes map to the exact reply text of Redis 7.0.15 without the
 * leading '-' (see docs/redis-streams-7.0.md, section 11), so a firmware
 * console and runneld answer word for word like Redis. System and pool codes
 * get an "ERR runnel ..." sentence that names the limit and the directive
 * that raises it, so an operator knows what to change. The names are
 * runneld's directives (max-streams, store-full-policy, ...), which a Redis
 * user reads in redis.conf style; each is the runnel_config_t field of the
 * same name with '-' for '_' (max-key-len is name_max, store-full-policy is
 * full_policy, store-block-size the device's block size), so a firmware
 * engineer finds the field as easily.
 */
#include <string.h>

#include "runnel_err.h"

const char *runnel_strerror(int err)
{
    switch (err) {
    case RUNNEL_OK: return "OK";

    /* system codes */
    case RUNNEL_ERR_IO: return "ERR runnel I/O error: the block device reported a failure";
    case RUNNEL_ERR_AGAIN: return "ERR runnel: operation would block, try again";
    case RUNNEL_ERR_NOMEM: return "ERR runnel limit reached: the memory given at init is too small for this configuration";
    case RUNNEL_ERR_EXIST: return "ERR runnel: object already exists";
    case RUNNEL_ERR_INVAL: return "ERR runnel: invalid argument or configuration";
    case RUNNEL_ERR_NOSPC: return "ERR runnel store is full: the ring is full of live entries and store-full-policy keeps them (refuse, relocate): raise store-size, trim, or set store-full-policy drop-oldest";
    case RUNNEL_ERR_SYNC_BACKLOG: return "ERR runnel store is full: the oldest block holds the sync backlog (entries not yet forwarded upstream) and store-full-policy is refuse (restore the upstream link, trim, or set store-full-policy drop-oldest)";
    case RUNNEL_ERR_CORRUPT: return "ERR runnel store is corrupt: a checksum or structure check failed";
    case RUNNEL_ERR_PROTO: return "ERR Protocol error: malformed request";
    case RUNNEL_ERR_NOT_FORMATTED: return "ERR runnel: the device holds no runnel store (format it first)";
    case RUNNEL_ERR_GEOMETRY: return "ERR runnel: the store was formatted with another block size than the device geometry";
    case RUNNEL_ERR_FORMAT_VERSION: return "ERR runnel: the store was written in another on-flash format version";

    /* pools and size limits */
    case RUNNEL_ERR_POOL_STREAMS: return "ERR runnel limit reached: stream pool is full (raise max-streams)";
    case RUNNEL_ERR_POOL_NODES: return "ERR runnel limit reached: stream node pool is full (raise max-nodes)";
    case RUNNEL_ERR_POOL_GROUPS: return "ERR runnel limit reached: consumer group pool is full (raise max-groups)";
    case RUNNEL_ERR_POOL_CONSUMERS: return "ERR runnel limit reached: consumer pool is full (raise max-consumers)";
    case RUNNEL_ERR_POOL_PEL: return "ERR runnel limit reached: pending-entries pool is full (raise max-pending)";
    case RUNNEL_ERR_NAME_TOO_LONG: return "ERR runnel limit reached: key, group or consumer name longer than max-key-len";
    case RUNNEL_ERR_ENTRY_TOO_LARGE: return "ERR runnel limit reached: entry larger than proto-max-bulk-len or the store allows (raise proto-max-bulk-len or store-size)";
    case RUNNEL_ERR_TOO_MANY_FIELDS: return "ERR runnel limit reached: entry has more fields than max-fields";

    /* Redis 7.0.15 texts */
    case RUNNEL_ERR_SYNTAX: return "ERR syntax error";
    case RUNNEL_ERR_NOT_INTEGER: return "ERR value is not an integer or out of range";
    case RUNNEL_ERR_WRONGTYPE: return "WRONGTYPE Operation against a key holding the wrong kind of value";
    case RUNNEL_ERR_ID_INVALID: return "ERR Invalid stream ID specified as stream command argument";
    case RUNNEL_ERR_XADD_ID_SMALL: return "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    case RUNNEL_ERR_XADD_ID_ZERO: return "ERR The ID specified in XADD must be greater than 0-0";
    case RUNNEL_ERR_ID_EXHAUSTED: return "ERR The stream has exhausted the last possible ID, unable to add more items";
    case RUNNEL_ERR_ELEMENTS_TOO_LARGE: return "ERR Elements are too large to be stored";
    case RUNNEL_ERR_MAXLEN_MINID_BOTH: return "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    case RUNNEL_ERR_MAXLEN_NEGATIVE: return "ERR The MAXLEN argument must be >= 0.";
    case RUNNEL_ERR_LIMIT_NEGATIVE: return "ERR The LIMIT argument must be >= 0.";
    case RUNNEL_ERR_LIMIT_NO_STRATEGY: return "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
    case RUNNEL_ERR_LIMIT_NO_APPROX: return "ERR syntax error, LIMIT cannot be used without the special ~ option";
    case RUNNEL_ERR_XTRIM_NO_STRATEGY: return "ERR syntax error, XTRIM must be called with a trimming strategy";
    case RUNNEL_ERR_INVALID_START: return "ERR invalid start ID for the interval";
    case RUNNEL_ERR_INVALID_END: return "ERR invalid end ID for the interval";
    case RUNNEL_ERR_XREAD_UNBALANCED: return "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.";
    case RUNNEL_ERR_XREAD_GROUP_OPTION: return "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
    case RUNNEL_ERR_XREAD_NOACK_OPTION: return "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
    case RUNNEL_ERR_XREAD_GT_ID: return "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
    case RUNNEL_ERR_XREADGROUP_MISSING_GROUP: return "ERR Missing GROUP option for XREADGROUP";
    case RUNNEL_ERR_XREADGROUP_DOLLAR: return "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
    case RUNNEL_ERR_TIMEOUT_NOT_INTEGER: return "ERR timeout is not an integer or out of range";
    case RUNNEL_ERR_TIMEOUT_NEGATIVE: return "ERR timeout is negative";
    case RUNNEL_ERR_NOGROUP_XREADGROUP: return "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option";
    case RUNNEL_ERR_NOGROUP_KEY_OR_GROUP: return "NOGROUP No such key '%s' or consumer group '%s'";
    case RUNNEL_ERR_NOGROUP_FOR_KEY: return "NOGROUP No such consumer group '%s' for key name '%s'";
    case RUNNEL_ERR_NOGROUP_BLOCKED: return "NOGROUP the consumer group this client was blocked on no longer exists";
    case RUNNEL_ERR_UNBLOCKED: return "UNBLOCKED the stream key no longer exists";
    case RUNNEL_ERR_BUSYGROUP: return "BUSYGROUP Consumer Group name already exists";
    case RUNNEL_ERR_XGROUP_NEEDS_KEY: return "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
    case RUNNEL_ERR_ENTRIESREAD_RANGE: return "ERR value for ENTRIESREAD must be positive or -1";
    case RUNNEL_ERR_XCLAIM_MIN_IDLE: return "ERR Invalid min-idle-time argument for XCLAIM";
    case RUNNEL_ERR_XCLAIM_IDLE: return "ERR Invalid IDLE option argument for XCLAIM";
    case RUNNEL_ERR_XCLAIM_TIME: return "ERR Invalid TIME option argument for XCLAIM";
    case RUNNEL_ERR_XCLAIM_RETRYCOUNT: return "ERR Invalid RETRYCOUNT option argument for XCLAIM";
    case RUNNEL_ERR_XCLAIM_UNRECOGNIZED: return "ERR Unrecognized XCLAIM option '%s'";
    case RUNNEL_ERR_XAUTOCLAIM_MIN_IDLE: return "ERR Invalid min-idle-time argument for XAUTOCLAIM";
    case RUNNEL_ERR_COUNT_POSITIVE: return "ERR COUNT must be > 0";
    case RUNNEL_ERR_COUNT_TOO_HIGH: return "ERR Insufficient memory, failed allocating transient memory, COUNT too high.";
    case RUNNEL_ERR_NO_SUCH_KEY: return "ERR no such key";
    case RUNNEL_ERR_ENTRIES_ADDED_NEGATIVE: return "ERR entries_added must be positive";
    case RUNNEL_ERR_XSETID_MAXDELETED: return "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
    case RUNNEL_ERR_XSETID_SMALL: return "ERR The ID specified in XSETID is smaller than the target stream top item";
    case RUNNEL_ERR_XSETID_ENTRIES_ADDED: return "ERR The entries_added specified in XSETID is smaller than the target stream length";
    default: return "ERR unknown error";
    }
}

/* Copies n bytes into buf as far as cap allows (leaving room for the NUL)
 * and returns the new logical length, like snprintf keeps counting past the
 * end of its buffer. */
static size_t emit(char *buf, size_t cap, size_t at, const char *s, size_t n)
{
    if (cap > 0 && at < cap - 1) {
        size_t room = cap - 1 - at;
        memcpy(buf + at, s, n < room ? n : room);
    }
    return at + n;
}

/* The templates put their names in argument order (NOGROUP_FOR_KEY says
 * "group ... key" and takes a = group, b = key), so substitution is simply:
 * first %s <- a, second %s <- b. Names are counted strings, copied raw, so a
 * name holding a NUL or a '%' cannot change the shape of the text. */
size_t runnel_format_error(char *buf, size_t cap, int err,
                           const char *a, size_t alen,
                           const char *b, size_t blen)
{
    const char *t = runnel_strerror(err);
    size_t at = 0;
    int arg = 0;

    if (buf == NULL)
        cap = 0;
    while (*t) {
        const char *pct = strstr(t, "%s");
        size_t lit = pct ? (size_t)(pct - t) : strlen(t);
        at = emit(buf, cap, at, t, lit);
        t += lit;
        if (pct == NULL)
            break;
        if (arg == 0)
            at = emit(buf, cap, at, a ? a : "", a ? alen : 0);
        else
            at = emit(buf, cap, at, b ? b : "", b ? blen : 0);
        arg++;
        t += 2;
    }
    if (cap > 0)
        buf[at < cap - 1 ? at : cap - 1] = '\0';
    return at;
}
