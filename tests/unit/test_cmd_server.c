/*
 * test_cmd_server.c - the connection, key-space and server commands
 * (core/cmd_server*.c, core/cmd_info.c) through runnel_cmd_execute, with
 * the exact RESP bytes Redis 7.0.15 sends (checked against redis-server
 * 7.0.15 on this machine where Redis has the same command), plus the glob
 * matcher against stringmatchlen's results.
 *
 * Portable: uses cmd_fixture.h's static server (no malloc, small stack).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_fixture.h"

static void test_ping_echo_quit(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("PING", "+PONG\r\n");
    EXPECT("ping hello", "$5\r\nhello\r\n");
    EXPECT("PING a b", "-ERR wrong number of arguments for 'ping' command\r\n");
    EXPECT("ECHO x", "$1\r\nx\r\n");
    EXPECT("ECHO", "-ERR wrong number of arguments for 'echo' command\r\n");
    EXPECT("TIME x", "-ERR wrong number of arguments for 'time' command\r\n");
    cf_now = 1700000000123ull;
    EXPECT("TIME", "*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n");
    EXPECT("QUIT", "+OK\r\n");
    CHECK(cf_last_result == RUNNEL_CMD_CLOSE);
}

/* runnel_repr: Redis's sdscatrepr, as its logs quote client bytes. */
static void test_repr(void)
{
    char buf[32];
    static const char in[] = "*1\r\n\"a\\\t\a\b\x01\xff~ ";

    CHECK_EQ_U64(runnel_repr(buf, sizeof buf, in, sizeof in - 1), 29);
    CHECK(strcmp(buf, "\"*1\\r\\n\\\"a\\\\\\t\\a\\b\\x01\\xff~ \"") == 0);
    /* a short buffer: whole escapes only, still quoted and terminated */
    CHECK_EQ_U64(runnel_repr(buf, 7, "ab\r\n", 4), 6);
    CHECK(strcmp(buf, "\"ab\\r\"") == 0);
    CHECK_EQ_U64(runnel_repr(buf, 2, "ab", 2), 0);
    CHECK(buf[0] == '\0');
    CHECK_EQ_U64(runnel_repr(buf, sizeof buf, "", 0), 2);
    CHECK(strcmp(buf, "\"\"") == 0);
}

