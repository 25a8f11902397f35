/*
 * cmd_server_text.c - text replies (INFO, CLIENT LIST/INFO) built in place.
 *
 * A text reply is a bulk string (RESP2) or a verbatim "txt" string (RESP3)
 * whose length is only known at the end. Instead of a scratch buffer (core
 * has no heap and firmware stacks are small) the text is written straight
 * into the client's output buffer, after a gap big enough for the largest
 * header; at the end the header is written and the text slid down to meet
 * it. If the text does not fit, the writer's sticky overflow flag is set,
 * exactly as for any other reply that does not fit.
 */
#include <string.h>

#include "cmd.h"

/* "=" + 20 digits + "\r\n" + "txt:" */
#define TEXT_GAP 27u

void runnel__text_begin(runnel__text_t *t, runnel_resp_writer_t *w)
{
    t->w = w;
    t->len = 0;
    t->start = w->len + TEXT_GAP;
    t->overflow = w->overflow || w->len > w->cap || w->cap - w->len < TEXT_GAP + 2;
}

void runnel__text_put(runnel__text_t *t, const void *p, size_t n)
{
    if (t->overflow)
        return;
    /* Keep 2 bytes for the final CRLF. */
    size_t room = t->w->cap - t->start - t->len - 2;
    if (n > room) {
        t->overflow = true;
        return;
    }
    if (n != 0)
        memcpy(t->w->buf + t->start + t->len, p, n);
    t->len += n;
}

void runnel__text_str(runnel__text_t *t, const char *s)
{
    runnel__text_put(t, s, strlen(s));
}

void runnel__text_u64(runnel__text_t *t, uint64_t v)
{
    char tmp[20], out[20];
    size_t k = 0, n = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (k > 0)
        out[n++] = tmp[--k];
    runnel__text_put(t, out, n);
}

void runnel__text_i64(runnel__text_t *t, int64_t v)
{
    if (v < 0) {
        runnel__text_put(t, "-", 1);
        runnel__text_u64(t, (uint64_t)0 - (uint64_t)v);
    } else {
        runnel__text_u64(t, (uint64_t)v);
    }
}

char *runnel__text_room(runnel__text_t *t, size_t *cap)
{
    if (t->overflow) {
        *cap = 0;
        return NULL;
    }
    *cap = t->w->cap - t->start - t->len - 2;
    return (char *)t->w->buf + t->start + t->len;
}

void runnel__text_commit(runnel__text_t *t, size_t n)
{
    size_t cap;
    if (runnel__text_room(t, &cap) == NULL)
        return;
    if (n > cap)
        n = cap;
    t->len += n;
}

void runnel__text_end(runnel__text_t *t, bool verbatim)
{
    runnel_resp_writer_t *w = t->w;
    if (t->overflow) {
        w->overflow = true;
        return;
    }
    bool v3 = verbatim && w->proto == 3;
    size_t total = t->len + (v3 ? 4 : 0);
    char hdr[TEXT_GAP];
    size_t h = 0;
    char tmp[20];
    size_t k = 0;
    uint64_t v = total;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    hdr[h++] = v3 ? '=' : '$';
    while (k > 0)
        hdr[h++] = tmp[--k];
    hdr[h++] = '\r';
    hdr[h++] = '\n';
    if (v3) {
        memcpy(hdr + h, "txt:", 4);
        h += 4;
    }
    memmove(w->buf + w->len + h, w->buf + t->start, t->len);
    memcpy(w->buf + w->len, hdr, h);
    w->len += h + t->len;
    w->buf[w->len++] = '\r';
    w->buf[w->len++] = '\n';
}
