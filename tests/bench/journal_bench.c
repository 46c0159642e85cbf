// SPDX-License-Identifier: Apache-2.0
/*
 * Behaviour records into the journal (make bench; root for the third part).
 *
 * 1. In process: synthetic records appended with an fsync every N records, for several N,
 *    the agent's way (batches of 256 synced on the journal's own thread), and the same with
 *    write() alone: records/s, median of ROUNDS, and what durability costs as a ratio.
 *    Journals in /var/tmp (a disk, not tmpfs), removed after each run.
 * 2. The agent's record path without the kernel: made-up file guard events through
 *    agent_on_file_event, records and the journal, on this thread: records per CPU-second of
 *    the event loop's thread, the most one core can take without loss.
 * 3. Kernel -> journal on the agent's own path (file guard ring buffer, agent_on_file_event,
 *    records, journal), at offered rates, on another core than the consumer where there is
 *    one. Two loads: (a) real opens: a child process opens a bound file (it runs this binary,
 *    the rule's one application, so every open is a decision and an event); one core of it
 *    tops out near 350 000 opens/s; (b) made-up events: journal_load.bpf.c, a SEC("syscall")
 *    program run by a child, puts file guard events into the same ring buffer (bpf_loop, a
 *    run a millisecond), for rates (a) cannot offer. Per rate: offered, made, journaled,
 *    lost in the kernel (ring buffer full), the consumer's CPU per record; then the rate
 *    where loss starts. Pins live on a private bpffs in a private mount namespace.
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
#include <gcrypt.h>
#include <openssl/evp.h>

#include <bpf/bpf.h>

#include "bpf/file_guard.h"
#include "tests/bench/bench.h"
#include "tests/bench/journal_load.skel.h"
#include "agent/agent.h"
#include "agent/file_guard.h"
#include "journal/journal.h"
#include "agent/records.h"
#include "tests/unit/fixture.h" /* the sample contract, parsed */

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

enum durability {
	WRITE_ONLY,   /* write() every `every` records */
	FSYNC_INLINE, /* write() and fdatasync() every `every` records, waiting for the disk */
	FSYNC_THREAD, /* the agent's way: a batch of `every` synced on the journal's thread */
	VERIFY,	      /* FSYNC_INLINE, then the rate of journal__verify() */
};

/* Records per second appended (or, with VERIFY, entries per second checked). */
static double append_rate(unsigned every, enum durability how)
{
	struct journal_verdict v;
	char dir[] = "/var/tmp/pep-journal-bench-XXXXXX", sub[64];
	struct journal_opts o = { .dir = sub, .max_bytes = 1ull << 33, .key = key,
				  .batch = how == FSYNC_THREAD ? every : UINT_MAX };
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
		if (how != FSYNC_THREAD && (i + 1) % every == 0)
			(void)(how == WRITE_ONLY ? journal__flush(j) : journal__sync(j));
	}
	(void)journal__sync(j);
	rate = SYNTH_RECORDS / ((now_us() - t0) / 1e6);
	journal__close(j);
	t0 = now_us();
	if (how == VERIFY && (journal__verify(sub, key, &v) || !v.ok))
		rate = -1;
	else if (how == VERIFY)
		rate = v.entries / ((now_us() - t0) / 1e6);
	remove_dir(dir);
	return rate;
}

static double median_rate(unsigned every, enum durability how)
{
	double v[ROUNDS];

	for (int i = 0; i < ROUNDS; i++)
		v[i] = append_rate(every, how);
	qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
	return v[ROUNDS / 2];
}

#define HASHES 200000

/* µs per SM3 of a line of `len` bytes: OpenSSL 3.0 (the readers'), libgcrypt (the writer's). */
static void hash_costs(size_t len, double *ret_openssl, double *ret_gcrypt)
{
	EVP_MD *sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char line[1024] = { 0 }, out[32];
	double t0 = now_us();

	for (int i = 0; sm3 && md && i < HASHES; i++)
		if (!EVP_DigestInit_ex2(md, sm3, NULL) || !EVP_DigestUpdate(md, line, len) ||
		    !EVP_DigestFinal_ex(md, out, NULL))
			break;
	*ret_openssl = (now_us() - t0) / HASHES;
	t0 = now_us();
	for (int i = 0; i < HASHES; i++)
		gcry_md_hash_buffer(GCRY_MD_SM3, out, line, len);
	*ret_gcrypt = (now_us() - t0) / HASHES;
	EVP_MD_CTX_free(md);
	EVP_MD_free(sm3);
}

