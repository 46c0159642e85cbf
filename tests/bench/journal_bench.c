// SPDX-License-Identifier: Apache-2.0
/*
 * Behaviour records into the journal (make bench; root for the second part).
 *
 * 1. In process: synthetic records appended with an fsync every N records (the agent syncs at
 *    RECORDS_SYNC_MS at the latest, and at once when N = 256 records wait), for several N,
 *    and the same with write() alone: records/s, median of ROUNDS, and what durability costs
 *    as a ratio. Journals in /var/tmp (a disk, not tmpfs), removed after each run.
 * 2. Kernel -> journal on the agent's own path (file guard ring buffer, agent_on_file_event,
 *    records, journal): a child process opens a bound file at offered rates (it runs this
 *    binary, the rule's one application, so every open is a decision and an event), on
 *    another core than the consumer where there is one. Per rate: opens made, records
 *    journaled, records the kernel lost (ring buffer full), the consumer's CPU per record;
 *    then the first rate with a loss. Pins live on a private bpffs in a private mount
 *    namespace, gone when the bench ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <event2/event.h>
#include <openssl/evp.h>

#include "bpf/file_guard.h"
#include "tests/bench/bench.h"
#include "agent/agent.h"
#include "agent/file_guard.h"
#include "journal/journal.h"
#include "agent/records.h"

#define SYNTH_RECORDS 200000
#define ROUNDS	      3
#define RATE_SECONDS  2
#define PIN	      "/sys/fs/bpf/pep-journal-bench"

static EVP_PKEY *key;

static void remove_dir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "journal_bench: could not remove %s\n", dir);
}

/* ---- 1. synthetic records ------------------------------------------------------------- */

static struct record synthetic(unsigned i)
{
	struct record r = {
		.time_ns = 1700000000000000000LL + i,
		.kind = "counted",
		.verdict = "allow",
		.reason = "",
		.pid = 1000 + i % 5000,
		.cgroup = 4242,
		.counter = i,
	};

	snprintf(r.contract, sizeof(r.contract), "C391310000MA1K00001B11002026010100000000000006S");
	snprintf(r.comm, sizeof(r.comm), "python3");
	snprintf(r.exe, sizeof(r.exe), "266338304:18624");
	snprintf(r.object, sizeof(r.object), "file 266338304:%u", 10954747 + i % 7);
	return r;
}

/* Records per second, with an fsync (or only a write) every `every` records; with `verify`,
 * entries per second that journal__verify() then checks instead. */
