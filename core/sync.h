/*
 * sync.h - the upstream forwarder: mirrors local streams into a real Redis,
 * each entry once and in order, across link loss and upstream restarts.
 *
 * A non-blocking state machine the application drives from its own loop:
 * runnel_sync_poll(s, now_ms) never blocks, never allocates, and does a
 * bounded amount of work per call. It talks through a runnel_net_t
 * (port/runnel_port.h: sockets on Linux, lwIP or a modem on firmware, TLS
 * behind the same table) and speaks RESP2 with core/resp's writer and
 * client-side reader:
 *
 *   connect -> [AUTH [user] password] -> [SELECT db]
 *           -> per stream: XREVRANGE <upstream key> + - COUNT 1   (resume point)
 *           -> pipelined XADD <upstream key> <local id> f v ...   (mirror)
 *
 * Exactly once, in order: entries go out with the device's own IDs. At
 * every connect (and before retrying a stream that failed) the forwarder
 * asks the upstream for the last ID of each target key and resumes after
 * it, so whatever was in flight when the link broke is neither lost nor
 * sent twice. An upstream reply "The ID specified in XADD is equal or
 * smaller than the target stream top item" means the entry is already
 * there: it counts as delivered (duplicates_acked), not as an error. Any
 * other error reply (WRONGTYPE, OOM, NOPERM, READONLY, MOVED, ...) stops
 * that stream with the error kept for the operator; it is retried after a
 * backoff, from the upstream's last ID again, and never skipped over.
 *
 * The cursor (last ID the upstream is known to hold) is persisted by the
 * engine (runnel_stream_cursor_save, core/stream_cursor.c: a log record,
 * checkpointed and restored by mount), so after a restart the forwarder
 * knows each stream's position and counters (forwarded, skipped, dropped)
 * before it connects, and the full-ring policy protects the entries not
 * forwarded yet (the sync backlog: REFUSE refuses with SYNC_BACKLOG,
 * DROP_OLDEST drops them and counts them as dropped). The persisted cursor
 * is a hint: the upstream's last ID, asked at each connect, still decides,
 * so a cursor record lost in a power cut never causes a duplicate or a
 * gap. Save policy (bounded write cost): a stream's cursor is saved when
 * cursor_save_entries entries were confirmed since its last save, or when
 * cursor_save_ms passed with any confirmed; a record is about 20-40 bytes,
 * so at the defaults (1000 entries, 1000 ms) it costs at most one record
 * per stream per second and ~0.03 bytes per forwarded entry in a drain.
 * runnel_sync_cursor() reads the RAM cursor; every change goes through
 * cursor_set() in sync.c.
 *
 * Entries deleted or trimmed locally before they were forwarded are not
 * invented: they are counted as skipped when the stream catches up.
 *
 * Memory: everything is in runnel_sync_t and the buffers the configuration
 * points at (transmit and receive buffers, a table of stream slots, a table
 * of in-flight commands). The receive buffer must hold the largest entry
 * the upstream may send back (the top entry of a key, at resume).
 *
 * SPDX-License-Identifier: BSD-3-Clause
 */
#ifndef RUNNEL_SYNC_H
#define RUNNEL_SYNC_H

#include "resp.h"
#include "runnel.h"
#include "runnel_port.h"

/* Longest local key a stream slot holds (bytes). A matching key that is
 * longer is reported (last_error) and not forwarded. */
#ifndef RUNNEL_SYNC_KEY_MAX
#define RUNNEL_SYNC_KEY_MAX 128
#endif
/* Bytes of error text kept per stream and for the link. */
#ifndef RUNNEL_SYNC_ERR_MAX
#define RUNNEL_SYNC_ERR_MAX 128
#endif

