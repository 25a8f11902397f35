#!/usr/bin/env bash
# package-test.sh - the Debian package as an operator gets it: build it from
# the tree, install it with apt, start runneld exactly as the systemd unit
# would, talk to it with redis-cli, stop it, purge it, check nothing is left.
#
#   tools/package-test.sh [WORK_DIR]        native (Debian 12, as root)
#   tools/package-test.sh --build-only ARCH [WORK_DIR]
#                                           cross build only (armhf, arm64):
#                                           dpkg-buildpackage -aARCH, then
#                                           checks the .deb's files and ELF
#                                           machine (nothing is installed)
#   env: JOBS (default 2)
#
# Native steps, each checked:
#   1. dpkg-buildpackage -us -uc -b in a copy of the tree (the shared tree
#      gets no obj-*/ or debian/tmp); the package version is
#      RUNNEL_VERSION_STRING of core/runnel.h
#   2. apt-get install ./runnel_*.deb ./librunnel-dev_*.deb: the runnel
#      user, /var/lib/runnel owned by it, /etc/runnel/runneld.conf (root:runnel
#      0640), the unit enabled (multi-user.target.wants) and not started
#   3. systemd-analyze verify runneld.service (the hardened unit)
#   4. the unit's ExecStart= line, run as its User= in its WorkingDirectory=
#      with a fake $NOTIFY_SOCKET, in a private network namespace (so port
#      6379 of the conf is free): READY=1 arrives, redis-cli PING, XADD,
#      XRANGE, INFO server (runnel_version), the store file owned by runnel;
#      SIGTERM stops it with exit 0
#   5. a find_package(runnel) consumer builds against librunnel-dev in /usr
#   6. apt-get purge: no package files, /etc/runnel, /var/lib/runnel,
#      /var/log/runnel or enablement symlink left
# Exit 0 only if every check passed. Needs: debhelper, dpkg-dev, fakeroot,
# cmake, gcc, redis-tools, systemd (for systemd-analyze), python3, util-linux.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
cross=""
if [ "${1:-}" = "--build-only" ]; then
    cross=${2:?--build-only needs an architecture (armhf, arm64)}
    shift 2
