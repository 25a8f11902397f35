/*
 * reply.c - streamed replies: the part of a client's output that is not
 * bytes yet.
 *
 * A range read whose reply passes RUNNEL_REPLY_INLINE_MAX hands its tail to
 * us as a runnel_reply_range_t (core/cmd_reply_range.c): the next entries
 * of the reply are those of a stream range. The client's output is then
 * its byte queue (obuf) with ranges at positions in it; a range's entries
 * are read from the log into the client's fill buffer (fbuf, one chunk,
 * RD_FILL_CHUNK or the size of the biggest entry) only when the socket has
 * taken everything before them. So a reply of any size costs a client one
 * chunk, not a copy of the data, and a slow reader holds nothing more.
 *
 * Positions: out_in counts every byte ever queued for c outside ranges,
 * out_done every such byte sent; a range's `at` is the out_in value its
 * entries follow. While a command runs its reply is in the staging area
 * and the ranges it hands out are "staged": their `at` is an offset in
 * staging, turned into an out_in value by stage_drain (net.c) as the
 * staged bytes are queued (rd_reply_place).
 *
 * Consistency: before a command that may remove stream entries runs, every
 * range in flight is written out whole into its client's obuf
 * (rd_reply_settle_all), which is what Redis holds for such a reply
 * anyway. A range that cannot be completed (a drop-oldest ring dropped its
 * entries) closes its client with a log line: the client got a prefix of
 * the right reply, never wrong bytes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runneld.h"

static void range_free(rd_server_t *s, rd_client_t *c, rd_range_t *r)
{
    rd_charge(s, c, sizeof *r + r->rr.key.len, 0);
    free(r->key);
    r->key = NULL;
}

/* ops->reply_range: a range of the command running, staged at out.len. */
int rd_reply_range(void *ctx, runnel_client_t *cc, const runnel_reply_range_t *rr)
{
    rd_server_t *s = ctx;
    rd_client_t *c = cc->host;
    size_t bytes;

    if (c == NULL || c->close_asap || !rd_add(sizeof(rd_range_t), rr->key.len, &bytes))
        return -1;
    if (c->nranges == c->rcap) {
        uint32_t ncap = c->rcap == 0 ? 4 : c->rcap * 2;
        size_t sz;
        if (ncap < c->rcap || !rd_mul(ncap, sizeof(rd_range_t), &sz) ||
            !rd_mem_admit(s, c, (ncap - c->rcap) * sizeof(rd_range_t)))
            return -1;
        rd_range_t *nr = realloc(c->ranges, sz);
        if (nr == NULL)
            return -1;
        rd_charge(s, c, c->rcap * sizeof(rd_range_t), sz);
        c->ranges = nr;
        c->rcap = ncap;
    }
    if (!rd_mem_admit(s, c, bytes))
        return -1;
    rd_range_t *r = &c->ranges[c->nranges];
    r->key = malloc(rr->key.len ? rr->key.len : 1);
    if (r->key == NULL)
        return -1;
    memcpy(r->key, rr->key.p, rr->key.len);
    r->rr = *rr;
    r->rr.key.p = r->key;
    r->at = cc->out.len;
    r->staged = true;
    rd_charge(s, c, 0, bytes);
    s->ranges_streamed++;
    if (c->nranges++ == 0)
        s->range_clients++;
    return 0;
}

/* ops->reply_range_moved: staged bytes of the running command moved
 * (a header gap closed) or were dropped (removed == SIZE_MAX). */
void rd_reply_range_moved(void *ctx, runnel_client_t *cc, size_t from, size_t removed)
{
    rd_server_t *s = ctx;
    rd_client_t *c = cc->host;

    if (c == NULL)
        return;
    for (uint32_t i = c->nranges; i-- > 0 && c->ranges[i].staged;) {
        rd_range_t *r = &c->ranges[i];
        if (removed == SIZE_MAX) {
            if (r->at < from)
                continue;
            /* Dropped: only the last ranges can be (they are in order). */
            range_free(s, c, r);
            c->nranges--;
            if (c->nranges == 0)
                s->range_clients--;
        } else if (r->at >= from + removed) {
            r->at -= removed;
        }
    }
}

/* The first range still staged (handed out by the running command), or NULL. */
rd_range_t *rd_reply_next_staged(rd_client_t *c)
{
    for (uint32_t i = 0; i < c->nranges; i++)
        if (c->ranges[i].staged)
            return &c->ranges[i];
    return NULL;
}

void rd_reply_place(rd_client_t *c, rd_range_t *r)
{
    r->staged = false;
    r->at = c->out_in;
}

bool rd_reply_placed(const rd_client_t *c)
{
    return c->nranges > 0 && !c->ranges[0].staged;
}

/* The range table and the fill buffer go back once no range is left. */
static void release_buffers(rd_server_t *s, rd_client_t *c)
{
    free(c->ranges);
    rd_charge(s, c, c->rcap * sizeof(rd_range_t), 0);
    c->ranges = NULL;
    c->rcap = 0;
    free(c->fbuf);
    rd_charge(s, c, c->fcap, 0);
    c->fbuf = NULL;
    c->fcap = c->flen = c->fsent = 0;
}

