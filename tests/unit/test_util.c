/*
 * test_util.c - crc32c, little-endian codecs, varints and the arena.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "util.h"
#include "testing.h"

/* Bit-at-a-time reference CRC-32C, independent of the nibble table. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    }
    return ~crc;
}

static void test_crc32c_vectors(void)
{
    static const uint8_t zeros[32];
    uint8_t ones[32], inc[32];
    unsigned i;

    CHECK_EQ_U64(runnel__crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_U64(runnel__crc32c(0, "", 0), 0);
    CHECK_EQ_U64(runnel__crc32c(0, "a", 1), 0xC1D04330u);
    /* RFC 3720 (iSCSI) B.4 test vectors. */
    memset(ones, 0xFF, sizeof ones);
    for (i = 0; i < 32; i++)
        inc[i] = (uint8_t)i;
    CHECK_EQ_U64(runnel__crc32c(0, zeros, 32), 0x8A9136AAu);
    CHECK_EQ_U64(runnel__crc32c(0, ones, 32), 0x62A8AB43u);
    CHECK_EQ_U64(runnel__crc32c(0, inc, 32), 0x46DD794Eu);
}

static void test_crc32c_chaining(void)
{
    static uint8_t buf[1000];
    uint32_t x = 12345;
    size_t i, split;

    for (i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    CHECK_EQ_U64(runnel__crc32c(0, buf, sizeof buf), crc32c_bitwise(buf, sizeof buf));
    for (split = 0; split <= sizeof buf; split += 37) {
        uint32_t c = runnel__crc32c(0, buf, split);
        c = runnel__crc32c(c, buf + split, sizeof buf - split);
        CHECK_EQ_U64(c, crc32c_bitwise(buf, sizeof buf));
    }
    /* One flipped bit changes the CRC. */
    {
        uint32_t before = runnel__crc32c(0, buf, sizeof buf);
        buf[500] ^= 0x10;
        CHECK(runnel__crc32c(0, buf, sizeof buf) != before);
        CHECK_EQ_U64(runnel__crc32c(0, buf, sizeof buf), crc32c_bitwise(buf, sizeof buf));
    }
}

static void test_le_codecs(void)
{
    uint8_t b[9];
    static const uint8_t want64[8] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};

    memset(b, 0xAA, sizeof b);
    runnel__put_le16(b + 1, 0xBEEF);
    CHECK(b[0] == 0xAA && b[1] == 0xEF && b[2] == 0xBE && b[3] == 0xAA);
    CHECK_EQ_U64(runnel__get_le16(b + 1), 0xBEEF);

    runnel__put_le32(b + 1, 0xA1B2C3D4u); /* odd address on purpose */
    CHECK(b[1] == 0xD4 && b[2] == 0xC3 && b[3] == 0xB2 && b[4] == 0xA1 && b[5] == 0xAA);
    CHECK_EQ_U64(runnel__get_le32(b + 1), 0xA1B2C3D4u);

    runnel__put_le64(b + 1, 0x0102030405060708ull);
    CHECK_MEM(b + 1, want64, 8);
    CHECK(b[0] == 0xAA);
    CHECK_EQ_U64(runnel__get_le64(b + 1), 0x0102030405060708ull);

    runnel__put_le64(b, UINT64_MAX);
    CHECK_EQ_U64(runnel__get_le64(b), UINT64_MAX);
    runnel__put_le32(b, 0);
    CHECK_EQ_U64(runnel__get_le32(b), 0);
    runnel__put_le16(b, 0xFFFF);
    CHECK_EQ_U64(runnel__get_le16(b), 0xFFFF);
}

static void varint_roundtrip(uint64_t v, size_t want_len)
{
    uint8_t buf[RUNNEL_VARINT_MAX + 2];
    uint64_t got = ~v;
    size_t n;
    int r;

    memset(buf, 0xEE, sizeof buf);
    n = runnel__varint_put(buf, v);
    CHECK_EQ_U64(n, want_len);
    CHECK_EQ_U64(runnel__varint_len(v), want_len);
    CHECK(buf[n] == 0xEE); /* wrote nothing past the end */
    r = runnel__varint_get(buf, n, &got);
    CHECK_EQ_INT(r, (int)n);
    CHECK_EQ_U64(got, v);
    /* Every shorter prefix is "need more bytes". */
    while (n-- > 0)
        CHECK_EQ_INT(runnel__varint_get(buf, n, &got), 0);
}

static void test_varint_roundtrip(void)
{
    unsigned k;
    varint_roundtrip(0, 1);
    varint_roundtrip(1, 1);
    varint_roundtrip(127, 1);
    varint_roundtrip(128, 2);
    varint_roundtrip(16383, 2);
    varint_roundtrip(16384, 3);
    varint_roundtrip(UINT32_MAX, 5);
    varint_roundtrip((uint64_t)1 << 56, 9);
    varint_roundtrip(((uint64_t)1 << 63) - 1, 9);
    varint_roundtrip((uint64_t)1 << 63, 10);
    varint_roundtrip(UINT64_MAX, 10);
    /* Every power of two and its neighbours. */
    for (k = 0; k < 64; k++) {
        uint64_t v = (uint64_t)1 << k;
        size_t len = k / 7 + 1;
        varint_roundtrip(v, len);
        varint_roundtrip(v - 1, k == 0 ? 1 : (k - 1) / 7 + 1);
    }
    {
        static const uint8_t enc300[] = {0xAC, 0x02};
        uint8_t out[RUNNEL_VARINT_MAX];
        uint64_t v = 0;
        CHECK_EQ_U64(runnel__varint_put(out, 300), 2);
        CHECK_MEM(out, enc300, 2);
        CHECK_EQ_INT(runnel__varint_get(enc300, 2, &v), 2);
        CHECK_EQ_U64(v, 300);
    }
}