static void test_auth_hello(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("AUTH x", "-ERR AUTH <password> called without any password configured for the "
                     "default user. Are you sure your configuration is correct?\r\n");
    EXPECT("AUTH default anything", "+OK\r\n");
    EXPECT("AUTH bob x", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    EXPECT("AUTH a b c", "-ERR syntax error\r\n");
    EXPECT("HELLO 4", "-NOPROTO unsupported protocol version\r\n");
    EXPECT("HELLO x", "-ERR Protocol version is not an integer or out of range\r\n");
    EXPECT("HELLO 2 FOO", "-ERR Syntax error in HELLO option 'FOO'\r\n");
    EXPECT("HELLO 2",
           "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
           "$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
           "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
    EXPECT("HELLO 3 SETNAME conn1",
           "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
           "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
           "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
    CHECK(cf_clients[0].resp == 3);
    EXPECT("CLIENT GETNAME", "$5\r\nconn1\r\n");
    EXPECT("OBJECT ENCODING nokey", "_\r\n");   /* RESP3 null */
    EXPECT("RESET", "+RESET\r\n");
    CHECK(cf_clients[0].resp == 2);
    EXPECT("CLIENT GETNAME", "$-1\r\n");

    /* With a password: the NOAUTH gate, then AUTH / HELLO AUTH. */
    static const char pass[] = "s3cret";
    cf_srv.requirepass = pass;
    cf_srv.requirepass_len = 6;
    cf_clients[1].authenticated = false;
    EXPECT_C(1, "PING", "-NOAUTH Authentication required.\r\n");
    EXPECT_C(1, "AUTH wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    EXPECT_C(1, "HELLO 3",
             "-NOAUTH HELLO must be called with the client already authenticated, otherwise "
             "the HELLO AUTH <user> <pass> option can be used to authenticate the "
             "client and select the RESP protocol version at the same time\r\n");
    EXPECT_C(1, "AUTH s3cret", "+OK\r\n");
    EXPECT_C(1, "PING", "+PONG\r\n");
    cf_clients[2].authenticated = false;
    EXPECT_C(2, "HELLO 2 AUTH default s3cretX",
             "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    CHECK(!cf_clients[2].authenticated);
    cf_run(2, "HELLO 2 AUTH default s3cret");
    CHECK(cf_clients[2].authenticated);
    EXPECT_C(2, "RESET", "+RESET\r\n");
    CHECK(!cf_clients[2].authenticated);   /* RESET de-authenticates */
    cf_srv.requirepass = NULL;
    cf_srv.requirepass_len = 0;
}

static void test_select_and_keyspace(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("SELECT 16", "-ERR DB index is out of range\r\n");
    EXPECT("SELECT -1", "-ERR DB index is out of range\r\n");
    EXPECT("SELECT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("SELECT 99999999999",
           "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    EXPECT("XADD s1 1-1 f v", "$3\r\n1-1\r\n");
    EXPECT("XADD s2 1-1 f v", "$3\r\n1-1\r\n");
    EXPECT("XADD t3 1-1 f v", "$3\r\n1-1\r\n");
    EXPECT("DBSIZE", ":3\r\n");
    EXPECT("SELECT 1", "+OK\r\n");
    EXPECT("DBSIZE", ":0\r\n");
    EXPECT("XADD other 5-5 a b", "$3\r\n5-5\r\n");
    EXPECT("SELECT 0", "+OK\r\n");
    EXPECT("EXISTS s1 s1 nokey", ":2\r\n");
    EXPECT("TYPE s1", "+stream\r\n");
    EXPECT("TYPE nokey", "+none\r\n");
    EXPECT("OBJECT ENCODING s1", "$6\r\nstream\r\n");
    EXPECT("OBJECT ENCODING nokey", "$-1\r\n");
    EXPECT("OBJECT FOO x", "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n");
    EXPECT("OBJECT ENCODING", "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    EXPECT("KEYS s?", "*2\r\n$2\r\ns1\r\n$2\r\ns2\r\n");
    EXPECT("KEYS [^s]*", "*1\r\n$2\r\nt3\r\n");
    EXPECT("KEYS nothing*", "*0\r\n");
    EXPECT("RENAME nokey x", "-ERR no such key\r\n");
    EXPECT("RENAME s1 s9", "+OK\r\n");
    EXPECT("KEYS s9", "*1\r\n$2\r\ns9\r\n");
    EXPECT("XRANGE s9 - +", "*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    EXPECT("SCAN x", "-ERR invalid cursor\r\n");
    EXPECT("SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT("SCAN 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT("SCAN 0 FOO", "-ERR syntax error\r\n");
    EXPECT("SCAN 0 TYPE string", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT("SCAN 0 MATCH t* TYPE stream", "*2\r\n$1\r\n0\r\n*1\r\n$2\r\nt3\r\n");
    /* A full walk with COUNT 1 visits every key exactly once. */
    {
        char line[64];
        unsigned seen = 0, rounds = 0;
        unsigned long cursor = 0;
        do {
            snprintf(line, sizeof line, "SCAN %lu COUNT 1", cursor);
            const char *r = cf_run(0, line);
            CHECK(strncmp(r, "*2\r\n$", 5) == 0);
            const char *p = strchr(r + 5, '\n');
            cursor = p ? strtoul(p + 1, NULL, 10) : 0;
            p = p ? strchr(p + 1, '*') : NULL;
            seen += p ? (unsigned)strtoul(p + 1, NULL, 10) : 0;
        } while (cursor != 0 && ++rounds < 20);
        CHECK_EQ_U64(seen, 3);
    }
    EXPECT("DEL s9 nokey s2", ":2\r\n");
    EXPECT("UNLINK t3", ":1\r\n");
    EXPECT("DBSIZE", ":0\r\n");
    EXPECT("FLUSHDB x", "-ERR syntax error\r\n");
    EXPECT("FLUSHALL SYNC EXTRA", "-ERR syntax error\r\n");
    EXPECT("SELECT 1", "+OK\r\n");
    EXPECT("FLUSHDB ASYNC", "+OK\r\n");
    EXPECT("DBSIZE", ":0\r\n");
    EXPECT("XADD k 1-1 a b", "$3\r\n1-1\r\n");
    EXPECT("FLUSHALL", "+OK\r\n");
    EXPECT("DBSIZE", ":0\r\n");
}

static void test_client(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("CLIENT FOO", "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    EXPECT("CLIENT NO-EVICT on", "+OK\r\n");
    CHECK(cf_clients[0].no_evict);
    EXPECT("CLIENT NO-EVICT Off", "+OK\r\n");
    CHECK(!cf_clients[0].no_evict);
    EXPECT("CLIENT NO-EVICT yes", "-ERR syntax error\r\n");
    EXPECT("CLIENT NO-EVICT", "-ERR wrong number of arguments for 'client|no-evict' command\r\n");
    /* Admin commands without a host behind them (no replicas, no sleep,
     * no monitor output). */
    EXPECT("WAIT 0 0", ":0\r\n");
    EXPECT("WAIT x 0", "-ERR value is not an integer or out of range\r\n");
    EXPECT("WAIT 0 -1", "-ERR timeout is negative\r\n");
    EXPECT("MEMORY USAGE nokey", "$-1\r\n");
    EXPECT("MEMORY USAGE nokey SAMPLES -1", "-ERR syntax error\r\n");
    EXPECT("MEMORY FOO", "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n");
    EXPECT("DEBUG SLEEP 0",
           "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
           "you can run it from a local connection, otherwise you need to set this option in the "
           "configuration file, and then restart the server.\r\n");
    EXPECT("CLIENT SETNAME", "-ERR wrong number of arguments for 'client|setname' command\r\n");
    EXPECT("CLIENT ID x", "-ERR wrong number of arguments for 'client|id' command\r\n");
    EXPECT("CLIENT ID", ":1\r\n");
    EXPECT_C(2, "CLIENT ID", ":3\r\n");
    EXPECT("CLIENT GETNAME", "$-1\r\n");
    EXPECT("CLIENT SETNAME a\tb",
           "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    EXPECT("CLIENT SETNAME worker", "+OK\r\n");
    EXPECT("CLIENT GETNAME", "$6\r\nworker\r\n");
    EXPECT("CLIENT SETNAME ''", "+OK\r\n");
    EXPECT("CLIENT GETNAME", "$-1\r\n");
    EXPECT("CLIENT GETREDIR", ":-1\r\n");
    EXPECT("CLIENT LIST TYPE foo", "-ERR Unknown client type 'foo'\r\n");
    EXPECT("CLIENT LIST ID x", "-ERR Invalid client ID\r\n");
    EXPECT("CLIENT LIST TYPE pubsub", "$0\r\n\r\n");
    EXPECT("CLIENT KILL ID 0", "-ERR client-id should be greater than 0\r\n");
    EXPECT("CLIENT KILL foo bar", "-ERR syntax error\r\n");
    EXPECT("CLIENT KILL 1.2.3.4:5", "-ERR No such client\r\n");
    EXPECT("CLIENT KILL ID 99", ":0\r\n");

    /* The line format of CLIENT LIST / INFO. */
    runnel_client_t *c = &cf_clients[1];
    memcpy(c->addr, "127.0.0.1:5000", 15);
    memcpy(c->laddr, "127.0.0.1:6379", 15);
    c->fd = 7;
    c->created_ms = cf_now - 5000;
    c->last_cmd_ms = cf_now - 2000;   /* the dispatcher stamps it: idle=0 for oneself */
    const char *r = cf_run(1, "CLIENT INFO");
    static const char want[] =
        "id=2 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=7 name= age=5 idle=0 flags=N db=0 "
        "sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 "
        "omem=0 tot-mem=";
    const char *body = strstr(r, "\r\n");
    CHECK(r[0] == '$');
    CHECK(body != NULL && strncmp(body + 2, want, sizeof want - 1) == 0);
    if (body == NULL || strncmp(body + 2, want, sizeof want - 1) != 0)
        cf_print_escaped(r);
    CHECK(strstr(r, " events=r cmd=") != NULL);
    CHECK(strstr(r, " user=default redir=-1 resp=2\n\r\n") != NULL);
    /* Bulk length matches the body. */
    CHECK(body != NULL && strtoul(r + 1, NULL, 10) == strlen(body + 2) - 2);

    r = cf_run(0, "CLIENT LIST");
    unsigned lines = 0;
    for (const char *p = r; *p; p++)
        lines += *p == '\n';
    CHECK_EQ_U64(lines, 1 + CF_CLIENTS + 1);   /* header CRLF, 3 lines, final CRLF */
    r = cf_run(0, "CLIENT LIST ID 2 3");
    CHECK(strstr(r, "id=2 ") != NULL && strstr(r, "id=3 ") != NULL && strstr(r, "id=1 ") == NULL);

    /* CLIENT KILL of oneself closes after the reply. */
    EXPECT_C(2, "CLIENT KILL ID 3 SKIPME no", ":1\r\n");
    CHECK(cf_clients[2].close_after_reply);
}

static void test_config(void)
{
    CHECK(cf_setup() == 0);
    EXPECT("CONFIG GET stream-node-max-*",
           "*4\r\n$23\r\nstream-node-max-entries\r\n$3\r\n100\r\n"
           "$21\r\nstream-node-max-bytes\r\n$4\r\n4096\r\n");
    EXPECT("CONFIG SET stream-node-max-entries 10", "+OK\r\n");
    EXPECT("CONFIG SET STREAM-NODE-MAX-BYTES 1kb", "+OK\r\n");
    EXPECT("CONFIG GET stream-node-max-ENTRIES",
           "*2\r\n$23\r\nstream-node-max-entries\r\n$2\r\n10\r\n");
    EXPECT("CONFIG GET stream-node-max-bytes", "*2\r\n$21\r\nstream-node-max-bytes\r\n$4\r\n1024\r\n");
    EXPECT("CONFIG SET stream-node-max-entries x",
           "-ERR CONFIG SET failed (possibly related to argument 'stream-node-max-entries') - "
           "argument couldn't be parsed into an integer\r\n");
    EXPECT("CONFIG SET stream-node-max-entries -1",
           "-ERR CONFIG SET failed (possibly related to argument 'stream-node-max-entries') - "
           "argument must be between 0 and 9223372036854775807 inclusive\r\n");
    EXPECT("CONFIG SET stream-node-max-bytes zz",
           "-ERR CONFIG SET failed (possibly related to argument 'stream-node-max-bytes') - "
           "argument must be a memory value\r\n");
    EXPECT("CONFIG SET foo bar",
           "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
    EXPECT("CONFIG SET a", "-ERR wrong number of arguments for 'config|set' command\r\n");
    EXPECT("CONFIG SET stream-node-max-entries 1 stream-node-max-bytes", "-ERR syntax error\r\n");
    EXPECT("CONFIG SET appendonly no", "+OK\r\n");
    EXPECT("CONFIG GET nosuch*", "*0\r\n");
    EXPECT("CONFIG GET databases", "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n");
    EXPECT("CONFIG FOO", "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
    EXPECT("CONFIG GET", "-ERR wrong number of arguments for 'config|get' command\r\n");
    /* Nodes really follow the new limit: 25 entries at 10 per node. */
    char line[64];
    for (int i = 1; i <= 25; i++) {
        snprintf(line, sizeof line, "XADD n %d-0 f v", i);
        cf_run(0, line);
    }
    runnel_stream_info_t si;
    CHECK(runnel_stream_info(cf_store, (runnel_str_t){"n", 1}, &si) == 0);
    CHECK_EQ_U64(si.nodes, 3);
    EXPECT("CONFIG RESETSTAT", "+OK\r\n");
    CHECK_EQ_U64(cf_srv.total_error_replies, 0);
}

static void test_command(void)
{
    CHECK(cf_setup() == 0);
    const char *r = cf_run(0, "COMMAND COUNT");
    CHECK(r[0] == ':' && strtoul(r + 1, NULL, 10) >= 30);
    EXPECT("COMMAND FOO", "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n");
    EXPECT("COMMAND INFO nosuch", "*1\r\n*-1\r\n");
    EXPECT("COMMAND INFO ping",
           "*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n"
           "*2\r\n+@connection\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n");
    r = cf_run(0, "COMMAND INFO xadd");
    CHECK(strncmp(r, "*1\r\n*10\r\n$4\r\nxadd\r\n:-5\r\n", 24) == 0);
    EXPECT("COMMAND DOCS nosuch", "*0\r\n");
    EXPECT("COMMAND DOCS echo",
           "*2\r\n$4\r\necho\r\n*8\r\n$7\r\nsummary\r\n$0\r\n\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n"
           "$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$0\r\n\r\n");
    EXPECT("COMMAND LIST FILTERBY PATTERN xgr*", "*1\r\n$6\r\nxgroup\r\n");
}

/* INFO: sections, line format, counters. */
static void test_info(void)
{
    CHECK(cf_setup() == 0);
    cf_run(0, "PING");
    cf_run(0, "PING");
    cf_run(0, "XADD s 1-1 f v");
    cf_run(0, "XADD s 1-1 f v");   /* an ERR */
    const char *r = cf_run(0, "INFO");
    CHECK(r[0] == '$');
    const char *body = strstr(r, "\r\n");
    CHECK(body != NULL && strtoul(r + 1, NULL, 10) == strlen(body + 2) - 2);
    CHECK(strncmp(body + 2, "# Server\r\nredis_version:7.0.15\r\n", 32) == 0);
    CHECK(strstr(r, "redis_mode:standalone\r\n") != NULL);
    CHECK(strstr(r, "\r\n\r\n# Clients\r\nconnected_clients:3\r\n") != NULL);
    CHECK(strstr(r, "blocked_clients:0\r\n") != NULL);
    CHECK(strstr(r, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n") != NULL);
    CHECK(strstr(r, "total_error_replies:1\r\n") != NULL);
    CHECK(strstr(r, "# Errorstats\r\nerrorstat_ERR:count=1\r\n") != NULL);
    CHECK(strstr(r, "cluster_enabled:0\r\n") != NULL);
    CHECK(strstr(r, "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n") != NULL);
    CHECK(strstr(r, "runnel_store_bytes_used:") != NULL);
    CHECK(strstr(r, "# Commandstats") == NULL);   /* not in the default set */

    r = cf_run(0, "INFO commandstats");
    CHECK(strstr(r, "# Commandstats\r\n") != NULL);
    CHECK(strstr(r, "cmdstat_ping:calls=2,usec=") != NULL);
    CHECK(strstr(r, "cmdstat_xadd:calls=2,") != NULL);
    CHECK(strstr(r, ",rejected_calls=0,failed_calls=1\r\n") != NULL);
    CHECK(strstr(r, "# Server") == NULL);

    /* usec_per_call: two decimals, rounded, no stdio in core. */
    size_t idx;
    CHECK(runnel__cmd_lookup((runnel_str_t){"echo", 4}, &idx) != NULL);
    cf_stats[idx].calls = 3;
    cf_stats[idx].usec = 7;
    cf_stats[idx].failed_calls = 0;
    r = cf_run(0, "INFO COMMANDSTATS");
    CHECK(strstr(r, "cmdstat_echo:calls=3,usec=7,usec_per_call=2.33,rejected_calls=0,"
                    "failed_calls=0\r\n") != NULL);
    cf_stats[idx].calls = 8;
    cf_stats[idx].usec = 5;
    r = cf_run(0, "INFO commandstats");
    CHECK(strstr(r, "cmdstat_echo:calls=8,usec=5,usec_per_call=0.63,") != NULL);

    r = cf_run(0, "INFO keyspace server");
    CHECK(strstr(r, "# Server\r\n") != NULL && strstr(r, "# Keyspace\r\n") != NULL);
    CHECK(strstr(r, "# Clients") == NULL);
    EXPECT("INFO nosuchsection", "$0\r\n\r\n");
    r = cf_run(0, "INFO everything");
    CHECK(strstr(r, "# Commandstats\r\n") != NULL && strstr(r, "# Runnel\r\n") != NULL);

    /* RESP3: a verbatim string. */
    cf_run(0, "HELLO 3");
    r = cf_run(0, "INFO cluster");
    CHECK_REPLY(r, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");

    /* An output buffer too small for the text: overflow, nothing torn. */
    runnel_client_t *c = &cf_clients[1];
    size_t cap = c->out.cap;
    c->out.cap = 200;
    c->out.len = 0;
    c->out.overflow = false;
    runnel_str_t argv1[1] = {{"INFO", 4}};
    runnel_cmd_execute(&cf_srv, c, 1, argv1);
    CHECK(c->out.overflow);
    c->out.cap = cap;
    c->out.len = 0;
    c->out.overflow = false;
}

/* stringmatchlen semantics. */
static bool gm(const char *p, const char *s)
{
    return runnel__glob_match(p, strlen(p), s, strlen(s), false);
}

static void test_glob(void)
{
    CHECK(gm("*", ""));
    CHECK(gm("*", "abc"));
    CHECK(gm("a*", "abc"));
    CHECK(!gm("a*", "bac"));
    CHECK(gm("*c", "abc"));
    CHECK(gm("a*b*c", "axxbyyc"));
    CHECK(!gm("a*b*c", "axxbyy"));
    CHECK(gm("a?c", "abc"));
    CHECK(!gm("a?c", "ac"));
    CHECK(gm("[abc]x", "bx"));
    CHECK(!gm("[abc]x", "dx"));
    CHECK(gm("[^abc]x", "dx"));
    CHECK(!gm("[^abc]x", "ax"));
    CHECK(gm("[a-c]", "b"));
    CHECK(gm("[c-a]", "b"));      /* reversed ranges are swapped */
    CHECK(!gm("[a-c]", "d"));
    CHECK(gm("\\*", "*"));
    CHECK(!gm("\\*", "a"));
    CHECK(gm("[\\]]", "]"));
    CHECK(gm("a\\", "a\\"));      /* a trailing backslash is literal */
    CHECK(gm("[ab", "a"));        /* an unterminated set ends the pattern */
    CHECK(!gm("[ab", "ab"));
    CHECK(gm("**a**", "xxa"));
    CHECK(!gm("abc", "ABC"));
    CHECK(runnel__glob_match("abc", 3, "ABC", 3, true));
    CHECK(runnel__glob_match("[A-C]x", 6, "bX", 2, true));
    CHECK(gm("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == false);
}

/* SHUTDOWN: Redis 7.0's modifiers parse, ABORT finds nothing in progress,
 * and a valid request asks the host to stop and closes without a reply. */
/* MONITOR: Redis 7.0.15's line for every command that runs (see
 * tests/host/runneld_admin.py for the same lines next to redis-server's). */
static void test_monitor(void)
{
    CHECK(cf_setup() == 0);
    strcpy(cf_clients[0].addr, "127.0.0.1:5000");
    strcpy(cf_clients[2].addr, "/tmp/r.sock:0");
    cf_mon_len = 0;
    cf_mon[0] = '\0';
    EXPECT_C(1, "MONITOR", "+OK\r\n");
    EXPECT_C(1, "MONITOR", "");                 /* again: ignored, no reply */
    CHECK_STR(cf_mon, "");                      /* admin: not shown */
    EXPECT("SELECT 2", "+OK\r\n");
    EXPECT("XADD s 1-1 a\"b c\\d", "$3\r\n1-1\r\n");
    EXPECT("AUTH secret", "-ERR AUTH <password> called without any password configured for "
           "the default user. Are you sure your configuration is correct?\r\n");
    EXPECT("CONFIG GET nothing", "*0\r\n");    /* admin: not shown */
    EXPECT("NOSUCH x", "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
    EXPECT_C(2, "PING", "+PONG\r\n");
    CHECK_STR(cf_mon,
              "+1700000000.000042 [2 127.0.0.1:5000] \"SELECT\" \"2\"\r\n"
              "+1700000000.000042 [2 127.0.0.1:5000] \"XADD\" \"s\" \"1-1\" \"a\\\"b\" \"c\\\\d\"\r\n"
              "+1700000000.000042 [2 127.0.0.1:5000] \"AUTH\" \"(redacted)\"\r\n"
              "+1700000000.000042 [0 unix:/tmp/r.sock] \"PING\"\r\n");
    /* The monitor's own command: its reply, then its line; keys refused. */
    cf_mon_len = 0;
    cf_mon[0] = '\0';
    EXPECT_C(1, "ECHO hi", "$2\r\nhi\r\n+1700000000.000042 [0 ] \"ECHO\" \"hi\"\r\n");
    EXPECT_C(1, "XLEN s", "-ERR Replica can't interact with the keyspace\r\n");
    CHECK_STR(cf_mon, "");
    EXPECT_C(1, "RESET", "+RESET\r\n");
    EXPECT_C(1, "XLEN s", ":0\r\n");
    EXPECT("PING", "+PONG\r\n");
    CHECK_STR(cf_mon, "");                      /* no monitor left */
    /* Inside MULTI it is refused at EXEC, as Redis does. */
    EXPECT("MULTI", "+OK\r\n");
    EXPECT("MONITOR", "+QUEUED\r\n");
    EXPECT("EXEC", "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n");
}

static void test_shutdown(void)
{
    CHECK(cf_setup() == 0);
    cf_shutdowns = 0;
    EXPECT("SHUTDOWN bogus", "-ERR syntax error\r\n");
    EXPECT("SHUTDOWN SAVE NOSAVE", "-ERR syntax error\r\n");
    EXPECT("SHUTDOWN ABORT NOW", "-ERR syntax error\r\n");
    EXPECT("SHUTDOWN ABORT", "-ERR No shutdown in progress.\r\n");
    CHECK_EQ_U64(cf_shutdowns, 0);
    EXPECT("SHUTDOWN NOSAVE NOW FORCE", "");
    CHECK(cf_last_result == RUNNEL_CMD_CLOSE);
    CHECK_EQ_U64(cf_shutdowns, 1);
}

TEST_MAIN(
    RUN(test_ping_echo_quit);
    RUN(test_auth_hello);
    RUN(test_select_and_keyspace);
    RUN(test_client);
    RUN(test_config);
    RUN(test_command);
    RUN(test_info);
    RUN(test_glob);
    RUN(test_monitor);
    RUN(test_repr);
    RUN(test_shutdown);
)
