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
    memset(a->base + start, 0, size);
    return a->base + start;
}
