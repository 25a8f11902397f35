/*
 * test_ram_bd.c - the RAM block device enforces the flash rules and counts.
 */
#include <stdint.h>
#include <string.h>

#include "ram_bd.h"
#include "testing.h"

#define STORAGE_MAX (4u * 65536u)
static uint8_t storage[STORAGE_MAX];
static uint32_t erase_counts[64];
static uint8_t buf[65536 + 256];

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

static void check_geometry(uint32_t read_size, uint32_t prog_size, uint32_t block_size,
                           uint32_t block_count, uint8_t erase_value)
{
    runnel_bd_geometry_t g;
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    uint8_t *blk1;
    uint32_t p = prog_size, lo, hi, i;
    uint8_t pattern = (uint8_t)~erase_value;

    printf("  geometry read %lu prog %lu block %lu x %lu erase 0x%02x\n",
           (unsigned long)read_size, (unsigned long)prog_size, (unsigned long)block_size,
           (unsigned long)block_count, erase_value);
    memset(&g, 0, sizeof g);
    g.read_size = read_size;
    g.prog_size = prog_size;
    g.block_size = block_size;
    g.block_count = block_count;
    g.erase_value = erase_value;
    CHECK_EQ_U64(runnel_ram_bd_storage_size(&g), (uint64_t)block_size * block_count);
    memset(storage, 0x33, sizeof storage);
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), 0);
    CHECK(bd.ctx == &rb && bd.read && bd.prog && bd.erase && bd.sync);
    CHECK(bd.geometry.prog_size == prog_size && bd.geometry.block_count == block_count);
    CHECK(all_bytes(storage, (size_t)block_size * block_count, erase_value));
    CHECK(block_size * block_count == STORAGE_MAX || storage[(size_t)block_size * block_count] == 0x33);

    /* A legal program at the start of block 1, then read it back. */
    blk1 = runnel_ram_bd_data(&rb, 1, 0);
    CHECK(blk1 == storage + block_size);
    memset(buf, pattern, sizeof buf);
    buf[0] = 0x42;
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, buf, p), 0);
    CHECK(blk1[0] == 0x42 && all_bytes(blk1 + 1, p - 1, pattern));
    CHECK(blk1[p] == erase_value);
    CHECK_EQ_U64(rb.prog_calls, 1);
    CHECK_EQ_U64(rb.bytes_programmed, p);
    memset(buf, 0, sizeof buf);
    CHECK_EQ_INT(bd.read(bd.ctx, 1, 0, buf, read_size * 4 > block_size ? read_size : read_size * 4), 0);
    CHECK(buf[0] == 0x42);
    CHECK_EQ_U64(rb.read_calls, 1);

    /* Programming the same unit again is a violation: refused, nothing changes. */
    memset(buf, erase_value == 0xFF ? 0x00 : 0x01, sizeof buf);
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, buf, p), RUNNEL_ERR_IO);
    CHECK_EQ_U64(rb.prog_violations, 1);
    CHECK(blk1[0] == 0x42);
    /* Even a unit that is erased except for one byte. */
    if (p * 3 <= block_size) {
        uint8_t *u = runnel_ram_bd_data(&rb, block_count - 1, p);
        u[p - 1] = pattern; /* simulate a stray programmed byte */
        CHECK_EQ_INT(bd.prog(bd.ctx, block_count - 1, p, buf, p), RUNNEL_ERR_IO);
        CHECK_EQ_U64(rb.prog_violations, 2);
        CHECK(all_bytes(u, p - 1, erase_value));
    }
    CHECK_EQ_U64(rb.prog_calls, 1);

    /* Bounds and alignment. */
    CHECK_EQ_INT(bd.prog(bd.ctx, block_count, 0, buf, p), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, block_size - p, buf, 2 * p), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, block_size, buf, p), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, UINT32_MAX - 2, buf, p), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.read(bd.ctx, 0, block_size - read_size, buf, 2 * read_size), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.read(bd.ctx, block_count, 0, buf, read_size), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.erase(bd.ctx, block_count), RUNNEL_ERR_INVAL);
    if (p > 1) {
        CHECK_EQ_INT(bd.prog(bd.ctx, 0, 1, buf, p), RUNNEL_ERR_INVAL);
        CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, buf, p - 1), RUNNEL_ERR_INVAL);
        CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, buf, p + 1), RUNNEL_ERR_INVAL);
    }
    if (read_size > 1) {
        CHECK_EQ_INT(bd.read(bd.ctx, 0, 1, buf, read_size), RUNNEL_ERR_INVAL);
        CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, read_size + 1), RUNNEL_ERR_INVAL);
    }
    CHECK(all_bytes(storage, block_size, erase_value)); /* block 0 untouched */
    CHECK_EQ_U64(rb.prog_calls, 1);
    CHECK(rb.rejected_calls >= 5);

    /* The last unit of the last block is legal; the whole block in one go too. */
    memset(buf, pattern, sizeof buf);
    CHECK_EQ_INT(bd.prog(bd.ctx, block_count - 1, block_size - p, buf, p), 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, buf, block_size), 0);
    CHECK(all_bytes(storage, block_size, pattern));
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, block_size), 0);
    CHECK(all_bytes(buf, block_size, pattern));

    /* Erase: the block reads erased again, wear is counted per block. */
    CHECK_EQ_INT(bd.erase(bd.ctx, 1), 0);
    CHECK(all_bytes(blk1, block_size, erase_value));
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, buf, p), 0); /* programmable again */
    CHECK_EQ_INT(bd.erase(bd.ctx, 1), 0);
    CHECK_EQ_INT(bd.erase(bd.ctx, 0), 0);
    CHECK_EQ_U64(rb.erases, 3);
    CHECK_EQ_U64(erase_counts[1], 2);
    CHECK_EQ_U64(erase_counts[0], 1);
    runnel_ram_bd_wear(&rb, &lo, &hi);
    CHECK_EQ_U64(lo, block_count > 2 ? 0 : 1);
    CHECK_EQ_U64(hi, 2);
    for (i = 0; i < block_count; i++)
        CHECK_EQ_INT(bd.erase(bd.ctx, i), 0);
    runnel_ram_bd_wear(&rb, &lo, &hi);
    CHECK_EQ_U64(hi, 3);
    CHECK_EQ_U64(lo, block_count > 2 ? 1 : 2);

    CHECK_EQ_INT(bd.sync(bd.ctx), 0);
    CHECK_EQ_INT(bd.sync(bd.ctx), 0);
    CHECK_EQ_U64(rb.sync_calls, 2);
    CHECK_EQ_U64(rb.bytes_programmed, (uint64_t)p * 3 + block_size);
    CHECK(runnel_ram_bd_data(&rb, block_count, 0) == NULL);
    CHECK(runnel_ram_bd_data(&rb, 0, block_size) == NULL);

    runnel_ram_bd_reset_counters(&rb);
    CHECK(rb.prog_calls == 0 && rb.prog_violations == 0 && rb.erases == 0 && rb.sync_calls == 0);
    CHECK_EQ_U64(erase_counts[1], 3); /* wear survives a counter reset */
}

