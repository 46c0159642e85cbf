// SPDX-License-Identifier: Apache-2.0
/*
 * UDP sendto() to loopback with and without the net guard (make bench; root), and the same
 * rule set in nftables for comparison.
 *
 * This process sits in a cgroup of its own and sends 16 bytes to a socket on 127.0.0.1.
 * For 1k and 100k CIDR rules (an allow-list of slot 0: distinct /24 and /32 prefixes plus
 * 127.0.0.1/32, so every send is looked up and allowed), each round measures, in an order
 * that alternates:
 *   without   no program attached (the guard unpinned and destroyed: detached)
 *   holder    the guard attached to our cgroup, this process a holder of slot 0
 *   other     the guard attached, this process not a holder (the path everyone else takes)
 *   empty     a program that only returns "allow", attached to sendmsg4 instead: the floor
 *             any cgroup program costs on this kernel, which no rule set can go below
 * and then nftables: an output chain with `ip daddr != @allowed udp dport PORT drop` over
 * an interval set of the same prefixes (our packets do one set lookup and pass; other
 * traffic of the machine is never dropped, the port does not match) against no chain.
 * Ratios are medians of per-send batch times. Pin to one core: run.sh uses taskset.
 * Pins live on a private bpffs in a private mount namespace; the nft table is ours and
 * deleted at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#include "bpf/holders.h"
#include "bpf/net_guard.h"
#include "agent/net_guard.h"

#define BATCH	2000 /* sends per timed batch */
#define BATCHES 10   /* per round and mode */
#define ROUNDS	11
#define PIN	"/sys/fs/bpf/pep-net-bench"
#define TABLE	"inet pep_net_bench"

enum mode { WITHOUT, HOLDER, OTHER, EMPTY, NFT_WITHOUT, NFT_WITH, MODES };

static double samples[MODES][ROUNDS * BATCHES];
static int n_samples[MODES];
static int tx = -1, rx = -1;
static struct sockaddr_in dst;
static char cgroup[PATH_MAX], home[PATH_MAX], nft_file[64];

