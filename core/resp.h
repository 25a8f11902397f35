/*
 * resp.h - RESP2/RESP3 reading and writing without allocation.
 *
 * Reader, server side: a command arrives as a RESP array of bulk strings or
 * as an inline line ("PING\r\n"). runnel_resp_parse_command() parses one
 * command from a caller buffer that may end mid-frame, picohttpparser-style:
 * argv entries point into the caller's buffer (no copies), the state struct
 * remembers how far parsing got so a large frame is not re-scanned on every
 * chunk, and limits (element count, bulk length, inline length) turn hostile
 * input into a protocol error that closes only that connection.
 *
 * Reader, client side (the upstream forwarder): runnel_resp_next() walks any
 * RESP2/RESP3 reply one item at a time with an explicit nesting stack (as
 * hiredis's task stack) and a depth limit; an aggregate reports its element
 * count and the caller consumes its children with further calls. An
 * attribute (|n) and its 2n children annotate the value after them: they
 * never set ends_value and do not count as a child of their parent.
 *
 * Writer: appends replies to a caller buffer. A reply that does not fit sets
 * `overflow` (sticky) and writes nothing more; the server then drops that
 * client as Redis does when the output buffer limit is exceeded. RESP3-only
 * types degrade to their RESP2 forms when proto == 2 (map -> flat array,
 * null -> $-1 or *-1, double -> bulk string, ...), as Redis does.
 */
#ifndef RUNNEL_RESP_H
#define RUNNEL_RESP_H

#include "runnel.h"

/* ------------------------------------------------------------------ */
/* Command reader (server side)                                        */
/* ------------------------------------------------------------------ */

typedef struct runnel_resp_limits {
    uint32_t max_args;       /* most argv elements (0 = 1024*1024) */
    uint64_t max_bulk;       /* longest bulk string (0 = 512 MiB, Redis's proto-max-bulk-len) */
    uint32_t max_inline;     /* longest inline command line (0 = 64 KiB) */
} runnel_resp_limits_t;

typedef struct runnel_resp_cmd_state {
    /* Opaque progress of a partially received command; zero it (or call
     * runnel_resp_cmd_reset) before the first call and after each command. */
    size_t scanned;      /* bytes already validated */
    uint32_t argc_seen;
    uint64_t need;       /* total bytes known to be needed, 0 = unknown */
    size_t line_scan;    /* how far the current header line was searched */
    /* Text behind *errmsg for "expected '$', got 'x'" (embeds a byte). */
    char errbuf[48];
} runnel_resp_cmd_state_t;

void runnel_resp_cmd_reset(runnel_resp_cmd_state_t *st);

/* Parses one command from buf[0..len). Returns:
 *   > 0  bytes consumed; *argc set, argv[0..argc) point into buf
 *        (argc may be 0 for an empty inline line: skip it);
 *   RUNNEL_ERR_AGAIN  need more bytes (state remembers progress);
 *   RUNNEL_ERR_PROTO  malformed or over a limit; *errmsg gets Redis's text
 *        (static, or inside *st: valid until st is used again),
 *        e.g. "ERR Protocol error: invalid bulk length",
 *        "ERR Protocol error: invalid multibulk length",
 *        "ERR Protocol error: expected '$', got 'x'",
 *        "ERR Protocol error: unbalanced quotes in request",
 *        "ERR Protocol error: too big inline request";
 *   RUNNEL_ERR_NOMEM  more arguments than argv_cap (caller grows nothing:
 *        it answers with an error; Redis's limit is far higher).
 * Inline commands are split on spaces with Redis's quoting rules
 * ("...", '...', \xHH escapes). An inline argument whose bytes differ from
 * the line (escapes, quotes inside an argument) is unescaped IN PLACE in the
 * consumed line, so buf must be writable memory (a socket query buffer
 * always is); multibulk parsing never writes. */
int runnel_resp_parse_command(runnel_resp_cmd_state_t *st, const runnel_resp_limits_t *lim,
                              const uint8_t *buf, size_t len,
                              runnel_str_t *argv, size_t argv_cap, size_t *argc,
                              const char **errmsg);

/* ------------------------------------------------------------------ */
/* Reply reader (client side)                                          */
/* ------------------------------------------------------------------ */

typedef enum runnel_resp_type {
    RUNNEL_RESP_SIMPLE = '+', RUNNEL_RESP_ERROR = '-', RUNNEL_RESP_INTEGER = ':',
    RUNNEL_RESP_BULK = '$', RUNNEL_RESP_ARRAY = '*',
    /* RESP3 */
    RUNNEL_RESP_NULL = '_', RUNNEL_RESP_BOOL = '#', RUNNEL_RESP_DOUBLE = ',',
    RUNNEL_RESP_BIGNUM = '(', RUNNEL_RESP_BLOBERR = '!', RUNNEL_RESP_VERBATIM = '=',
    RUNNEL_RESP_MAP = '%', RUNNEL_RESP_SET = '~', RUNNEL_RESP_ATTR = '|',
    RUNNEL_RESP_PUSH = '>'
} runnel_resp_type_t;

typedef struct runnel_resp_item {
    runnel_resp_type_t type;
    bool is_null;          /* $-1, *-1, _ */
    int64_t integer;       /* INTEGER, BOOL (0/1), aggregate element count
                            * (MAP and ATTR: pairs; they have 2*n children) */
    runnel_str_t str;      /* SIMPLE, ERROR, BULK, BLOBERR, DOUBLE, BIGNUM,
                            * VERBATIM (points into buf). For VERBATIM, str
                            * is the text after "fmt:"; the 3-letter format
                            * is the 3 bytes at str.p - 4. */
    uint32_t depth;        /* nesting depth of this item (0 = top level) */
    bool ends_value;       /* this item completes a top-level reply */
} runnel_resp_item_t;