typedef enum runnel_sync_state {
    RUNNEL_SYNC_IDLE = 0,        /* no upstream configured, or stopped */
    RUNNEL_SYNC_CONNECTING,      /* the net port's connect is in progress */
    RUNNEL_SYNC_AUTHENTICATING,  /* AUTH / SELECT sent, replies awaited */
    RUNNEL_SYNC_SYNCING,         /* connected: resuming and forwarding */
    RUNNEL_SYNC_BACKOFF,         /* the link failed; reconnect at retry time */
    RUNNEL_SYNC_ERROR            /* the upstream refused us (AUTH, SELECT):
                                  * reconnect at retry time, error shown */
} runnel_sync_state_t;

/* One local stream being mirrored. Callers provide the table
 * (runnel_sync_config_t.streams) and read it through
 * runnel_sync_stream_stats(); the fields are the forwarder's. */
typedef struct runnel_sync_stream {
    bool used;
    bool resumed;          /* upstream's last ID known on this connection */
    bool top_pending;      /* the XREVRANGE for it is in flight */
    bool stopped;          /* an error reply: waits for retry_at_ms */
    bool caught_up;        /* the last read after `sent` found nothing */
    uint16_t key_len;
    uint32_t inflight;     /* XADDs of this stream awaiting replies */
    char key[RUNNEL_SYNC_KEY_MAX];
    runnel_id_t cursor;    /* the upstream holds everything up to here */
    runnel_id_t sent;      /* last ID written into the pipeline */
    runnel_id_t failed_id; /* the entry an error reply refused */
    runnel_id_t committed; /* forward_committed_only: forward up to here */
    uint64_t retry_at_ms;
    uint32_t error_attempts;
    /* Counters since the slot was taken. */
    uint64_t forwarded;         /* entries the upstream accepted */
    uint64_t forwarded_bytes;   /* their field+value bytes */
    uint64_t duplicates;        /* "equal or smaller" replies (already there) */
    uint64_t skipped;           /* deleted/trimmed locally before forwarding */
    uint64_t gaps;              /* a later entry accepted after a refused one */
    uint64_t dropped;           /* backlog entries the full ring dropped
                                 * (the engine's count, stream_cursor.c) */
    /* The persisted cursor (runnel_stream_cursor_save). */
    runnel_id_t saved;          /* the cursor the store holds */
    runnel_id_t noted;          /* the cursor the engine holds in RAM */
    uint64_t unsaved;           /* entries confirmed since that save */
    uint64_t saved_ms;          /* when it was saved (or last tried) */
    bool save_due;              /* tracking to start: save even at 0-0 */
    bool restored;              /* position and counters came from the store */
    bool resumed_once;          /* the upstream's top was asked since */
    /* Lag accounting: entries after the cursor = lag_base + entries added
     * since added_base - entries consumed (acked) since. Re-based exactly
     * whenever the stream is caught up; the remainder then is what was
     * deleted before it could be sent (skipped). */
    uint64_t lag_base, added_base, consumed;
    char error[RUNNEL_SYNC_ERR_MAX];  /* "" = none */
    uint64_t error_ms;
} runnel_sync_stream_t;

/* One command awaiting its reply, in send order. */
typedef struct runnel_sync_inflight {
    uint8_t kind;          /* internal: AUTH, SELECT, TOP, MULTI, XADD, EXEC */
    uint16_t stream;       /* slot index (TOP, XADD) */
    uint32_t bytes;        /* command bytes (XADD) */
    uint32_t payload;      /* field+value bytes (XADD) */
    runnel_id_t id;        /* the entry (XADD) */
    uint64_t queued_ms;
} runnel_sync_inflight_t;

