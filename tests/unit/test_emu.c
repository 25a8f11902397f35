/*
 * test_emu.c - port/emu, the emulated flash: the port contract (as
 * port/ram), counters, snapshot/restore, each power-cut model on NOR
 * (erase 0xFF) and on erase-0x00 flash, read bit flips and bad blocks.
 */
#include <stdint.h>
#include <string.h>

#include "emu_bd.h"
#include "testing.h"

#define BS 256u
#define NB 4u

static uint8_t storage[BS * NB];
static uint8_t snap[BS * NB];
static uint8_t buf[BS];
static uint32_t wear[NB];
static runnel_emu_bd_t eb;
static runnel_bd_t bd;

static int setup(uint8_t erase_value, uint32_t prog_size, uint32_t read_size, uint32_t flags,
                 uint32_t seed)
{
    runnel_bd_geometry_t g;
    memset(&g, 0, sizeof g);
    g.read_size = read_size;
    g.prog_size = prog_size;
    g.block_size = BS;
    g.block_count = NB;
    g.erase_value = erase_value;
    g.flags = flags;
    return runnel_emu_bd_init(&eb, &bd, &g, storage, wear, seed);
}

static void pattern(uint8_t *p, uint32_t n, uint8_t k)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 37u + k);
}

static uint32_t count_value(uint32_t block, uint32_t off, uint32_t n, uint8_t v)
{
    uint32_t i, c = 0;
    for (i = 0; i < n; i++)
        c += storage[block * BS + off + i] == v;
    return c;
}

static void test_contract_and_counters(void)
{
    runnel_bd_geometry_t bad;
    uint8_t data[64];
    uint32_t i;

    memset(&bad, 0, sizeof bad);
    CHECK_EQ_INT(runnel_emu_bd_init(&eb, &bd, &bad, storage, NULL, 1), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(setup(0xFF, 16, 4, 0, 1), 0);
    CHECK_EQ_U64(runnel_emu_bd_storage_size(&eb.geometry), BS * NB);
    for (i = 0; i < BS * NB; i++)
        if (storage[i] != 0xFF)
            break;
    CHECK_EQ_U64(i, BS * NB);
    CHECK(bd.ctx == &eb && bd.geometry.block_size == BS);

    pattern(data, 64, 1);
    /* misaligned, out of bounds, crossing a block: INVAL, nothing counted */
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 8, data, 16), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, data, 15), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, BS - 16, data, 32), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.prog(bd.ctx, NB, 0, data, 16), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 2, buf, 4), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, 3), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(bd.erase(bd.ctx, NB), RUNNEL_ERR_INVAL);
    CHECK_EQ_U64(eb.rejected_calls, 7);
    CHECK_EQ_U64(eb.mut_ops, 0);

    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 32, data, 64), 0);
    CHECK_MEM(storage + BS + 32, data, 64);
    CHECK_EQ_INT(bd.read(bd.ctx, 1, 32, buf, 64), 0);
    CHECK_MEM(buf, data, 64);
    /* program-once: refused whole, counted */
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 80, data, 32), RUNNEL_ERR_IO);
    CHECK_EQ_U64(eb.prog_violations, 1);
    CHECK(storage[BS + 96] == 0xFF);
    CHECK_EQ_INT(bd.erase(bd.ctx, 1), 0);
    CHECK_EQ_U64(count_value(1, 0, BS, 0xFF), BS);
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 80, data, 32), 0);
    CHECK_EQ_INT(bd.sync(bd.ctx), 0);

    CHECK_EQ_U64(eb.prog_calls, 2);
    CHECK_EQ_U64(eb.bytes_programmed, 96);
    CHECK_EQ_U64(eb.read_calls, 1);
    CHECK_EQ_U64(eb.bytes_read, 64);
    CHECK_EQ_U64(eb.erases, 1);
    CHECK_EQ_U64(wear[1], 1);
    CHECK_EQ_U64(eb.sync_calls, 1);
    CHECK_EQ_U64(eb.mut_ops, 4); /* 3 programs (one refused) + 1 erase */
    runnel_emu_bd_reset_counters(&eb);
    CHECK_EQ_U64(eb.prog_calls + eb.bytes_read + eb.prog_violations + eb.rejected_calls, 0);

    /* REPROGRAMMABLE relaxes program-once and counts it */
    CHECK_EQ_INT(setup(0xFF, 1, 1, RUNNEL_BD_REPROGRAMMABLE, 1), 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, data, 8), 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, data + 8, 8), 0);
    CHECK_MEM(storage, data + 8, 8);
    CHECK_EQ_U64(eb.reprograms, 1);
    CHECK_EQ_U64(eb.prog_violations, 0);
}

