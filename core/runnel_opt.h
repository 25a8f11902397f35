/*
 * runnel_opt.h - compile-time options, in the style of lwIP's opt.h.
 *
 * Define an option before this header is seen (compiler -D flag, or a
 * runnel_user_opt.h of your own that you include from your build's forced
 * include) to override its default. Every option is documented here and
 * only here; run-time settings live in runnel_config_t instead.
 */
#ifndef RUNNEL_OPT_H
#define RUNNEL_OPT_H

/*
 * RUNNEL_CRC32C_SMALL_TABLE: 1 selects a 64-byte CRC-32C table that costs
 * two lookups per byte; 0 (default) a 1 KiB table with one lookup per byte,
 * about three times faster. Every record's checksum goes through it, so the
 * big table is worth its flash on anything but the smallest parts (a
 * Cortex-M0 with 32 KiB of flash, say).
 */
#ifndef RUNNEL_CRC32C_SMALL_TABLE
#define RUNNEL_CRC32C_SMALL_TABLE 0
#endif

/*
 * RUNNEL_CRC32C_SLICE8: 1 adds slicing-by-8 (8 KiB of tables, eight bytes
 * per step, about three times faster than the 1 KiB table on a 64-bit
 * host) for runs of 8 bytes and more. Default: 1 where pointers are 64-bit
 * (a Linux host or SBC, where 8 KiB of tables costs nothing), else 0 (a
 * microcontroller keeps its flash). Ignored with RUNNEL_CRC32C_SMALL_TABLE.
 */
#ifndef RUNNEL_CRC32C_SLICE8
#if defined(UINTPTR_MAX) && UINTPTR_MAX > 0xFFFFFFFFu
#define RUNNEL_CRC32C_SLICE8 1
#else
#define RUNNEL_CRC32C_SLICE8 0
#endif
#endif
#if RUNNEL_CRC32C_SMALL_TABLE
#undef RUNNEL_CRC32C_SLICE8
#define RUNNEL_CRC32C_SLICE8 0
#endif

#endif /* RUNNEL_OPT_H */
