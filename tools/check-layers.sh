#!/usr/bin/env bash
# check-layers.sh - fails when a lower layer of core/ calls a higher one.
#
#   tools/check-layers.sh                 configure + build the library in a
#                                         temporary directory, then check
#   tools/check-layers.sh BUILD_DIR       build target `runnel` in an existing
#                                         CMake build directory, then check it
#   tools/check-layers.sh --objects DIR   check the *.o / *.obj files in DIR
#                                         as they are (no build; ctest's way:
#                                         DIR = BUILD/CMakeFiles/runnel.dir/core)
#   -v                                    also print the layer-to-layer call
#                                         counts
#   env: NM (default nm), JOBS (default 2)
#
# The layers of core/ (README, Layout), lowest first, by source file name:
#
#   util    util_*.c errors.c id.c   arena, crc32c, LE codecs, varints, IDs
#   log     log.c log_*.c            pages, blocks, the ring, spanning records
#   commit  commit.c                 append + commit policy + clock + lock:
#                                    what both halves use to change the store
#   stream  stream_*.c node.c trim.c keyspace.c reclaim.c relocate.c
#   group   group*.c                 consumer groups, PEL
#   engine  open.c                   config, arena layout, format: it sets
#                                    up (and wires hooks into) every layer
#                                    below, so it is the engine's top
#   resp    resp_*.c                 RESP reader/writer (calls util only)
#   cmd     cmd*.c                   the command table
#   sync    sync*.c                  the upstream forwarder: a client of the
#                                    engine's read API, the RESP writer and
#                                    reader, and the glob of SCAN MATCH
#                                    (cmd_server_glob.c); nothing below calls
#                                    it (runneld's INFO sync lines come in
#                                    through the host's info hook)
#
# A call inside one layer is fine; a call to a lower layer is fine; a call
# to a higher layer is an error. The stream half reaches the group half
# only through function pointers set at format (internal.h,
# struct runnel__stream_hooks), which the linker, and so this check, does
# not see as a call.
#
# How: for every core object, `nm` lists the global symbols it defines and
# the ones it leaves undefined; each undefined symbol defined by another
# core object is a call (or data reference) from that object to the other.
# Symbols no core object defines (libc, the port, sanitizers) are ignored.
# A core object whose file name maps to no layer is an error too, so a new
# file must be placed in a layer here before it can be merged.
#
# Exit status: 0 all calls go down, 1 an upward call or unplaced file,
# 2 usage or build error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
nm=${NM:-nm}
jobs=${JOBS:-2}
verbose=0
objdir=""
builddir=""

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
        -v) verbose=1 ;;
        -h | --help) usage ;;
        --objects)
            [ $# -ge 2 ] || usage
            objdir=$2
            shift
            ;;
        -*) usage ;;
        *)
            [ -z "$builddir" ] || usage
            builddir=$1
            ;;
    esac
    shift
done

layers=(util log commit stream group engine resp cmd sync)

# layer_of <object base name without .c.o>: prints the layer, or nothing.
layer_of() {
    case $1 in
        util_* | errors | id) echo util ;;
        log | log_*) echo log ;;
        commit) echo commit ;;
        stream_* | node | node_stub | trim | keyspace | reclaim | relocate) echo stream ;;
        group | group_*) echo group ;;
        open | checkpoint | checkpoint_stub | checkpoint_dir | mount) echo engine ;;
        resp_*) echo resp ;;
        cmd | cmd_*) echo cmd ;;
        sync | sync_*) echo sync ;;
        *) ;;
    esac
}

rank_of() {
    local i
    for i in "${!layers[@]}"; do
        if [ "${layers[$i]}" = "$1" ]; then
            echo "$i"
            return
        fi
    done
    echo -1
}

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/check-layers.XXXXXX")
trap 'rm -rf "$tmpdir"' EXIT

if [ -z "$objdir" ]; then
    if [ -z "$builddir" ]; then
        builddir=$tmpdir/build
        cmake -S "$root" -B "$builddir" -DRUNNEL_SANITIZE=OFF >"$tmpdir/configure.log" 2>&1 || {
            cat "$tmpdir/configure.log" >&2
            echo "check-layers: configure failed" >&2
            exit 2
        }
    fi
    [ -f "$builddir/CMakeCache.txt" ] || {
        echo "check-layers: $builddir is not a CMake build directory" >&2
        exit 2
    }
    cmake --build "$builddir" --target runnel -j"$jobs" >"$tmpdir/build.log" 2>&1 || {
        tail -n 40 "$tmpdir/build.log" >&2
        echo "check-layers: building the library in $builddir failed" >&2
        exit 2
    }
    objdir=$builddir/CMakeFiles/runnel.dir/core
