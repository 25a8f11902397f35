/*
 * util.h - small portable helpers shared by every core module.
 *
 *   - crc32c:    CRC-32C (Castagnoli), the checksum of every block header
 *                and record on flash;
 *   - le codecs: explicit little-endian loads and stores, byte by byte, so
 *                the on-flash format reads the same on any host and no
 *                unaligned access ever happens (Cortex-M0 faults on one);
 *   - varints:   unsigned LEB128, the length prefix of records;
 *   - the arena (runnel__arena_take) is declared in internal.h.
 *
 * No state, no OS, no allocation.
 */
#ifndef RUNNEL_UTIL_H
#define RUNNEL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "runnel_err.h"

/* ---- crc32c ---- */

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final xor
 * 0xFFFFFFFF, the iSCSI / ext4 / littlefs-style checksum).
 *
 * Convention: pass crc = 0 to start; the result is the final CRC value.
 * Calls chain: crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a||b, na+nb).
 * Check value: crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t runnel__crc32c(uint32_t crc, const void *p, size_t n);

/* ---- little-endian codecs (any alignment, any host byte order) ---- */

void runnel__put_le16(uint8_t *p, uint16_t v);
void runnel__put_le32(uint8_t *p, uint32_t v);
void runnel__put_le64(uint8_t *p, uint64_t v);
uint16_t runnel__get_le16(const uint8_t *p);
uint32_t runnel__get_le32(const uint8_t *p);
uint64_t runnel__get_le64(const uint8_t *p);

/* ---- varints: unsigned LEB128, 7 bits per byte, low group first ---- */

/* Longest encoding of a uint64_t. */
#define RUNNEL_VARINT_MAX 10u

/* Writes v to out (room for RUNNEL_VARINT_MAX bytes, or varint_len(v));
 * returns the number of bytes written (1..10). Always minimal. */
size_t runnel__varint_put(uint8_t *out, uint64_t v);

/* Bytes runnel__varint_put would write for v (1..10). */
size_t runnel__varint_len(uint64_t v);

/* Decodes a varint from p (avail bytes readable). Returns the number of
 * bytes consumed (1..10) and *out; 0 when avail ends before the varint does
 * (need more bytes); RUNNEL_ERR_CORRUPT when the encoding is longer than 10
 * bytes, overflows 64 bits, or is not minimal (a trailing 0x00 group, e.g.
 * 0x80 0x00). Strict decoding means one value has exactly one encoding, so
 * a CRC over the bytes is a CRC over the value. */
int runnel__varint_get(const uint8_t *p, size_t avail, uint64_t *out);

/* Zigzag, for a signed difference in an unsigned varint: to - from, taken
 * modulo 2^64, as (d << 1) ^ (d >> 63) (arithmetic shift), small in either
 * direction; runnel__unzigzag gives base plus the difference back, so any
 * pair of 64-bit values round-trips. */
uint64_t runnel__zigzag(uint64_t to, uint64_t from);
uint64_t runnel__unzigzag(uint64_t z, uint64_t base);

#endif /* RUNNEL_UTIL_H */