static void test_snapshot_restore(void)
{
    uint8_t data[32];

    CHECK_EQ_INT(setup(0x00, 1, 1, 0, 5), 0);
    pattern(data, 32, 9);
    CHECK_EQ_INT(bd.prog(bd.ctx, 2, 100, data, 32), 0);
    CHECK_EQ_INT(runnel_emu_bd_snapshot(&eb, snap, sizeof snap - 1), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_emu_bd_snapshot(&eb, snap, sizeof snap), 0);
    CHECK_EQ_INT(bd.erase(bd.ctx, 2), 0);
    CHECK_EQ_U64(count_value(2, 0, BS, 0x00), BS);
    CHECK_EQ_INT(runnel_emu_bd_restore(&eb, snap, sizeof snap - 1), RUNNEL_ERR_INVAL);
    CHECK_EQ_INT(runnel_emu_bd_restore(&eb, snap, sizeof snap), 0);
    CHECK_MEM(storage + 2 * BS + 100, data, 32);
    CHECK_MEM(storage, snap, sizeof snap);
    /* restored bytes are programmed again: program-once still enforced */
    CHECK_EQ_INT(bd.prog(bd.ctx, 2, 100, data, 1), RUNNEL_ERR_IO);
}

/* Schedules a cut on the k-th op and checks the device is dead after it. */
static void check_dead(void)
{
    uint64_t ops = eb.mut_ops;
    CHECK(runnel_emu_bd_cut_happened(&eb));
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, 16), RUNNEL_ERR_IO);
    CHECK_EQ_INT(bd.prog(bd.ctx, 3, 0, buf, 16), RUNNEL_ERR_IO);
    CHECK_EQ_INT(bd.erase(bd.ctx, 3), RUNNEL_ERR_IO);
    CHECK_EQ_INT(bd.sync(bd.ctx), RUNNEL_ERR_IO);
    CHECK_EQ_U64(eb.mut_ops, ops);
    CHECK_EQ_U64(eb.dead_calls, 4);
    CHECK(storage[3 * BS] == eb.geometry.erase_value);
}

static void test_cut_counting_and_atomic(void)
{
    uint8_t data[BS];

    CHECK_EQ_INT(setup(0xFF, 16, 1, 0, 7), 0);
    pattern(data, BS, 3);
    runnel_emu_bd_schedule_cut(&eb, 3, RUNNEL_EMU_CUT_ATOMIC);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, data, 16), 0);
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, 16), 0); /* reads do not count */
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 17, data, 16), RUNNEL_ERR_INVAL); /* nor rejected calls */
    CHECK_EQ_INT(bd.erase(bd.ctx, 1), 0);
    CHECK(!runnel_emu_bd_cut_happened(&eb));
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 16, data + 16, 32), RUNNEL_ERR_IO); /* op 3: power goes */
    CHECK_MEM(storage + 16, data + 16, 32); /* ATOMIC: it landed whole */
    CHECK(storage[48] == 0xFF);
    check_dead();
    runnel_emu_bd_power_on(&eb);
    CHECK(!runnel_emu_bd_cut_happened(&eb));
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, 48), 0);
    CHECK_MEM(buf, data, 48);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 48, data, 16), 0);

    /* ATOMIC erase; cancelling a schedule */
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_ATOMIC);
    runnel_emu_bd_schedule_cut(&eb, 0, RUNNEL_EMU_CUT_ATOMIC);
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, data, 16), 0);
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_ATOMIC);
    CHECK_EQ_INT(bd.erase(bd.ctx, 0), RUNNEL_ERR_IO);
    CHECK_EQ_U64(count_value(0, 0, BS, 0xFF), BS);
    CHECK(runnel_emu_bd_cut_happened(&eb));
}