static double append_rate(unsigned every, bool durable, bool verify)
{
	struct journal_verdict v;
	char dir[] = "/var/tmp/pep-journal-bench-XXXXXX", sub[64];
	struct journal_opts o = { .dir = sub, .max_bytes = 1ull << 33, .batch = UINT_MAX,
				  .key = key };
	struct journal *j;
	double t0, rate;

	if (!mkdtemp(dir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/j", dir);
	j = journal__open(&o);
	if (!j)
		return -1;
	t0 = now_us();
	for (unsigned i = 0; i < SYNTH_RECORDS; i++) {
		struct record r = synthetic(i);

		(void)journal__append(j, &r);
		if ((i + 1) % every == 0)
			(void)(durable ? journal__sync(j) : journal__flush(j));
	}
	(void)journal__sync(j);
	rate = SYNTH_RECORDS / ((now_us() - t0) / 1e6);
	journal__close(j);
	t0 = now_us();
	if (verify && (journal__verify(sub, key, &v) || !v.ok))
		rate = -1;
	else if (verify)
		rate = v.entries / ((now_us() - t0) / 1e6);
	remove_dir(dir);
	return rate;
}

static double median_rate(unsigned every, bool durable, bool verify)
{
	double v[ROUNDS];

	for (int i = 0; i < ROUNDS; i++)
		v[i] = append_rate(every, durable, verify);
	qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
	return v[ROUNDS / 2];
}

static void synthetic_part(void)
{
	static const unsigned every[] = { 64, 256, 1024, 4096 };
	double write_only = median_rate(256, false, false), r;

	printf("# 1. %d synthetic records per run, median of %d runs, journal in /var/tmp\n",
	       SYNTH_RECORDS, ROUNDS);
	printf("append, write() every 256 records, no fsync: %9.0f records/s\n", write_only);
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		r = median_rate(every[i], true, false);
		printf("append, fsync every %4u records%s: %9.0f records/s  ratio to no fsync "
		       "%.2f\n",
		       every[i], every[i] == 256 ? " (agent)" : "        ", r, r / write_only);
	}
	printf("pepctl records verify (chain, checkpoints):  %9.0f entries/s\n",
	       median_rate(256, true, true));
}

/* ---- 2. kernel -> journal ------------------------------------------------------------- */

struct consumer {
	struct agent agent;
	struct file_guard *fg;
	uint64_t events;
};

static int on_event(void *ctx, const struct fg_event *e)
{
	struct consumer *c = ctx;

	c->events++;
	agent_on_file_event(&c->agent, e);
	return 0;
}

static uint64_t drops(struct file_guard *fg)
{
	__u64 n = 0;

	(void)file_guard__drops(fg, FG_DROP_EVENT, &n);
	return n;
}

static uint64_t kernel_lost(void *ctx)
{
	return drops(ctx);
}

/* The opener: `rate` opens a second (0: as fast as it can) for RATE_SECONDS, on `cpu`. */
static void opener(const char *path, unsigned rate, int cpu, volatile uint64_t *count)
{
	double end = now_us() + RATE_SECONDS * 1e6, tick = now_us();
	unsigned per_ms = rate / 1000;
	cpu_set_t set;
	int fd;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
	while (now_us() < end) {
		for (unsigned i = 0; i < (rate ? per_ms : 1000); i++) {
			fd = open(path, O_RDONLY);
			if (fd >= 0)
				close(fd);
			(*count)++;
		}
		tick += 1000;
		while (rate && now_us() < tick)
			usleep(50);
	}
	_exit(0);
}

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
	       ru.ru_stime.tv_usec;
}

static const char *rate_name(unsigned rate, char *buf, size_t size)
{
	if (!rate)
		return "max";
	snprintf(buf, size, "%u", rate);
	return buf;
}

/* One offered rate; returns the records lost. */
static uint64_t run_rate(struct consumer *c, const char *path, unsigned rate, int cpu,
			 volatile uint64_t *count)
{
	uint64_t events0 = c->events, drops0 = drops(c->fg), lost, events;
	double t0 = now_us(), cpu0 = cpu_us(), secs;
	char name[16];
	pid_t child;

	*count = 0;
	child = fork();
	if (child == 0)
		opener(path, rate, cpu, count);
	while (waitpid(child, NULL, WNOHANG) == 0) {
		(void)file_guard__poll(c->fg, 10);
		records__flush(c->agent.records);
		(void)event_base_loop(c->agent.base, EVLOOP_NONBLOCK); /* sync and tick timers */
	}
	while (file_guard__poll(c->fg, 50) > 0)
		records__flush(c->agent.records);
	secs = (now_us() - t0) / 1e6;
	lost = drops(c->fg) - drops0;
	events = c->events - events0;
	printf("offered %7s/s  opens %7.0f/s  journaled %7.0f/s  lost %7llu (%5.2f%%)  agent path "
	       "%.2f us CPU/record\n",
	       rate_name(rate, name, sizeof(name)), *count / secs, events / secs,
	       (unsigned long long)lost, *count ? 100.0 * lost / *count : 0,
	       events ? (cpu_us() - cpu0) / events : 0);
	return lost;
}