static void test_varint_rejects(void)
{
    uint64_t v = 77;
    static const uint8_t nonmin1[] = {0x80, 0x00};
    static const uint8_t nonmin2[] = {0xFF, 0x80, 0x00};
    static const uint8_t overflow10[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0x02};
    static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x81, 0x01};
    static const uint8_t cont[] = {0xFF, 0xFF, 0xFF};

    CHECK_EQ_INT(runnel__varint_get(nonmin1, sizeof nonmin1, &v), RUNNEL_ERR_CORRUPT);
    CHECK_EQ_INT(runnel__varint_get(nonmin2, sizeof nonmin2, &v), RUNNEL_ERR_CORRUPT);
    CHECK_EQ_INT(runnel__varint_get(overflow10, sizeof overflow10, &v), RUNNEL_ERR_CORRUPT);
    CHECK_EQ_INT(runnel__varint_get(eleven, sizeof eleven, &v), RUNNEL_ERR_CORRUPT);
    CHECK_EQ_INT(runnel__varint_get(cont, sizeof cont, &v), 0);
    CHECK_EQ_INT(runnel__varint_get(cont, 0, &v), 0);
    CHECK_EQ_U64(v, 77); /* untouched on failure */
    /* A single 0x00 is the minimal encoding of 0. */
    CHECK_EQ_INT(runnel__varint_get(nonmin1 + 1, 1, &v), 1);
    CHECK_EQ_U64(v, 0);
}

static void test_arena(void)
{
    static uint64_t backing[16]; /* 128 bytes, 8-aligned */
    uint8_t *mem = (uint8_t *)backing;
    runnel__arena_t a, c;
    uint8_t *p1, *p2, *p3, *p4;
    size_t measured;

    memset(backing, 0x5A, sizeof backing);
    a.base = mem + 1; /* deliberately misaligned start */
    a.size = 100;
    a.used = 0;

    p1 = runnel__arena_take(&a, 3, 1);
    CHECK(p1 == mem + 1);
    CHECK(p1 && p1[0] == 0 && p1[2] == 0); /* zeroed */
    p2 = runnel__arena_take(&a, 8, 8);
    CHECK(p2 != NULL && ((uintptr_t)p2 & 7u) == 0);
    CHECK(p2 && p2 >= p1 + 3);
    p3 = runnel__arena_take(&a, 2, 4);
    CHECK(p3 != NULL && ((uintptr_t)p3 & 3u) == 0 && p3 >= p2 + 8);
    CHECK(runnel__arena_take(&a, 1, 3) == NULL);  /* not a power of two */
    CHECK(runnel__arena_take(&a, 1, 16) == NULL); /* > 8 */
    CHECK(runnel__arena_take(&a, 1, 0) == NULL);
    CHECK(runnel__arena_take(&a, 1000, 1) == NULL); /* exhausted */
    CHECK(runnel__arena_take(&a, SIZE_MAX, 1) == NULL);
    /* Exactly filling the rest works, one more byte does not. */
    p4 = runnel__arena_take(&a, a.size - a.used, 1);
    CHECK(p4 != NULL);
    CHECK_EQ_U64(a.used, a.size);
    CHECK(runnel__arena_take(&a, 1, 1) == NULL);
    CHECK(runnel__arena_take(&a, 0, 1) != NULL); /* zero bytes always fit */
    CHECK(mem[0] == 0x5A && mem[101] == 0x5A); /* stayed inside [base, base+size) */

    /* Counting mode: same sequence from offset 0 measures what an 8-aligned
     * buffer needs, and the placeholder is non-NULL. */
    c.base = NULL;
    c.size = 0;
    c.used = 0;
    CHECK(runnel__arena_counting(&c));
    CHECK(!runnel__arena_counting(&a));
    CHECK(runnel__arena_take(&c, 3, 1) != NULL);
    CHECK(runnel__arena_take(&c, 8, 8) != NULL);
    CHECK(runnel__arena_take(&c, 2, 4) != NULL);
    CHECK(runnel__arena_take(&c, 1000000, 2) != NULL); /* never exhausts */
    measured = c.used;
    CHECK_EQ_U64(measured, 16 + 2 + 1000000); /* 3 -> pad to 8, +8, +2, +1000000 */
    CHECK(runnel__arena_take(&c, SIZE_MAX, 1) == NULL); /* overflow still fails */

    /* A measured size is enough for a real 8-aligned buffer. */
    a.base = mem;
    a.size = 8 + 8 + 4;
    a.used = 0;
    CHECK(runnel__arena_take(&a, 3, 1) != NULL);
    CHECK(runnel__arena_take(&a, 8, 8) != NULL);
    CHECK(runnel__arena_take(&a, 2, 4) != NULL);
    CHECK_EQ_U64(a.used, 8 + 8 + 2);
}

TEST_MAIN(
    RUN(test_crc32c_vectors);
    RUN(test_crc32c_chaining);
    RUN(test_le_codecs);
    RUN(test_varint_roundtrip);
    RUN(test_varint_rejects);
    RUN(test_arena);
)
