/*
 * test_cmd_stream.c - the stream commands through runnel_cmd_execute, reply
 * bytes compared with what Redis 7.0.15 sends for the same input.
 */
#include "cmd_fixture.h"

static void test_basic(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("XADD s 1-1 f v", "$3\r\n1-1\r\n");
    EXPECT("XRANGE s - +", "*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT("foo a b", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
}

TEST_MAIN(
    RUN(test_basic);
)
