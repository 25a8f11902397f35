/*
 * util_reader.c - reading a record body front to back: varints, bytes,
 * IDs, with one sticky "bad" flag instead of a check after every field.
 *
 * Replay and checkpoint loading decode many small fields from bodies whose
 * CRC was good but whose contents must still be doubted (a store written
 * by a buggy or other version): a field that runs past the body sets `bad`,
 * every later read returns 0, and the caller checks once at the end.
 */
#include "internal.h"

void runnel__reader_init(runnel__reader_t *rd, const uint8_t *p, uint32_t len)
{
    rd->p = p;
    rd->len = len;
    rd->off = 0;
    rd->bad = false;
}

uint64_t runnel__rd_varint(runnel__reader_t *rd)
{
    uint64_t v = 0;
    int k;

    if (rd->bad)
        return 0;
    k = runnel__varint_get(rd->p + rd->off, rd->len - rd->off, &v);
    if (k <= 0) {
        rd->bad = true;
        return 0;
    }
    rd->off += (uint32_t)k;
    return v;
}

runnel_id_t runnel__rd_id(runnel__reader_t *rd)
{
    runnel_id_t id;

    id.ms = runnel__rd_varint(rd);
    id.seq = runnel__rd_varint(rd);
    return id;
}

uint8_t runnel__rd_u8(runnel__reader_t *rd)
{
    if (rd->bad || rd->off >= rd->len) {
        rd->bad = true;
        return 0;
    }
    return rd->p[rd->off++];
}

runnel_str_t runnel__rd_rest(runnel__reader_t *rd)
{
    runnel_str_t s;

    s.p = rd->bad ? NULL : (const char *)rd->p + rd->off;
    s.len = rd->bad ? 0 : rd->len - rd->off;
    rd->off = rd->len;
    return s;
}
