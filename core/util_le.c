/*
 * util_le.c - little-endian loads and stores, one byte at a time.
 *
 * Every multi-byte field on flash goes through these: no struct dumps, no
 * pointer casts, so the format is byte-order independent and an odd address
 * never faults on a Cortex-M0.
 */
#include "util.h"

void runnel__put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

void runnel__put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void runnel__put_le64(uint8_t *p, uint64_t v)
{
    runnel__put_le32(p, (uint32_t)v);
    runnel__put_le32(p + 4, (uint32_t)(v >> 32));
}

uint16_t runnel__get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (uint16_t)(p[1] << 8));
}

uint32_t runnel__get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

uint64_t runnel__get_le64(const uint8_t *p)
{
    return (uint64_t)runnel__get_le32(p) | ((uint64_t)runnel__get_le32(p + 4) << 32);
}
