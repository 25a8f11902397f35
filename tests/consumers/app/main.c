/*
 * main.c - the program every consumer project builds (tests/consumers/):
 * the README's C API example with its results checked. It includes only
 * what an installed runnel provides ("runnel.h" and a port's header), and
 * fails to compile if runnel's internal headers are visible to it.
 */
#include <stdio.h>

#include "runnel.h"
#include "ram_bd.h"

#if defined(__has_include)
#if __has_include("internal.h") || __has_include("log.h") || __has_include("util.h")
#error "runnel's internal headers are visible to a consumer: only the public ones may be"
#endif
#endif

static uint64_t my_now(void *ctx)
{
    (void)ctx;
    return 1700000000000ull;
}

static int seen;

static int on_entry(void *ctx, const runnel_entry_t *e)
{
    (void)ctx;
    (void)e;
    seen++;
    return 0;
}

static uint8_t flash[16 * 4096];
static uint64_t arena[40 * 1024 / 8];

int main(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_t *r = NULL;
    runnel_bd_geometry_t g = { .read_size = 1, .prog_size = 1, .block_size = 4096,
                               .block_count = 16, .erase_value = 0xFF };
    if (runnel_ram_bd_init(&rb, &bd, &g, flash, NULL) != 0) {
        printf("runnel_ram_bd_init failed\n");
        return 1;
    }
    runnel_clock_t clock = { .now_ms = my_now };
    runnel_config_t cfg = { .bd = &bd, .clock = &clock, .arena = arena, .arena_size = sizeof arena,
                            .max_streams = 4, .max_nodes = 64, .max_groups = 2, .max_consumers = 4,
                            .max_pending = 128, .commit_policy = RUNNEL_COMMIT_ALWAYS };
    int rc = runnel_format(&r, &cfg);
    if (rc != 0 || r == NULL) {
        printf("runnel_format: %s\n", runnel_strerror(rc));
        return 1;
    }
    runnel_str_t key = { "sensors", 7 }, grp = { "uplink", 6 }, me = { "task1", 5 };
    runnel_str_t fv[] = { { "temp", 4 }, { "21.5", 4 } };
    runnel_xadd_args_t add = { .key = key, .fv = fv, .nfields = 1 };
    runnel_id_t id;
    rc = runnel_xadd(r, &add, &id);
    if (rc < 0) {
        printf("runnel_xadd: %s\n", runnel_strerror(rc));
        return 1;
    }
    runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, 10, false, on_entry, NULL);
    runnel_xgroup_create(r, key, grp, RUNNEL_ID_MIN, false, false, -1);
    runnel_xreadgroup_args_t rd = { .key = key, .group = grp, .consumer = me, .new_entries = true,
                                    .count = 10 };
    runnel_xreadgroup(r, &rd, on_entry, NULL);
    uint64_t acked = 0;
    runnel_xack(r, key, grp, &id, 1, &acked);
    printf("runnel %s: entries seen %d, acked %lu\n", RUNNEL_VERSION_STRING, seen,
           (unsigned long)acked);
    return seen == 2 && acked == 1 ? 0 : 1;
}