typedef struct runnel_sync_config {
    /* The link and the clock-free time source: poll() is given now_ms. */
    const runnel_net_t *net;
    /* Upstream address (NUL-terminated name or IPv4/IPv6 literal) and port. */
    const char *host;
    uint16_t port;
    /* AUTH: password NULL or "" = no AUTH; user non-empty = ACL AUTH
     * user password; else AUTH password. */
    const char *user;
    const char *password;
    /* Upstream database (SELECT when not 0). */
    uint32_t upstream_db;
    /* Local database whose streams are forwarded. */
    uint32_t local_db;
    /* Which local keys are forwarded: a glob as SCAN MATCH takes it
     * (NULL or "" = every key). */
    const char *match;
    /* Upstream key = key_prefix + local key (NULL = none). */
    const char *key_prefix;
    /* Most entries read from one stream per batch (0 = 1000). */
    uint32_t batch_entries;
    /* Most XADD bytes sent and not yet answered (0 = 1 MiB). */
    uint32_t max_inflight_bytes;
    /* Reconnect backoff: the first wait, doubled per failure up to max,
     * each drawn at random in [wait/2, wait] (0 = 100 ms and 30 s). Reset
     * after a batch is acknowledged. */
    uint32_t backoff_min_ms, backoff_max_ms;
    /* A reply (or the connect) not arriving within this many ms drops the
     * link as half-open (0 = 5000). */
    uint32_t reply_timeout_ms;
    /* How often the key space is scanned for new matching streams while
     * syncing (0 = 1000 ms). */
    uint32_t scan_interval_ms;
    /* Persisted cursor: saved after this many confirmed entries (0 =
     * 1000) or this many ms with any confirmed (0 = 1000). */
    uint32_t cursor_save_entries;
    uint32_t cursor_save_ms;
    /* Seed of the backoff jitter (0 = derived from the first now_ms). */
    uint32_t seed;
    /* Forward only entries the local store has committed: the application
     * calls runnel_sync_committed() after each successful commit (every
     * entry appended before it is then forwardable). Without it an entry
     * can reach the upstream and then be lost locally by a power cut
     * (commit policies INTERVAL and NONE); the restarted device could then
     * give a new entry that ID again, and the upstream would refuse it as
     * a duplicate. false = forward what is appended. */
    bool forward_committed_only;
    /* Caller memory. tx: commands waiting to be sent (at least 4 KiB; an
     * entry whose XADD is larger stops its stream with an error). rx:
     * replies (at least 1 KiB; must hold a whole top entry). streams: one
     * slot per forwarded stream. inflight: one per command awaiting a reply
     * (bounds the entries in flight; at least 3: each stream's batch is
     * MULTI, its XADDs, EXEC). */
    uint8_t *tx_buf;
    size_t tx_size;
    uint8_t *rx_buf;
    size_t rx_size;
    runnel_sync_stream_t *streams;
    uint32_t streams_cap;
    runnel_sync_inflight_t *inflight;
    uint32_t inflight_cap;
} runnel_sync_config_t;

typedef struct runnel_sync {
    runnel_t *r;
    runnel_sync_config_t cfg;
    runnel_sync_state_t state;
    bool link_up;
    /* Pipeline. */
    size_t tx_off, tx_len;
    size_t rx_off, rx_len;
    uint32_t q_head, q_count;
    uint64_t inflight_bytes;
    runnel_resp_reader_t rd;
    /* The reply being read (its items may arrive over several polls). */
    bool in_reply;
    bool reply_error;
    bool reply_is_null;
    bool reply_have_id;
    runnel_id_t reply_id;
    char reply_text[RUNNEL_SYNC_ERR_MAX];
    uint8_t reply_kind;    /* the in-flight record the reply answers */
    /* The transaction (MULTI ... EXEC) whose replies are being read:
     * XADDs answered QUEUED wait at the head of the in-flight queue for
     * EXEC's array (reply_skip of them); the first error a queued XADD got
     * is kept, so that a refused batch shows it rather than EXECABORT. A
     * refused MULTI makes its XADDs plain commands (batch_plain). */
    uint32_t reply_skip;
    bool batch_plain;
    bool exec_array;       /* reading EXEC's array, one element per XADD */
    char batch_error[RUNNEL_SYNC_ERR_MAX];
    /* Timers. */
    uint64_t now_ms;
    uint64_t retry_at_ms;
    uint64_t connect_started_ms;
    uint64_t last_rx_ms;
    uint64_t next_scan_ms;
    uint64_t scan_dbsize;  /* keys in local_db at the last scan */
    uint32_t backoff_attempts;
    uint32_t rng;
    uint32_t rr;           /* round-robin start among slots */
    bool more;             /* the last poll stopped with work left */
    /* Totals. */
    uint64_t connects, reconnects;
    uint64_t link_up_ms;   /* when the current link was established */
    uint64_t rtt_ms;       /* last reply's round trip */
    uint64_t bytes_sent;
    uint64_t cursor_saves; /* cursor records written */
    /* Saves the store refused (a ring full under store-full-policy
     * refuse: only a trim makes room) and the last refusal's code; they
     * are retried every cursor_save_ms, and meanwhile a restart resumes
     * from the older record (the upstream's top still decides). */
    uint64_t cursor_save_failures;
    int cursor_save_error;
    char last_error[RUNNEL_SYNC_ERR_MAX];
    uint64_t last_error_ms;
} runnel_sync_t;

