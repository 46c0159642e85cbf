#!/bin/sh
# Install every Debian package the project needs: build, tests, VM tests, benchmarks.
# Idempotent and non-interactive; safe to run on a machine that already has them.
set -eu

PACKAGES="
build-essential pkg-config clang llvm lld libclang-rt-14-dev
libbpf-dev bpftool libelf-dev zlib1g-dev
libcjson-dev libssl-dev openssl libgcrypt20-dev libseccomp-dev
libevent-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev librdkafka-dev
libcmocka-dev perl python3 curl iproute2 nftables util-linux
qemu-system-x86 linux-image-amd64 busybox-static cpio
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
