#!/usr/bin/env bash
# test-all.sh - THE test command: every build and every test, on every target.
#
#   tools/test-all.sh                 all stages
#   tools/test-all.sh host m3         only the named stages
#   env: RUNNEL_TEST_DIR (default build-test), JOBS (default 2)
#
# Stages (each its own build directory under $RUNNEL_TEST_DIR):
#   host    gcc, ASan+UBSan: unit tests, runneld host tests, interop tests
#           against a real redis-server, libFuzzer runs (all via ctest)
#   bench   bench_core built uninstrumented (-O2) and run with --quick, so
#           the benchmark keeps compiling and running (numbers not checked)
#   m3      Cortex-M3, qemu-system-arm -M mps2-an385: every unit test,
#           bare-metal, unaligned accesses trap
#   m0      Cortex-M0, qemu-system-arm -M microbit (16 KiB RAM): library +
#           smoke test
#   armhf   arm-linux-gnueabihf under qemu-arm: every unit test, then the
#           cross-built runneld with no flags serves 1,000 clients and stops
#           on SIGTERM (runneld_check)
#   mips    mips-linux-gnu (big-endian) under qemu-mips: the same
#   size    tools/size-report.sh (code size per Cortex-M target; reported,
#           fails only if it cannot build)
#   consumers  tests/consumers/run.sh: cmake --install of a default build,
#           then add_subdirectory (full and engine-only), FetchContent,
#           find_package, pkg-config and a plain Makefile consumer, each a
#           project outside the tree
#   deb     tools/package-test.sh: dpkg-buildpackage, apt-get install, runneld
#           started as the unit's ExecStart (runnel user, NOTIFY_SOCKET,
#           private network namespace) answers redis-cli, systemd-analyze
#           verify, purge leaves nothing (needs root); then the armhf and
#           arm64 packages cross-built (dpkg-buildpackage -a) and checked
#
# Sanitizers and -Werror are the project's test options, not its defaults
# (a plain build is a production build): every stage here asks for them
# explicitly, -Werror everywhere, ASan+UBSan on the host.
#
# Every stage runs even if an earlier one failed; the summary at the end
# lists each stage with its result and time. Exit status 0 only if every
# stage passed. Packages: see .ci/run (it installs them on a fresh Debian 12).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${RUNNEL_TEST_DIR:-$root/build-test}
jobs=${JOBS:-2}
all_stages=(host bench m3 m0 armhf mips size consumers deb)
if [ $# -gt 0 ]; then
    stages=("$@")
else
    stages=("${all_stages[@]}")
fi
mkdir -p "$out"

declare -a summary=()
failed=0

# run_stage <name> <function>: runs it, times it, records PASS/FAIL.
run_stage() {
    local name=$1 fn=$2 start end rc
    echo
    echo "=================================================================="
    echo "== stage $name"
    echo "=================================================================="
    start=$(date +%s)
    "$fn"
    rc=$?
    end=$(date +%s)
    if [ $rc -eq 0 ]; then
        summary+=("$(printf '%-9s PASS  %4ss' "$name" $((end - start)))")
    else
        summary+=("$(printf '%-9s FAIL  %4ss  (exit %s)' "$name" $((end - start)) $rc)")
        failed=1
    fi
}

# Cross builds are optimised as firmware would be, but keep assert() live
# (no NDEBUG). CMAKE_C_FLAGS itself must stay untouched: the toolchain files
# put -mcpu etc. there.
cross_o2=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g" -DRUNNEL_WERROR=ON)
cross_os=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-Os -g" -DRUNNEL_WERROR=ON)
# The host test build: unoptimised with symbols and assert() live, ASan +
# UBSan, -Werror.
host_dev=(-DCMAKE_BUILD_TYPE=Debug -DRUNNEL_SANITIZE=ON -DRUNNEL_WERROR=ON)

# configure_build_ctest <dir> <cmake args...>: configure, build, run ctest.
configure_build_ctest() {
    local dir=$1
    shift
    cmake -S "$root" -B "$dir" "$@" >"$dir.configure.log" 2>&1 || {
        cat "$dir.configure.log"
        echo "configure failed: $dir"
        return 1
    }
    cmake --build "$dir" -j"$jobs" || { echo "build failed: $dir"; return 1; }
    ctest --test-dir "$dir" -j"$jobs" --output-on-failure
}

stage_host() {
    configure_build_ctest "$out/host" "${host_dev[@]}"
}

stage_bench() {
    local dir=$out/host
    [ -f "$dir/CMakeCache.txt" ] || cmake -S "$root" -B "$dir" "${host_dev[@]}" >"$dir.configure.log" 2>&1 || return 1
    cmake --build "$dir" --target bench_core bench_mount bench_retention -j"$jobs" || return 1
    "$dir/bench_core" --quick || return 1
    "$dir/bench_mount" --quick || return 1
    "$dir/bench_retention" --quick
}

stage_m3() {
    configure_build_ctest "$out/m3" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
        -DBOARD=mps2-an385 "${cross_o2[@]}"
}

stage_m0() {
    configure_build_ctest "$out/m0" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
        -DBOARD=microbit "${cross_os[@]}"
}

# runneld_check <binary> <emulator...>: the cross-built broker under
# qemu-user, started with NO flags (so on port 6379, in a private network
# namespace: tests/host/runneld_netns.sh), serves 1,000 concurrent clients
# (PING + XADD each, every reply checked, XLEN 1000) and stops on SIGTERM;
# then sizes that would wrap a 32-bit size_t are refused
# (tests/host/runneld_mem.py many / overflow). Each run is bounded in time.
runneld_check() {
    local bin=$1 rc=0
    shift
    [ -x "$bin" ] || { echo "runneld check: $bin was not built"; return 1; }
    timeout 300 sh "$root/tests/host/runneld_netns.sh" python3 "$root/tests/host/runneld_mem.py" \
        many --runneld "$bin" --emulator "$*" || rc=1
    timeout 300 python3 "$root/tests/host/runneld_mem.py" overflow --runneld "$bin" \
        --emulator "$*" || rc=1
    if [ $rc -eq 0 ]; then
        echo "runneld check under $1: PASS (no flags, 1,000 clients, SIGTERM; overflow cases)"
    else
        echo "runneld check under $1: FAIL"
    fi
    return $rc
}

stage_armhf() {
    configure_build_ctest "$out/armhf" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-linux-gnueabihf.cmake" \
        "${cross_o2[@]}" || return 1
    runneld_check "$out/armhf/tools/runneld/runneld" qemu-arm -L /usr/arm-linux-gnueabihf
}

stage_mips() {
    configure_build_ctest "$out/mips" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mips-linux-gnu.cmake" \
        "${cross_o2[@]}" || return 1
    runneld_check "$out/mips/tools/runneld/runneld" qemu-mips -L /usr/mips-linux-gnu
}

stage_size() {
    "$root/tools/size-report.sh" "$out/size"
}

stage_consumers() {
    rm -rf "$out/consumers"
    JOBS=$jobs "$root/tests/consumers/run.sh" "$out/consumers"
}

stage_deb() {
    local rc=0 arch
    rm -rf "$out/deb" "$out"/deb-*
    JOBS=$jobs "$root/tools/package-test.sh" "$out/deb" || rc=1
    # Cross packages for the SBCs (about 20 s each): built and checked, the
    # packaged runneld run once under qemu-user; not installed here.
    for arch in armhf arm64; do
        JOBS=$jobs "$root/tools/package-test.sh" --build-only "$arch" "$out/deb-$arch" || rc=1
    done
    return $rc
}

total_start=$(date +%s)
for s in "${stages[@]}"; do
    case $s in
        host | bench | m3 | m0 | armhf | mips | size | consumers | deb) run_stage "$s" "stage_$s" ;;
        *)
            echo "unknown stage '$s' (stages: ${all_stages[*]})" >&2
            exit 2
            ;;
    esac
done
total_end=$(date +%s)

echo
echo "=================================================================="
echo "== runnel test-all summary ($((total_end - total_start)) s, build dirs in $out)"
for line in "${summary[@]}"; do
    echo "   $line"
done
if [ $failed -eq 0 ]; then
    echo "== ALL STAGES PASSED"
else
    echo "== SOME STAGES FAILED"
fi
echo "=================================================================="
exit $failed