static void die(const char *what)
{
	fprintf(stderr, "net_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Prefix i of the rule set: /24s and /32s in 10.0.0.0 upwards, 512 addresses apart so
 * none overlaps (nftables refuses overlapping intervals). */
static void prefix(int i, struct in_addr *a, unsigned int *len)
{
	a->s_addr = htonl((10u << 24) + ((__u32)i << 9) + (i & 1));
	*len = i & 1 ? 32 : 24;
}

static void measure(enum mode m)
{
	char buf[64];
	double t0;
	int b, i;

	for (b = 0; b < BATCHES; b++) {
		t0 = now_ns();
		for (i = 0; i < BATCH; i++)
			if (sendto(tx, "sixteen bytes...", 16, 0, (struct sockaddr *)&dst,
				   sizeof(dst)) != 16)
				die("sendto");
		samples[m][n_samples[m]++] = (now_ns() - t0) / BATCH;
		while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			; /* drained outside the timing */
	}
}

/* ---- the net guard -------------------------------------------------------------------- */

static struct net_guard *guard_up(int n_rules)
{
	struct net_guard_opts o = { .pin_root = PIN, .cgroup = cgroup, .max_cidrs = n_rules + 1 };
	struct net_guard *ng = net_guard__open(&o);
	struct in_addr a = { htonl(INADDR_LOOPBACK) };
	unsigned int len;
	int i, err;

	if (!ng)
		die("net guard");
	err = net_guard__add_cidr(ng, 0, AF_INET, &a, 32);
	for (i = 0; !err && i < n_rules; i++) {
		prefix(i, &a, &len);
		err = net_guard__add_cidr(ng, 0, AF_INET, &a, len);
	}
	if (!err)
		err = net_guard__set_mode(ng, 0, NET_MODE_ALLOW);
	if (err) {
		errno = -err;
		die("rules");
	}
	return ng;
}

/* Unpinned and destroyed, the programs are detached and the rules gone. */
static void guard_down(struct net_guard *ng)
{
	(void)net_guard__unpin(ng);
	net_guard__destroy(ng);
	(void)unlink(PIN "/holders");
}

static void set_holder(struct net_guard *ng, int on)
{
	__u32 pid = getpid();
	int fd;

	if (on) {
		if (net_guard__mark_holder(ng, getpid(), 0))
			die("mark holder");
		return;
	}
	fd = bpf_obj_get(PIN "/holders");
	if (fd < 0 || (bpf_map_delete_elem(fd, &pid) && errno != ENOENT))
		die("unmark holder");
	close(fd);
}

/* r0 = 1 (allow); exit: a cgroup sendmsg4 program that does nothing. */
static void measure_empty(void)
{
	const struct bpf_insn allow[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_CGROUP_UDP4_SENDMSG);
	int prog = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "empty_sendmsg4", "GPL", allow, 2,
				 &o);
	int cg = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (prog < 0 || cg < 0 || bpf_prog_attach(prog, cg, BPF_CGROUP_UDP4_SENDMSG, 0))
		die("empty program");
	measure(EMPTY);
	if (bpf_prog_detach2(prog, cg, BPF_CGROUP_UDP4_SENDMSG))
		die("empty program detach");
	close(cg);
	close(prog);
}

static void bpf_round(int r, int n_rules)
{
	int k;

	for (k = 0; k < 2; k++) {
		if ((r + k) % 2 == 0) {
			measure(WITHOUT);
			measure_empty();
		} else {
			struct net_guard *ng = guard_up(n_rules);

			set_holder(ng, r % 2);
			measure(r % 2 ? HOLDER : OTHER);
			set_holder(ng, !(r % 2));
			measure(r % 2 ? OTHER : HOLDER);
			guard_down(ng);
		}
	}
}

/* ---- nftables ------------------------------------------------------------------------- */

/* Runs an nft script; its messages are dropped, the caller says what failed. */
static int nft(const char *script)
{
	FILE *p = popen("nft -f - 2>/dev/null", "w");

	if (!p)
		return -1;
	fputs(script, p);
	return pclose(p) == 0 ? 0 : -1;
}

/* Our table with the set of the same prefixes, loaded from a file in chunks. */
static int nft_up(int n_rules)
{
	char cmd[128];
	struct in_addr a;
	unsigned int len;
	FILE *f = fopen(nft_file, "w");
	int i, err;

	if (!f)
		return -1;
	fprintf(f, "add table " TABLE "\n"
		   "add set " TABLE " allowed { type ipv4_addr; flags interval; }\n"
		   "add element " TABLE " allowed { 127.0.0.1/32 }\n");
	for (i = 0; i < n_rules; i++) {
		prefix(i, &a, &len);
		fprintf(f, "%s%s/%u%s", i % 4096 ? ", " : "add element " TABLE " allowed { ",
			inet_ntoa(a), len, i % 4096 == 4095 || i == n_rules - 1 ? " }\n" : "");
	}
	if (fclose(f))
		return -1;
	snprintf(cmd, sizeof(cmd), "nft -f %s 2>/dev/null", nft_file);
	err = system(cmd);
	(void)unlink(nft_file);
	return err ? -1 : 0;
}

static void nft_chain(int on)
{
	char script[256];

	if (on)
		snprintf(script, sizeof(script),
			 "add chain " TABLE " out { type filter hook output priority 0; }\n"
			 "add rule " TABLE " out ip daddr != @allowed udp dport %u drop\n",
			 ntohs(dst.sin_port));
	else
		snprintf(script, sizeof(script),
			 "flush chain " TABLE " out\ndelete chain " TABLE " out\n");
	if (nft(script))
		die("nft chain");
}

static void nft_round(int r)
{
	int k;

	for (k = 0; k < 2; k++) {
		if ((r + k) % 2 == 0) {
			measure(NFT_WITHOUT);
		} else {
			nft_chain(1);
			measure(NFT_WITH);
			nft_chain(0);
		}
	}
}

/* ---- set-up and report ---------------------------------------------------------------- */

static void write_pid(const char *dir)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
		die(path);
}

