/*
 * resp_inline.c - splits an inline command line ("SET k v\r\n", typed into
 * telnet or sent by old clients) into arguments with Redis's sdssplitargs()
 * rules, so a line means here exactly what it means to redis-server 7.0:
 *
 *   - blanks before an argument are skipped with isspace() (\v and \f too),
 *     but an unquoted argument ends only at space, \t, \r or \n;
 *   - "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes (any other
 *     escaped byte stands for itself); 'single quotes' take only \';
 *   - a quote may open in the middle of an argument (foo"bar baz" is one
 *     argument), but a closing quote must be followed by a blank or the end
 *     of the line, otherwise the whole line has "unbalanced quotes".
 *
 * Arguments are unescaped in place: the output of an argument never runs
 * ahead of its input, so compacting within the line is safe, and bytes are
 * only stored where they differ (a line without escapes is never written).
 */
#include "resp_impl.h"
#include "runnel_err.h"

static inline bool is_blank(uint8_t c) /* isspace() in the C locale */
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline uint8_t hex_val(uint8_t c)
{
    return (uint8_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

int runnel__resp_split_inline(uint8_t *line, size_t n, runnel_str_t *argv, size_t cap,
                              size_t *argc)
{
    size_t i = 0, count = 0;

/* The line as sdssplitargs sees it: a C string, 0 past the end. */
#define AT(k) ((k) < n ? line[(k)] : (uint8_t)0)
#define EMIT(ch)                         \
    do {                                 \
        uint8_t emit_ = (ch);            \
        if (line[o] != emit_)            \
            line[o] = emit_;             \
        o++;                             \
    } while (0)

    for (;;) {
        while (i < n && is_blank(line[i]))
            i++;
        if (i >= n)
            break;

        size_t start = i, o = i;
        bool inq = false, insq = false, done = false;
        while (!done) {
            uint8_t c = AT(i);
            if (inq) {
                if (c == '\\' && AT(i + 1) == 'x' && is_hex(AT(i + 2)) && is_hex(AT(i + 3))) {
                    EMIT((uint8_t)(hex_val(AT(i + 2)) * 16 + hex_val(AT(i + 3))));
                    i += 3;
                } else if (c == '\\' && AT(i + 1) != 0) {
                    i++;
                    uint8_t e = AT(i);
                    switch (e) {
                    case 'n': e = '\n'; break;
                    case 'r': e = '\r'; break;
                    case 't': e = '\t'; break;
                    case 'b': e = '\b'; break;
                    case 'a': e = '\a'; break;
                    default: break;
                    }
                    EMIT(e);
                } else if (c == '"') {
                    if (AT(i + 1) != 0 && !is_blank(AT(i + 1)))
                        return RUNNEL_ERR_PROTO;
                    done = true;
                } else if (c == 0) {
                    return RUNNEL_ERR_PROTO;
                } else {
                    EMIT(c);
                }
            } else if (insq) {
                if (c == '\\' && AT(i + 1) == '\'') {
                    i++;
                    EMIT('\'');
                } else if (c == '\'') {
                    if (AT(i + 1) != 0 && !is_blank(AT(i + 1)))
                        return RUNNEL_ERR_PROTO;
                    done = true;
                } else if (c == 0) {
                    return RUNNEL_ERR_PROTO;
                } else {
                    EMIT(c);
                }
            } else {
                switch (c) {
                case ' ': case '\n': case '\r': case '\t': case 0:
                    done = true;
                    break;
                case '"':
                case '\'':
                    if (c == '"')
                        inq = true;
                    else
                        insq = true;
                    /* Nothing emitted yet: let the argument start after the
                     * quote so a plain "a b" needs no byte moved. */
                    if (o == start)
                        start = o = i + 1;
                    break;
                default:
                    EMIT(c);
                    break;
                }
            }
            if (i < n)
                i++;
        }
        /* Past cap we keep scanning: unbalanced quotes later in the line
         * must still win, as the whole line is judged first in Redis. */
        if (count < cap) {
            argv[count].p = (const char *)line + start;
            argv[count].len = o - start;
        }
        count++;
    }
#undef AT
#undef EMIT
    *argc = count;
    return count > cap ? RUNNEL_ERR_NOMEM : 0;
}