static void test_geometries(void)
{
    check_geometry(1, 1, 4096, 8, 0xFF);
    check_geometry(1, 16, 4096, 8, 0xFF);
    check_geometry(4, 256, 4096, 4, 0xFF);
    check_geometry(1, 1, 65536, 4, 0xFF);
    check_geometry(16, 16, 65536, 4, 0x00);
    check_geometry(1, 256, 65536, 2, 0x00);
    check_geometry(1, 1, 512, 64, 0x00);
}

static void test_reprogrammable(void)
{
    runnel_bd_geometry_t g = {1, 4, 1024, 4, 0xFF, RUNNEL_BD_REPROGRAMMABLE};
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    uint8_t a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, r[4];

    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, NULL), 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 8, a, 4), 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 8, b, 4), 0);
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 8, r, 4), 0);
    CHECK_MEM(r, b, 4);
    CHECK_EQ_U64(rb.prog_violations, 0);
    CHECK_EQ_U64(rb.reprograms, 1);
    /* Without an erase-count array, erases still work and wear reads 0. */
    CHECK_EQ_INT(bd.erase(bd.ctx, 0), 0);
    {
        uint32_t lo = 9, hi = 9;
        runnel_ram_bd_wear(&rb, &lo, &hi);
        CHECK(lo == 0 && hi == 0);
    }
}

static void test_bad_geometry(void)
{
    runnel_ram_bd_t rb;
    runnel_bd_t bd;
    runnel_bd_geometry_t g = {1, 16, 4096, 4, 0xFF, 0};

    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), 0);
    CHECK_EQ_INT(runnel_ram_bd_init(NULL, &bd, &g, storage, erase_counts), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, NULL, storage, erase_counts), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, NULL, erase_counts), RUNNEL_ERR_INVAL);
    g.prog_size = 0;
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), RUNNEL_ERR_INVAL);
    g.prog_size = 24; /* 4096 is not a multiple of 24 */
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), RUNNEL_ERR_INVAL);
    g.prog_size = 16;
    g.read_size = 0;
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), RUNNEL_ERR_INVAL);
    g.read_size = 1;
    g.block_count = 0;
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), RUNNEL_ERR_INVAL);
    g.block_count = 4;
    g.block_size = 0;
    CHECK_EQ_INT(runnel_ram_bd_init(&rb, &bd, &g, storage, erase_counts), RUNNEL_ERR_INVAL);
    CHECK_EQ_U64(runnel_ram_bd_storage_size(&g), 0);
}

TEST_MAIN(
    RUN(test_geometries);
    RUN(test_reprogrammable);
    RUN(test_bad_geometry);
)