/* Into a cgroup of our own under the cgroup v2 mount (found in /proc/mounts), remembering
 * where we were. Sockets are made after: a socket belongs to its creator's cgroup. */
static void cgroup_up(void)
{
	char line[PATH_MAX], mnt[PATH_MAX / 2] = "";
	struct mntent *m;
	FILE *f = setmntent("/proc/mounts", "r");

	while (f && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2") && !mnt[0])
			snprintf(mnt, sizeof(mnt), "%s", m->mnt_dir);
	if (f)
		endmntent(f);
	f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(home, sizeof(home), "%s%s", mnt, line + 3);
		}
	if (f)
		fclose(f);
	if (!mnt[0] || !home[0])
		die("no cgroup v2");
	snprintf(cgroup, sizeof(cgroup), "%s/pep-net-bench-%d", mnt, getpid());
	if (mkdir(cgroup, 0755))
		die(cgroup);
	write_pid(cgroup);
}

static void cgroup_down(void)
{
	write_pid(home);
	(void)rmdir(cgroup);
}

static void sockets_up(void)
{
	socklen_t len = sizeof(dst);
	int big = 64 << 20;

	dst.sin_family = AF_INET;
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&dst, sizeof(dst)) ||
	    getsockname(rx, (struct sockaddr *)&dst, &len))
		die("sockets");
	(void)setsockopt(rx, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(enum mode m)
{
	qsort(samples[m], n_samples[m], sizeof(double), cmp_double);
	return samples[m][n_samples[m] / 2];
}

static void report(int n_rules, int have_nft)
{
	double without = median(WITHOUT), holder = median(HOLDER), other = median(OTHER);
	double empty = median(EMPTY);

	printf("%6d rules  without %5.0f ns  holder %5.0f ns %.3fx  non-holder %5.0f ns %.3fx"
	       "  empty program %5.0f ns %.3fx (holder %.3fx of it)",
	       n_rules, without, holder, holder / without, other, other / without, empty,
	       empty / without, holder / empty);
	if (have_nft)
		printf("  | nftables %5.0f ns vs %5.0f ns %.3fx", median(NFT_WITH),
		       median(NFT_WITHOUT), median(NFT_WITH) / median(NFT_WITHOUT));
	printf("\n");
	memset(n_samples, 0, sizeof(n_samples));
}

int main(int argc, char **argv)
{
	static const int sizes[] = { 1000, 100000 };
	int have_nft = system("nft --version >/dev/null 2>&1") == 0, r, s;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL))
		die("needs root, a private mount namespace and bpffs");
	snprintf(nft_file, sizeof(nft_file), "/tmp/pep-net-bench-%d.nft", getpid());
	cgroup_up();
	sockets_up();
	(void)nft("delete table " TABLE "\n"); /* left by a killed run */
	printf("# UDP sendto 127.0.0.1, 16 bytes; %d rounds x %d batches x %d sends; CPU %d;"
	       " medians of per-send batch times; target holder <= 1.05x\n",
	       ROUNDS, BATCHES, BATCH, sched_getcpu());
	if (!have_nft)
		printf("# nft not installed: nftables not measured (scripts/deps.sh installs it)\n");
	for (s = 0; s < (int)(sizeof(sizes) / sizeof(sizes[0])); s++) {
		for (r = 0; r < ROUNDS; r++)
			bpf_round(r, sizes[s]);
		if (have_nft && nft_up(sizes[s]) == 0) {
			for (r = 0; r < ROUNDS; r++)
				nft_round(r);
			(void)nft("delete table " TABLE "\n");
		} else if (have_nft) {
			fprintf(stderr, "net_bench: nft could not load the set\n");
			have_nft = 0;
		}
		report(sizes[s], have_nft);
	}
	cgroup_down();
	return 0;
}