/* Drops the first range (done). */
static void pop_range(rd_server_t *s, rd_client_t *c)
{
    range_free(s, c, &c->ranges[0]);
    c->nranges--;
    memmove(c->ranges, c->ranges + 1, c->nranges * sizeof(rd_range_t));
    c->flen = c->fsent = 0;
    if (c->nranges == 0) {
        s->range_clients--;
        release_buffers(s, c);
    }
}

static bool fbuf_reserve(rd_server_t *s, rd_client_t *c, size_t need)
{
    if (need <= c->fcap)
        return true;
    if (!rd_mem_admit(s, c, need - c->fcap))
        return false;
    uint8_t *p = realloc(c->fbuf, need);
    if (p == NULL) {
        rd_client_close_logged(s, c, RD_LL_WARNING, "Closing client ",
                               " (out of memory for a streamed reply's buffer)");
        return false;
    }
    rd_charge(s, c, c->fcap, need);
    c->fbuf = p;
    c->fcap = need;
    return true;
}

static void fill_failed(rd_server_t *s, rd_client_t *c, int rc)
{
    char post[200];
    s->ranges_cut++;
    snprintf(post, sizeof post,
             " closed: the entries of its streamed reply from '%.*s' are gone (%s); the "
             "reply cannot be completed",
             (int)(c->ranges[0].rr.key.len > 64 ? 64 : c->ranges[0].rr.key.len),
             c->ranges[0].key, runnel_strerror(rc));
    rd_client_close_logged(s, c, RD_LL_WARNING, "Client ", post);
}

/* Reads the next chunk of the first range into fbuf (empty). false = c is
 * closing. */
static bool reply_fill(rd_server_t *s, rd_client_t *c)
{
    rd_range_t *r = &c->ranges[0];
    size_t len = 0, need = 0;

    if (!fbuf_reserve(s, c, RD_FILL_CHUNK))
        return false;
    for (;;) {
        int rc = runnel_cmd_range_fill(&s->srv, &r->rr, c->fbuf, c->fcap, &len, &need);
        if (rc < 0) {
            fill_failed(s, c, rc);
            return false;
        }
        if (need == 0)
            break;
        /* One entry bigger than the chunk: a buffer its size, once. */
        if (!fbuf_reserve(s, c, need))
            return false;
    }
    c->flen = len;
    c->fsent = 0;
    return true;
}

/* Bytes of the first range ready to send (filling when needed): fbuf from
 * fsent, or 0 when the range is done (popped). false = c is closing. */
bool rd_reply_ready(rd_server_t *s, rd_client_t *c, size_t *avail)
{
    *avail = 0;
    while (rd_reply_placed(c) && c->out_done == c->ranges[0].at) {
        if (c->fsent < c->flen) {
            *avail = c->flen - c->fsent;
            return true;
        }
        if (c->ranges[0].rr.left == 0) {
            pop_range(s, c);
            continue;
        }
        if (!reply_fill(s, c))
            return false;
        if (c->flen == 0 && c->ranges[0].rr.left != 0) {
            fill_failed(s, c, RUNNEL_ERR_NO_SUCH_KEY);
            return false;
        }
    }
    return true;
}

/* Writes every placed range of c out whole into its obuf, in place. */
static void settle(rd_server_t *s, rd_client_t *c)
{
    uint8_t *old = c->obuf;
    size_t ocap = c->ocap, pos = c->osent, olen = c->olen;
    uint64_t done = c->out_done, done0 = c->out_done;

    /* obuf starts again empty; the old bytes are copied in, in order, with
     * the ranges' entries between them. */
    c->obuf = NULL;
    c->ocap = c->olen = c->osent = 0;
    rd_charge(s, c, ocap, 0);
    while (rd_reply_placed(c) && !c->close_asap) {
        size_t take = (size_t)(c->ranges[0].at - done);
        if (!rd_obuf_append(s, c, old + pos, take))
            break;
        pos += take;
        done += take;
        c->out_done = done;   /* so the range is "next" for rd_reply_ready */
        size_t avail;
        if (!rd_reply_ready(s, c, &avail))
            break;
        if (avail == 0)
            continue;
        if (!rd_obuf_append(s, c, c->fbuf + c->fsent, avail))
            break;
        c->fsent = c->flen;
    }
    if (!c->close_asap)
        (void)rd_obuf_append(s, c, old + pos, olen - pos);
    free(old);
    /* What obuf holds is all plain bytes now, none of them sent. */
    c->out_done = done0;
    c->out_in = done0 + (c->olen - c->osent);
}

void rd_reply_settle_all(rd_server_t *s)
{
    for (uint32_t i = 0; i < s->nclients && s->range_clients > 0; i++) {
        rd_client_t *c = s->active[i];
        if (c->nranges == 0 || c->close_asap)
            continue;
        s->ranges_settled += c->nranges;
        settle(s, c);
        rd_client_refresh(s, c);
    }
}

void rd_reply_free(rd_server_t *s, rd_client_t *c)
{
    while (c->nranges > 0) {
        rd_range_t *r = &c->ranges[--c->nranges];
        range_free(s, c, r);
        if (c->nranges == 0)
            s->range_clients--;
    }
    release_buffers(s, c);
}