fi
if [ $# -gt 0 ]; then
    work=$1
    mkdir -p "$work"
    keep=1
else
    work=$(mktemp -d /tmp/runnel-package.XXXXXX)
    keep=0
fi
fails=()
check() {   # check <what> <command...>
    local what=$1
    shift
    if "$@"; then
        echo "  ok   $what"
    else
        echo "  FAIL $what"
        fails+=("$what")
    fi
}
finish() {
    if [ ${#fails[@]} -eq 0 ]; then
        echo "package-test${cross:+ ($cross)}: PASS"
        [ $keep -eq 1 ] || rm -rf "$work"
        exit 0
    fi
    echo "package-test${cross:+ ($cross)}: FAIL: ${fails[*]} (work dir $work)"
    exit 1
}

version=$(sed -n 's/^#define RUNNEL_VERSION_STRING "\(.*\)"$/\1/p' "$root/core/runnel.h")
deb_version=$(dpkg-parsechangelog -l "$root/debian/changelog" -S Version)
check "debian/changelog version ($deb_version) is RUNNEL_VERSION_STRING ($version)" \
    test "$deb_version" = "$version"

# 1. Build in a copy: the tree as it is (tracked and new files), no build dirs.
src=$work/src
rm -rf "$src"
mkdir -p "$src"
tar -C "$root" --exclude='./build*' --exclude='./.git' --exclude='./obj-*' -cf - . | tar -C "$src" -xf -
echo "== dpkg-buildpackage${cross:+ -a$cross} in $src"
arch_args=()
[ -z "$cross" ] || arch_args=(-a"$cross" -d)
t0=$(date +%s)
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs nocheck" dpkg-buildpackage -us -uc -b \
        "${arch_args[@]}" >"$work/dpkg-buildpackage.log" 2>&1); then
    tail -40 "$work/dpkg-buildpackage.log"
    fails+=("dpkg-buildpackage")
    finish
fi
echo "  built in $(( $(date +%s) - t0 )) s: $(cd "$work" && ls ./*.deb | tr '\n' ' ')"
arch=${cross:-$(dpkg --print-architecture)}
deb=$work/runnel_${version}_${arch}.deb
dev=$work/librunnel-dev_${version}_${arch}.deb
check "runnel_${version}_${arch}.deb exists" test -f "$deb"
check "librunnel-dev_${version}_${arch}.deb exists" test -f "$dev"
[ -f "$deb" ] && [ -f "$dev" ] || finish
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/runneld ./etc/runnel/runneld.conf ./lib/systemd/system/runneld.service \
    ./usr/share/doc/runnel/README.md ./usr/share/doc/runnel/docs/porting.md \
    ./usr/share/doc/runnel/examples/runneld.conf; do
    # dh_compress gzips the larger documents
    check "runnel.deb has $f" grep -Eq " $f(\.gz)?\$" <<<"$contents"
done
if [ -z "$cross" ]; then
    check "runnel.deb has the man page" grep -Eq " ./usr/share/man/man1/runneld.1.gz\$" <<<"$contents"
    if grep -q " ./usr/bin/runnel-inspect\$" <<<"$contents"; then
        check "runnel.deb has runnel-inspect and its man page" \
            grep -Eq " ./usr/share/man/man1/runnel-inspect.1.gz\$" <<<"$contents"
    fi
fi
devcontents=$(dpkg-deb -c "$dev")
for f in ./usr/include/runnel/runnel.h librunnel.a cmake/runnel/runnelConfig.cmake pkgconfig/runnel.pc; do
    check "librunnel-dev.deb has $f" grep -q "$f\$" <<<"$devcontents"
done
check "no internal header in librunnel-dev" bash -c "! grep -q 'include/runnel/internal.h' <<<'$devcontents'"

if [ -n "$cross" ]; then
    x=$work/x
    rm -rf "$x"
    dpkg-deb -x "$deb" "$x"
    case $cross in
        armhf) want="ARM," ;;
        arm64) want="ARM aarch64" ;;
        *) want="" ;;
    esac
    check "usr/bin/runneld is a $cross executable" grep -q "$want" <<<"$(file -b "$x/usr/bin/runneld" 2>/dev/null || readelf -h "$x/usr/bin/runneld")"
    check "Architecture: $cross" test "$(dpkg-deb -f "$deb" Architecture)" = "$cross"
    depends=$(dpkg-deb -f "$deb" Depends)
    echo "  Depends: $depends"
    check "Depends names libc6 without an arch qualifier" grep -Eq '(^|, )libc6 \(' <<<"$depends"
    # Run it where qemu-user can: --version from the packaged binary.
    case $cross in
        armhf) qemu=qemu-arm; sysroot=/usr/arm-linux-gnueabihf ;;
        arm64) qemu=qemu-aarch64; sysroot=/usr/aarch64-linux-gnu ;;
        *) qemu=""; sysroot="" ;;
    esac
    if [ -n "$qemu" ] && command -v "$qemu" >/dev/null && [ -d "$sysroot" ]; then
        check "$qemu: the packaged runneld --version says $version" bash -c \
            "'$qemu' -L '$sysroot' '$x/usr/bin/runneld' --version | grep -q 'v=$version '"
    fi
    finish
fi

# 2. Install. Never over a runnel someone installed (purge would delete its
# store): this test installs, and purges on every way out, only its own.
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
    echo "  FAIL installing the package needs root (apt-get); --build-only does not"
    fails+=("root")
    finish
fi
for p in runnel librunnel-dev; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        echo "  FAIL $p is already installed on this machine: not touching it (apt-get purge $p, then re-run)"
        fails+=("$p already installed")
        finish
    fi
done
installed=0
purge_ours() {
    if [ $installed -eq 1 ]; then
        apt-get purge -y -q runnel librunnel-dev </dev/null >>"$work/purge.log" 2>&1
        installed=0
    fi
}
trap purge_ours EXIT
echo "== apt-get install $deb $dev"
if ! apt-get install -y -q --no-install-recommends "$deb" "$dev" </dev/null >"$work/apt-install.log" 2>&1; then
    tail -30 "$work/apt-install.log"
    fails+=("apt-get install")
    installed=1
    finish
fi
installed=1
check "runnel user exists" bash -c "getent passwd runnel >/dev/null"
check "/var/lib/runnel owned by runnel" test "$(stat -c %U /var/lib/runnel 2>/dev/null)" = runnel
check "/etc/runnel/runneld.conf is root:runnel 0640" \
    test "$(stat -c '%U:%G %a' /etc/runnel/runneld.conf 2>/dev/null)" = "root:runnel 640"
