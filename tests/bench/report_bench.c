// SPDX-License-Identifier: Apache-2.0
/*
 * The journal to the platform (make bench): a journal of RECORDS synthetic records of one
 * contract, appended with the agent's fsync batching (the append rate, measured here), then
 * delivered by agent/report.c to a `tds-platform serve` on loopback over mutual TLS, which
 * checks the chain and stores every record in SQLite: records/s delivered (confirmed by the
 * platform) per batch size, and the ratio to the append rate. Test TLS certificates from
 * tests/vectors/mktls.sh; everything in /var/tmp (a disk), removed at the end.
 */
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "tests/bench/bench.h"
#include "agent/records.h"
#include "agent/report.h"

#define RECORDS 200000

static char top[PATH_MAX], bin[PATH_MAX], work[] = "/var/tmp/pep-report-bench-XXXXXX";

static uint64_t no_loss(void *ctx)
{
	return 0;
}

static struct record synthetic(unsigned i)
{
	struct record r = { .time_ns = 1700000000000000000LL + i, .kind = "counted",
			    .verdict = "allow", .reason = "", .pid = 1000 + i % 5000,
			    .cgroup = 4242, .counter = i };

	snprintf(r.contract, sizeof(r.contract), "C391310000MA1K00001B11002026010100000000000006S");
	snprintf(r.comm, sizeof(r.comm), "python3");
	snprintf(r.exe, sizeof(r.exe), "266338304:18624");
	snprintf(r.object, sizeof(r.object), "file 266338304:%u", 10954747 + i % 7);
	return r;
}

/* Appends RECORDS with the agent's batching (a sync every 256): records/s. */
static double fill(const char *dir, EVP_PKEY *key)
{
	struct journal_opts o = { .dir = dir, .max_bytes = 1ull << 33, .key = key };
	struct journal *j = journal__open(&o);
	double t0 = now_us(), rate;

	if (!j)
		return -1;
	for (unsigned i = 0; i < RECORDS; i++) {
		struct record r = synthetic(i);

		(void)journal__append(j, &r);
	}
	(void)journal__sync(j);
	rate = RECORDS / ((now_us() - t0) / 1e6);
	(void)journal__checkpoint(j);
	journal__close(j);
	return rate;
}

static pid_t serve(const char *db, int port)
{
	char listen[32], cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX];
	pid_t pid;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(cert, sizeof(cert), "%s/tls/platform.crt", work);
	snprintf(key, sizeof(key), "%s/tls/platform.key", work);
	snprintf(ca, sizeof(ca), "%s/tls/node-ca.crt", work);
	pid = fork();
	if (pid == 0) {
		cpu_set_t other;

		/* The platform is another machine: here, at least another core. */
		CPU_ZERO(&other);
		CPU_SET(0, &other);
		if (sysconf(_SC_NPROCESSORS_ONLN) > 1)
			(void)sched_setaffinity(0, sizeof(other), &other);
		if (!freopen("/dev/null", "w", stderr)) /* a line per report */
			_exit(127);
		execl(bin, bin, "serve", "--listen", listen, "--db", db, "--cert", cert, "--key",
		      key, "--ca", ca, (char *)NULL);
		_exit(127);
	}
	usleep(300000); /* it listens */
	return pid;
}

struct run {
	struct event_base *base;
	struct report *report;
	uint64_t last;
};

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	if (report__delivered(r->report) >= r->last)
		event_base_loopbreak(r->base);
}

/* CPU time, s, of this process (the agent's side: reading, bodies, TLS) or of its children
 * waited for (the platform's). */
static double cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Delivers the whole journal in batches of `batch`: records/s confirmed by the platform,
 * and in *ret_cpu records per second of the agent's CPU. */
