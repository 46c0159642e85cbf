# SPDX-License-Identifier: Apache-2.0
# Shell helpers shared by the demo and the end-to-end tests. Source it with `here` set to the
# top of the tree and `out` to the build directory (read once, here).

pep_bin="$here/${out:-.output}"

# pepctl talking to the agent at $SOCK (the caller's admin socket).
pepctl() { "$pep_bin/pepctl" --socket "$SOCK" "$@"; }
# A TCP port free on 127.0.0.1 now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The cgroup v2 and bpffs mounts, wherever the system put them (/proc/mounts).
cgroup2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }
bpffs_mount() { awk '$3 == "bpf" { print $2; exit }' /proc/mounts; }

# pep_require_kernel [TOOL...]: what the end-to-end tests need (root, cgroup v2, bpffs, the
# system's python3, openssl, and each TOOL), or a TAP skip that says what is missing. Sets
# cgroot and bpffs.
pep_require_kernel() {
	local why= tool
	[ "$(id -u)" -eq 0 ] || why="needs root (BPF, cgroups)"
	cgroot=$(cgroup2_mount)
	bpffs=$(bpffs_mount)
	[ -n "$why" ] || [ -n "$cgroot" ] || why="cgroup v2 is not mounted"
	[ -n "$why" ] || [ -n "$bpffs" ] || why="bpffs is not mounted (scripts/kernel-setup.sh)"
	[ -n "$why" ] || [ -x /usr/bin/python3 ] || why="/usr/bin/python3 missing"
	for tool in openssl "$@"; do
		[ -n "$why" ] || command -v "$tool" >/dev/null || why="$tool missing"
	done
	[ -z "$why" ] && return 0
	echo "1..0 # SKIP $why"
	exit 0
}

# pep_test_dirs NAME: a test's own places, all named after NAME and removed by its cleanup: W (a
# new directory under /tmp), CG (its cgroup under cgroot), PINS (its pin root under bpffs),
# SOCK (the admin socket of its agent, in W). After pep_require_kernel.
pep_test_dirs() {
	W=$(mktemp -d "/tmp/pep-$1-test.XXXXXX")
	CG="$cgroot/pep-$1-test-$$"
	PINS="$bpffs/pep-$1-test-$$"
	SOCK="$W/admin.sock"
}

# pep_remove_test_dirs: what pep_test_dirs named, for a test's cleanup once its own processes
# are stopped: the processes left in CG and the cgroups under it, then CG, PINS and W (kept
# with PEP_TEST_KEEP set).
pep_remove_test_dirs() {
	pep_remove_cgroup "$CG"
	rm -rf "$PINS"
	[ -n "${PEP_TEST_KEEP:-}" ] || rm -rf "$W"
}

# pep_sign OUT TEMPLATE PKI [variant.py args]: the template, changed by variant.py, signed by
# the provider and the consumer of the test PKI in PKI (tests/vectors/mkpki.sh).
pep_sign() {
	local dest=$1 template=$2 pki=$3 p=91110000100000000X c=91310000MA1K00001B
	shift 3
	"$here/tests/vectors/variant.py" "$template" "$dest.unsigned" "$@" &&
		"$here/tests/vectors/sign.py" "$dest.unsigned" "$dest" \
			--party "$p:$pki/$p.key:$pki/$p.crt" \
			--party "$c:$pki/$c.key:$pki/$c.crt" >/dev/null &&
		rm -f "$dest.unsigned"
}

# pep_sign_product OUT TEMPLATE PKI PRODUCT [variant.py args]: pep_sign, for another data
# product: the one of each of file-app-count-delete.json's four policies becomes PRODUCT.
pep_sign_product() {
	local dest=$1 template=$2 pki=$3 product=$4
	local path='contractPolicies.%sPolicies[%d].subjectInfo.dataProductId="%s"'
	shift 4
	# shellcheck disable=SC2059 # the format is the path above
	pep_sign "$dest" "$template" "$pki" \
		--set "$(printf "$path" permission 0 "$product")" \
		--set "$(printf "$path" prohibition 0 "$product")" \
		--set "$(printf "$path" obligation 0 "$product")" \
		--set "$(printf "$path" obligation 1 "$product")" "$@"
}

# pep_start_agent STATE PINS SOCKET TRUST CGROUP LOG [FLAG...]: starts pep-agent in the
# background (its pid in agent_pid) and waits until it answers on its admin socket.
pep_start_agent() {
	local log=$6
	"$pep_bin/pep-agent" --state-dir "$1" --bpffs-dir "$2" --admin-socket "$3" \
		--trust "$4" --cgroup "$5" "${@:7}" 2>>"$log" &
	agent_pid=$!
	for _ in $(seq 100); do
		"$pep_bin/pepctl" --socket "$3" status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# pep_remove_cgroup CGROUP: kills what runs in CGROUP and below it (cgroup.kill is recursive;
# the agent puts its workload cgroups under the guarded one), then removes them, deepest first.
pep_remove_cgroup() {
	[ -d "$1" ] || return 0
	echo 1 >"$1/cgroup.kill" 2>/dev/null
	for _ in $(seq 50); do # killed processes leave their cgroups asynchronously
		find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$1" ] || return 0
		sleep 0.1
	done
	return 1
}

# pep_in_cgroup CGROUP CMD...: runs CMD as a process of CGROUP (the guarded one).
pep_in_cgroup() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"; }

# pep_cat FILE: cat in a subshell that takes the shell's "Killed" notice (status 137 stays).
pep_cat() { (/usr/bin/cat "$1"; exit $?) 2>/dev/null; }

# pep_proof_split TERMINATED DIR: the destruction proof in TERMINATED (what `pepctl --json
# terminate` printed) as files for checks independent of the agent's code: DIR/proof.bin (what
# was signed: the proof without its signature, canonical JSON), proof.sig, node.pub (the
# signer's public key) and proof.paths (the names of the files deleted, sorted, then
# "complete" if the proof says so).
pep_proof_split() {
	python3 - "$1" "$2" <<'PY'
import base64, json, sys
proof = json.load(open(sys.argv[1]))["proof"]
d = sys.argv[2]
sig = proof.pop("signature")
open(d + "/proof.bin", "wb").write(json.dumps(proof, sort_keys=True, separators=(",", ":"),
                                              ensure_ascii=False).encode())
open(d + "/proof.sig", "wb").write(base64.b64decode(sig))
open(d + "/node.pub", "w").write(proof["signer"]["publicKey"])
paths = sorted(f["path"].rsplit("/", 1)[1] for f in proof["files"] if f["deleted"])
open(d + "/proof.paths", "w").write(" ".join(paths) + (" complete" if proof["complete"] else ""))
PY
}

# pep_proof_verifies DIR: the signature of the proof pep_proof_split put in DIR, by openssl.
pep_proof_verifies() {
	openssl pkeyutl -verify -pubin -inkey "$1/node.pub" -rawin -in "$1/proof.bin" \
		-sigfile "$1/proof.sig" >/dev/null 2>&1
}
