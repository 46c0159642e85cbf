#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints the path of a Debian kernel image of SERIES for the VM tests (tests/vm/run.sh, with
# PEP_VM_KERNEL=SERIES), fetching it into a cache on first use:
#
#   scripts/vm-kernel.sh 6.12      # the newest linux-image-6.12.*+deb12-amd64, bookworm-backports
#
# Only vmlinuz is kept: the VM boots into an initramfs and loads no modules. Idempotent: a
# cached image is printed without touching the network. Needs no root: apt runs on lists of
# its own in the cache and installs nothing (the host's /boot and apt state stay as they are).
# Exit 77 with the reason on stderr when the image cannot be had (offline, mirror without it).
# Cache: PEP_KERNEL_CACHE, default ${XDG_CACHE_HOME:-$HOME/.cache}/pep/kernels.
set -eu

unavailable() { echo "vm-kernel: $*" >&2; exit 77; }
# apt's first warning or error, else its last line.
apt_said() { grep -m 1 -E '^(W|E):' "$work/log" || tail -n 1 "$work/log"; }

series=${1:-}
case $series in
6.12) suite=bookworm-backports pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
*) echo "usage: $0 6.12" >&2; exit 2 ;;
esac
cache=${PEP_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pep/kernels}

newest_cached() {
	for f in "$cache"/vmlinuz-"$series".*; do
		[ -e "$f" ] && echo "$f"
	done | sort -V | tail -n 1
}
cached=$(newest_cached)
if [ -n "$cached" ]; then
	echo "$cached"
	exit 0
fi
command -v apt-get >/dev/null || unavailable "apt-get missing: cannot fetch a $series kernel"

mkdir -p "$cache"
work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/parts"
echo "deb http://deb.debian.org/debian $suite main" >"$work/sources.list"
set -- -o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts="$work/parts" \
	-o Dir::State::Lists="$work/lists" -o Dir::Cache="$work" -o APT::Sandbox::User="$(id -un)"
apt-get "$@" -q --error-on=any update >"$work/log" 2>&1 ||
	unavailable "cannot reach $suite (offline?): $(apt_said)"
package=$(apt-cache "$@" pkgnames linux-image-"$series". | grep -E "$pattern" | sort -V |
	tail -n 1 || true)
[ -n "$package" ] || unavailable "no linux-image-$series.* in $suite"
(cd "$work" && apt-get "$@" -q download "$package") >>"$work/log" 2>&1 ||
	unavailable "cannot download $package: $(apt_said)"
dpkg-deb --fsys-tarfile "$work"/"$package"_*.deb | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
for image in "$work"/boot/vmlinuz-*; do
	mv "$image" "$cache/"	# a rename: a concurrent run sees the whole image or none
done
newest_cached