fi

# Stale objects are judged against the sources the build was made from.
srcroot=$root
cache=${builddir:+$builddir/CMakeCache.txt}
[ -n "$cache" ] || cache=$objdir/../../../CMakeCache.txt
if [ -f "$cache" ]; then
    home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")
    [ -z "$home" ] || [ ! -d "$home/core" ] || srcroot=$home
fi

shopt -s nullglob
objs=("$objdir"/*.c.o "$objdir"/*.c.obj "$objdir"/*.o "$objdir"/*.obj)
shopt -u nullglob
[ ${#objs[@]} -gt 0 ] || {
    echo "check-layers: no object files in $objdir" >&2
    exit 2
}

# defs: "symbol object"; undefs: "object symbol"; layers: "object layer rank".
: >"$tmpdir/defs"
: >"$tmpdir/undefs"
: >"$tmpdir/layers"
unplaced=0
declare -A seen=()
for o in "${objs[@]}"; do
    base=$(basename "$o")
    base=${base%.obj}
    base=${base%.o}
    base=${base%.c}
    [ -z "${seen[$base]:-}" ] || continue
    seen[$base]=1
    # A build directory keeps the objects of deleted sources: skip those.
    if [ ! -f "$srcroot/core/$base.c" ]; then
        echo "check-layers: skipping $o (no $srcroot/core/$base.c: a stale object)" >&2
        continue
    fi
    layer=$(layer_of "$base")
    if [ -z "$layer" ]; then
        echo "check-layers: core/$base.c belongs to no layer: place it in layer_of() in tools/check-layers.sh (and in internal.h's list)" >&2
        unplaced=1
        continue
    fi
    echo "$base $layer $(rank_of "$layer")" >>"$tmpdir/layers"
    # Global definitions: text, data, bss, read-only, common, weak.
    "$nm" -P --defined-only "$o" | awk -v f="$base" '$2 ~ /^[TDBRCGSVW]$/ { print $1, f }' \
        >>"$tmpdir/defs"
    "$nm" -P --undefined-only "$o" | awk -v f="$base" '{ print f, $1 }' >>"$tmpdir/undefs"
done

# One line per cross-object reference:
#   caller caller_layer caller_rank symbol callee callee_layer callee_rank
awk '
    FILENAME == ARGV[1] { layer[$1] = $2; rank[$1] = $3; next }
    FILENAME == ARGV[2] { if (!($1 in def)) def[$1] = $2; next }
    {
        caller = $1; sym = $2
        if (!(sym in def)) next          # libc, port, sanitizer: not core
        callee = def[sym]
        if (callee == caller) next
        print caller, layer[caller], rank[caller], sym, callee, layer[callee], rank[callee]
    }
' "$tmpdir/layers" "$tmpdir/defs" "$tmpdir/undefs" | sort -u >"$tmpdir/refs"

upward=$(awk '$3 < $7' "$tmpdir/refs")
nrefs=$(wc -l <"$tmpdir/refs")
nobjs=$(wc -l <"$tmpdir/layers")

if [ "$verbose" -eq 1 ]; then
    echo "calls between layers (caller layer -> callee layer: references):"
    awk '{ n[$2 " -> " $6]++ } END { for (k in n) printf "  %-20s %d\n", k, n[k] }' \
        "$tmpdir/refs" | sort
fi

if [ -n "$upward" ]; then
    echo "check-layers: FAIL: a lower layer calls a higher one (order: ${layers[*]}):" >&2
    echo "$upward" | while read -r caller cl _ sym callee pl _; do
        echo "  core/$caller.c ($cl) calls $sym in core/$callee.c ($pl)" >&2
    done
    echo "Move the caller up, the callee down, or invert the call (a hook set at format, as internal.h's struct runnel__stream_hooks)." >&2
    exit 1
fi
if [ "$unplaced" -ne 0 ]; then
    echo "check-layers: FAIL: unplaced files (above)" >&2
    exit 1
fi
echo "check-layers: OK: $nobjs objects, $nrefs cross-object references, none upward (${layers[*]})"
