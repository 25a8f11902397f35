/*
 * test_errors.c - every result code has its own text; Redis codes have
 * exactly the Redis 7.0.15 reply text; runnel_format_error substitutes names.
 */
#include <string.h>

#include "runnel_err.h"
#include "testing.h"

static const int system_codes[] = {
    RUNNEL_ERR_IO, RUNNEL_ERR_AGAIN, RUNNEL_ERR_NOMEM, RUNNEL_ERR_EXIST,
    RUNNEL_ERR_INVAL, RUNNEL_ERR_NOSPC, RUNNEL_ERR_SYNC_BACKLOG, RUNNEL_ERR_CORRUPT, RUNNEL_ERR_PROTO,
    RUNNEL_ERR_POOL_STREAMS, RUNNEL_ERR_POOL_NODES, RUNNEL_ERR_POOL_GROUPS,
    RUNNEL_ERR_POOL_CONSUMERS, RUNNEL_ERR_POOL_PEL, RUNNEL_ERR_NAME_TOO_LONG,
    RUNNEL_ERR_ENTRY_TOO_LARGE, RUNNEL_ERR_TOO_MANY_FIELDS,
};

#define NSYS (sizeof system_codes / sizeof system_codes[0])
#define NREDIS (RUNNEL_ERR_REDIS_LAST_ - RUNNEL_ERR_SYNTAX + 1)

static void test_every_code_distinct(void)
{
    static int codes[NSYS + NREDIS];
    size_t n = 0, i, j;
    int c;

    for (i = 0; i < NSYS; i++)
        codes[n++] = system_codes[i];
    for (c = RUNNEL_ERR_SYNTAX; c <= RUNNEL_ERR_REDIS_LAST_; c++)
        codes[n++] = c;
    CHECK(NREDIS >= 40);
    for (i = 0; i < n; i++) {
        const char *t = runnel_strerror(codes[i]);
        CHECK(t != NULL && t[0] != '\0');
        CHECK(strcmp(t, "ERR unknown error") != 0);
        CHECK(t[0] != '-');
        for (j = 0; j < i; j++) {
            if (strcmp(t, runnel_strerror(codes[j])) == 0) {
                printf("    codes %d and %d share \"%s\"\n", codes[i], codes[j], t);
                CHECK(0);
            }
        }
    }
    CHECK_STR(runnel_strerror(1), "ERR unknown error");
    CHECK_STR(runnel_strerror(-999999), "ERR unknown error");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_SYNTAX - 1), "ERR unknown error");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_REDIS_LAST_ + 1), "ERR unknown error");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XINFO_NO_SUCH_KEY), "ERR no such key");
}

/* Expected strings copied from docs/redis-streams-7.0.md section 11. */
static void test_redis_texts(void)
{
    CHECK_STR(runnel_strerror(RUNNEL_ERR_SYNTAX), "ERR syntax error");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_NOT_INTEGER), "ERR value is not an integer or out of range");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_WRONGTYPE), "WRONGTYPE Operation against a key holding the wrong kind of value");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_ID_INVALID), "ERR Invalid stream ID specified as stream command argument");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XADD_ID_SMALL), "ERR The ID specified in XADD is equal or smaller than the target stream top item");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XADD_ID_ZERO), "ERR The ID specified in XADD must be greater than 0-0");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XREAD_UNBALANCED), "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XREAD_GT_ID), "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XREADGROUP_DOLLAR), "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_BUSYGROUP), "BUSYGROUP Consumer Group name already exists");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XGROUP_NEEDS_KEY), "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_UNBLOCKED), "UNBLOCKED the stream key no longer exists");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_COUNT_TOO_HIGH), "ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_XSETID_ENTRIES_ADDED), "ERR The entries_added specified in XSETID is smaller than the target stream length");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_LIMIT_NO_STRATEGY), "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_MAXLEN_NEGATIVE), "ERR The MAXLEN argument must be >= 0.");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_POOL_PEL), "ERR runnel limit reached: pending-entries pool is full (raise max-pending)");
    CHECK_STR(runnel_strerror(RUNNEL_ERR_NOSPC), "ERR runnel store is full: the ring is full of live entries and store-full-policy keeps them (refuse, relocate): raise store-size, trim, or set store-full-policy drop-oldest");
}

static void test_format(void)
{
    char buf[200];
    size_t n;

    n = runnel_format_error(buf, sizeof buf, RUNNEL_ERR_NOGROUP_XREADGROUP, "mystream", 8, "g1", 2);
    CHECK_STR(buf, "NOGROUP No such key 'mystream' or consumer group 'g1' in XREADGROUP with GROUP option");
    CHECK_EQ_U64(n, strlen(buf));
    runnel_format_error(buf, sizeof buf, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP, "s", 1, "g", 1);
    CHECK_STR(buf, "NOGROUP No such key 's' or consumer group 'g'");
    runnel_format_error(buf, sizeof buf, RUNNEL_ERR_NOGROUP_FOR_KEY, "g", 1, "s", 1);
    CHECK_STR(buf, "NOGROUP No such consumer group 'g' for key name 's'");
    runnel_format_error(buf, sizeof buf, RUNNEL_ERR_XCLAIM_UNRECOGNIZED, "abcdef", 3, NULL, 0);
    CHECK_STR(buf, "ERR Unrecognized XCLAIM option 'abc'");
    /* A name containing "%s" is copied, not expanded. */
    runnel_format_error(buf, sizeof buf, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP, "%s", 2, "x", 1);
    CHECK_STR(buf, "NOGROUP No such key '%s' or consumer group 'x'");
    /* Codes without names format to their plain text. */
    n = runnel_format_error(buf, sizeof buf, RUNNEL_ERR_SYNTAX, NULL, 0, NULL, 0);
    CHECK_STR(buf, "ERR syntax error");
    CHECK_EQ_U64(n, 16);

    /* Truncation: NUL-terminated, returns the full length like snprintf. */
    memset(buf, 'Z', sizeof buf);
    n = runnel_format_error(buf, 10, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP, "s", 1, "g", 1);
    CHECK_EQ_U64(n, strlen("NOGROUP No such key 's' or consumer group 'g'"));
    CHECK_STR(buf, "NOGROUP N");
    CHECK(buf[10] == 'Z');
    n = runnel_format_error(buf, 25, RUNNEL_ERR_NOGROUP_KEY_OR_GROUP, "keyname", 7, "g", 1);
    CHECK_STR(buf, "NOGROUP No such key 'key");
    n = runnel_format_error(NULL, 0, RUNNEL_ERR_SYNTAX, NULL, 0, NULL, 0);
    CHECK_EQ_U64(n, 16);
    buf[0] = 'Q';
    n = runnel_format_error(buf, 0, RUNNEL_ERR_SYNTAX, NULL, 0, NULL, 0);
    CHECK(buf[0] == 'Q' && n == 16);
    n = runnel_format_error(buf, 1, RUNNEL_ERR_SYNTAX, NULL, 0, NULL, 0);
    CHECK(buf[0] == '\0' && n == 16);
}

TEST_MAIN(
    RUN(test_every_code_distinct);
    RUN(test_redis_texts);
    RUN(test_format);
)