static void synthetic_part(void)
{
	static const unsigned every[] = { 64, 256, 1024, 4096 };
	double write_only = median_rate(256, WRITE_ONLY), r, openssl, gcrypt;

	printf("# 1. %d synthetic records per run, median of %d runs, journal in /var/tmp\n",
	       SYNTH_RECORDS, ROUNDS);
	printf("append, write() every 256 records, no fsync: %9.0f records/s\n", write_only);
	for (size_t i = 0; i < sizeof(every) / sizeof(every[0]); i++) {
		r = median_rate(every[i], FSYNC_INLINE);
		printf("append, fsync every %4u records, waiting : %9.0f records/s  ratio to no "
		       "fsync %.2f\n", every[i], r, r / write_only);
	}
	r = median_rate(256, FSYNC_THREAD);
	printf("append, fsync of each 256 on the journal's thread (agent): %9.0f records/s  ratio "
	       "to no fsync %.2f\n", r, r / write_only);
	printf("pepctl records verify (chain, checkpoints):  %9.0f entries/s\n",
	       median_rate(256, VERIFY));
	hash_costs(430, &openssl, &gcrypt); /* a record's line is about 430 bytes */
	printf("SM3 of a 430-byte line: OpenSSL %.2f us, libgcrypt (the journal's writer) %.2f us, "
	       "ratio %.2f\n", openssl, gcrypt, openssl / gcrypt);
}

/* ---- the agent's side: records behind agent_on_file_event ---------------------------- */

struct consumer {
	struct agent agent;
	struct file_guard *fg; /* NULL in part 2 */
	struct journal_load_bpf *load;
	uint64_t events;
};

static uint64_t drops(struct file_guard *fg)
{
	__u64 n = 0;

	(void)file_guard__drops(fg, FG_DROP_EVENT, &n);
	return n;
}

static uint64_t kernel_lost(void *ctx)
{
	return ctx ? drops(ctx) : 0;
}

/* Slot 0 holds the sample contract, so records name it, its policy and action, as the
 * agent's do; its records go into `journal`. */
static int open_records(struct consumer *c, const char *journal)
{
	struct records_opts ro = { .dir = journal, .max_bytes = 1ull << 33, .key = key,
				   .kernel_lost = kernel_lost, .ctx = c->fg };
	struct node_caps caps = { .backend = "portable" };
	struct pol_errors errs = { 0 };
	cJSON *doc = fixture_load("file-app-count-delete.json");
	struct contract *contract = fixture_parse(doc, &errs);
	struct plan *plan = contract ? policy__plan(contract, &caps) : NULL;

	if (plan)
		agent_name_slot(&c->agent, 0, contract->id, plan);
	plan__free(plan);
	contract__free(contract);
	pol_errors__clear(&errs);
	cJSON_Delete(doc);
	c->agent.base = event_base_new();
	ro.base = c->agent.base;
	c->agent.records = ro.base ? records__open(&ro) : NULL;
	return c->agent.records && c->agent.slot_origins[0] ? 0 : -1;
}

static void close_records(struct consumer *c)
{
	records__close(c->agent.records);
	if (c->agent.base)
		event_base_free(c->agent.base);
	agent_name_slot(&c->agent, 0, NULL, NULL);
}

static double cpu_us(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
	       ru.ru_stime.tv_usec;
}

/* The agent's round after the ring buffer was read: written, and the sync timer run. */
static void end_round(struct consumer *c)
{
	records__flush(c->agent.records);
	(void)event_base_loop(c->agent.base, EVLOOP_NONBLOCK);
}

/* ---- 2. the record path without the kernel -------------------------------------------- */

#define PATH_RECORDS 300000
#define PATH_ROUND   64 /* events per round of the ring buffer */

/* What the file guard reports for an admitted use, `i` µs after `boot_ns`. */
static struct fg_event made_up(__u64 boot_ns, unsigned i)
{
	struct fg_event e = {
		.ts = boot_ns + i * 1000ull,
		.counter = i + 1,
		.cgroup_id = 1,
		.object = { .dev = 8388609, .ino = 10954747 },
		.exe = { .dev = 8388609, .ino = 18624 },
		.kind = FG_EV_COUNTED,
		.verdict = FG_ALLOW,
		.pid = 4242,
		.tgid = 4242,
		.fd = 3,
	};

	memcpy(e.comm, "journal_load", sizeof("journal_load"));
	return e;
}

