/*
 * template_port.c - a starting point for porting runnel to a new board.
 *
 * Copy this file into your firmware, replace the four flash_* calls with
 * your SPI-NOR / internal-flash driver and the clock with your RTC or tick
 * counter. Everything runnel needs from the platform is here; nothing else
 * in the library touches hardware.
 *
 * The contract (port/runnel_port.h) in one paragraph: reads, programs and
 * erases are addressed by (block, offset); offsets and sizes of programs are
 * multiples of prog_size and never cross a block; runnel never programs a
 * byte twice without erasing its block first; erase leaves every byte equal
 * to erase_value; sync returns once everything programmed is durable.
 * Return 0 on success or a negative RUNNEL_ERR_* code (RUNNEL_ERR_IO for a
 * device failure): runnel turns it into an error for the caller and never
 * retries blindly.
 *
 * This file is compiled by the host build (as a check that it stays in step
 * with the contract) against stub drivers; it is not linked into anything.
 */
#include <stdint.h>
#include <stddef.h>

#include "runnel.h"

/* ---- replace these four with your driver ------------------------------ */
/* Stubs so the template compiles: they describe what each call must do. */
static int flash_read(uint32_t addr, void *buf, uint32_t n)
{
    /* Read n bytes at absolute flash address addr (memory-mapped NOR:
     * a memcpy from the mapped window). */
    (void)addr; (void)buf; (void)n;
    return 0;
}
static int flash_program(uint32_t addr, const void *buf, uint32_t n)
{
    /* Program n bytes; n and addr are multiples of the program unit. Wait
     * for the write-in-progress bit before returning. */
    (void)addr; (void)buf; (void)n;
    return 0;
}
static int flash_erase_sector(uint32_t addr)
{
    /* Erase the sector starting at addr (typically 4 KiB on SPI NOR, ~45 ms). */
    (void)addr;
    return 0;
}
static uint64_t rtc_unix_ms(void)
{
    /* Wall-clock milliseconds if the board has an RTC, else ms since boot. */
    return 0;
}
/* ----------------------------------------------------------------------- */

/* Where the runnel partition starts in flash and how it is cut up. */
#define STORE_BASE        0x00100000u
#define STORE_BLOCK_SIZE  4096u
#define STORE_BLOCK_COUNT 256u      /* 1 MiB partition */
#define STORE_PROG_SIZE   1u        /* 16 or 256 for ECC / page-program parts */

static int port_read(void *ctx, uint32_t block, uint32_t off, void *buf, uint32_t size)
{
    (void)ctx;
    return flash_read(STORE_BASE + block * STORE_BLOCK_SIZE + off, buf, size);
}

static int port_prog(void *ctx, uint32_t block, uint32_t off, const void *buf, uint32_t size)
{
    (void)ctx;
    return flash_program(STORE_BASE + block * STORE_BLOCK_SIZE + off, buf, size);
}

static int port_erase(void *ctx, uint32_t block)
{
    (void)ctx;
    return flash_erase_sector(STORE_BASE + block * STORE_BLOCK_SIZE);
}

static int port_sync(void *ctx)
{
    (void)ctx;
    return 0; /* programs above are synchronous */
}

static uint64_t port_now_ms(void *ctx)
{
    (void)ctx;
    return rtc_unix_ms();
}

const runnel_bd_t template_bd = {
    .ctx = NULL,
    .geometry = {
        .read_size = 1,
        .prog_size = STORE_PROG_SIZE,
        .block_size = STORE_BLOCK_SIZE,
        .block_count = STORE_BLOCK_COUNT,
        .erase_value = 0xFF,
        .flags = 0,
    },
    .read = port_read,
    .prog = port_prog,
    .erase = port_erase,
    .sync = port_sync,
};

const runnel_clock_t template_clock = { .ctx = NULL, .now_ms = port_now_ms };

/* Example bring-up: size the arena for your tables once, statically. */
int template_store_open(runnel_t **out);
int template_store_open(runnel_t **out)
{
    static uint64_t arena[16 * 1024 / 8];   /* 16 KiB; check runnel_arena_size() */
    runnel_config_t cfg = {
        .bd = &template_bd,
        .clock = &template_clock,
        .arena = arena,
        .arena_size = sizeof arena,
        .max_streams = 4,
        .max_nodes = 64,
        .max_groups = 4,
        .max_consumers = 8,
        .max_pending = 256,
        .full_policy = RUNNEL_FULL_REFUSE,
        .commit_policy = RUNNEL_COMMIT_INTERVAL,
        .commit_interval_ms = 1000,
    };
    if (runnel_arena_size(&cfg) > sizeof arena)
        return RUNNEL_ERR_NOMEM;
    return runnel_format(out, &cfg);
}
