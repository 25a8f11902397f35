/*
 * resp_double.c - formats a double exactly as glibc's printf("%.17g") does,
 * without stdio, for RESP3 ",<double>" and the RESP2 bulk form Redis sends.
 *
 * Redis builds those replies with snprintf("%.17g"); core has no stdio, so
 * this file reproduces it. 17 significant digits is enough for every double
 * to round-trip, and it is what Redis clients see, so the digits must be the
 * ones glibc prints: correctly rounded (ties to even) from the EXACT binary
 * value. A shortcut through floating-point multiplication would be off by
 * one in the last digit for many inputs, so the general path expands the
 * value exactly with a small fixed-size big integer (base 10^9 limbs, about
 * 360 bytes of stack) and reads the digits off it. Integers below 10^17, by
 * far the common case (scores, counters), take a fast path.
 */
#include "resp_impl.h"

#include <string.h>

/* A double is at most m * 2^971 (309 digits) or m * 5^1074 * 10^-1074
 * (767 digits): 86 limbs of 9 digits. */
#define BIG_LIMBS 90
#define LIMB_BASE 1000000000u

typedef struct big_dec {
    uint32_t limb[BIG_LIMBS]; /* little-endian, each < 10^9 */
    size_t n;                 /* limbs in use, >= 1 */
} big_dec_t;

static void big_mul_small(big_dec_t *b, uint32_t f)
{
    uint64_t carry = 0;
    for (size_t i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * f + carry;
        b->limb[i] = (uint32_t)(t % LIMB_BASE);
        carry = t / LIMB_BASE;
    }
    while (carry != 0 && b->n < BIG_LIMBS) {
        b->limb[b->n++] = (uint32_t)(carry % LIMB_BASE);
        carry /= LIMB_BASE;
    }
}

static const uint32_t pow10_u32[10] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u
};

/* Decimal digit number `pos` of b counted from the least significant (0). */
static unsigned big_digit(const big_dec_t *b, size_t pos)
{
    return (unsigned)((b->limb[pos / 9] / pow10_u32[pos % 9]) % 10u);
}

static size_t big_digit_count(const big_dec_t *b)
{
    uint32_t top = b->limb[b->n - 1];
    size_t d = 1;
    while (d < 9 && top >= pow10_u32[d])
        d++;
    return (b->n - 1) * 9 + d;
}

/* Writes 17 significant digits of q (1e16 <= q < 1e17) as %g would, with
 * decimal exponent x (value = q * 10^(x-16)). */
static size_t format_g17(uint64_t q, int x, char *out)
{
    char sd[17];
    size_t nsig = 17, n = 0;

    for (int i = 16; i >= 0; i--) {
        sd[i] = (char)('0' + q % 10);
        q /= 10;
    }
    while (nsig > 1 && sd[nsig - 1] == '0')
        nsig--;

    if (x >= -4 && x < 17) {
        if (x >= 0) {
            size_t ip = (size_t)x + 1;
            memcpy(out, sd, ip);
            n = ip;
            if (nsig > ip) {
                out[n++] = '.';
                memcpy(out + n, sd + ip, nsig - ip);
                n += nsig - ip;
            }
        } else {
            out[n++] = '0';
            out[n++] = '.';
            for (int z = 0; z < -x - 1; z++)
                out[n++] = '0';
            memcpy(out + n, sd, nsig);
            n += nsig;
        }
        return n;
    }
    out[n++] = sd[0];
    if (nsig > 1) {
        out[n++] = '.';
        memcpy(out + n, sd + 1, nsig - 1);
        n += nsig - 1;
    }
    out[n++] = 'e';
    out[n++] = x < 0 ? '-' : '+';
    unsigned ax = (unsigned)(x < 0 ? -x : x);
    if (ax >= 100)
        out[n++] = (char)('0' + ax / 100);
    out[n++] = (char)('0' + ax / 10 % 10);
    out[n++] = (char)('0' + ax % 10);
    return n;
}

size_t runnel__resp_double_fmt(double v, char *out)
{
    uint64_t bits, m;
    int e2;
    size_t n = 0;

    memcpy(&bits, &v, sizeof(bits));
    bool neg = (bits >> 63) != 0;
    unsigned expf = (unsigned)((bits >> 52) & 0x7ffu);
    uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);

    if (neg)
        out[n++] = '-';
    if (expf == 0x7ffu) {
        memcpy(out + n, frac ? "nan" : "inf", 3);
        return n + 3;
    }
    if (expf == 0 && frac == 0) {
        out[n++] = '0';
        return n;
    }
    if (expf == 0) {
        m = frac;
        e2 = -1074;
    } else {
        m = frac | (UINT64_C(1) << 52);
        e2 = (int)expf - 1075;
    }

    /* Fast path: an integer below 10^17 prints as itself. */
    if (e2 <= 0 && e2 >= -52 && (m & ((UINT64_C(1) << -e2) - 1)) == 0)
        return n + runnel__resp_u64_dec(m >> -e2, out + n);
    if (e2 > 0 && e2 <= 4 && (m << e2) < UINT64_C(100000000000000000))
        return n + runnel__resp_u64_dec(m << e2, out + n);

    /* General path: value = D * 10^k with D an exact big integer. */
    big_dec_t b;
    int k = 0;
    b.limb[0] = (uint32_t)(m % LIMB_BASE);
    b.limb[1] = (uint32_t)(m / LIMB_BASE % LIMB_BASE);
    b.limb[2] = (uint32_t)(m / LIMB_BASE / LIMB_BASE);
    b.n = b.limb[2] ? 3 : b.limb[1] ? 2 : 1;
    if (e2 > 0) {
        int left = e2;
        for (; left >= 29; left -= 29)
            big_mul_small(&b, UINT32_C(1) << 29);
        if (left > 0)
            big_mul_small(&b, UINT32_C(1) << left);
    } else {
        /* m * 2^e2 == m * 5^-e2 * 10^e2 */
        int left = -e2;
        k = e2;
        for (; left >= 13; left -= 13)
            big_mul_small(&b, 1220703125u); /* 5^13 */
        uint32_t f = 1;
        for (; left > 0; left--)
            f *= 5;
        if (f > 1)
            big_mul_small(&b, f);
    }

    size_t nd = big_digit_count(&b);
    int x = (int)nd - 1 + k;
    uint64_t q = 0;
    if (nd <= 17) {
        for (size_t i = 0; i < nd; i++)
            q = q * 10 + big_digit(&b, nd - 1 - i);
        for (size_t i = nd; i < 17; i++)
            q *= 10;
    } else {
        for (size_t i = 0; i < 17; i++)
            q = q * 10 + big_digit(&b, nd - 1 - i);
        unsigned next = big_digit(&b, nd - 18);
        /* Anything non-zero below that digit? (limb-wise, not per digit) */
        size_t below = nd - 18, li = below / 9;
        bool rest = (b.limb[li] % pow10_u32[below % 9]) != 0;
        for (size_t i = 0; i < li && !rest; i++)
            rest = b.limb[i] != 0;
        /* Round to nearest, ties to even: glibc's default. */
        if (next > 5 || (next == 5 && (rest || (q & 1u))))
            q++;
        if (q == UINT64_C(100000000000000000)) {
            q = UINT64_C(10000000000000000);
            x++;
        }
    }
    return n + format_g17(q, x, out + n);
}
