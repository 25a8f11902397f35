/*
 * test_cmd_stream.c - the stream commands and the dispatcher through
 * runnel_cmd_execute, reply bytes compared with what Redis 7.0.15 sends.
 *
 * The expected bytes of test_redis_transcript were recorded from a real
 * redis-server 7.0.15 (Debian bookworm) fed the same commands in the same
 * order after FLUSHALL; they cover every error text of sections 0 and 11
 * of docs/redis-streams-7.0.md that a single-type server can produce, and
 * the main reply shapes. Replies that depend on time (idle, delivery
 * times) are tested separately with the fake clock.
 */
#include <stdlib.h>
#include "cmd_fixture.h"

static void test_redis_transcript(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("foo a b", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
    EXPECT("foo", "-ERR unknown command 'foo', with args beginning with: \r\n");
    EXPECT("dping 1 2 3 4", "-ERR unknown command 'dping', with args beginning with: '1' '2' '3' '4' \r\n");
    EXPECT("xgroup foo", "-ERR unknown subcommand 'foo'. Try XGROUP HELP.\r\n");
    EXPECT("xgroup", "-ERR wrong number of arguments for 'xgroup' command\r\n");
    EXPECT("XINFO foo k", "-ERR unknown subcommand 'foo'. Try XINFO HELP.\r\n");
    EXPECT("XADD s", "-ERR wrong number of arguments for 'xadd' command\r\n");
    EXPECT("XLEN", "-ERR wrong number of arguments for 'xlen' command\r\n");
    EXPECT("XLEN a b", "-ERR wrong number of arguments for 'xlen' command\r\n");
    EXPECT("xgroup create s", "-ERR wrong number of arguments for 'xgroup|create' command\r\n");
    EXPECT("XINFO HELP x", "-ERR wrong number of arguments for 'xinfo|help' command\r\n");
    EXPECT("XINFO HELP", "*9\r\n+XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CONSUMERS <key> <groupname>\r\n+    Show consumers of <groupname>.\r\n+GROUPS <key>\r\n+    Show the stream consumer groups.\r\n+STREAM <key> [FULL [COUNT <count>]\r\n+    Show information about the stream.\r\n+HELP\r\n+    Prints this help.\r\n");
    EXPECT("XGROUP HELP", "*17\r\n+XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CREATE <key> <groupname> <id|$> [option]\r\n+    Create a new consumer group. Options are:\r\n+    * MKSTREAM\r\n+      Create the empty stream if it does not exist.\r\n+    * ENTRIESREAD entries_read\r\n+      Set the group's entries_read counter (internal use).\r\n+CREATECONSUMER <key> <groupname> <consumer>\r\n+    Create a new consumer in the specified group.\r\n+DELCONSUMER <key> <groupname> <consumer>\r\n+    Remove the specified consumer.\r\n+DESTROY <key> <groupname>\r\n+    Remove the specified group.\r\n+SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]\r\n+    Set the current group ID and entries_read counter.\r\n+HELP\r\n+    Prints this help.\r\n");
    EXPECT("XINFO STREAM nokey", "-ERR no such key\r\n");
    EXPECT("XADD s 1-1 f v", "$3\r\n1-1\r\n");
    EXPECT("XADD s 1-1 f v", "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n");
    EXPECT("XADD s 0-0 f v", "-ERR The ID specified in XADD must be greater than 0-0\r\n");
    EXPECT("XADD s 0 f v", "-ERR The ID specified in XADD must be greater than 0-0\r\n");
    EXPECT("XADD z 0-0 f v", "-ERR The ID specified in XADD must be greater than 0-0\r\n");
    EXPECT("EXISTS z", ":0\r\n");
    EXPECT("XADD s 1-1 f", "-ERR wrong number of arguments for 'xadd' command\r\n");
    EXPECT("XADD s 2-1 f v g", "-ERR wrong number of arguments for 'xadd' command\r\n");
    EXPECT("XADD s MAXLEN 1 MINID 1 3-0 f v", "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n");
    EXPECT("XADD s MAXLEN -1 3-0 f v", "-ERR The MAXLEN argument must be >= 0.\r\n");
    EXPECT("XADD s MAXLEN abc 3-0 f v", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XADD s MAXLEN ~ 10 LIMIT -1 3-0 f v", "-ERR The LIMIT argument must be >= 0.\r\n");
    EXPECT("XADD s LIMIT 10 3-0 f v", "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n");
    EXPECT("XADD s LIMIT 0 3-0 f v", "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n");
    EXPECT("XADD s MAXLEN 1 LIMIT 10 3-0 f v", "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n");
    EXPECT("XADD s MAXLEN = 1 LIMIT 10 3-0 f v", "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n");
    EXPECT("XADD s MINID - 3-0 f v", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XADD s MINID abc 3-0 f v", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XADD s abc f v", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XADD s 1-* f v", "$3\r\n1-2\r\n");
    EXPECT("XADD s 5-* f v", "$3\r\n5-0\r\n");
    EXPECT("XADD s 5-* f v", "$3\r\n5-1\r\n");
    EXPECT("XADD s NOMKSTREAM 6-0 a b", "$3\r\n6-0\r\n");
    EXPECT("XADD nos NOMKSTREAM 6-0 a b", "$-1\r\n");
    EXPECT("XADD s 18446744073709551615-18446744073709551615 f v", "$41\r\n18446744073709551615-18446744073709551615\r\n");
    EXPECT("XADD s * f v", "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n");
    EXPECT("XADD s 18446744073709551615-* f v", "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n");
    EXPECT("XTRIM k MAXLEN ~", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XTRIM k MAXLEN 5 NOMKSTREAM", "-ERR syntax error\r\n");
    EXPECT("XTRIM k LIMIT 0 LIMIT 0", "-ERR syntax error, XTRIM must be called with a trimming strategy\r\n");
    EXPECT("XTRIM k LIMIT 10 MAXLEN 5", "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n");
    EXPECT("XTRIM k", "-ERR wrong number of arguments for 'xtrim' command\r\n");
    EXPECT("XTRIM nokey MAXLEN 5", ":0\r\n");
    EXPECT("XADD t 1-0 a 1", "$3\r\n1-0\r\n");
    EXPECT("XADD t 2-0 b 2 c 3", "$3\r\n2-0\r\n");
    EXPECT("XADD t 3-0 '' ''", "$3\r\n3-0\r\n");
    EXPECT("XADD t 4-0 d 4", "$3\r\n4-0\r\n");
    EXPECT("XRANGE t - +", "*4\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XRANGE t - + COUNT 2", "*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    EXPECT("XRANGE t - + COUNT 0", "*-1\r\n");
    EXPECT("XRANGE nokey - + COUNT 0", "*0\r\n");
    EXPECT("XRANGE t - + COUNT -5", "*-1\r\n");
    EXPECT("XRANGE t - + COUNT", "-ERR syntax error\r\n");
    EXPECT("XRANGE t - + FOO 1", "-ERR syntax error\r\n");
    EXPECT("XRANGE t - + COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XRANGE t (1-0 (4-0", "*2\r\n*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n");
    EXPECT("XRANGE t (18446744073709551615-18446744073709551615 +", "-ERR invalid start ID for the interval\r\n");
    EXPECT("XRANGE t - (0-0", "-ERR invalid end ID for the interval\r\n");
    EXPECT("XRANGE t 2 3", "*2\r\n*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n");
    EXPECT("XRANGE t 3 2", "*0\r\n");
    EXPECT("XRANGE t x +", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XRANGE t ( +", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XREVRANGE t + -", "*4\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT("XREVRANGE t + - COUNT 1", "*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XREVRANGE t (4 -", "*4\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n2-0\r\n*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT("XLEN t", ":4\r\n");
    EXPECT("XLEN nokey", ":0\r\n");
    EXPECT("XDEL nokey bad", ":0\r\n");
    EXPECT("XDEL t bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XDEL t 2-0 2-0 9-0", ":1\r\n");
    EXPECT("XRANGE t - +", "*3\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\n3-0\r\n*2\r\n$0\r\n\r\n$0\r\n\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XTRIM t MAXLEN 1", ":2\r\n");
    EXPECT("XRANGE t - +", "*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XSETID t 1-0", "-ERR The ID specified in XSETID is smaller than the target stream top item\r\n");
    EXPECT("XSETID t 9-0 ENTRIESADDED -1", "-ERR entries_added must be positive\r\n");
    EXPECT("XSETID t 9-0 ENTRIESADDED x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XSETID t 9-0 MAXDELETEDID 10-0", "-ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id\r\n");
    EXPECT("XSETID t 9-0 FOO", "-ERR syntax error\r\n");
    EXPECT("XSETID t bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XSETID nokey 9-0", "-ERR no such key\r\n");
    EXPECT("XSETID t 9-0 ENTRIESADDED 0", "-ERR The entries_added specified in XSETID is smaller than the target stream length\r\n");
    EXPECT("XSETID t 9-0 ENTRIESADDED 10 MAXDELETEDID 3-0", "+OK\r\n");
    EXPECT("XINFO STREAM t", "*20\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n9-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n3-0\r\n$13\r\nentries-added\r\n:10\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n4-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XINFO STREAM t FOO", "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n");
    EXPECT("XINFO STREAM t FULL COUNT", "-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.\r\n");
    EXPECT("XINFO STREAM t FULL COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XREAD STREAMS t", "-ERR wrong number of arguments for 'xread' command\r\n");
    EXPECT("XREAD STREAMS t a b", "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n");
    EXPECT("XREAD GROUP g c STREAMS t 0", "-ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.\r\n");
    EXPECT("XREAD NOACK STREAMS t 0", "-ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.\r\n");
    EXPECT("XREAD STREAMS t >", "-ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.\r\n");
    EXPECT("XREAD COUNT 1 t 0", "-ERR syntax error\r\n");
    EXPECT("XREAD BLOCK x STREAMS t 0", "-ERR timeout is not an integer or out of range\r\n");
    EXPECT("XREAD BLOCK -1 STREAMS t 0", "-ERR timeout is negative\r\n");
    EXPECT("XREAD COUNT x STREAMS t 0", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XREAD STREAMS t bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XREAD STREAMS t 0", "*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XREAD STREAMS t $", "*-1\r\n");
    EXPECT("XREAD STREAMS nokey 0", "*-1\r\n");
    EXPECT("XREAD COUNT 1 STREAMS t t 0 0", "*2\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XREADGROUP STREAMS t 0 x x", "-ERR wrong number of arguments for 'xreadgroup' command\r\n");
    EXPECT("XREADGROUP GROUP g c STREAMS t >", "-NOGROUP No such key 't' or consumer group 'g' in XREADGROUP with GROUP option\r\n");
    EXPECT("XREADGROUP GROUP g c COUNT 1 STREAMS t", "-ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.\r\n");
    EXPECT("XGROUP CREATE nokey g $", "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.\r\n");
    EXPECT("XGROUP CREATE t g bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XGROUP CREATE t g -", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XGROUP CREATE t g $ FOO", "-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.\r\n");
    EXPECT("XGROUP CREATE t g $ ENTRIESREAD x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XGROUP CREATE t g $ ENTRIESREAD -2", "-ERR value for ENTRIESREAD must be positive or -1\r\n");
    EXPECT("XGROUP CREATE t g 0", "+OK\r\n");
    EXPECT("XGROUP CREATE t g 0", "-BUSYGROUP Consumer Group name already exists\r\n");
    EXPECT("XGROUP CREATE mk g $ MKSTREAM", "+OK\r\n");
    EXPECT("XGROUP CREATE mk2 g bad MKSTREAM", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("EXISTS mk2", ":0\r\n");
    EXPECT("XGROUP SETID t nog 0", "-NOGROUP No such consumer group 'nog' for key name 't'\r\n");
    EXPECT("XGROUP SETID t g bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XGROUP SETID t g 0 ENTRIESREAD", "-ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.\r\n");
    EXPECT("XGROUP SETID nokey g 0", "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.\r\n");
    EXPECT("XGROUP CREATECONSUMER t nog c", "-NOGROUP No such consumer group 'nog' for key name 't'\r\n");
    EXPECT("XGROUP CREATECONSUMER t g c1", ":1\r\n");
    EXPECT("XGROUP CREATECONSUMER t g c1", ":0\r\n");
    EXPECT("XGROUP DELCONSUMER t g nobody", ":0\r\n");
    EXPECT("XGROUP DESTROY t nog", ":0\r\n");
    EXPECT("XGROUP DESTROY nokey g", "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.\r\n");
    EXPECT("XREADGROUP GROUP nog c STREAMS t >", "-NOGROUP No such key 't' or consumer group 'nog' in XREADGROUP with GROUP option\r\n");
    EXPECT("XREADGROUP GROUP g c STREAMS t $", "-ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.\r\n");
    EXPECT("XREADGROUP GROUP g c STREAMS t bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XREADGROUP GROUP g c STREAMS nokey >", "-NOGROUP No such key 'nokey' or consumer group 'g' in XREADGROUP with GROUP option\r\n");
    EXPECT("XREADGROUP GROUP g c1 STREAMS t >", "*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XREADGROUP GROUP g c1 STREAMS t >", "*-1\r\n");
    EXPECT("XREADGROUP GROUP g c1 STREAMS t 0", "*1\r\n*2\r\n$1\r\nt\r\n*1\r\n*2\r\n$3\r\n4-0\r\n*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
    EXPECT("XINFO GROUPS t", "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:1\r\n$17\r\nlast-delivered-id\r\n$3\r\n4-0\r\n$12\r\nentries-read\r\n:10\r\n$3\r\nlag\r\n:0\r\n");
    EXPECT("XINFO GROUPS nokey", "-ERR no such key\r\n");
    EXPECT("XINFO CONSUMERS t nog", "-NOGROUP No such consumer group 'nog' for key name 't'\r\n");
    EXPECT("XINFO CONSUMERS nokey g", "-ERR no such key\r\n");
    EXPECT("XPENDING t g a", "-ERR syntax error\r\n");
    EXPECT("XPENDING t g - + 10 c x y z", "-ERR syntax error\r\n");
    EXPECT("XPENDING t g IDLE x - + 10", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XPENDING t g IDLE 10 - +", "-ERR syntax error\r\n");
    EXPECT("XPENDING t g - + x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("XPENDING t g bad + 10", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XPENDING t g - bad 10", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XPENDING t nog", "-NOGROUP No such key 't' or consumer group 'nog'\r\n");
    EXPECT("XPENDING nokey g - + 10", "-NOGROUP No such key 'nokey' or consumer group 'g'\r\n");
    EXPECT("XPENDING t g - + 0", "*0\r\n");
    EXPECT("XPENDING t g - + 10 nobody", "*0\r\n");
    EXPECT("XPENDING t g", "*4\r\n:1\r\n$3\r\n4-0\r\n$3\r\n4-0\r\n*1\r\n*2\r\n$2\r\nc1\r\n$1\r\n1\r\n");
    EXPECT("XPENDING t g2", "-NOGROUP No such key 't' or consumer group 'g2'\r\n");
    EXPECT("XACK nokey g bad", ":0\r\n");
    EXPECT("XACK t nog bad", ":0\r\n");
    EXPECT("XACK t g bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XACK t g 1-0 1-0 99-0", ":0\r\n");
    EXPECT("XPENDING t g", "*4\r\n:1\r\n$3\r\n4-0\r\n$3\r\n4-0\r\n*1\r\n*2\r\n$2\r\nc1\r\n$1\r\n1\r\n");
    EXPECT("XCLAIM nokey g c 0 1-0", "-NOGROUP No such key 'nokey' or consumer group 'g'\r\n");
    EXPECT("XCLAIM t nog c 0 1-0", "-NOGROUP No such key 't' or consumer group 'nog'\r\n");
    EXPECT("XCLAIM t g c x 1-0", "-ERR Invalid min-idle-time argument for XCLAIM\r\n");
    EXPECT("XCLAIM t g c 0 1-0 abc", "-ERR Unrecognized XCLAIM option 'abc'\r\n");
    EXPECT("XCLAIM t g c 0 1-0 IDLE x", "-ERR Invalid IDLE option argument for XCLAIM\r\n");
    EXPECT("XCLAIM t g c 0 1-0 TIME x", "-ERR Invalid TIME option argument for XCLAIM\r\n");
    EXPECT("XCLAIM t g c 0 1-0 RETRYCOUNT x", "-ERR Invalid RETRYCOUNT option argument for XCLAIM\r\n");
    EXPECT("XCLAIM t g c 0 1-0 LASTID bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XCLAIM t g c 0 1-0 IDLE", "-ERR Unrecognized XCLAIM option 'IDLE'\r\n");
    EXPECT("XCLAIM t g c 0 LASTID 0-1", "*0\r\n");
    EXPECT("XAUTOCLAIM t g c x 0", "-ERR Invalid min-idle-time argument for XAUTOCLAIM\r\n");
    EXPECT("XAUTOCLAIM t g c 0 bad", "-ERR Invalid stream ID specified as stream command argument\r\n");
    EXPECT("XAUTOCLAIM t g c 0 (18446744073709551615-18446744073709551615", "-ERR invalid start ID for the interval\r\n");
    EXPECT("XAUTOCLAIM t g c 0 0 COUNT 0", "-ERR COUNT must be > 0\r\n");
    EXPECT("XAUTOCLAIM t g c 0 0 COUNT x", "-ERR COUNT must be > 0\r\n");
    EXPECT("XAUTOCLAIM t g c 0 0 COUNT 576460752303423488", "-ERR COUNT must be > 0\r\n");
    EXPECT("XAUTOCLAIM t g c 0 0 COUNT 576460752303423487", "-ERR Insufficient memory, failed allocating transient memory, COUNT too high.\r\n");
    EXPECT("XAUTOCLAIM t g c 0 0 FOO", "-ERR syntax error\r\n");
    EXPECT("XAUTOCLAIM nokey g c 0 0", "-NOGROUP No such key 'nokey' or consumer group 'g'\r\n");
    EXPECT("XAUTOCLAIM t g c 0 0 JUSTID", "*3\r\n$3\r\n0-0\r\n*1\r\n$3\r\n4-0\r\n*0\r\n");
    EXPECT("XGROUP DELCONSUMER t g c1", ":0\r\n");
    EXPECT("XGROUP DESTROY t g", ":1\r\n");
    EXPECT("XGROUP CREATE t g $ ENTRIESREAD 3", "+OK\r\n");
    EXPECT("XINFO GROUPS t", "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n$3\r\n9-0\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n:7\r\n");
    EXPECT("EXEC", "-ERR EXEC without MULTI\r\n");
    EXPECT("DISCARD", "-ERR DISCARD without MULTI\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("MULTI", "-ERR MULTI calls can not be nested\r\n");
    EXPECT("XADD m 1-0 a b", "+QUEUED\r\n");
    EXPECT("XLEN m", "+QUEUED\r\n");
    EXPECT("EXEC", "*2\r\n$3\r\n1-0\r\n:1\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("XADD m 2-0 a", "-ERR wrong number of arguments for 'xadd' command\r\n");
    EXPECT("XLEN m", "+QUEUED\r\n");
    EXPECT("EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("nosuch", "-ERR unknown command 'nosuch', with args beginning with: \r\n");
    EXPECT("EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("XADD m 3-0 a b", "+QUEUED\r\n");
    EXPECT("DISCARD", "+OK\r\n");
    EXPECT("XLEN m", ":1\r\n");
    EXPECT("WATCH m", "+OK\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("WATCH m", "-ERR WATCH inside MULTI is not allowed\r\n");
    EXPECT("EXEC", "*0\r\n");
    EXPECT("UNWATCH", "+OK\r\n");
}

/* Long arguments in the unknown-command text: the name cut at 128 bytes,
 * arguments quoted while the list is under 128 bytes (recorded from Redis). */
static void test_unknown_command_truncation(void)
{
    static char line[600];
    CHECK(cf_setup() == 0);
    memset(line, 0, sizeof line);
    strcpy(line, "foo ");
    memset(line + 4, 'a', 100);
    line[104] = ' ';
    memset(line + 105, 'b', 100);
    strcpy(line + 205, " x");
    EXPECT(line, "-ERR unknown command 'foo', with args beginning with: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' 'bbbbbbbbbbbbbbbbbbbbbbbbb' \r\n");
    memset(line, 0, sizeof line);
    memset(line, 'c', 200);
    strcpy(line + 200, " 1");
    EXPECT(line, "-ERR unknown command 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc', with args beginning with: '1' \r\n");
    memset(line, 0, sizeof line);
    strcpy(line, "xgroup ");
    memset(line + 7, 'c', 200);
    EXPECT(line, "-ERR unknown subcommand 'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc'. Try XGROUP HELP.\r\n");
}

/* RESP3 shapes (recorded from Redis after HELLO 3). */
static void test_resp3_shapes(void)
{
    CHECK(cf_setup() == 0);
    cf_clients[0].resp = 3;
    EXPECT("XADD s 1-0 f v", "$3\r\n1-0\r\n");
    EXPECT("XINFO STREAM s", "%10\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n1-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n0-0\r\n$13\r\nentries-added\r\n:1\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$6\r\ngroups\r\n:0\r\n$11\r\nfirst-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n$10\r\nlast-entry\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT("XINFO GROUPS s", "*0\r\n");
    EXPECT("XPENDING s nog", "-NOGROUP No such key 's' or consumer group 'nog'\r\n");
    EXPECT("XREAD STREAMS s 0", "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT("XRANGE s - + COUNT 0", "_\r\n");
    EXPECT("XGROUP CREATE s g 0", "+OK\r\n");
    EXPECT("XPENDING s g", "*4\r\n:0\r\n_\r\n_\r\n_\r\n");
    EXPECT("XINFO GROUPS s", "*1\r\n%6\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n$12\r\nentries-read\r\n_\r\n$3\r\nlag\r\n:1\r\n");
    EXPECT("XAUTOCLAIM s g c 0 0", "*3\r\n$3\r\n0-0\r\n*0\r\n*0\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("XLEN s", "+QUEUED\r\n");
    EXPECT("WATCH s", "-ERR WATCH inside MULTI is not allowed\r\n");
    EXPECT("EXEC", "*1\r\n:1\r\n");
}

/* DROP_OLDEST: a ring of 6 blocks takes far fewer than 600 entries of ~100
 * bytes, so XADD keeps succeeding by dropping whole oldest nodes, and XINFO
 * STREAM shows the count (an extra pair only once something was dropped). */
static void test_drop_oldest_visible_in_xinfo(void)
{
    static char cmd[256];
    cf_blocks = 6;
    cf_policy = RUNNEL_FULL_DROP_OLDEST;
    CHECK(cf_setup() == 0);
    EXPECT("XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK(strstr(cf_run(0, "XINFO STREAM s"), "dropped-entries") == NULL);
    for (unsigned i = 2; i <= 600; i++) {
        snprintf(cmd, sizeof cmd, "XADD s %u-0 payload "
                 "0123456789012345678901234567890123456789012345678901234567890123456789"
                 "0123456789", i);
        const char *rep = cf_run(0, cmd);
        CHECK(rep[0] == '$');
    }
    const char *info = cf_run(0, "XINFO STREAM s");
    const char *at = strstr(info, "$15\r\ndropped-entries\r\n:");
    CHECK(info[0] == '*' && strncmp(info, "*22\r\n", 5) == 0);
    CHECK(at != NULL);
    if (at == NULL)
        return;
    unsigned long dropped = strtoul(at + strlen("$15\r\ndropped-entries\r\n:"), NULL, 10);
    const char *len_at = strstr(info, "$6\r\nlength\r\n:");
    CHECK(len_at != NULL);
    if (len_at == NULL)
        return;
    unsigned long length = strtoul(len_at + strlen("$6\r\nlength\r\n:"), NULL, 10);
    CHECK(dropped > 0);
    CHECK_EQ_U64(length + dropped, 600);
    /* The survivors are the newest entries, in order. */
    snprintf(cmd, sizeof cmd, "$5\r\n600-0\r\n");
    CHECK(strstr(cf_run(0, "XREVRANGE s + - COUNT 1"), cmd) != NULL);
}

/* The server counts WATCHing clients so writes skip the client walk when
 * nobody watches; every way out of a WATCH must bring the count back. */
static void test_watch_counter(void)
{
    CHECK(cf_setup() == 0);
    CHECK_EQ_U64(cf_srv.watching_clients, 0);
    EXPECT("WATCH s t", "+OK\r\n");
    EXPECT("WATCH u", "+OK\r\n");
    CHECK_EQ_U64(cf_srv.watching_clients, 1);
    EXPECT("UNWATCH", "+OK\r\n");
    CHECK_EQ_U64(cf_srv.watching_clients, 0);
    EXPECT("XADD s 1-0 f v", "$3\r\n1-0\r\n");

    /* Another client's write still makes the watcher's EXEC fail. */
    EXPECT("WATCH s", "+OK\r\n");
    EXPECT_C(1, "WATCH s", "+OK\r\n");
    CHECK_EQ_U64(cf_srv.watching_clients, 2);
    EXPECT_C(2, "XADD s 2-0 f v", "$3\r\n2-0\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("XLEN s", "+QUEUED\r\n");
    EXPECT("EXEC", "*-1\r\n");
    CHECK_EQ_U64(cf_srv.watching_clients, 1);
    EXPECT_C(1, "RESET", "+RESET\r\n");
    CHECK_EQ_U64(cf_srv.watching_clients, 0);

    EXPECT("WATCH s", "+OK\r\n");
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("DISCARD", "+OK\r\n");
    CHECK_EQ_U64(cf_srv.watching_clients, 0);
    EXPECT("WATCH s", "+OK\r\n");
    runnel_cmd_client_closed(&cf_srv, &cf_clients[0]);
    CHECK_EQ_U64(cf_srv.watching_clients, 0);
}

#define T0 "17000000"
/* Idle times, delivery counts and times with the fake clock: the reply
 * shapes were checked against Redis, the numbers follow from the clock. */
static void test_pending_and_claims(void)
{
    CHECK(cf_setup() == 0);
    uint64_t t0 = cf_now;   /* 1700000000000 */
    EXPECT("XADD s 1-0 f v", "$3\r\n1-0\r\n");
    EXPECT("XADD s 2-0 f v", "$3\r\n2-0\r\n");
    EXPECT("XGROUP CREATE s g 0", "+OK\r\n");
    EXPECT("XREADGROUP GROUP g alice STREAMS s >", "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    cf_now = t0 + 500;
    EXPECT("XPENDING s g - + 10", "*2\r\n*4\r\n$3\r\n1-0\r\n$5\r\nalice\r\n:500\r\n:1\r\n*4\r\n$3\r\n2-0\r\n$5\r\nalice\r\n:500\r\n:1\r\n");
    EXPECT("XPENDING s g IDLE 600 - + 10", "*0\r\n");
    EXPECT("XPENDING s g IDLE 500 (1-0 + 10 alice", "*1\r\n*4\r\n$3\r\n2-0\r\n$5\r\nalice\r\n:500\r\n:1\r\n");
    EXPECT("XINFO CONSUMERS s g", "*1\r\n*6\r\n$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:2\r\n$4\r\nidle\r\n:500\r\n");
    EXPECT("XCLAIM s g bob 600 1-0", "*0\r\n");
    EXPECT("XCLAIM s g bob 400 1-0", "*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT("XCLAIM s g bob 0 2-0 JUSTID", "*1\r\n$3\r\n2-0\r\n");
    cf_now = t0 + 700;
    EXPECT("XPENDING s g - + 10 bob", "*2\r\n*4\r\n$3\r\n1-0\r\n$3\r\nbob\r\n:200\r\n:2\r\n*4\r\n$3\r\n2-0\r\n$3\r\nbob\r\n:200\r\n:1\r\n");
    EXPECT("XCLAIM s g carol 0 1-0 IDLE 100 RETRYCOUNT 7 JUSTID", "*1\r\n$3\r\n1-0\r\n");
    EXPECT("XPENDING s g - + 1", "*1\r\n*4\r\n$3\r\n1-0\r\n$5\r\ncarol\r\n:100\r\n:7\r\n");
    EXPECT("XCLAIM s g carol 0 1-0 IDLE 300 TIME " T0 "00650 JUSTID", "*1\r\n$3\r\n1-0\r\n");
    EXPECT("XPENDING s g - + 1", "*1\r\n*4\r\n$3\r\n1-0\r\n$5\r\ncarol\r\n:50\r\n:7\r\n");
    EXPECT("XPENDING s g", "*4\r\n:2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n*2\r\n*2\r\n$3\r\nbob\r\n$1\r\n1\r\n*2\r\n$5\r\ncarol\r\n$1\r\n1\r\n");
    EXPECT("XDEL s 2-0", ":1\r\n");
    cf_now = t0 + 710;
    EXPECT("XAUTOCLAIM s g dave 0 0 COUNT 10", "*3\r\n$3\r\n0-0\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*1\r\n$3\r\n2-0\r\n");
    EXPECT("XINFO STREAM s FULL", "*18\r\n$6\r\nlength\r\n:1\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n2-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n2-0\r\n$13\r\nentries-added\r\n:2\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n$6\r\ngroups\r\n*1\r\n*14\r\n$4\r\nname\r\n$1\r\ng\r\n$17\r\nlast-delivered-id\r\n$3\r\n2-0\r\n$12\r\nentries-read\r\n:2\r\n$3\r\nlag\r\n:0\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*4\r\n$3\r\n1-0\r\n$4\r\ndave\r\n:" T0 "00710\r\n:8\r\n$9\r\nconsumers\r\n*4\r\n"
           "*8\r\n$4\r\nname\r\n$5\r\nalice\r\n$9\r\nseen-time\r\n:" T0 "00000\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n"
           "*8\r\n$4\r\nname\r\n$3\r\nbob\r\n$9\r\nseen-time\r\n:" T0 "00500\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n"
           "*8\r\n$4\r\nname\r\n$5\r\ncarol\r\n$9\r\nseen-time\r\n:" T0 "00700\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n"
           "*8\r\n$4\r\nname\r\n$4\r\ndave\r\n$9\r\nseen-time\r\n:" T0 "00710\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*3\r\n$3\r\n1-0\r\n:" T0 "00710\r\n:8\r\n");
    EXPECT("XINFO CONSUMERS s g", "*4\r\n*6\r\n$4\r\nname\r\n$5\r\nalice\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:710\r\n*6\r\n$4\r\nname\r\n$3\r\nbob\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:210\r\n*6\r\n$4\r\nname\r\n$5\r\ncarol\r\n$7\r\npending\r\n:0\r\n$4\r\nidle\r\n:10\r\n*6\r\n$4\r\nname\r\n$4\r\ndave\r\n$7\r\npending\r\n:1\r\n$4\r\nidle\r\n:0\r\n");
    /* FULL COUNT limits entries and pending lists; the group now lags by an
     * unknown amount (a tombstone at its last ID): nil, as Redis says. */
    EXPECT("XADD s 3-0 f v", "$3\r\n3-0\r\n");
    EXPECT("XINFO STREAM s FULL COUNT 1", "*18\r\n$6\r\nlength\r\n:2\r\n$15\r\nradix-tree-keys\r\n:1\r\n$16\r\nradix-tree-nodes\r\n:2\r\n$17\r\nlast-generated-id\r\n$3\r\n3-0\r\n$20\r\nmax-deleted-entry-id\r\n$3\r\n2-0\r\n$13\r\nentries-added\r\n:3\r\n$23\r\nrecorded-first-entry-id\r\n$3\r\n1-0\r\n$7\r\nentries\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n$6\r\ngroups\r\n*1\r\n*14\r\n$4\r\nname\r\n$1\r\ng\r\n$17\r\nlast-delivered-id\r\n$3\r\n2-0\r\n$12\r\nentries-read\r\n:2\r\n$3\r\nlag\r\n$-1\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*4\r\n$3\r\n1-0\r\n$4\r\ndave\r\n:" T0 "00710\r\n:8\r\n$9\r\nconsumers\r\n*4\r\n"
           "*8\r\n$4\r\nname\r\n$5\r\nalice\r\n$9\r\nseen-time\r\n:" T0 "00000\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n"
           "*8\r\n$4\r\nname\r\n$3\r\nbob\r\n$9\r\nseen-time\r\n:" T0 "00500\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n"
           "*8\r\n$4\r\nname\r\n$5\r\ncarol\r\n$9\r\nseen-time\r\n:" T0 "00700\r\n$9\r\npel-count\r\n:0\r\n$7\r\npending\r\n*0\r\n"
           "*8\r\n$4\r\nname\r\n$4\r\ndave\r\n$9\r\nseen-time\r\n:" T0 "00710\r\n$9\r\npel-count\r\n:1\r\n$7\r\npending\r\n*1\r\n*3\r\n$3\r\n1-0\r\n:" T0 "00710\r\n:8\r\n");
}

static size_t stat_index(const char *name)
{
    size_t idx = (size_t)-1;
    runnel_str_t n = {name, strlen(name)};
    const runnel_cmd_def_t *d = runnel__cmd_lookup(n, &idx);
    return d ? idx : (size_t)-1;
}

static uint64_t error_count(const char *code)
{
    for (int i = 0; i < RUNNEL_MAX_ERROR_CODES; i++)
        if (strcmp(cf_srv.error_codes[i], code) == 0)
            return cf_srv.error_counts[i];
    return 0;
}

/* commandstats and errorstats bookkeeping, NOAUTH, WATCH. */
static void test_stats_auth_watch(void)
{
    CHECK(cf_setup() == 0);
    size_t xadd = stat_index("xadd"), xlen = stat_index("xlen");
    EXPECT("XADD s 1-0 f v", "$3\r\n1-0\r\n");
    EXPECT("XADD s 1-0 f v", "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n");
    EXPECT("XADD s", "-ERR wrong number of arguments for 'xadd' command\r\n");
    EXPECT("XREADGROUP GROUP g c STREAMS s >", "-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option\r\n");
    EXPECT("nosuch", "-ERR unknown command 'nosuch', with args beginning with: \r\n");
    CHECK_EQ_U64(cf_stats[xadd].calls, 2);
    CHECK_EQ_U64(cf_stats[xadd].failed_calls, 1);
    CHECK_EQ_U64(cf_stats[xadd].rejected_calls, 1);
    CHECK_EQ_U64(error_count("ERR"), 3);
    CHECK_EQ_U64(error_count("NOGROUP"), 1);
    CHECK_EQ_U64(cf_srv.total_error_replies, 4);

    /* Subcommands have their own slot, right after their container. */
    size_t xgroup = stat_index("xgroup");
    const runnel_cmd_def_t *parent = NULL;
    const runnel_cmd_def_t *d = runnel__cmd_at(xgroup + 1, &parent);
    CHECK(d != NULL && parent != NULL && strcmp(d->name, "create") == 0 &&
          strcmp(parent->name, "xgroup") == 0);
    EXPECT("XGROUP CREATE s g $", "+OK\r\n");
    CHECK_EQ_U64(cf_stats[xgroup + 1].calls, 1);
    CHECK(runnel__cmd_at(runnel_cmd_count(), NULL) == NULL);
    CHECK(runnel__cmd_at(runnel_cmd_count() - 1, NULL) != NULL);

    /* NOAUTH for everything not flagged NOAUTH, before MULTI queueing;
     * unknown commands are still "unknown" (existence is checked first). */
    cf_srv.requirepass = "secret";
    cf_srv.requirepass_len = 6;
    cf_clients[1].authenticated = false;
    EXPECT_C(1, "XLEN s", "-NOAUTH Authentication required.\r\n");
    EXPECT_C(1, "nosuch", "-ERR unknown command 'nosuch', with args beginning with: \r\n");
    CHECK_EQ_U64(cf_stats[xlen].rejected_calls, 1);
    CHECK_EQ_U64(cf_stats[xlen].calls, 0);
    EXPECT_C(0, "XLEN s", ":1\r\n");
    cf_srv.requirepass_len = 0;

    /* WATCH: a write by another client (or by the engine) makes EXEC fail. */
    EXPECT_C(0, "WATCH s other", "+OK\r\n");
    EXPECT_C(1, "XADD s 2-0 f v", "$3\r\n2-0\r\n");
    EXPECT_C(0, "MULTI", "+OK\r\n");
    EXPECT_C(0, "XLEN s", "+QUEUED\r\n");
    EXPECT_C(0, "EXEC", "*-1\r\n");
    /* EXEC unwatched everything: the next transaction runs. */
    EXPECT_C(1, "XADD s 3-0 f v", "$3\r\n3-0\r\n");
    EXPECT_C(0, "MULTI", "+OK\r\n");
    EXPECT_C(0, "XLEN s", "+QUEUED\r\n");
    EXPECT_C(0, "EXEC", "*1\r\n:3\r\n");
    /* Reads and failed writes do not touch; DEL (engine event) does. */
    EXPECT_C(0, "WATCH s", "+OK\r\n");
    EXPECT_C(1, "XRANGE s - +  COUNT 1", "-ERR syntax error\r\n");
    EXPECT_C(1, "XADD s 1-0 f v", "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n");
    CHECK(!cf_clients[0].watch_dirty);
    EXPECT_C(1, "DEL s", ":1\r\n");
    CHECK(cf_clients[0].watch_dirty);
    EXPECT_C(0, "UNWATCH", "+OK\r\n");
    CHECK(!cf_clients[0].watch_dirty);
    /* A watched key in another database is another key. */
    EXPECT_C(0, "WATCH s", "+OK\r\n");
    cf_clients[1].db = 1;
    EXPECT_C(1, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK(!cf_clients[0].watch_dirty);
    cf_clients[1].db = 0;
    EXPECT_C(1, "XADD s 1-0 f v", "$3\r\n1-0\r\n");
    CHECK(cf_clients[0].watch_dirty);
}

/* Redis's string2ll strictness for integer arguments. */
static void test_arg_i64(void)
{
    static const struct { const char *s; int ok; int64_t v; } cases[] = {
        {"0", 1, 0}, {"-1", 1, -1}, {"123", 1, 123},
        {"9223372036854775807", 1, INT64_MAX}, {"-9223372036854775808", 1, INT64_MIN},
        {"9223372036854775808", 0, 0}, {"-9223372036854775809", 0, 0},
        {"-0", 0, 0}, {"007", 0, 0}, {"+1", 0, 0}, {" 1", 0, 0}, {"1 ", 0, 0},
        {"", 0, 0}, {"-", 0, 0}, {"1.5", 0, 0}, {"0x10", 0, 0},
        {"99999999999999999999999", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        runnel_str_t a = {cases[i].s, strlen(cases[i].s)};
        int64_t v = 42;
        bool ok = runnel__arg_i64(a, &v);
        CHECK_EQ_INT(ok, cases[i].ok);
        if (ok && cases[i].ok)
            CHECK_EQ_U64((uint64_t)v, (uint64_t)cases[i].v);
    }
    CHECK(runnel__arg_is((runnel_str_t){"CoUnT", 5}, "count"));
    CHECK(!runnel__arg_is((runnel_str_t){"COUNTX", 6}, "count"));
}

/* A key name with CR/LF cannot break the protocol: Redis turns them into
 * spaces inside error texts. */
static void test_error_sanitized(void)
{
    static runnel_str_t argv[5];
    CHECK(cf_setup() == 0);
    argv[0] = (runnel_str_t){"XPENDING", 8};
    argv[1] = (runnel_str_t){"a\r\nb", 4};
    argv[2] = (runnel_str_t){"g", 1};
    runnel_client_t *c = &cf_clients[0];
    c->out.len = 0;
    runnel_cmd_execute(&cf_srv, c, 3, argv);
    static const char want[] = "-NOGROUP No such key 'a  b' or consumer group 'g'\r\n";
    CHECK_EQ_U64(c->out.len, sizeof want - 1);
    CHECK_MEM(c->out.buf, want, sizeof want - 1);
    c->out.len = 0;
}

/* Redis 7.0.15 keeps ">" as the maximum ID internally, so an explicit
 * 18446744073709551615-18446744073709551615 in XREADGROUP reads NEW entries
 * (and creates PEL entries) instead of an (always empty) history read;
 * found by tests/interop/randdiff.py, replies checked on redis-server. */
static void test_xreadgroup_max_id_is_gt(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("XGROUP CREATE s g $ MKSTREAM", "+OK\r\n");
    /* Nothing new: a null reply like ">", not an empty history read. */
    EXPECT("XREADGROUP GROUP g c STREAMS s 18446744073709551615-18446744073709551615", "*-1\r\n");
    EXPECT("XADD s 1-0 f v", "$3\r\n1-0\r\n");
    EXPECT("XADD s 2-0 f w", "$3\r\n2-0\r\n");
    EXPECT("XREADGROUP GROUP g c COUNT 1 STREAMS s 18446744073709551615-18446744073709551615",
           "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT("XPENDING s g", "*4\r\n:1\r\n$3\r\n1-0\r\n$3\r\n1-0\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n");
    /* One below the maximum is still a history read (empty, but served). */
    EXPECT("XREADGROUP GROUP g c STREAMS s 18446744073709551615-18446744073709551614",
           "*1\r\n*2\r\n$1\r\ns\r\n*0\r\n");
    EXPECT("XINFO GROUPS s", "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:1\r\n$17\r\nlast-delivered-id\r\n$3\r\n1-0\r\n$12\r\nentries-read\r\n:1\r\n$3\r\nlag\r\n:1\r\n");
}

TEST_MAIN(
    RUN(test_redis_transcript);
    RUN(test_unknown_command_truncation);
    RUN(test_resp3_shapes);
    RUN(test_pending_and_claims);
    RUN(test_stats_auth_watch);
    RUN(test_arg_i64);
    RUN(test_error_sanitized);
    RUN(test_drop_oldest_visible_in_xinfo);
    RUN(test_watch_counter);
    RUN(test_xreadgroup_max_id_is_gt);
)