static void test_torn_prefix(void)
{
    uint8_t data[BS];
    uint32_t round, n, seen_partial = 0;

    pattern(data, BS, 11);
    for (round = 0; round < 40; round++) {
        CHECK_EQ_INT(setup(0xFF, 1, 1, 0, 100 + round), 0);
        runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_PREFIX);
        CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, data, 200), RUNNEL_ERR_IO);
        /* a prefix of n < 200 bytes landed exactly, nothing after it */
        for (n = 0; n < 200 && storage[BS + n] == data[n]; n++)
            ;
        CHECK(n < 200);
        CHECK_EQ_U64(count_value(1, n, BS - n, 0xFF), BS - n);
        CHECK(n >= eb.torn_bytes); /* data[n..] may equal 0xFF by chance */
        seen_partial += n > 0;
    }
    CHECK(seen_partial > 30);

    /* erase: a prefix of the block is erased, the rest keeps old bytes */
    for (round = 0; round < 20; round++) {
        CHECK_EQ_INT(setup(0x00, 1, 1, 0, 300 + round), 0);
        memset(data, 0x5A, BS);
        CHECK_EQ_INT(bd.prog(bd.ctx, 2, 0, data, BS), 0);
        runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_PREFIX);
        CHECK_EQ_INT(bd.erase(bd.ctx, 2), RUNNEL_ERR_IO);
        n = count_value(2, 0, BS, 0x00);
        CHECK(n < BS);
        CHECK_EQ_U64(count_value(2, 0, n, 0x00), n);
        CHECK_EQ_U64(count_value(2, n, BS - n, 0x5A), BS - n);
        CHECK_EQ_U64(eb.torn_bytes, n);
    }
}

/* Every landed bit moved from the erased state towards the target, and
 * only those bits: for NOR, result = old & ~(cleared subset); for erase
 * 0x00, result = old | (set subset). */
static void test_torn_bits(void)
{
    uint8_t data[BS];
    uint32_t i, ev, landed = 0, missed = 0;

    for (ev = 0; ev < 2; ev++) {
        uint8_t e = ev ? 0x00 : 0xFF;
        CHECK_EQ_INT(setup(e, 16, 1, 0, 77 + ev), 0);
        pattern(data, BS, 5);
        runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_BITS);
        CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, data, BS), RUNNEL_ERR_IO);
        for (i = 0; i < BS; i++) {
            uint8_t got = storage[i];
            if (e == 0xFF) {
                /* only 1->0, and only where the target has a 0 */
                CHECK((got & data[i]) == data[i]);
            } else {
                CHECK((got & (uint8_t)~data[i]) == 0);
            }
            landed += got != e;
            missed += got != data[i];
        }
        CHECK(eb.torn_bytes > 0);

        /* torn erase: bits move towards the erase value only */
        runnel_emu_bd_power_on(&eb);
        memset(data, (uint8_t)~e, BS);
        CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, data, BS), 0);
        runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_BITS);
        CHECK_EQ_INT(bd.erase(bd.ctx, 1), RUNNEL_ERR_IO);
        CHECK(count_value(1, 0, BS, e) < BS / 4);    /* almost no byte fully erased */
        CHECK(count_value(1, 0, BS, (uint8_t)~e) < BS / 4); /* nor untouched */
    }
    CHECK(landed > BS / 2);
    CHECK(missed > BS / 2);
}

static void test_interrupted_erase(void)
{
    uint8_t data[BS];
    uint32_t erased, kept;

    CHECK_EQ_INT(setup(0xFF, 1, 1, 0, 4242), 0);
    memset(data, 0x3C, BS);
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, data, BS), 0);
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_INTERRUPTED_ERASE);
    CHECK_EQ_INT(bd.erase(bd.ctx, 1), RUNNEL_ERR_IO);
    erased = count_value(1, 0, BS, 0xFF);
    kept = count_value(1, 0, BS, 0x3C);
    CHECK_EQ_U64(erased + kept, BS); /* whole bytes: old or erased */
    CHECK(erased > BS / 4 && kept > BS / 4);
    CHECK_EQ_U64(eb.torn_bytes, erased);
    CHECK_EQ_U64(eb.erases, 0);
    CHECK_EQ_U64(wear[1], 0);

    /* a program on which power goes under this model lands nothing */
    runnel_emu_bd_power_on(&eb);
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_INTERRUPTED_ERASE);
    CHECK_EQ_INT(bd.prog(bd.ctx, 2, 0, data, 64), RUNNEL_ERR_IO);
    CHECK_EQ_U64(count_value(2, 0, BS, 0xFF), BS);
}