static double deliver(const char *state, EVP_PKEY *key, unsigned batch, int port,
		      double *ret_cpu)
{
	char dir[PATH_MAX], url[64], cert[PATH_MAX], tkey[PATH_MAX], ca[PATH_MAX], pos[PATH_MAX];
	static const struct timeval ms = { 0, 1000 };
	struct run run = { .base = event_base_new() };
	struct records_opts ro = { .base = run.base, .dir = dir, .max_bytes = 1ull << 33,
				   .key = key, .kernel_lost = no_loss };
	struct report_opts po = { .base = run.base, .url = url, .state_dir = state, .key = key,
				  .interval_ms = 10, .batch = batch, /* the tail at once */
				  .tls = { cert, tkey, ca } };
	struct journal_status st;
	struct event *poll = NULL;
	double t0, c0, rate = -1;

	snprintf(dir, sizeof(dir), "%s/journal", state);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	snprintf(cert, sizeof(cert), "%s/tls/node.crt", work);
	snprintf(tkey, sizeof(tkey), "%s/tls/node.key", work);
	snprintf(ca, sizeof(ca), "%s/tls/platform-ca.crt", work);
	snprintf(pos, sizeof(pos), "%s/report.pos", state);
	unlink(pos);
	po.records = run.base ? records__open(&ro) : NULL;
	if (!po.records)
		goto cleanup;
	records__status(po.records, &st);
	run.last = st.next_seq - 1;
	t0 = now_us();
	c0 = cpu_s(RUSAGE_SELF);
	run.report = report__open(&po);
	poll = run.report ? event_new(run.base, -1, EV_PERSIST, on_poll, &run) : NULL;
	if (!poll || event_add(poll, &ms) < 0)
		goto cleanup;
	event_base_dispatch(run.base);
	rate = run.last / ((now_us() - t0) / 1e6);
	*ret_cpu = run.last / (cpu_s(RUSAGE_SELF) - c0);
cleanup:
	if (poll)
		event_free(poll);
	report__close(run.report);
	records__close(po.records);
	if (run.base)
		event_base_free(run.base);
	return rate;
}

static int port_free(void)
{
	return 20000 + getpid() % 20000;
}

int main(int argc, char **argv)
{
	static const unsigned batches[] = { 1000, 5000 };
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char cmd[2 * PATH_MAX], state[256], jdir[PATH_MAX], db[PATH_MAX];
	double append, rate, cpu = 0, platform, before;
	int status = 1;

	/* The tree and tds-platform from where this binary lies: OUTPUT/tests/bench/. */
	if (!key || !realpath("/proc/self/exe", bin) || !mkdtemp(work))
		return 1;
	*strrchr(bin, '/') = '\0';
	snprintf(top, sizeof(top), "%s", bin);
	strcat(bin, "/../../tds-platform");
	snprintf(cmd, sizeof(cmd), "cd %s/../../.. && tests/vectors/mktls.sh %s/tls", top, work);
	snprintf(state, sizeof(state), "%s/state", work);
	snprintf(jdir, sizeof(jdir), "%s/journal", state);
	if (system(cmd) != 0 || mkdir(state, 0700) < 0)
		goto cleanup;
	append = fill(jdir, key);
	printf("# journal -> platform: %d records of one contract, tds-platform serve on loopback "
	       "(mutual TLS, chain checked, SQLite)\n", RECORDS);
	printf("journal append, fsync every 256 records:  %9.0f records/s\n", append);
	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		int port = port_free() + (int)i;
		pid_t pid;

		snprintf(db, sizeof(db), "%s/platform-%u.db", work, batches[i]);
		before = cpu_s(RUSAGE_CHILDREN);
		pid = serve(db, port);
		rate = deliver(state, key, batches[i], port, &cpu);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		platform = RECORDS / (cpu_s(RUSAGE_CHILDREN) - before);
		printf("delivered, batches of %5u:               %9.0f records/s  ratio to append "
		       "%.2f\n  per second of CPU: agent %.0f records, platform %.0f records\n",
		       batches[i], rate, rate / append, cpu, platform);
		if (rate < 0)
			goto cleanup;
	}
	status = 0;
cleanup:
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	if (system(cmd) != 0)
		status = 1;
	EVP_PKEY_free(key);
	return status;
}
