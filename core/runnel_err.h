/*
 * runnel_err.h - every result code the library returns.
 *
 * Convention (as littlefs and the Linux kernel): 0 is success, a positive
 * value is a count, a negative value is one of the codes below.
 *
 * Two families:
 *   - system codes (errno-style): I/O, corruption, a full ring, a full pool,
 *     bad API arguments, need-more-bytes;
 *   - Redis codes: one per error condition Redis 7.0.15 distinguishes for
 *     stream commands. runnel_strerror() gives the exact Redis reply text
 *     (without the leading '-'), so a firmware console and the broker answer
 *     alike. Texts that embed names (the NOGROUP family) are formatted with
 *     runnel_format_error().
 *
 * Pool exhaustion has one code per pool so the error names the limit.
 */
#ifndef RUNNEL_ERR_H
#define RUNNEL_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum runnel_err {
    RUNNEL_OK = 0,

    /* ---- system codes ---- */
    RUNNEL_ERR_IO = -5,          /* the block device reported a failure */
    RUNNEL_ERR_AGAIN = -11,      /* would block / need more bytes */
    RUNNEL_ERR_NOMEM = -12,      /* caller-provided memory too small (init) */
    RUNNEL_ERR_EXIST = -17,
    RUNNEL_ERR_INVAL = -22,      /* bad API argument or configuration */
    RUNNEL_ERR_NOSPC = -28,      /* ring full and policy refuses: nothing written */
    RUNNEL_ERR_SYNC_BACKLOG = -29, /* as NOSPC, and the block the ring needs holds
                                    * entries not yet forwarded upstream */
    RUNNEL_ERR_CORRUPT = -84,    /* a CRC or structure check failed on stored bytes */
    RUNNEL_ERR_PROTO = -71,      /* malformed network bytes (RESP) */
    /* Mount: why the device does not hold a store this build can open. */
    RUNNEL_ERR_NOT_FORMATTED = -19,  /* no valid block header at all (blank or foreign) */
    RUNNEL_ERR_GEOMETRY = -86,       /* headers carry another block_size */
    RUNNEL_ERR_FORMAT_VERSION = -95, /* headers carry another format version */

    /* Per-pool exhaustion: the write is refused, nothing half-applied. */
    RUNNEL_ERR_POOL_STREAMS = -200,
    RUNNEL_ERR_POOL_NODES = -201,
    RUNNEL_ERR_POOL_GROUPS = -202,
    RUNNEL_ERR_POOL_CONSUMERS = -203,
    RUNNEL_ERR_POOL_PEL = -204,
    /* Our size limits (never truncated). */
    RUNNEL_ERR_NAME_TOO_LONG = -210,   /* key / group / consumer name > name_max */
    RUNNEL_ERR_ENTRY_TOO_LARGE = -211, /* entry above max_entry_bytes or the ring's usable space */
    RUNNEL_ERR_TOO_MANY_FIELDS = -212,

    /* ---- Redis codes (texts in runnel_strerror) ---- */
    RUNNEL_ERR_SYNTAX = -1000,                 /* ERR syntax error */
    RUNNEL_ERR_NOT_INTEGER,                    /* ERR value is not an integer or out of range */
    RUNNEL_ERR_WRONGTYPE,                      /* WRONGTYPE Operation against a key holding ... */
    RUNNEL_ERR_ID_INVALID,                     /* ERR Invalid stream ID specified as stream command argument */
    RUNNEL_ERR_XADD_ID_SMALL,                  /* ERR The ID specified in XADD is equal or smaller than ... */
    RUNNEL_ERR_XADD_ID_ZERO,                   /* ERR The ID specified in XADD must be greater than 0-0 */
    RUNNEL_ERR_ID_EXHAUSTED,                   /* ERR The stream has exhausted the last possible ID ... */
    RUNNEL_ERR_ELEMENTS_TOO_LARGE,             /* ERR Elements are too large to be stored */
    RUNNEL_ERR_MAXLEN_MINID_BOTH,              /* ERR syntax error, MAXLEN and MINID options ... */
    RUNNEL_ERR_MAXLEN_NEGATIVE,                /* ERR The MAXLEN argument must be >= 0. */
    RUNNEL_ERR_LIMIT_NEGATIVE,                 /* ERR The LIMIT argument must be >= 0. */
    RUNNEL_ERR_LIMIT_NO_STRATEGY,              /* ERR syntax error, LIMIT cannot be used without specifying a trimming strategy */
    RUNNEL_ERR_LIMIT_NO_APPROX,                /* ERR syntax error, LIMIT cannot be used without the special ~ option */
    RUNNEL_ERR_XTRIM_NO_STRATEGY,              /* ERR syntax error, XTRIM must be called with a trimming strategy */
    RUNNEL_ERR_INVALID_START,                  /* ERR invalid start ID for the interval */
    RUNNEL_ERR_INVALID_END,                    /* ERR invalid end ID for the interval */
    RUNNEL_ERR_XREAD_UNBALANCED,               /* ERR Unbalanced XREAD list of streams: ... */
    RUNNEL_ERR_XREAD_GROUP_OPTION,             /* ERR The GROUP option is only supported by XREADGROUP. ... */
    RUNNEL_ERR_XREAD_NOACK_OPTION,             /* ERR The NOACK option is only supported by XREADGROUP. ... */
    RUNNEL_ERR_XREAD_GT_ID,                    /* ERR The > ID can be specified only when calling XREADGROUP ... */
    RUNNEL_ERR_XREADGROUP_MISSING_GROUP,       /* ERR Missing GROUP option for XREADGROUP */
    RUNNEL_ERR_XREADGROUP_DOLLAR,              /* ERR The $ ID is meaningless in the context of XREADGROUP ... */
    RUNNEL_ERR_TIMEOUT_NOT_INTEGER,            /* ERR timeout is not an integer or out of range */
    RUNNEL_ERR_TIMEOUT_NEGATIVE,               /* ERR timeout is negative */
    RUNNEL_ERR_NOGROUP_XREADGROUP,             /* NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option */
    RUNNEL_ERR_NOGROUP_KEY_OR_GROUP,           /* NOGROUP No such key '%s' or consumer group '%s' */
    RUNNEL_ERR_NOGROUP_FOR_KEY,                /* NOGROUP No such consumer group '%s' for key name '%s' */
    RUNNEL_ERR_NOGROUP_BLOCKED,                /* NOGROUP the consumer group this client was blocked on no longer exists */
    RUNNEL_ERR_UNBLOCKED,                      /* UNBLOCKED the stream key no longer exists */
    RUNNEL_ERR_BUSYGROUP,                      /* BUSYGROUP Consumer Group name already exists */
    RUNNEL_ERR_XGROUP_NEEDS_KEY,               /* ERR The XGROUP subcommand requires the key to exist. ... */
    RUNNEL_ERR_ENTRIESREAD_RANGE,              /* ERR value for ENTRIESREAD must be positive or -1 */
    RUNNEL_ERR_XCLAIM_MIN_IDLE,                /* ERR Invalid min-idle-time argument for XCLAIM */
    RUNNEL_ERR_XCLAIM_IDLE,                    /* ERR Invalid IDLE option argument for XCLAIM */
    RUNNEL_ERR_XCLAIM_TIME,                    /* ERR Invalid TIME option argument for XCLAIM */
    RUNNEL_ERR_XCLAIM_RETRYCOUNT,              /* ERR Invalid RETRYCOUNT option argument for XCLAIM */
    RUNNEL_ERR_XCLAIM_UNRECOGNIZED,            /* ERR Unrecognized XCLAIM option '%s' */
    RUNNEL_ERR_XAUTOCLAIM_MIN_IDLE,            /* ERR Invalid min-idle-time argument for XAUTOCLAIM */
    RUNNEL_ERR_COUNT_POSITIVE,                 /* ERR COUNT must be > 0 */
    RUNNEL_ERR_COUNT_TOO_HIGH,                 /* ERR Insufficient memory, failed allocating transient memory, COUNT too high. */
    RUNNEL_ERR_NO_SUCH_KEY,                    /* ERR no such key */
    RUNNEL_ERR_ENTRIES_ADDED_NEGATIVE,         /* ERR entries_added must be positive */
    RUNNEL_ERR_XSETID_MAXDELETED,              /* ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id */
    RUNNEL_ERR_XSETID_SMALL,                   /* ERR The ID specified in XSETID is smaller than the target stream top item */
    RUNNEL_ERR_XSETID_ENTRIES_ADDED,           /* ERR The entries_added specified in XSETID is smaller than the target stream length */
    RUNNEL_ERR_XINFO_NO_SUCH_KEY = RUNNEL_ERR_NO_SUCH_KEY,
    RUNNEL_ERR_REDIS_LAST_ = RUNNEL_ERR_XSETID_ENTRIES_ADDED
};

/* Exact Redis reply text for a code, without the leading '-' (for the NOGROUP
 * family and 'Unrecognized XCLAIM option' the template with %s). For a system
 * or pool code, a human sentence starting with "ERR" that names the limit. */
const char *runnel_strerror(int err);

/* Formats the reply text for `err` into buf (NUL-terminated, truncated to
 * cap), substituting names where the Redis text embeds them:
 *   NOGROUP_XREADGROUP / NOGROUP_KEY_OR_GROUP: a = key, b = group
 *   NOGROUP_FOR_KEY:                          a = group, b = key
 *   XCLAIM_UNRECOGNIZED:                      a = the option as typed
 * Names are counted strings (may contain any byte). Returns the full length
 * the text needs (excluding the NUL), like snprintf. */
size_t runnel_format_error(char *buf, size_t cap, int err,
                           const char *a, size_t alen,
                           const char *b, size_t blen);

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_ERR_H */