static int path_part(void)
{
	char dir[] = "/var/tmp/pep-journal-bench-XXXXXX", journal[64];
	struct consumer c = { 0 };
	struct timespec boot;
	double t0, cpu0, all0;
	int r = 0;

	if (!mkdtemp(dir))
		return 1;
	snprintf(journal, sizeof(journal), "%s/journal", dir);
	if (open_records(&c, journal)) {
		fprintf(stderr, "journal_bench: records: %s\n", strerror(errno));
		r = 1;
		goto out;
	}
	clock_gettime(CLOCK_BOOTTIME, &boot);
	t0 = now_us(), cpu0 = cpu_us(RUSAGE_THREAD), all0 = cpu_us(RUSAGE_SELF);
	for (unsigned i = 0; i < PATH_RECORDS; i++) {
		struct fg_event e = made_up(boot.tv_sec * 1000000000ull + boot.tv_nsec, i);

		agent_on_file_event(&c.agent, &e);
		if ((i + 1) % PATH_ROUND == 0)
			end_round(&c);
	}
	end_round(&c);
	printf("# 2. the agent's record path without the kernel (agent_on_file_event, records, "
	       "journal), %d made-up events, a round of %d\n", PATH_RECORDS, PATH_ROUND);
	printf("records per CPU-second of the event loop's thread: %9.0f (%.2f us a record); "
	       "whole process %.2f us a record; %.0f records/s\n",
	       PATH_RECORDS / ((cpu_us(RUSAGE_THREAD) - cpu0) / 1e6),
	       (cpu_us(RUSAGE_THREAD) - cpu0) / PATH_RECORDS,
	       (cpu_us(RUSAGE_SELF) - all0) / PATH_RECORDS,
	       PATH_RECORDS / ((now_us() - t0) / 1e6));
out:
	close_records(&c);
	remove_dir(dir);
	return r;
}

/* ---- 3. kernel -> journal ------------------------------------------------------------- */

static int on_event(void *ctx, const struct fg_event *e)
{
	struct consumer *c = ctx;

	c->events++;
	agent_on_file_event(&c->agent, e);
	return 0;
}

static void pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

/* Load (a): `rate` opens a second (0: as fast as it can) for RATE_SECONDS. */
static void opener(const struct consumer *c, const char *path, unsigned rate,
		   volatile uint64_t *count)
{
	double end = now_us() + RATE_SECONDS * 1e6, tick = now_us();
	unsigned per_ms = rate / 1000;
	int fd;

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
}

/* Load (b): `rate` made-up events a second, one run of journal_load a millisecond. */
static void generator(const struct consumer *c, const char *path, unsigned rate,
		      volatile uint64_t *count)
{
	struct { __u32 events, slot; } args = { rate / 1000, 0 };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args, .ctx_size_in = sizeof(args));
	double end = now_us() + RATE_SECONDS * 1e6, tick = now_us();
	int prog = bpf_program__fd(c->load->progs.journal_load);

	while (now_us() < end) {
		if (bpf_prog_test_run_opts(prog, &run))
			_exit(1);
		*count += args.events;
		tick += 1000;
		while (now_us() < tick)
			usleep(50);
	}
}

typedef void (*load_fn)(const struct consumer *c, const char *path, unsigned rate,
			volatile uint64_t *count);

static uint64_t lost_now(const struct consumer *c, load_fn load)
{
	return load == generator ? c->load->bss->lost : drops(c->fg);
}

static const char *rate_name(unsigned rate, char *buf, size_t size)
{
	if (!rate)
		return "max";
	snprintf(buf, size, "%u", rate);
	return buf;
}

/* One offered rate, the load on `cpu`; returns the records lost. */
static uint64_t run_rate(struct consumer *c, load_fn load, const char *path, unsigned rate,
			 int cpu, volatile uint64_t *count)
{
	uint64_t events0 = c->events, lost0 = lost_now(c, load), lost, events;
	double t0 = now_us(), cpu0 = cpu_us(RUSAGE_SELF), secs;
	char name[16];
	pid_t child;

	*count = 0;
	child = fork();
	if (child == 0) {
		pin_to(cpu);
		load(c, path, rate, count);
		_exit(0);
	}
	while (waitpid(child, NULL, WNOHANG) == 0) {
		(void)file_guard__poll(c->fg, 10);
		end_round(c);
	}
	while (file_guard__poll(c->fg, 50) > 0)
		end_round(c);
	secs = (now_us() - t0) / 1e6;
	lost = lost_now(c, load) - lost0;
	events = c->events - events0;
	printf("offered %7s/s  made %7.0f/s  journaled %7.0f/s  lost %7llu (%5.2f%%)  agent path "
	       "%.2f us CPU/record\n",
	       rate_name(rate, name, sizeof(name)), *count / secs, events / secs,
	       (unsigned long long)lost, *count ? 100.0 * lost / *count : 0,
	       events ? (cpu_us(RUSAGE_SELF) - cpu0) / events : 0);
	return lost;
}

