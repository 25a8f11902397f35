/*
 * util_arena.c - the bump allocator that carves every table of a store out
 * of the caller's buffer at init, and measures it beforehand.
 */
#include <string.h>

#include "internal.h"

/* The placeholder handed out in counting mode: const so it lives in
 * read-only memory, aligned for any type the arena serves. */
static const union {
    uint64_t u64;
    void *ptr;
    double d;
} arena_counting_dummy;

/* A fresh arena is usually zero already: runneld maps it from the kernel,
 * a firmware's static arena sits in .bss. Writing zeros over it anyway
 * would make every page of every pool resident at start-up, although a
 * pool sized for 100,000 streams may never see more than ten. Reading a
 * page that was never written costs no RAM (Linux maps its one shared zero
 * page), so tables are only cleared when they hold something. */
static bool all_zero(const uint8_t *p, size_t n)
{
    while (n > 0 && ((uintptr_t)p & 7u) != 0) {
        if (*p++ != 0)
            return false;
        n--;
    }
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (w != 0)
            return false;
    }
    while (n > 0) {
        if (*p++ != 0)
            return false;
        n--;
    }
    return true;
}

/* One function serves both modes so a module's init code is the same code
 * that sizes it: the size measured can never drift from the size used.
 * Padding is computed from the real address in real mode (the caller's
 * buffer may start anywhere) and from the offset in counting mode. */
void *runnel__arena_take(runnel__arena_t *a, size_t size, size_t align)
{
    uintptr_t origin;
    size_t pad, start;

    if (a == NULL || align == 0 || align > 8 || (align & (align - 1)) != 0)
        return NULL;

    origin = (uintptr_t)a->base;
    pad = (size_t)((align - ((origin + a->used) & (align - 1))) & (align - 1));
    if (a->used > SIZE_MAX - pad)
        return NULL;
    start = a->used + pad;
    if (size > SIZE_MAX - start)
        return NULL;

    if (a->base == NULL) {
        a->used = start + size;
        return (void *)(uintptr_t)&arena_counting_dummy;
    }
    if (start > a->size || size > a->size - start)
        return NULL;
    a->used = start + size;
    if (!all_zero(a->base + start, size))
        memset(a->base + start, 0, size);
    return a->base + start;
}
