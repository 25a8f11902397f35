/*
 * resp_num.c - the integer <-> decimal conversions RESP needs, with no stdio.
 *
 * Parsing follows Redis's string2ll() exactly, because the protocol errors
 * a client sees depend on it: "*01\r\n" and "$+4\r\n" are protocol errors in
 * Redis, so they are here. Formatting writes two digits per step from a
 * table (the classic trick), since every reply header and integer goes
 * through it on the hot path.
 */
#include "resp_impl.h"

#include <string.h>

bool runnel__resp_str2ll(const uint8_t *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool negative = false;
    uint64_t v;

    /* 21 bytes cannot hold a valid long long in Redis's book (LONG_STR_SIZE). */
    if (n == 0 || n >= 21)
        return false;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    if (s[0] == '-') {
        negative = true;
        i = 1;
        if (i == n)
            return false;
    }
    if (s[i] < '1' || s[i] > '9')
        return false;
    v = (uint64_t)(s[i++] - '0');
    for (; i < n; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9)
            return false;
        if (v > UINT64_MAX / 10)
            return false;
        v *= 10;
        if (v > UINT64_MAX - d)
            return false;
        v += d;
    }
    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        if (v == (uint64_t)INT64_MAX + 1)
            *out = INT64_MIN;
        else
            *out = -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

size_t runnel__resp_u64_dec(uint64_t v, char *out)
{
    char tmp[20];
    size_t pos = sizeof(tmp);
    size_t n;

    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        pos -= 2;
        tmp[pos] = digit_pairs[2 * r];
        tmp[pos + 1] = digit_pairs[2 * r + 1];
    }
    if (v >= 10) {
        pos -= 2;
        tmp[pos] = digit_pairs[2 * v];
        tmp[pos + 1] = digit_pairs[2 * v + 1];
    } else {
        tmp[--pos] = (char)('0' + v);
    }
    n = sizeof(tmp) - pos;
    memcpy(out, tmp + pos, n);
    return n;
}

size_t runnel__resp_i64_dec(int64_t v, char *out)
{
    if (v < 0) {
        out[0] = '-';
        /* Unsigned negation: well defined for INT64_MIN as well. */
        return 1 + runnel__resp_u64_dec(0 - (uint64_t)v, out + 1);
    }
    return runnel__resp_u64_dec((uint64_t)v, out);
}