/* Guard with `bound` bound to slot 0, this binary allowed; journal_load on its ring buffer;
 * the agent's records behind it. */
static int set_up(struct consumer *c, const char *bound, const char *journal, __u32 ring)
{
	struct file_guard_opts o = { .pin_root = PIN, .on_event = on_event, .ctx = c,
				     .events_bytes = ring };
	struct fg_rule r = { .flags = FG_ACTIVE | FG_APP_ALLOW };
	struct fg_inode self;
	FILE *f = fopen(bound, "w");

	if (!f || fclose(f))
		return -1;
	c->fg = file_guard__open(&o);
	if (!c->fg || file_guard__inode_of("/proc/self/exe", &self) ||
	    file_guard__set_rule(c->fg, 0, &r, &self, 1) || file_guard__bind(c->fg, 0, bound))
		return -1;
	c->load = journal_load_bpf__open();
	if (!c->load ||
	    bpf_map__reuse_fd(c->load->maps.file_events, file_guard__events_fd(c->fg)) ||
	    journal_load_bpf__load(c->load))
		return -1;
	return open_records(c, journal);
}

static void tear_down(struct consumer *c)
{
	char path[64];

	journal_load_bpf__destroy(c->load);
	if (c->fg)
		(void)file_guard__unpin(c->fg);
	file_guard__destroy(c->fg);
	snprintf(path, sizeof(path), "%s/holders", PIN);
	(void)unlink(path);
	close_records(c);
	memset(c, 0, sizeof(*c));
}

/* The offered rates of one load; prints where loss starts. */
static void sweep(struct consumer *c, load_fn load, const unsigned *rates, size_t n,
		  const char *bound, int other, volatile uint64_t *count)
{
	size_t first_loss = 0;
	char name[16];

	for (size_t i = 0; i < n; i++)
		if (run_rate(c, load, bound, rates[i], other, count) && !first_loss)
			first_loss = i + 1;
	if (!first_loss)
		printf("no loss at any offered rate\n");
	else if (first_loss == 1)
		printf("loss starts at or below offered %s/s\n", rate_name(rates[0], name, 16));
	else
		printf("no loss up to offered %u/s; loss starts at offered %s/s\n",
		       rates[first_loss - 2], rate_name(rates[first_loss - 1], name, 16));
}

/* Both loads with one ring buffer size, in a journal of its own. */
static int ring_part(const char *dir, __u32 ring, int cpu, int other, volatile uint64_t *count)
{
	static const unsigned opens[] = { 25000, 50000, 100000, 200000, 400000, 0 };
	static const unsigned made[] = { 100000, 200000, 300000, 400000, 500000, 600000, 800000,
					 1000000 };
	char bound[96], journal[96];
	struct consumer c = { 0 };
	int r = 0;

	snprintf(bound, sizeof(bound), "%s/bound", dir);
	snprintf(journal, sizeof(journal), "%s/journal-%u", dir, ring);
	if (set_up(&c, bound, journal, ring)) {
		fprintf(stderr, "journal_bench: set-up of the kernel part failed\n");
		r = 1;
		goto out;
	}
	printf("# 3a. kernel -> journal, real opens: load on CPU %d, agent path on CPU %d, %d s "
	       "a rate, ring buffer %u KiB%s\n",
	       other, cpu, RATE_SECONDS, ring >> 10,
	       ring == 2 << 20 ? " (the agent's default)" : " (the default before 2 MiB)");
	sweep(&c, opener, opens, sizeof(opens) / sizeof(opens[0]), bound, other, count);
	printf("# 3b. kernel -> journal, made-up events (journal_load.bpf.c) into the same ring "
	       "buffer, %u KiB\n", ring >> 10);
	sweep(&c, generator, made, sizeof(made) / sizeof(made[0]), bound, other, count);
out:
	tear_down(&c);
	remove_dir(journal); /* see kernel_part() */
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
		printf("# 3. skipped: needs root, a private mount namespace and bpffs: %s\n",
		       strerror(errno));
		return 0;
	}
	/* The former default ring, then the agent's: how much of the loss is the ring's size.
	 * Each part removes its journal (3 GB or more): with the first part's still in the page
	 * cache, the second's write()s cost about 1 us more a record here (in copying into new
	 * page cache pages), so the part run second looked slower whichever ring it had. */
	r = ring_part(dir, 256 << 10, cpu, other, count);
	if (!r)
		r = ring_part(dir, 2 << 20, cpu, other, count);
	remove_dir(dir);
	return r;
}

int main(void)
{
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!key)
		return 1;
	synthetic_part();
	if (path_part())
		return 1;
	return kernel_part();
}
