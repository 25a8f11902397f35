/*
 * resp_impl.h - helpers shared by the RESP reader and writer files only
 * (not part of the public API): Redis's strict integer parsing, decimal
 * formatting of integers, and %.17g formatting of doubles, all without stdio.
 */
#ifndef RUNNEL_RESP_IMPL_H
#define RUNNEL_RESP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runnel.h"

/* Redis's string2ll(): base 10, optional '-', no '+', no spaces, no leading
 * zeros ("0" alone is fine, "-0" is not), fewer than 21 bytes, in range. */
bool runnel__resp_str2ll(const uint8_t *s, size_t n, int64_t *out);

/* Decimal digits of v into out (room for 20 bytes); returns the length. */
size_t runnel__resp_u64_dec(uint64_t v, char *out);
/* Same for a signed value (room for 20 bytes, INT64_MIN included). */
size_t runnel__resp_i64_dec(int64_t v, char *out);

/* Longest text runnel__resp_double_fmt writes ("-2.2250738585072014e-308"). */
#define RUNNEL__RESP_DOUBLE_MAX 32
/* v formatted as glibc's printf("%.17g") does, "inf"/"-inf"/"nan"/"-nan"
 * included; returns the length (no NUL written). */
size_t runnel__resp_double_fmt(double v, char *out);

/* Redis's sdssplitargs() over one inline line (no CR/LF terminator, no NUL
 * inside), unescaping in place. Returns 0 and *argc, RUNNEL_ERR_PROTO for
 * unbalanced quotes, RUNNEL_ERR_NOMEM for more than cap arguments. */
int runnel__resp_split_inline(uint8_t *line, size_t n, runnel_str_t *argv, size_t cap,
                              size_t *argc);

#endif /* RUNNEL_RESP_IMPL_H */
