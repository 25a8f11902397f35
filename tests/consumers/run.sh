#!/usr/bin/env bash
# run.sh - builds runnel the five ways a user consumes it, each a project of
# its own outside the tree (in a temporary directory), and runs the result:
#
#   install          cmake --install of a default (production) build into a
#                    prefix; checks the files a user and a packager expect
#                    and that no internal header is installed
#   add_subdirectory the tree vendored into a parent project; also MINIMAL
#                    (engine only: librunnel.a has no RESP or command code)
#   fetchcontent     FetchContent_Declare(SOURCE_DIR <tree>)
#   find_package     find_package(runnel 0.1) against the install
#   pkg-config       cc $(pkg-config --cflags --libs runnel) against the install
#   makefile         a plain Makefile against the install
#
#   tests/consumers/run.sh [WORK_DIR]     (default: a fresh mktemp -d, removed
#                                          on success)
#   env: JOBS (default 2), CC
# Exit 0 only if every consumer built and its program checked its results.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/consumers
jobs=${JOBS:-2}
if [ $# -gt 0 ]; then
    work=$1
    mkdir -p "$work"
    keep=1
else
    work=$(mktemp -d /tmp/runnel-consumers.XXXXXX)
    keep=0
fi
prefix=$work/prefix
failed=()

step() { echo; echo "== consumers: $*"; }
fail() { echo "FAIL: $*"; failed+=("$1"); }

# run_app <label> <binary>: the program checks its own results (exit 0).
run_app() {
    local out
    if out=$("$2" 2>&1); then
        echo "$1: $out"
    else
        echo "$out"
        fail "$1" "program failed"
    fi
}

step "install (default build type, no sanitizers) into $prefix"
if cmake -S "$root" -B "$work/install-build" -DRUNNEL_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX="$prefix" \
        >"$work/install-configure.log" 2>&1 &&
    cmake --build "$work/install-build" -j"$jobs" >"$work/install-build.log" 2>&1 &&
    cmake --install "$work/install-build" >"$work/install.log" 2>&1; then
    grep -q 'CMAKE_BUILD_TYPE:STRING=RelWithDebInfo' "$work/install-build/CMakeCache.txt" ||
        fail install "default build type is not RelWithDebInfo"
    if grep -rqs -- '-fsanitize\|-Werror' "$work/install-build/CMakeFiles/runnel.dir/flags.make"; then
        fail install "a default build has sanitizers or -Werror"
    fi
    for f in include/runnel/runnel.h include/runnel/runnel_err.h include/runnel/runnel_opt.h \
        include/runnel/runnel_port.h include/runnel/ram_bd.h include/runnel/posix_bd.h \
        lib/librunnel.a lib/librunnel_port_ram.a lib/librunnel_port_posix.a \
        lib/cmake/runnel/runnelConfig.cmake lib/cmake/runnel/runnelConfigVersion.cmake \
        lib/cmake/runnel/runnelTargets.cmake lib/pkgconfig/runnel.pc \
        bin/runneld share/man/man1/runneld.1 lib/systemd/system/runneld.service \
        share/doc/runnel/examples/runneld.conf share/doc/runnel/README.md share/doc/runnel/CHANGELOG.md \
        share/doc/runnel/docs/porting.md; do
        [ -e "$prefix/$f" ] || fail install "missing $f"
    done
    if [ -e "$root/tools/runnel-inspect/CMakeLists.txt" ]; then
        for f in bin/runnel-inspect share/man/man1/runnel-inspect.1; do
            [ -e "$prefix/$f" ] || fail install "missing $f"
        done
    fi
    extra=$(cd "$prefix/include/runnel" && ls | grep -vx 'runnel.h\|runnel_err.h\|runnel_opt.h\|runnel_port.h\|ram_bd.h\|posix_bd.h')
    [ -z "$extra" ] || fail install "internal headers installed: $extra"
    grep -q "ExecStart=$prefix/bin/runneld " "$prefix/lib/systemd/system/runneld.service" ||
        fail install "the unit's ExecStart is not this prefix's runneld"
    "$prefix/bin/runneld" --version || fail install "installed runneld --version"
    echo "installed: $(cd "$prefix" && find . -type f | wc -l) files"
else
    tail -30 "$work"/install*.log
    fail install "configure/build/install failed"
fi

# cmake_consumer <label> <project dir> <cmake args...>
cmake_consumer() {
    local label=$1 dir=$2
    shift 2
    step "$label"
    if cmake -S "$dir" -B "$work/$label" "$@" >"$work/$label.configure.log" 2>&1 &&
        cmake --build "$work/$label" -j"$jobs" >"$work/$label.build.log" 2>&1; then
        run_app "$label" "$work/$label/app"
    else
        tail -30 "$work/$label".*.log
        fail "$label" "configure/build failed"
    fi
}

cmake_consumer add_subdirectory "$here/add_subdirectory" -DRUNNEL_SOURCE_DIR="$root"
cmake_consumer add_subdirectory_minimal "$here/add_subdirectory" -DRUNNEL_SOURCE_DIR="$root" -DMINIMAL=ON
lib=$work/add_subdirectory_minimal/runnel/librunnel.a
if [ -f "$lib" ]; then
    # Defined symbols of the RESP codec, the command table or the forwarder
    # must be absent.
    leaked=$(nm -g --defined-only "$lib" | grep -E ' T runnel_(cmd|resp|sync)_' | head -5)
    [ -z "$leaked" ] || fail add_subdirectory_minimal "engine-only library defines: $leaked"
    ls "$work/add_subdirectory_minimal/runnel"/librunnel_port_posix.a >/dev/null 2>&1 &&
        fail add_subdirectory_minimal "built port/posix although RUNNEL_PORT_POSIX=OFF"
    full=$work/add_subdirectory/runnel/librunnel.a
    [ -f "$full" ] && echo "librunnel.a: full $(stat -c %s "$full") B, engine only $(stat -c %s "$lib") B"
fi
cmake_consumer fetchcontent "$here/fetchcontent" -DRUNNEL_SOURCE_DIR="$root"
cmake_consumer find_package "$here/find_package" -DCMAKE_PREFIX_PATH="$prefix"

step "pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
if [ "$(pkg-config --modversion runnel 2>&1)" != "$(sed -n 's/^#define RUNNEL_VERSION_STRING "\(.*\)"/\1/p' "$root/core/runnel.h")" ]; then
    fail pkg-config "runnel.pc version is not RUNNEL_VERSION_STRING"
fi
# shellcheck disable=SC2046
if ${CC:-cc} -std=c11 $(pkg-config --cflags runnel) "$here/app/main.c" -o "$work/pkgconfig-app" \
        $(pkg-config --libs runnel); then
    run_app pkg-config "$work/pkgconfig-app"
else
    fail pkg-config "compile/link failed"
fi

step "plain Makefile"
mkdir -p "$work/makefile"
if make -C "$work/makefile" -f "$here/makefile/Makefile" PREFIX="$prefix" app; then
    run_app makefile "$work/makefile/app"
else
    fail makefile "make failed"
fi

echo
if [ ${#failed[@]} -eq 0 ]; then
    echo "consumers: PASS (install, add_subdirectory, add_subdirectory_minimal, fetchcontent, find_package, pkg-config, makefile)"
    [ $keep -eq 1 ] || rm -rf "$work"
    exit 0
fi
echo "consumers: FAIL: ${failed[*]} (logs in $work)"
exit 1
