/*
 * util_crc32c.c - CRC-32C (Castagnoli) with a 16-entry nibble table.
 *
 * A 256-entry table is 1 KiB of flash; the nibble table is 64 bytes and does
 * two lookups per byte. On a Cortex-M0 the flash matters more than the extra
 * lookup: the checksum runs over records about as fast as they are programmed.
 */
#include "util.h"

/* table[i] = the CRC register after shifting the 4-bit value i through the
 * reflected polynomial 0x82F63B78 four times (generated offline, checked by
 * the "123456789" -> 0xE3069283 vector in tests/unit/test_util.c). */
static const uint32_t crc32c_nibble[16] = {
    0x00000000u, 0x105EC76Fu, 0x20BD8EDEu, 0x30E349B1u,
    0x417B1DBCu, 0x5125DAD3u, 0x61C69362u, 0x7198540Du,
    0x82F63B78u, 0x92A8FC17u, 0xA24BB5A6u, 0xB21572C9u,
    0xC38D26C4u, 0xD3D3E1ABu, 0xE330A81Au, 0xF36E6F75u,
};

/* The register is kept inverted between calls' internals but the value
 * handed in and out is the finished CRC: inverting on entry undoes the final
 * xor of the previous call, which is what makes chaining work with 0 as the
 * start value (~0 is the standard initial register). */
uint32_t runnel__crc32c(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    crc = ~crc;
    while (n--) {
        crc ^= *b++;
        crc = (crc >> 4) ^ crc32c_nibble[crc & 0xFu];
        crc = (crc >> 4) ^ crc32c_nibble[crc & 0xFu];
    }
    return ~crc;
}
