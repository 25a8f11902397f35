#!/usr/bin/env bash
# size-report.sh - code size of the runnel library per Cortex-M target.
#
#   tools/size-report.sh [out-dir]        (default: build-size)
#
# Compiles every core/*.c as firmware would: arm-none-eabi-gcc -Os -mthumb
# -ffunction-sections -fdata-sections, for Cortex-M0 and Cortex-M3, and
# prints .text/.data/.bss per object and the total (arm-none-eabi-size).
#
# The per-object total counts every function in core/, including the RESP
# command layer a firmware without a console never links. So it also links
# two small programs with --gc-sections and reports what really lands in
# flash: "engine" (format + XADD + XRANGE + XREADGROUP + XACK on port/ram,
# no RESP) and "engine + commands" (the same plus runnel_cmd_* dispatch).
# Numbers to compare with peers.md: FlashDB TSDB 7.3 KB, littlefs 20 KB
# (Cortex-M0, -Os, gc-sections).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build-size}
cc=${CC_ARM:-arm-none-eabi-gcc}
size=${SIZE_ARM:-arm-none-eabi-size}
mkdir -p "$out"

common=(-std=c11 -Os -mthumb -ffunction-sections -fdata-sections
        -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
        -I"$root/core" -I"$root/port" -I"$root/port/ram")

# A minimal firmware main: what an application calls to log and forward.
cat > "$out/size_engine.c" <<'C'
#include <string.h>
#include "runnel.h"
#include "ram_bd.h"
int main(void);
static uint8_t flash[4 * 1024];
static uint64_t arena[6144 / 8];
static uint64_t now(void *c) { (void)c; return 0; }
static int on_entry(void *c, const runnel_entry_t *e) { (void)c; (void)e; return 0; }
int main(void)
{
    runnel_ram_bd_t rb; runnel_bd_t bd; runnel_t *r;
    runnel_bd_geometry_t g = { 1, 1, 1024, 4, 0xFF, 0 };
    runnel_clock_t ck = { 0, now };
    runnel_config_t cfg; memset(&cfg, 0, sizeof cfg);
    runnel_ram_bd_init(&rb, &bd, &g, flash, 0);
    cfg.bd = &bd; cfg.clock = &ck; cfg.arena = arena; cfg.arena_size = sizeof arena;
    if (runnel_format(&r, &cfg) != 0) return 1;
    runnel_str_t key = { "k", 1 }, grp = { "g", 1 }, fv[2] = { { "f", 1 }, { "v", 1 } };
    runnel_xadd_args_t a; memset(&a, 0, sizeof a);
    a.key = key; a.fv = fv; a.nfields = 1;
    runnel_id_t id; uint64_t acked;
    runnel_xadd(r, &a, &id);
    runnel_xrange(r, key, RUNNEL_ID_MIN, RUNNEL_ID_MAX, -1, false, on_entry, 0);
#ifdef WITH_GROUPS
    runnel_xgroup_create(r, key, grp, RUNNEL_ID_MIN, false, false, -1);
    runnel_xreadgroup_args_t ra; memset(&ra, 0, sizeof ra);
    ra.key = key; ra.group = grp; ra.consumer = grp; ra.new_entries = true; ra.count = 10;
    runnel_xreadgroup(r, &ra, on_entry, 0);
    runnel_xack(r, key, grp, &id, 1, &acked);
#else
    (void)grp; (void)acked;
#endif
    return runnel_commit(r);
}
C

# Bare-metal link stubs: the size programs never run, they only link.
cat > "$out/size_stubs.c" <<'C'
void Reset_Handler(void);
int main(void);
void Reset_Handler(void) { main(); for (;;) {} }
__attribute__((section(".isr_vector"), used)) void (*const size_vectors[2])(void) = { 0, Reset_Handler };
C

