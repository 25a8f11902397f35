/*
 * group_idlist.c - the coding of ID lists in group records (FORMAT.md
 * "ID lists"): the IDs of 0x26 ACK, 0x27 CLAIM and a 0x25 DELIVERY that
 * lists what it delivered.
 *
 * Each ID is coded against the one before it (the first against a base
 * both writer and reader know), behind one varint tag t:
 *     t odd             same ms; seq = previous seq + 1 + (t >> 1)
 *     t & 3 == 2        ms = previous ms + (t >> 2); seq 0
 *     t & 3 == 0, > 0   ms = previous ms + (t >> 2); then seq:varint
 *     t = 0             ms:varint seq:varint in full (any ID, e.g. going back)
 * A consumer's IDs mostly increase, so an ID costs a byte or two where
 * the two full varints of a millisecond timestamp cost seven or more. That
 * matters twice: a group that acknowledges every entry writes its ACK
 * lists for every entry, and a DELIVERY that lists its IDs lets mount
 * replay it without reading the entries (group_read.c).
 *
 * Pure functions over bytes: no state, no I/O.
 */
#include "group_impl.h"

size_t grp_idlist_put(uint8_t *out, runnel_id_t *prev, runnel_id_t id)
{
    size_t n;

    if (id.ms == prev->ms && id.seq > prev->seq && id.seq - prev->seq - 1u <= UINT64_MAX >> 1) {
        n = runnel__varint_put(out, ((id.seq - prev->seq - 1u) << 1) | 1u);
    } else if (id.ms > prev->ms && id.ms - prev->ms <= UINT64_MAX >> 2) {
        uint64_t d = id.ms - prev->ms;
        if (id.seq == 0) {
            n = runnel__varint_put(out, (d << 2) | 2u);
        } else {
            n = runnel__varint_put(out, d << 2);
            n += runnel__varint_put(out + n, id.seq);
        }
    } else {
        n = runnel__varint_put(out, 0);
        n += runnel__varint_put(out + n, id.ms);
        n += runnel__varint_put(out + n, id.seq);
    }
    *prev = id;
    return n;
}

/* One varint of p[0..len), or -1 when it is cut short or malformed. */
static int get_varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
    int n = runnel__varint_get(p + *off, len - *off, v);
    if (n <= 0)
        return -1;
    *off += (size_t)n;
    return 0;
}

int grp_idlist_get(const uint8_t *p, size_t len, runnel_id_t *prev, runnel_id_t *id)
{
    size_t off = 0;
    uint64_t t, d;

    if (get_varint(p, len, &off, &t) < 0)
        return -1;
    if (t & 1u) {
        d = t >> 1;
        if (prev->seq > UINT64_MAX - 1u - d)
            return -1;
        id->ms = prev->ms;
        id->seq = prev->seq + 1u + d;
    } else if (t != 0) {
        d = t >> 2;
        if (d == 0 || prev->ms > UINT64_MAX - d)
            return -1;
        id->ms = prev->ms + d;
        id->seq = 0;
        if ((t & 2u) == 0 && get_varint(p, len, &off, &id->seq) < 0)
            return -1;
    } else {
        if (get_varint(p, len, &off, &id->ms) < 0 || get_varint(p, len, &off, &id->seq) < 0)
            return -1;
    }
    *prev = *id;
    return (int)off;
}