/* Guard with `bound` bound to slot 0, this binary allowed; the agent's records behind it. */
static int set_up(struct consumer *c, const char *bound, const char *journal, __u32 ring)
{
	struct file_guard_opts o = { .pin_root = PIN, .on_event = on_event, .ctx = c,
				     .events_bytes = ring };
	struct fg_rule r = { .flags = FG_ACTIVE | FG_APP_ALLOW };
	struct records_opts ro = { .dir = journal, .max_bytes = 1ull << 33, .key = key,
				   .kernel_lost = kernel_lost };
	struct fg_inode self;
	FILE *f = fopen(bound, "w");

	if (!f || fclose(f))
		return -1;
	c->fg = file_guard__open(&o);
	if (!c->fg || file_guard__inode_of("/proc/self/exe", &self) ||
	    file_guard__set_rule(c->fg, 0, &r, &self, 1) || file_guard__bind(c->fg, 0, bound))
		return -1;
	c->agent.slot_contract[0] = strdup("C391310000MA1K00001B11002026010100000000000006S");
	c->agent.base = event_base_new();
	ro.base = c->agent.base;
	ro.ctx = c->fg;
	c->agent.records = ro.base ? records__open(&ro) : NULL;
	return c->agent.records ? 0 : -1;
}

static void tear_down(struct consumer *c)
{
	char path[64];

	if (c->fg)
		(void)file_guard__unpin(c->fg);
	file_guard__destroy(c->fg);
	snprintf(path, sizeof(path), "%s/holders", PIN);
	(void)unlink(path);
	records__close(c->agent.records);
	if (c->agent.base)
		event_base_free(c->agent.base);
	free(c->agent.slot_contract[0]);
	memset(c, 0, sizeof(*c));
}

/* The offered rates with one ring buffer size, in a journal of its own. */
static int sweep(const char *dir, __u32 ring, int cpu, int other, volatile uint64_t *count)
{
	static const unsigned rates[] = { 25000, 50000, 100000, 200000, 400000, 0 };
	char bound[96], journal[96], name[16];
	struct consumer c = { 0 };
	size_t first_loss = 0;
	int r = 0;

	snprintf(bound, sizeof(bound), "%s/bound", dir);
	snprintf(journal, sizeof(journal), "%s/journal-%u", dir, ring);
	if (set_up(&c, bound, journal, ring)) {
		fprintf(stderr, "journal_bench: set-up of the kernel part failed\n");
		r = 1;
		goto out;
	}
	printf("# 2. kernel -> journal: opener on CPU %d, agent path on CPU %d, %d s per rate, "
	       "ring buffer %u KiB%s\n",
	       other, cpu, RATE_SECONDS, ring >> 10, ring == 256 << 10 ? " (the agent's)" : "");
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++)
		if (run_rate(&c, bound, rates[i], other, count) && !first_loss)
			first_loss = i + 1;
	if (!first_loss)
		printf("no loss at any offered rate\n");
	else
		printf("loss starts at offered %s/s\n",
		       rate_name(rates[first_loss - 1], name, sizeof(name)));
out:
	tear_down(&c);
	return r;
}

static int kernel_part(void)
{
	char dir[] = "/var/tmp/pep-journal-bench-XXXXXX";
	volatile uint64_t *count = mmap(NULL, sizeof(*count), PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int cpu = sched_getcpu(), other = (cpu + 1) % (int)sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	if (geteuid() != 0 || unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL) || !mkdtemp(dir) || count == MAP_FAILED) {
		printf("# 2. skipped: needs root, a private mount namespace and bpffs: %s\n",
		       strerror(errno));
		return 0;
	}
	/* The agent's ring, then a larger one: how much of the loss is the ring's size. */
	r = sweep(dir, 256 << 10, cpu, other, count);
	if (!r)
		r = sweep(dir, 4 << 20, cpu, other, count);
	remove_dir(dir);
	return r;
}

int main(void)
{
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key)
		return 1;
	synthetic_part();
	return kernel_part();
}