#define RUNNEL_RESP_MAX_DEPTH 16

typedef struct runnel_resp_reader {
    uint32_t depth;
    int64_t remaining[RUNNEL_RESP_MAX_DEPTH]; /* children still expected per level */
    runnel_resp_limits_t lim;
    uint32_t attr_levels; /* bit i: level i is an attribute (not a value) */
    bool failed;          /* sticky PROTO */
} runnel_resp_reader_t;

void runnel_resp_reader_init(runnel_resp_reader_t *rd, const runnel_resp_limits_t *lim);

/* Reads one item from buf[0..len). Returns bytes consumed (> 0), AGAIN if
 * the item is incomplete (nothing consumed; call again with more bytes), or
 * PROTO (the connection is unusable; the error is sticky until re-init). */
int runnel_resp_next(runnel_resp_reader_t *rd, const uint8_t *buf, size_t len,
                     runnel_resp_item_t *item);

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

typedef struct runnel_resp_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    uint8_t proto;   /* 2 or 3 */
    bool overflow;   /* sticky: a write did not fit */
    bool read_failed; /* sticky: a value of a partial entry did not read
                         back (CORRUPT/IO); overflow is set too */
} runnel_resp_writer_t;

void runnel_resp_writer_init(runnel_resp_writer_t *w, uint8_t *buf, size_t cap, uint8_t proto);

void runnel_resp_simple(runnel_resp_writer_t *w, const char *s, size_t n);   /* +s */
void runnel_resp_error(runnel_resp_writer_t *w, const char *s, size_t n);    /* -s (no '-' in s) */
void runnel_resp_int(runnel_resp_writer_t *w, int64_t v);                    /* :v */
void runnel_resp_bulk(runnel_resp_writer_t *w, const void *p, size_t n);     /* $n */
void runnel_resp_bulk_id(runnel_resp_writer_t *w, runnel_id_t id);           /* $"ms-seq" */
void runnel_resp_bulk_u64(runnel_resp_writer_t *w, uint64_t v);              /* $"123" */
void runnel_resp_null(runnel_resp_writer_t *w);        /* RESP2 $-1, RESP3 _ */
void runnel_resp_null_array(runnel_resp_writer_t *w);  /* RESP2 *-1, RESP3 _ */
void runnel_resp_array(runnel_resp_writer_t *w, size_t n);   /* *n */
void runnel_resp_map(runnel_resp_writer_t *w, size_t pairs); /* RESP3 %n, RESP2 *2n */
void runnel_resp_set(runnel_resp_writer_t *w, size_t n);     /* RESP3 ~n, RESP2 *n */
void runnel_resp_bool(runnel_resp_writer_t *w, bool v);      /* RESP3 #t/#f, RESP2 :1/:0 */
void runnel_resp_double(runnel_resp_writer_t *w, double v);  /* RESP3 ,v  RESP2 bulk */
void runnel_resp_verbatim(runnel_resp_writer_t *w, const char *fmt3, const void *p, size_t n);
/* RESP3 =n\r\ntxt:..., RESP2 bulk; fmt3 is the 3-letter format ("txt") */
void runnel_resp_raw(runnel_resp_writer_t *w, const void *p, size_t n);     /* pre-encoded bytes */

/* Deferred-length aggregates (the element count is known only after the
 * elements are written, as with an XRANGE streamed from the log):
 *   size_t mark = runnel_resp_defer(w);   ...elements...
 *   runnel_resp_defer_array(w, mark, n);  (or _defer_map with pairs)
 * The writer reserves room for the header and closes the gap afterwards. */
size_t runnel_resp_defer(runnel_resp_writer_t *w);
/* Both return how many bytes closing the gap removed (at mark: what was
 * written after the header moved down by that much). */
size_t runnel_resp_defer_array(runnel_resp_writer_t *w, size_t mark, size_t n);
size_t runnel_resp_defer_map(runnel_resp_writer_t *w, size_t mark, size_t pairs);

/* Writes one stream entry: *2 [ $id, *2n [f1, v1, ...] ], or for a deleted
 * placeholder [ $id, nil-array ]. */
void runnel_resp_entry(runnel_resp_writer_t *w, const runnel_entry_t *e);
/* Bytes [from, from + cap) of what runnel_resp_entry writes for e, into
 * buf: how many (fewer than cap only at the entry's end), or the error of
 * reading a string of a partial entry. A reply streams an entry larger
 * than its buffer in parts this way (cmd_reply_range.c). */
int64_t runnel_resp_entry_part(uint8_t proto, const runnel_entry_t *e, uint64_t from,
                               uint8_t *buf, size_t cap);
/* String i of an entry as a bulk string, read from the store when the
 * entry is partial (larger than a block) and the string not in RAM. */
void runnel_resp_bulk_value(runnel_resp_writer_t *w, const runnel_entry_t *e, uint32_t i);
/* The bytes runnel_resp_entry writes for e (SIZE_MAX if the sum would wrap). */
size_t runnel_resp_entry_size(uint8_t proto, const runnel_entry_t *e);

#endif /* RUNNEL_RESP_H */
