#!/usr/bin/env bash
# neon-sysroot.sh: prepare what `make test-neon` needs to cross-compile the kernel tests for aarch64 and run
# them under qemu-aarch64. Criterion's arm64 runtime cannot be co-installed with the amd64 one through apt
# (libnanomsg5 is not multi-arch), so its two arm64 packages are unpacked into build/neon-sysroot instead;
# the multi-arch-safe runtime dependencies are installed normally. Run as root.
set -euo pipefail
root=${1:-build/neon-sysroot}
# Criterion forks and re-executes each test binary, so aarch64 executables must run directly: register
# qemu-aarch64 with binfmt_misc (a no-op where it already is).
register_binfmt() {
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && return 0
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
}
if [ -f "$root/.ok" ]; then register_binfmt; exit 0; fi
dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user qemu-user-binfmt \
    libc6:arm64 libgomp1:arm64 libgit2-1.5:arm64 libffi8:arm64 >/dev/null
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download libcriterion3:arm64 libnanomsg5:arm64 >/dev/null 2>&1)
mkdir -p "$root"
for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$root"; done
ln -sf libcriterion.so.3 "$root/usr/lib/aarch64-linux-gnu/libcriterion.so"
rm -rf "$tmp"
register_binfmt
touch "$root/.ok"
echo "neon-sysroot: ready in $root"
