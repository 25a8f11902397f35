/*
 * cmd_server_glob.c - glob-style matching for KEYS, SCAN MATCH, CONFIG GET
 * and CLIENT KILL patterns, with the semantics of Redis's stringmatchlen():
 *
 *   *        any run of bytes (also empty)
 *   ?        exactly one byte
 *   [abc]    one byte of the set; [^abc] one byte not in it; [a-z] a range
 *            (reversed ranges are swapped); \x inside a set is a literal x;
 *            a set left open at the end of the pattern ends there
 *   \x       a literal x
 *
 * Redis recurses on every '*'; this is the classic iterative form with one
 * backtrack point (the last star seen). Every other token consumes exactly
 * one byte, so retrying from the latest star is enough to find a match when
 * one exists, and the cost stays O(len(pattern) * len(string)) with no
 * recursion: a hostile pattern cannot blow a small firmware stack.
 */
#include <string.h>

#include "cmd.h"

static unsigned char fold(unsigned char c, bool nocase)
{
    if (nocase && c >= 'A' && c <= 'Z')
        return (unsigned char)(c - 'A' + 'a');
    return c;
}

/* Matches one byte against the set starting after '[' at pat[*pi].
 * Advances *pi past the closing ']' (or to the end of an unterminated set). */
static bool match_set(const char *pat, size_t plen, size_t *pi, unsigned char ch, bool nocase)
{
    size_t i = *pi;
    bool negate = false, hit = false;
    if (i < plen && pat[i] == '^') {
        negate = true;
        i++;
    }
    ch = fold(ch, nocase);
    while (i < plen) {
        if (pat[i] == '\\' && plen - i >= 2) {
            if (fold((unsigned char)pat[i + 1], nocase) == ch)
                hit = true;
            i += 2;
        } else if (pat[i] == ']') {
            i++;
            *pi = i;
            return negate ? !hit : hit;
        } else if (plen - i >= 3 && pat[i + 1] == '-') {
            unsigned char lo = fold((unsigned char)pat[i], nocase);
            unsigned char hi = fold((unsigned char)pat[i + 2], nocase);
            if (lo > hi) {
                unsigned char t = lo;
                lo = hi;
                hi = t;
            }
            if (ch >= lo && ch <= hi)
                hit = true;
            i += 3;
        } else {
            if (fold((unsigned char)pat[i], nocase) == ch)
                hit = true;
            i++;
        }
    }
    *pi = i;   /* unterminated set: the pattern ends here */
    return negate ? !hit : hit;
}

bool runnel__glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase)
{
    size_t pi = 0, si = 0;
    size_t star_p = SIZE_MAX, star_s = 0;   /* backtrack point */
    while (si < slen) {
        if (pi < plen) {
            char pc = pat[pi];
            if (pc == '*') {
                while (pi < plen && pat[pi] == '*')
                    pi++;
                if (pi == plen)
                    return true;
                star_p = pi;
                star_s = si;
                continue;
            }
            size_t np = pi + 1;
            bool ok;
            if (pc == '?') {
                ok = true;
            } else if (pc == '[') {
                ok = match_set(pat, plen, &np, (unsigned char)s[si], nocase);
            } else if (pc == '\\' && plen - pi >= 2) {
                ok = fold((unsigned char)pat[pi + 1], nocase) ==
                     fold((unsigned char)s[si], nocase);
                np = pi + 2;
            } else {
                ok = fold((unsigned char)pc, nocase) == fold((unsigned char)s[si], nocase);
            }
            if (ok) {
                pi = np;
                si++;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        /* Let the last star swallow one more byte and retry after it. */
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}