check "unit enabled (multi-user.target.wants/runneld.service)" \
    test -L /etc/systemd/system/multi-user.target.wants/runneld.service
check "runneld not started by the installation" bash -c '! pgrep -u runnel >/dev/null'
check "runneld --version says $version" bash -c "/usr/bin/runneld --version | grep -q 'v=$version '"
unit=/lib/systemd/system/runneld.service

# 3. The unit, as systemd would read it.
if command -v systemd-analyze >/dev/null; then
    check "systemd-analyze verify runneld.service" bash -c \
        "systemd-analyze verify '$unit' >'$work/verify.log' 2>&1 || { cat '$work/verify.log'; false; }"
    cat "$work/verify.log" 2>/dev/null
else
    echo "  FAIL systemd-analyze not installed (apt-get install systemd)"
    fails+=("systemd-analyze")
fi

# 4. ExecStart as the unit runs it: User=, WorkingDirectory=, NOTIFY_SOCKET.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
wdir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
echo "== ExecStart=$exec_start (User=$user, WorkingDirectory=$wdir)"
check "the unit runs as runnel" test "$user" = runnel
cat >"$work/run-unit.sh" <<EOS
set -u
cd "$wdir" || exit 1
python3 "$root/tools/package-notify.py" "$work/notify.sock" "$work/ready" 120 &
npid=\$!
for i in \$(seq 1 200); do [ -S "$work/notify.sock" ] && break; sleep 0.05; done
NOTIFY_SOCKET="$work/notify.sock" setpriv --reuid "$user" --regid "$user" --init-groups $exec_start &
rpid=\$!
trap 'kill \$rpid \$npid 2>/dev/null' EXIT   # whatever happens, nothing of ours keeps running
# Until READY=1 arrives, runneld exits, or the listener gives up.
while [ ! -e "$work/ready" ] && kill -0 \$rpid 2>/dev/null && kill -0 \$npid 2>/dev/null; do
    sleep 0.05
done
if [ ! -e "$work/ready" ]; then
    echo "no READY=1 from runneld"
    kill \$npid \$rpid 2>/dev/null
    exit 1
fi
wait \$npid
rc=0
[ "\$(redis-cli PING)" = PONG ] || { echo "PING failed"; rc=1; }
id=\$(redis-cli XADD sensors '*' temp 21.5)
[ -n "\$id" ] || { echo "XADD failed"; rc=1; }
redis-cli XRANGE sensors - + | grep -qx 21.5 || { echo "XRANGE does not return the entry"; rc=1; }
redis-cli INFO server | grep -q "^runnel_version:$version" || { echo "INFO server runnel_version"; rc=1; }
redis-cli INFO server | grep -q "^process_supervised:systemd" || { echo "INFO server process_supervised"; rc=1; }
[ "\$(stat -c %U "$wdir/runnel.store")" = "$user" ] || { echo "store file not owned by $user"; rc=1; }
[ "\$(ps -o user= -p \$rpid)" = "$user" ] || { echo "runneld not running as $user"; rc=1; }
kill -TERM \$rpid
wait \$rpid || { echo "runneld exit status \$? after SIGTERM"; rc=1; }
exit \$rc
EOS
check "runneld started as ExecStart= (READY=1, PING, XADD/XRANGE, INFO, SIGTERM)" \
    timeout 300 unshare -n sh -c 'ip link set lo up && exec bash "$0"' "$work/run-unit.sh"

# 5. librunnel-dev from /usr.
check "find_package(runnel) consumer against /usr" bash -c \
    "cmake -S '$root/tests/consumers/find_package' -B '$work/consumer' >'$work/consumer.log' 2>&1 &&
     cmake --build '$work/consumer' >>'$work/consumer.log' 2>&1 && '$work/consumer/app' ||
     { cat '$work/consumer.log'; false; }"

# 6. Purge.
echo "== apt-get purge runnel librunnel-dev"
check "apt-get purge" bash -c "apt-get purge -y -q runnel librunnel-dev </dev/null >'$work/purge.log' 2>&1"
installed=0
for p in /usr/bin/runneld /etc/runnel /var/lib/runnel /var/log/runnel "$unit" \
    /etc/systemd/system/multi-user.target.wants/runneld.service /usr/include/runnel; do
    check "gone after purge: $p" test ! -e "$p" -a ! -L "$p"
done
check "dpkg knows no runnel" bash -c "! dpkg-query -W -f='\${Status}' runnel 2>/dev/null | grep -q installed"
finish
