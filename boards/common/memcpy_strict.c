/*
 * memcpy_strict.c - a memcpy that never makes an unaligned access, for the
 * Cortex-M3 test board.
 *
 * Why: the M3 tests run with UNALIGN_TRP set (startup_cm.c) so that an
 * unaligned pointer cast anywhere in core faults the test, as it would on a
 * Cortex-M0. But newlib's optimised memcpy for ARMv7-M (memcpy-armv7m.S)
 * deliberately uses unaligned word loads, which the architecture allows, and
 * with the trap armed every memcpy between odd addresses would fault. This
 * one copies words only when both pointers are word aligned and bytes
 * otherwise, so the trap keeps meaning "our code did an unaligned access".
 * Being linked before libc, it replaces newlib's. (newlib's memmove and
 * memset are plain C that checks alignment first, so they need no double.)
 *
 * Built with -fno-builtin -fno-tree-loop-distribute-patterns so GCC does not
 * turn the loops back into a call to memcpy.
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0) {
        uint32_t *dw = (uint32_t *)(void *)d;
        const uint32_t *sw = (const uint32_t *)(const void *)s;
        for (; n >= 4; n -= 4)
            *dw++ = *sw++;
        d = (uint8_t *)dw;
        s = (const uint8_t *)sw;
    }
    while (n--)
        *d++ = *s++;
    return dst;
}
