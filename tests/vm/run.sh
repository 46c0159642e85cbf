#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Run one command as root inside a throw-away VM booting Debian's linux-image-amd64 (BPF-LSM is
# in its default LSM list; the development machine refuses LSM programs).
#
#   tests/vm/run.sh [--file SRC[:DEST]]... -- COMMAND [ARGS]
#
# The initramfs holds busybox, every --file (binaries with the shared libraries `ldd` lists)
# and an /init that mounts what the agent needs, runs COMMAND from / and powers off. DEST
# defaults to SRC with a leading "/", so the same relative path works on both sides:
#   tests/vm/run.sh --file .output/tests/bpf/test_probe -- .output/tests/bpf/test_probe
#
# Prints COMMAND's output (stdout and stderr, merged by the serial console) and exits with its
# status. Exit 77: the VM cannot run here (qemu, kernel or busybox missing; reason on stderr),
# for a TAP "1..0 # SKIP". Exit 99: the VM ran but did not boot or the command did not finish.
#
# Environment: PEP_VM_KERNEL (default: newest /boot/vmlinuz-*-amd64; a path, or a series such as
# 6.12 that scripts/vm-kernel.sh fetches into its cache on first use), PEP_VM_TIMEOUT (seconds,
# default 180), PEP_VM_APPEND (more kernel arguments, e.g. "lsm=capability" to boot without
# BPF-LSM), PEP_VM_KEEP=1 (keep the temp dir and the raw console log).
# KVM does not work on the development machine (nested KVM lacks CPU features): TCG only.
set -eu

# The command's status comes back in this line; the start line proves /init ran.
MARK_START="@@pep-vm: start@@"
MARK_EXIT="@@pep-vm: exit="

die() { echo "vm: $*" >&2; exit 99; }
skip() { echo "vm: $*" >&2; exit 77; }
usage() { echo "usage: $0 [--file SRC[:DEST]]... -- COMMAND [ARGS]" >&2; exit 2; }

# Single-quote one word for the guest's sh.
quote() { printf "'%s' " "${1//\'/\'\\\'\'}"; }

files=()
while [ $# -gt 0 ]; do
	case $1 in
	--file) [ $# -ge 2 ] || usage; files+=("$2"); shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || usage

# 1. What the VM needs from the host; missing pieces are a skip, not a failure.
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (package qemu-system-x86)"
command -v cpio >/dev/null || skip "cpio not installed"
busybox=$(command -v busybox) || skip "busybox not installed (package busybox-static)"
case ${PEP_VM_KERNEL:-} in
"")
	kernel=$(printf '%s\n' /boot/vmlinuz-*-amd64 | sort -V | tail -n 1)
	[ -e "$kernel" ] || skip "no /boot/vmlinuz-*-amd64 (package linux-image-amd64)"
	;;
[0-9]*.[0-9]*) # a series: the cached image, fetched on first use; else the script says why
	kernel=$("$(dirname "$0")/../../scripts/vm-kernel.sh" "$PEP_VM_KERNEL" 2>&1) ||
		skip "$(printf '%s\n' "$kernel" | tail -n 1)"
	;;
*)
	kernel=$PEP_VM_KERNEL
	[ -e "$kernel" ] || skip "PEP_VM_KERNEL: no such file: $kernel"
	;;
esac
[ -r "$kernel" ] || skip "$kernel is not readable"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pep-vm.XXXXXX")
qemu_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	# PEP_VM_KEEP=1 keeps the initramfs and the raw console log for a look by hand.
	if [ -n "${PEP_VM_KEEP:-}" ]; then echo "vm: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run}

# Copy a host file to the same path under $root, following symlinks; then its libraries.
# ldd fails on static binaries and non-ELF files: nothing to add then.
add_file() { # SRC DEST
	case /$2/ in */../*) die "--file destination may not contain '..': $2" ;; esac
	[ -f "$1" ] || die "no such file: $1"
	mkdir -p "$root$(dirname "$2")"
	rm -f "$root$2"	# may be a busybox applet link: replace it, do not write through it
	cp -L "$1" "$root$2"
	local lib
	# "libx.so => /path (0x..)" and "/lib64/ld-linux-x86-64.so.2 (0x..)": every absolute path,
	# which includes the dynamic loader.
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
		[ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
	done
}

# 2. The initramfs: busybox and its applets, the files, /init.
add_file "$busybox" /bin/busybox
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
for f in ${files[@]+"${files[@]}"}; do
	src=${f%%:*}
	dest=${f#*:}
	[ "$dest" != "$f" ] || dest=$src
	case $dest in /*) ;; *) dest=/$dest ;; esac
	add_file "$src" "$dest"
done

cmd=""
for arg in "$@"; do cmd+=$(quote "$arg"); done
cat >"$root/init" <<EOF
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Kernel messages would interleave with the command's output: emergencies only.
echo 1 >/proc/sys/kernel/printk
# Kernel 6.1 still charges BPF maps and programs to RLIMIT_MEMLOCK.
ulimit -l unlimited
cd /
echo "$MARK_START"
$cmd </dev/null
echo "$MARK_EXIT\$?@@"
poweroff -f
EOF
chmod 0755 "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$tmp/initramfs.cpio.gz"

# 3. Boot. panic=-1 plus -no-reboot: a crashing guest ends qemu instead of hanging.
timeout_s=${PEP_VM_TIMEOUT:-180}
status=0
# In the background so that a killed run.sh can stop qemu too (see cleanup).
timeout "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 \
	-nographic -no-reboot -kernel "$kernel" -initrd "$tmp/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet panic=-1 ${PEP_VM_APPEND:-}" </dev/null >"$tmp/console" 2>&1 &
qemu_pid=$!
wait "$qemu_pid" || status=$?
qemu_pid=""
# Serial line ends and the firmware's terminal escapes are noise.
tr -d '\r' <"$tmp/console" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1b[a-z]//g' >"$tmp/console.txt"

# 4. The command's output is what lies between the two marks.
if ! grep -qF "$MARK_START" "$tmp/console.txt"; then
	tail -n 20 "$tmp/console.txt" >&2
	[ "$status" -ne 124 ] || die "VM did not boot within ${timeout_s}s ($kernel)"
	die "VM did not boot (qemu status $status, $kernel)"
fi
# The firmware's last line shares a line with the start mark; output without a final
# newline shares its last line with the exit mark.
awk -v s="$MARK_START" -v e="$MARK_EXIT" '
	go { i = index($0, e); if (i) { printf "%s", substr($0, 1, i - 1); exit } print; next }
	index($0, s) { go = 1 }' "$tmp/console.txt"
exit_line=$(grep -o "${MARK_EXIT}[0-9]*@@" "$tmp/console.txt" | head -n 1 || true)
if [ -z "$exit_line" ]; then
	[ "$status" -ne 124 ] || die "command did not finish within ${timeout_s}s"
	die "command did not finish: no exit mark (qemu status $status; guest crashed?)"
fi
rc=${exit_line#*"$MARK_EXIT"}
rc=${rc%%@@*}
exit "$rc"