/* Same seed, same calls: the same image; another seed: another image. */
static void test_deterministic(void)
{
    uint8_t data[BS], first[BS];

    pattern(data, BS, 1);
    CHECK_EQ_INT(setup(0xFF, 1, 1, 0, 99), 0);
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_BITS);
    (void)bd.prog(bd.ctx, 0, 0, data, BS);
    memcpy(first, storage, BS);
    CHECK_EQ_INT(setup(0xFF, 1, 1, 0, 99), 0);
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_BITS);
    (void)bd.prog(bd.ctx, 0, 0, data, BS);
    CHECK_MEM(storage, first, BS);
    CHECK_EQ_INT(setup(0xFF, 1, 1, 0, 100), 0);
    runnel_emu_bd_schedule_cut(&eb, 1, RUNNEL_EMU_CUT_TORN_BITS);
    (void)bd.prog(bd.ctx, 0, 0, data, BS);
    CHECK(memcmp(storage, first, BS) != 0);
    CHECK_STR(runnel_emu_cut_model_name(RUNNEL_EMU_CUT_TORN_PREFIX), "TORN_PREFIX");
    CHECK_STR(runnel_emu_cut_model_name(RUNNEL_EMU_CUT_INTERRUPTED_ERASE), "INTERRUPTED_ERASE");
}

static void test_flips_and_bad_blocks(void)
{
    static const uint32_t bad[] = {2};
    uint8_t data[BS];
    uint32_t i, diff = 0;

    CHECK_EQ_INT(setup(0xFF, 1, 1, 0, 31), 0);
    pattern(data, BS, 2);
    CHECK_EQ_INT(bd.prog(bd.ctx, 0, 0, data, BS), 0);
    runnel_emu_bd_set_read_flips(&eb, 0x10000000u); /* 1/16 per byte */
    for (i = 0; i < 16; i++) {
        uint32_t j;
        CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, BS), 0);
        for (j = 0; j < BS; j++) {
            uint8_t x = (uint8_t)(buf[j] ^ data[j]);
            if (x) {
                diff++;
                CHECK((x & (x - 1)) == 0); /* exactly one bit */
            }
        }
    }
    CHECK_EQ_U64(diff, eb.bit_flips);
    CHECK(diff > 16 * BS / 32 && diff < 16 * BS / 8);
    CHECK_MEM(storage, data, BS); /* transient: the image is intact */
    runnel_emu_bd_set_read_flips(&eb, 0);
    CHECK_EQ_INT(bd.read(bd.ctx, 0, 0, buf, BS), 0);
    CHECK_MEM(buf, data, BS);

    runnel_emu_bd_set_bad_blocks(&eb, bad, 1);
    CHECK_EQ_INT(bd.prog(bd.ctx, 2, 0, data, 8), RUNNEL_ERR_IO);
    CHECK_EQ_INT(bd.erase(bd.ctx, 2), RUNNEL_ERR_IO);
    CHECK_EQ_U64(count_value(2, 0, BS, 0xFF), BS);
    CHECK_EQ_INT(bd.read(bd.ctx, 2, 0, buf, 8), 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 1, 0, data, 8), 0);
    CHECK_EQ_U64(eb.bad_block_errors, 2);
    runnel_emu_bd_set_bad_blocks(&eb, NULL, 0);
    CHECK_EQ_INT(bd.prog(bd.ctx, 2, 0, data, 8), 0);
}

TEST_MAIN(
    RUN(test_contract_and_counters);
    RUN(test_snapshot_restore);
    RUN(test_cut_counting_and_atomic);
    RUN(test_torn_prefix);
    RUN(test_torn_bits);
    RUN(test_interrupted_erase);
    RUN(test_deterministic);
    RUN(test_flips_and_bad_blocks);
)
