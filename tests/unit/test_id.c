/*
 * test_id.c - stream ID ordering, formatting and Redis 7.0.15's parser
 * quirks (reference section 1).
 */
#include <string.h>

#include "runnel.h"
#include "testing.h"

static int parse(const char *s, unsigned flags, runnel_id_t *id)
{
    return runnel_id_parse(s, strlen(s), flags, id, NULL);
}

static void expect_id(const char *s, unsigned flags, uint64_t ms, uint64_t seq)
{
    runnel_id_t id = {7, 7};
    int rc = parse(s, flags, &id);
    CHECK_EQ_INT(rc, 0);
    if (rc != 0 || id.ms != ms || id.seq != seq)
        printf("    for input \"%s\"\n", s);
    CHECK_EQ_U64(id.ms, ms);
    CHECK_EQ_U64(id.seq, seq);
}

static void expect_invalid(const char *s, unsigned flags)
{
    runnel_id_t id;
    int rc = parse(s, flags, &id);
    if (rc != RUNNEL_ERR_ID_INVALID)
        printf("    input \"%s\" was accepted\n", s);
    CHECK_EQ_INT(rc, RUNNEL_ERR_ID_INVALID);
}

static void test_cmp_format(void)
{
    runnel_id_t a = {1, 2}, b = {1, 3}, c = {2, 0};
    char buf[RUNNEL_ID_STRLEN];

    CHECK(runnel_id_cmp(a, b) < 0);
    CHECK(runnel_id_cmp(b, a) > 0);
    CHECK(runnel_id_cmp(b, c) < 0);
    CHECK(runnel_id_cmp(c, c) == 0);
    CHECK(runnel_id_cmp(RUNNEL_ID_MAX, c) > 0);
    CHECK_EQ_INT(runnel_id_format(a, buf), 3);
    CHECK_STR(buf, "1-2");
    CHECK_EQ_INT(runnel_id_format(RUNNEL_ID_MIN, buf), 3);
    CHECK_STR(buf, "0-0");
    CHECK_EQ_INT(runnel_id_format(RUNNEL_ID_MAX, buf), 41);
    CHECK_STR(buf, "18446744073709551615-18446744073709551615");
}

static void test_plain(void)
{
    expect_id("1-2", 0, 1, 2);
    expect_id("5", 0, 5, 0);
    expect_id("5", RUNNEL_ID_MISSING_SEQ_MAX, 5, UINT64_MAX);
    expect_id("0", 0, 0, 0);
    expect_id("18446744073709551615-18446744073709551615", 0, UINT64_MAX, UINT64_MAX);
    expect_id("1526919030474-55", 0, 1526919030474ull, 55);
}

static void test_quirks(void)
{
    /* accepted through strtoull */
    expect_id(" 1-2", 0, 1, 2);
    expect_id("+1-2", 0, 1, 2);
    expect_id("01-02", 0, 1, 2);
    expect_id("1- 2", 0, 1, 2);
    expect_id("\t7", 0, 7, 0);
    expect_id("1-+0", 0, 1, 0);
    /* strtoull negates a non-canonical negative: " -1" wraps */
    expect_id("1- -1", 0, 1, UINT64_MAX);
}

static void test_invalid(void)
{
    char longid[200];

    expect_invalid("-5", 0);
    expect_invalid("-0-5", 0);   /* split on the first '-': empty ms */
    expect_invalid("1-", 0);
    expect_invalid("1-2-3", 0);
    expect_invalid("1.5", 0);
    expect_invalid("18446744073709551616", 0);
    expect_invalid("1-18446744073709551616", 0);
    expect_invalid("", 0);
    expect_invalid("-", 0);
    expect_invalid("+", 0);
    expect_invalid("abc", 0);
    expect_invalid("1 ", 0);
    expect_invalid("1-*", 0);
    expect_invalid("*", 0);
    expect_invalid("1--1", 0);  /* canonical negative seq */
    expect_invalid("0x10", 0);
    expect_invalid("(1", 0);
    /* 127 bytes accepted, 128 not */
    memset(longid, '0', sizeof(longid));
    longid[126] = '7';
    CHECK_EQ_INT(runnel_id_parse(longid, 127, 0, &(runnel_id_t){0, 0}, NULL), 0);
    longid[127] = '7';
    CHECK_EQ_INT(runnel_id_parse(longid, 128, 0, &(runnel_id_t){0, 0}, NULL),
                 RUNNEL_ERR_ID_INVALID);
    /* Redis sees a C string: a NUL ends the ID */
    {
        runnel_id_t id;
        CHECK_EQ_INT(runnel_id_parse("12\0zz", 5, 0, &id, NULL), 0);
        CHECK_EQ_U64(id.ms, 12);
    }
}

