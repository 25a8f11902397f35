/*
 * test_cmd_block.c - blocking XREAD / XREADGROUP through the command layer
 * (docs/redis-streams-7.0.md, section 10): wake-ups by XADD from another
 * client, FIFO order, one XREADGROUP client per group per XADD, NOGROUP
 * after XGROUP DESTROY, UNBLOCKED after DEL (XREAD clients stay blocked),
 * timeouts, BLOCK inside MULTI, RESP3 shapes, disconnects.
 */
#include "cmd_fixture.h"

#define ENTRY_1_0 "*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
#define ENTRY_2_0 "*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"

static void test_xread_woken_by_xadd(void)
{
    CHECK(cf_setup() == 0);
    EXPECT_C(0, "XREAD BLOCK 0 STREAMS s $", "");
    CHECK(cf_last_result == RUNNEL_CMD_BLOCKED);
    CHECK_EQ_U64(cf_srv.blocked_count, 1);
    CHECK(cf_clients[0].block.active);
    EXPECT_C(1, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_REPLY(cf_take(0), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
    CHECK_EQ_U64(cf_woken[0], 1);
    CHECK_EQ_U64(cf_srv.blocked_count, 0);
    CHECK(!cf_clients[0].block.active);

    /* Counted once, when served. */
    size_t idx = 0;
    runnel_str_t name = {"xread", 5};
    CHECK(runnel__cmd_lookup(name, &idx) != NULL);
    CHECK_EQ_U64(cf_stats[idx].calls, 1);

    /* An explicit ID below the last one is served at once, no blocking. */
    EXPECT_C(0, "XREAD BLOCK 0 STREAMS s 0", "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
    CHECK(cf_last_result == RUNNEL_CMD_DONE);
}

static void test_fifo_and_keys(void)
{
    CHECK(cf_setup() == 0);
    EXPECT_C(1, "XREAD BLOCK 0 STREAMS a s $ $", "");
    EXPECT_C(0, "XREAD COUNT 5 BLOCK 0 STREAMS s 0", "");
    CHECK_EQ_U64(cf_srv.blocked_count, 2);
    EXPECT_C(2, "XADD other 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_EQ_U64(cf_nwakes, 0);
    EXPECT_C(2, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_EQ_U64(cf_nwakes, 2);
    CHECK_EQ_U64(cf_wake_order[0], 1);   /* blocked first, served first */
    CHECK_EQ_U64(cf_wake_order[1], 0);
    /* Only the key that became ready is in the reply. */
    CHECK_REPLY(cf_take(1), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
    CHECK_REPLY(cf_take(0), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
}

static void test_one_group_reader_per_xadd(void)
{
    CHECK(cf_setup() == 0);
    EXPECT_C(2, "XGROUP CREATE s g $ MKSTREAM", "+OK\r\n");
    EXPECT_C(0, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >", "");
    EXPECT_C(1, "XREADGROUP GROUP g bob BLOCK 0 STREAMS s >", "");
    CHECK_EQ_U64(cf_srv.blocked_count, 2);
    /* A blocked read does not create the consumer (7.0). */
    EXPECT_C(2, "XINFO CONSUMERS s g", "*0\r\n");
    EXPECT_C(2, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_EQ_U64(cf_nwakes, 1);
    CHECK_REPLY(cf_take(0), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
    CHECK_REPLY(cf_take(1), "");
    CHECK_EQ_U64(cf_srv.blocked_count, 1);
    EXPECT_C(2, "XPENDING s g", "*4\r\n:1\r\n$3\r\n1-0\r\n$3\r\n1-0\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n1\r\n");
    EXPECT_C(2, "XADD s 2-0 f v", "$3\r\n2-0\r\n");
    CHECK_REPLY(cf_take(1), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_2_0);
    CHECK_EQ_U64(cf_srv.blocked_count, 0);
}

static void test_group_destroyed_and_key_deleted(void)
{
    CHECK(cf_setup() == 0);
    EXPECT_C(2, "XGROUP CREATE s g $ MKSTREAM", "+OK\r\n");
    EXPECT_C(2, "XGROUP CREATE s h $", "+OK\r\n");
    EXPECT_C(0, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >", "");
    EXPECT_C(1, "XREADGROUP GROUP h bob BLOCK 0 STREAMS s >", "");
    EXPECT_C(2, "XGROUP DESTROY s g", ":1\r\n");
    CHECK_REPLY(cf_take(0), "-NOGROUP the consumer group this client was blocked on no longer exists\r\n");
    CHECK_REPLY(cf_take(1), "");
    CHECK_EQ_U64(cf_srv.blocked_count, 1);

    /* Deleting the key: group readers get UNBLOCKED, XREAD readers wait on. */
    EXPECT_C(0, "XREAD BLOCK 0 STREAMS s $", "");
    CHECK_EQ_U64(cf_srv.blocked_count, 2);
    EXPECT_C(2, "DEL s", ":1\r\n");
    CHECK_REPLY(cf_take(1), "-UNBLOCKED the stream key no longer exists\r\n");
    CHECK_REPLY(cf_take(0), "");
    CHECK_EQ_U64(cf_srv.blocked_count, 1);
    CHECK(cf_clients[0].block.active);
    /* The re-created stream must pass the old "$" threshold (0-0 here). */
    EXPECT_C(2, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_REPLY(cf_take(0), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);

    /* Error statistics saw both errors. */
    int seen = 0;
    for (int i = 0; i < RUNNEL_MAX_ERROR_CODES; i++) {
        if (strcmp(cf_srv.error_codes[i], "NOGROUP") == 0 && cf_srv.error_counts[i] == 1)
            seen++;
        if (strcmp(cf_srv.error_codes[i], "UNBLOCKED") == 0 && cf_srv.error_counts[i] == 1)
            seen++;
    }
    CHECK_EQ_INT(seen, 2);
}

static void test_timeout(void)
{
    CHECK(cf_setup() == 0);
    uint64_t t0 = cf_now;
    EXPECT_C(0, "XREAD BLOCK 100 STREAMS s $", "");
    EXPECT_C(1, "XREAD BLOCK 50 STREAMS s $", "");
    EXPECT_C(2, "XREAD BLOCK 0 STREAMS s $", "");
    CHECK_EQ_U64(runnel_cmd_next_deadline(&cf_srv), t0 + 50);
    runnel_cmd_expire_blocked(&cf_srv, t0 + 49);
    CHECK_EQ_U64(cf_srv.blocked_count, 3);
    runnel_cmd_expire_blocked(&cf_srv, t0 + 50);
    CHECK_REPLY(cf_take(1), "*-1\r\n");
    CHECK_EQ_U64(cf_woken[1], 1);
    CHECK_EQ_U64(runnel_cmd_next_deadline(&cf_srv), t0 + 100);
    runnel_cmd_expire_blocked(&cf_srv, t0 + 1000000);
    CHECK_REPLY(cf_take(0), "*-1\r\n");
    CHECK_REPLY(cf_take(2), "");            /* BLOCK 0 waits forever */
    CHECK_EQ_U64(cf_srv.blocked_count, 1);
    CHECK_EQ_U64(runnel_cmd_next_deadline(&cf_srv), 0);

    /* A closed connection leaves the FIFO and is never served. */
    runnel_cmd_client_closed(&cf_srv, &cf_clients[2]);
    CHECK_EQ_U64(cf_srv.blocked_count, 0);
    EXPECT_C(1, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_EQ_U64(cf_woken[2], 0);
}

static void test_block_in_multi(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("XREAD BLOCK 0 STREAMS s $", "+QUEUED\r\n");
    EXPECT("XGROUP CREATE s g $ MKSTREAM", "+QUEUED\r\n");
    EXPECT("XREADGROUP GROUP g c BLOCK 0 STREAMS s >", "+QUEUED\r\n");
    EXPECT("EXEC", "*3\r\n*-1\r\n+OK\r\n*-1\r\n");
    CHECK_EQ_U64(cf_srv.blocked_count, 0);
}

/* XADD then XDEL in one transaction still wakes XREAD (last_id moved), with
 * an empty entry list: a Redis 7.0 quirk. */
static void test_xadd_xdel_in_multi(void)
{
    CHECK(cf_setup() == 0);
    EXPECT_C(1, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    EXPECT_C(0, "XREAD BLOCK 0 STREAMS s $", "");
    EXPECT_C(1, "MULTI", "+OK\r\n");
    EXPECT_C(1, "XADD s 2-0 f v", "+QUEUED\r\n");
    EXPECT_C(1, "XDEL s 2-0", "+QUEUED\r\n");
    EXPECT_C(1, "EXEC", "*2\r\n$3\r\n2-0\r\n:1\r\n");
    CHECK_REPLY(cf_take(0), "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n");
}

static void test_resp3(void)
{
    CHECK(cf_setup() == 0);
    cf_clients[0].resp = 3;
    EXPECT_C(0, "XREAD BLOCK 0 STREAMS s $", "");
    EXPECT_C(1, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK_REPLY(cf_take(0), "%1\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
    EXPECT_C(0, "XREAD BLOCK 10 STREAMS s $", "");
    runnel_cmd_expire_blocked(&cf_srv, cf_now + 10);
    CHECK_REPLY(cf_take(0), "_\r\n");
    EXPECT_C(0, "XREAD STREAMS s 0", "%1\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
    EXPECT_C(0, "XREAD STREAMS s $", "_\r\n");
}

/* XREADGROUP with COUNT absent reads at most 1000 on wake-up; with COUNT n
 * at most n. */
static void test_wake_count(void)
{
    CHECK(cf_setup() == 0);
    EXPECT_C(2, "XGROUP CREATE s g $ MKSTREAM", "+OK\r\n");
    EXPECT_C(0, "XREADGROUP GROUP g a COUNT 1 BLOCK 0 STREAMS s >", "");
    EXPECT_C(2, "MULTI", "+OK\r\n");
    EXPECT_C(2, "XADD s 1-0 f v", "+QUEUED\r\n");
    EXPECT_C(2, "XADD s 2-0 f v", "+QUEUED\r\n");
    EXPECT_C(2, "EXEC", "*2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n");
    CHECK_REPLY(cf_take(0), "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n" ENTRY_1_0);
}

TEST_MAIN(
    RUN(test_xread_woken_by_xadd);
    RUN(test_fifo_and_keys);
    RUN(test_one_group_reader_per_xadd);
    RUN(test_group_destroyed_and_key_deleted);
    RUN(test_timeout);
    RUN(test_block_in_multi);
    RUN(test_xadd_xdel_in_multi);
    RUN(test_resp3);
    RUN(test_wake_count);
)