typedef struct runnel_sync_stats {
    runnel_sync_state_t state;
    uint32_t streams;            /* slots in use */
    uint32_t streams_stopped;    /* streams held by an error reply */
    uint64_t lag_entries;        /* entries not yet known to be upstream */
    uint64_t lag_bytes;          /* estimate: lag_entries x mean entry size */
    uint64_t forwarded, forwarded_bytes, duplicates, skipped, dropped, gaps;
    uint64_t inflight_entries, inflight_bytes;
    uint64_t connects, reconnects;
    uint64_t bytes_sent;         /* RESP bytes written to the link */
    uint64_t cursor_saves;       /* persisted cursor records written */
    uint64_t cursor_save_failures; /* saves the store refused (full ring) */
    int cursor_save_error;       /* the last refusal's RUNNEL_ERR_*, 0 = none */
    uint64_t rtt_ms;
    const char *last_error;      /* "" = none (the link's, else a stream's) */
    uint64_t last_error_ms;
} runnel_sync_stats_t;

typedef struct runnel_sync_stream_stats {
    runnel_str_t key;
    bool stopped;
    runnel_id_t cursor;
    runnel_id_t saved_cursor;    /* the persisted one (may lag `cursor`) */
    bool restored;               /* position came from the store at start */
    uint64_t lag_entries, forwarded, forwarded_bytes, duplicates, skipped, dropped, gaps;
    const char *error;
    uint64_t error_ms;
} runnel_sync_stream_stats_t;

/* Checks the configuration and starts in IDLE; the first poll connects.
 * INVAL: a missing net table, host, port or buffer, or a buffer below its
 * minimum. Nothing is allocated; s and the buffers must outlive the sync. */
int runnel_sync_init(runnel_sync_t *s, runnel_t *r, const runnel_sync_config_t *cfg);

/* Does what can be done now without blocking: connect, authenticate,
 * resume, fill and send the pipeline, read replies, time out, back off.
 * Returns 0, or INVAL for a bad argument. Link and upstream errors are
 * not returned: they are reported in the stats and retried. */
int runnel_sync_poll(runnel_sync_t *s, uint64_t now_ms);

/* True when the last poll stopped with work it could do at once (its
 * per-call bound was reached): poll again without waiting for the link. */
bool runnel_sync_more(const runnel_sync_t *s);

/* With forward_committed_only: everything appended so far is committed
 * (call it after runnel_commit, or when runnel_flush returns 0). */
void runnel_sync_committed(runnel_sync_t *s);

/* Closes the link and stays IDLE until runnel_sync_init() again. */
void runnel_sync_stop(runnel_sync_t *s);

/* "idle", "connecting", "authenticating", "syncing", "backoff", "error". */
const char *runnel_sync_state_name(runnel_sync_state_t st);

void runnel_sync_stats(runnel_sync_t *s, runnel_sync_stats_t *out);
/* Slot i (0 .. streams_cap-1): NOENT-like INVAL when unused. */
int runnel_sync_stream_stats(runnel_sync_t *s, uint32_t i, runnel_sync_stream_stats_t *out);

/* The cursor of a local key: the last ID the upstream is known to hold.
 * INVAL when the key has no slot (yet). */
int runnel_sync_cursor(const runnel_sync_t *s, runnel_str_t key, runnel_id_t *out);

#endif /* RUNNEL_SYNC_H */