static void test_special(void)
{
    runnel_id_t id;
    bool seq_auto = false;

    expect_id("-", RUNNEL_ID_ALLOW_MINMAX, 0, 0);
    expect_id("+", RUNNEL_ID_ALLOW_MINMAX, UINT64_MAX, UINT64_MAX);
    CHECK_EQ_INT(runnel_id_parse("5-*", 3, RUNNEL_ID_ALLOW_SEQ_AUTO, &id, &seq_auto), 0);
    CHECK(seq_auto);
    CHECK_EQ_U64(id.ms, 5);
    CHECK_EQ_INT(runnel_id_parse("5-6", 3, RUNNEL_ID_ALLOW_SEQ_AUTO, &id, &seq_auto), 0);
    CHECK(!seq_auto);
    CHECK_EQ_INT(runnel_id_parse("5-**", 4, RUNNEL_ID_ALLOW_SEQ_AUTO, &id, &seq_auto),
                 RUNNEL_ERR_ID_INVALID);
    CHECK_EQ_INT(runnel_id_parse("*-1", 3, RUNNEL_ID_ALLOW_SEQ_AUTO, &id, &seq_auto),
                 RUNNEL_ERR_ID_INVALID);
}

static void test_bounds(void)
{
    runnel_id_t id;

    CHECK_EQ_INT(runnel_id_parse_start("-", 1, &id), 0);
    CHECK_EQ_U64(id.ms, 0);
    CHECK_EQ_INT(runnel_id_parse_end("+", 1, &id), 0);
    CHECK_EQ_U64(id.seq, UINT64_MAX);
    CHECK_EQ_INT(runnel_id_parse_start("2", 1, &id), 0);
    CHECK_EQ_U64(id.seq, 0);
    CHECK_EQ_INT(runnel_id_parse_end("3", 1, &id), 0);
    CHECK_EQ_U64(id.ms, 3);
    CHECK_EQ_U64(id.seq, UINT64_MAX);
    /* exclusive */
    CHECK_EQ_INT(runnel_id_parse_start("(1-5", 4, &id), 0);
    CHECK_EQ_U64(id.ms, 1);
    CHECK_EQ_U64(id.seq, 6);
    CHECK_EQ_INT(runnel_id_parse_start("(1-18446744073709551615", 23, &id), 0);
    CHECK_EQ_U64(id.ms, 2);
    CHECK_EQ_U64(id.seq, 0);
    CHECK_EQ_INT(runnel_id_parse_start("(3", 2, &id), 0);
    CHECK_EQ_U64(id.ms, 3);
    CHECK_EQ_U64(id.seq, 1);
    CHECK_EQ_INT(runnel_id_parse_end("(3", 2, &id), 0);       /* 3-max minus one */
    CHECK_EQ_U64(id.ms, 3);
    CHECK_EQ_U64(id.seq, UINT64_MAX - 1);
    CHECK_EQ_INT(runnel_id_parse_end("(2-0", 4, &id), 0);
    CHECK_EQ_U64(id.ms, 1);
    CHECK_EQ_U64(id.seq, UINT64_MAX);
    CHECK_EQ_INT(runnel_id_parse_start("(18446744073709551615-18446744073709551615", 42, &id),
                 RUNNEL_ERR_INVALID_START);
    CHECK_EQ_INT(runnel_id_parse_end("(0-0", 4, &id), RUNNEL_ERR_INVALID_END);
    CHECK_EQ_INT(runnel_id_parse_end("(0", 2, &id), 0);   /* 0-max minus one */
    CHECK_EQ_INT(runnel_id_parse_start("(-", 2, &id), RUNNEL_ERR_ID_INVALID);
    CHECK_EQ_INT(runnel_id_parse_start("(+", 2, &id), RUNNEL_ERR_ID_INVALID);
    CHECK_EQ_INT(runnel_id_parse_end("(", 1, &id), RUNNEL_ERR_ID_INVALID);
    CHECK_EQ_INT(runnel_id_parse_start("(", 1, &id), RUNNEL_ERR_ID_INVALID);
    CHECK_EQ_INT(runnel_id_parse_start("((1", 3, &id), RUNNEL_ERR_ID_INVALID);
    CHECK_EQ_INT(runnel_id_parse_start("(1-*", 4, &id), RUNNEL_ERR_ID_INVALID);
}

TEST_MAIN(
    RUN(test_cmp_format);
    RUN(test_plain);
    RUN(test_quirks);
    RUN(test_invalid);
    RUN(test_special);
    RUN(test_bounds);
)