status=0
for cpu in cortex-m0 cortex-m3; do
    objdir="$out/$cpu"
    rm -rf "$objdir"; mkdir -p "$objdir"
    flags=("${common[@]}" -mcpu="$cpu")
    [ "$cpu" = cortex-m3 ] && flags+=(-mno-unaligned-access)
    objs=()
    for src in "$root"/core/*.c; do
        obj="$objdir/$(basename "${src%.c}").o"
        "$cc" "${flags[@]}" -c "$src" -o "$obj"
        objs+=("$obj")
    done
    echo "== $cpu: all core objects (arm-none-eabi-gcc -Os -mthumb -mcpu=$cpu, per object, before gc-sections)"
    "$size" -t "${objs[@]}" | sed "s|$objdir/||"

    # Linked: only what a program reaches survives --gc-sections.
    ramobj="$objdir/ram_bd.o"
    "$cc" "${flags[@]}" -c "$root"/port/ram/ram_bd.c -o "$ramobj"
    "$cc" "${flags[@]}" -c "$out/size_stubs.c" -o "$objdir/size_stubs.o"
    ar rcs "$objdir/librunnel.a" "${objs[@]}"
    for variant in streams groups; do
        vflags=()
        what="format + XADD + XRANGE + commit"
        if [ $variant = groups ]; then
            vflags=(-DWITH_GROUPS)
            what="$what + XGROUP CREATE + XREADGROUP + XACK"
        fi
        "$cc" "${flags[@]}" "${vflags[@]}" -c "$out/size_engine.c" -o "$objdir/size_$variant.o"
        if ! "$cc" -mcpu="$cpu" -mthumb -nostdlib -Wl,--gc-sections -Wl,-e,Reset_Handler \
             "$objdir/size_stubs.o" "$objdir/size_$variant.o" "$ramobj" "$objdir/librunnel.a" -lc_nano -lgcc \
             -Wl,-Map="$objdir/$variant.map" -o "$objdir/$variant.elf" 2>"$objdir/link.err"; then
            echo "== $cpu: link of the size program failed:"; cat "$objdir/link.err"; status=1
            continue
        fi
        text_total=$("$size" -A "$objdir/$variant.elf" | awk '$1==".text"{print $2}')
        echo "== $cpu, linked with --gc-sections: $what on port/ram"
        # What runnel's own objects contribute (map file, kept sections only).
        python3 - "$objdir/$variant.map" <<'PY'
import re, sys
# Input-section lines look like " .text.fn  0xADDR  0xSIZE  file" or, for a
# long section name, the name alone followed by a line "  0xADDR 0xSIZE file".
text = open(sys.argv[1]).read()
# Skip the "Discarded input sections" list: it has the same line format.
text = text[text.find('Linker script and memory map'):]
lines = text.split('\n')
sizes = {}
i = 0
while i < len(lines):
    line = lines[i]
    i += 1
    m = re.match(r'^ (\.(?:text|rodata|data|bss)\S*)(.*)$', line)
    if not m:
        continue
    sec, rest = m.group(1), m.group(2)
    if not rest.strip() and i < len(lines):
        rest = lines[i]
        i += 1
    f = rest.split()
    if len(f) < 3 or not f[0].startswith('0x') or not f[1].startswith('0x'):
        continue
    n = int(f[1], 16)
    mm = re.search(r'librunnel\.a\((.*)\)', f[2])
    if not mm or n == 0:
        continue
    kind = 'bss' if sec.startswith('.bss') else 'data' if sec.startswith('.data') else 'text'
    sizes.setdefault(mm.group(1), {'text': 0, 'data': 0, 'bss': 0})[kind] += n
tot = {'text': 0, 'data': 0, 'bss': 0}
print('   %7s %6s %6s  object (kept after gc-sections; text includes rodata)' % ('text', 'data', 'bss'))
for obj, v in sorted(sizes.items(), key=lambda kv: -kv[1]['text']):
    print('   %7d %6d %6d  %s' % (v['text'], v['data'], v['bss'], obj))
    for k in tot: tot[k] += v[k]
print('   %7d %6d %6d  runnel total (%.1f KB of flash)' % (tot['text'], tot['data'], tot['bss'], (tot['text'] + tot['data']) / 1024))
PY
        echo "   (whole program .text $text_total bytes: runnel + ram port + main + newlib-nano mem* + libgcc)"
    done
    echo
done
echo "Peers (docs/peers.md, Cortex-M0 -Os gc-sections): FlashDB TSDB + partition 7.3 KB (3.4 KB without logging); littlefs 20 KB (13.7 KB without logging)."
exit $status
