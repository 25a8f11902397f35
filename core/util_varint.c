/*
 * util_varint.c - unsigned LEB128 varints, strictly decoded.
 *
 * Seven value bits per byte, least significant group first, the top bit
 * says "more bytes follow". A uint64_t needs at most 10 bytes; the 10th may
 * only carry bit 63.
 */
#include "util.h"

size_t runnel__varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80u) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t runnel__varint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80u) {
        out[n++] = (uint8_t)(v | 0x80u);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

/* Bytes come from flash or the network, so nothing here trusts them: the
 * loop is bounded by both avail and RUNNEL_VARINT_MAX, and every way a byte
 * string can fail to be the one minimal encoding of a uint64_t is an error
 * rather than a silently different value. */
int runnel__varint_get(const uint8_t *p, size_t avail, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < RUNNEL_VARINT_MAX; i++) {
        uint8_t b;
        if (i >= avail)
            return 0; /* truncated: need more bytes */
        b = p[i];
        if (i == RUNNEL_VARINT_MAX - 1 && b > 0x01u)
            return RUNNEL_ERR_CORRUPT; /* overflow, or an 11th byte follows */
        v |= (uint64_t)(b & 0x7Fu) << (7 * i);
        if ((b & 0x80u) == 0) {
            if (b == 0 && i > 0)
                return RUNNEL_ERR_CORRUPT; /* non-minimal: a trailing zero group */
            *out = v;
            return (int)(i + 1);
        }
    }
    return RUNNEL_ERR_CORRUPT; /* unreachable: the 10th byte always ends it */
}

uint64_t runnel__zigzag(uint64_t to, uint64_t from)
{
    uint64_t d = to - from;     /* two's complement difference */

    return (d << 1) ^ (0u - (d >> 63));
}

uint64_t runnel__unzigzag(uint64_t z, uint64_t base)
{
    return base + ((z >> 1) ^ (0u - (z & 1u)));
}
