// SPDX-License-Identifier: Apache-2.0
/*
 * pep-agent: verifies contracts, enforces them in the kernel, records every decision.
 * Start-up: config, probe, state dir, store, enforcement (adopting pins), admin socket;
 * then one event loop until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>

#include <openssl/evp.h>

#include "policy/policy.h"
#include "agent/admin.h"
#include "agent/agent.h"
#include "agent/api.h"
#include "agent/confine.h"
#include "agent/guards.h"
#include "agent/log.h"
#include "agent/nodekey.h"
#include "agent/platform.h"
#include "agent/records.h"
#include "agent/kafka.h"
#include "agent/report.h"
#include "agent/store.h"
#include "agent/workload.h"
#include "tools/workload_proto.h"

static const char usage[] =
	"usage: pep-agent [--config FILE] [--state-dir DIR] [--bpffs-dir DIR]\n"
	"                 [--admin-socket PATH] [--trust PATH] [--backend auto|lsm|portable]\n"
	"                 [--cgroup DIR] [--listen ADDR:PORT] [--tls-cert FILE]\n"
	"                 [--tls-key FILE] [--platform-ca FILE] [--platform-ids ID,...]\n"
	"                 [--platform-url URL] [--max-body-bytes N] [--journal-max-bytes N]\n"
	"                 [--report-interval-ms N] [--report-batch N]\n"
	"                 [--confine yes|no] [--verbose]\n";

static int parse_args(int argc, char **argv, struct agent_config *cfg)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "bpffs-dir", required_argument, NULL, 'b' },
		{ "admin-socket", required_argument, NULL, 'a' },
		{ "trust", required_argument, NULL, 't' },
		{ "backend", required_argument, NULL, 'B' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "listen", required_argument, NULL, 'l' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "platform-ca", required_argument, NULL, 'P' },
		{ "platform-ids", required_argument, NULL, 'I' },
		{ "platform-url", required_argument, NULL, 'U' },
		{ "report-interval-ms", required_argument, NULL, 'R' },
		{ "report-batch", required_argument, NULL, 'N' },
		{ "max-body-bytes", required_argument, NULL, 'm' },
		{ "journal-max-bytes", required_argument, NULL, 'J' },
		{ "confine", required_argument, NULL, 'X' },
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	static const char *const keys[128] = {
		['s'] = "state_dir", ['b'] = "bpffs_dir", ['a'] = "admin_socket",
		['t'] = "trust",     ['B'] = "backend",   ['g'] = "cgroup",
		['l'] = "listen",    ['C'] = "tls_cert",  ['K'] = "tls_key",
		['P'] = "platform_ca", ['I'] = "platform_ids", ['U'] = "platform_url",
		['m'] = "max_body_bytes",
		['J'] = "journal_max_bytes", ['R'] = "report_interval_ms", ['N'] = "report_batch",
		['X'] = "confine",
	};
	const char *config = NULL;
	char err[256] = "";
	int opt, r;

	/* The file first, so that flags override it: two passes over argv. */
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		if (opt == 'c')
			config = optarg;
		else if (opt == '?')
			return -EINVAL;
	r = config__load(cfg, config, err, sizeof(err));
	if (r < 0)
		return log_errno(r, "config %s: %s", config, err);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'v')
			log_set_level(LOG_DEBUG);
		else if (opt != 'c' && config__set(cfg, keys[opt], optarg) < 0)
			return log_errno(-EINVAL, "--%s %s: not a valid value", keys[opt], optarg);
	}
	return optind == argc ? 0 : -EINVAL;
}

/* Picks the backend: the probe's choice, or the one asked for if this kernel has it. */
static int choose_backend(struct agent *a)
{
	int r = backend_probe(&a->support);

	backend_support__print(&a->support, stderr, "pep-agent: probe: ");
	if (r < 0)
		return log_errno(r, "no backend can run here (bpffs and cgroup v2 must be mounted)");
	a->backend = a->support.backend;
	if (!strcmp(a->cfg.backend, "lsm") && a->backend != BACKEND_LSM)
		return log_errno(-EOPNOTSUPP, "backend lsm asked for, but %s",
				 a->support.lsm_why);
	if (!strcmp(a->cfg.backend, "portable"))
		a->backend = BACKEND_PORTABLE;
	log_info("backend: %s", backend__name(a->backend));
	return 0;
}

/* The trust store read once: chains verified stay remembered (an SM2 CA check is 220 us).
 * Unreadable now, it is read again at each verification, whose error then names it. */
static void open_trust(struct agent *a)
{
	struct pol_errors errs = { 0 };

	a->trust = trust_store__open(a->cfg.trust, &errs);
	if (!a->trust)
		log_warn("trust store %s: %s (contracts cannot be verified until it is there)",
			 a->cfg.trust, errs.n ? errs.v[0].msg : strerror(errno));
	pol_errors__clear(&errs);
}

/* The journal takes no records: uses are refused in the kernel until it does again
 * (docs/journal.md, Bound). */
static void on_journal_full(void *agent, bool full)
{
	struct agent *a = agent;
	int r = a->guards ? guards__set_journal_full(a->guards, full) : 0;

	if (r)
		log_errno(r, "journal %s: the kernel guards could not be told",
			  full ? "full" : "writable again");
	else if (a->guards && full)
		log_error("uses of every contract are refused until the journal takes records again");
	else if (a->guards)
		log_info("the journal takes records again: uses are admitted");
}

static int open_state(struct agent *a)
{
	char path[4096];
	struct records_opts ro = {
		.base = a->base,
		.dir = path,
		.max_bytes = strtoull(a->cfg.journal_max_bytes, NULL, 10),
		.kernel_lost = agent_kernel_lost,
		.on_full = on_journal_full,
		.ctx = a,
	};

	if (mkdir(a->cfg.state_dir, 0700) < 0 && errno != EEXIST)
		return log_errno(-errno, "state dir %s", a->cfg.state_dir);
	snprintf(path, sizeof(path), "%s/contracts.db", a->cfg.state_dir);
	a->store = store__open(path);
	if (!a->store)
		return log_errno(-errno, "contract store %s", path);
	open_trust(a);
	a->node_key = node_key__load(a->cfg.state_dir);
	if (!a->node_key)
		return log_errno(-errno, "node key in %s", a->cfg.state_dir);
	snprintf(path, sizeof(path), "%s/journal", a->cfg.state_dir);
	ro.key = a->node_key;
	a->records = records__open(&ro);
	return a->records ? 0 : -errno;
}

static void on_guard_event(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)guards__poll(a->guards);
	records__flush(a->records);
	report__kick(a->report);
	kafka__kick(a->kafka);
}

/* The cgroup whose processes' egress the net guard sees: the cgroup v2 root by default. */
static const char *guarded_cgroup(const struct agent *a)
{
	return *a->cfg.cgroup ? a->cfg.cgroup : a->support.cgroup2;
}

/* Loads or adopts the kernel guards and watches their ring buffers. */
static int open_guards(struct agent *a)
{
	struct guards_opts go = {
		.pin_root = a->cfg.bpffs_dir,
		.cgroup = guarded_cgroup(a),
		.backend = a->backend,
		.events_bytes = (uint32_t)strtoul(a->cfg.events_ring_bytes, NULL, 10),
		.on_file_event = agent_on_file_event,
		.on_net_event = agent_on_net_event,
		.ctx = a,
	};
	int fds[2], r;

	a->guards = guards__open(&go);
	if (!a->guards)
		return log_errno(-errno, "kernel guards (pins under %s)", go.pin_root);
	/* also clears the flag a previous agent left, its journal since made room for */
	r = guards__set_journal_full(a->guards, records__full(a->records));
	if (r)
		return log_errno(r, "kernel guards: the journal's state");
	guards__fds(a->guards, fds);
	for (int i = 0; i < 2; i++) {
		a->guard_events[i] = event_new(a->base, fds[i], EV_READ | EV_PERSIST,
					       on_guard_event, a);
		if (!a->guard_events[i] || event_add(a->guard_events[i], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* `pepctl run`: the workload supervisor. Its cgroups go under the guarded cgroup, so that
 * the net guard's programs run for them; its socket beside the admin socket
 * (tools/workload_proto.h). Applied contracts are registered by contracts.c. */
static int open_workloads(struct agent *a)
{
	struct workloads_opts wo = { .decide = guards__decide, .ctx = a->guards };
	char root[PATH_MAX], sock[PATH_MAX];

	if (snprintf(root, sizeof(root), "%s/pep", guarded_cgroup(a)) >= (int)sizeof(root) ||
	    snprintf(sock, sizeof(sock), "%s%s", a->cfg.admin_socket, WORKLOAD_SOCKET_SUFFIX) >=
		    (int)sizeof(sock))
		return log_errno(-ENAMETOOLONG, "workload cgroup or socket: path too long");
	wo.cgroup_root = root;
	wo.socket_path = sock;
	a->workloads = workloads__open(a->base, &wo);
	if (!a->workloads)
		return log_errno(-errno, "workload supervisor (cgroups %s, socket %s)", root, sock);
	guards__set_workloads(a->guards, a->workloads);
	return 0;
}

static int64_t now_ns(clockid_t clock)
{
	struct timespec t;

	clock_gettime(clock, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A change of the clock watch (clock.h): logged, journaled, and the platform told at once.
 * Set back, applies are refused (contracts.c); the kernel's rules and the expiry timers do
 * not go by the wall clock and run on unchanged. */
static void clock_changed(struct agent *a, enum clock_change change, int64_t wall_ns,
			  const char *when)
{
	struct record rec = { .kind = "clock", .verdict = "deny", .time_ns = wall_ns };
	char reason[200];

	switch (change) {
	case CLOCK_SET_BACK:
		snprintf(reason, sizeof(reason), "wall clock set back by %.3f s%s: contracts are "
			 "not applied until it is right again", a->clock.behind / 1e9, when);
		log_error("ALERT: %s", reason);
		break;
	case CLOCK_RESTORED:
		snprintf(reason, sizeof(reason), "wall clock right again: contracts are applied");
		log_warn("%s", reason);
		rec.verdict = "allow";
		break;
	default:
		return;
	}
	rec.reason = reason;
	records__add(a->records, &rec);
	records__flush(a->records);
	report__alert(a->report);
}

/* Every second: the wall clock against the boot clock. */
static void on_clock_tick(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int64_t wall = now_ns(CLOCK_REALTIME);

	clock_changed(a, clock_watch__feed(&a->clock, wall, now_ns(CLOCK_BOOTTIME)), wall, "");
}

/* The first reading goes against the journal's latest time: a clock set back while no agent
 * ran is caught too. */
static int watch_clock(struct agent *a)
{
	struct timeval second = { 1, 0 };
	struct journal_status st;
	int64_t wall = now_ns(CLOCK_REALTIME);

	records__status(a->records, &st);
	clock_changed(a, clock_watch__start(&a->clock, st.latest_ns, wall, now_ns(CLOCK_BOOTTIME)),
		      wall, " (behind the journal's latest entry)");
	a->clock_tick = event_new(a->base, -1, EV_PERSIST, on_clock_tick, a);
	return a->clock_tick && !event_add(a->clock_tick, &second) ? 0 : -ENOMEM;
}

/* The journal to the platform, when platform_url is set (agent/report.h). */
static int open_report(struct agent *a)
{
	struct report_opts ro = {
		.base = a->base,
		.records = a->records,
		.url = a->cfg.platform_url,
		.tls = { a->cfg.tls_cert, a->cfg.tls_key, a->cfg.platform_ca },
		.state_dir = a->cfg.state_dir,
		.key = a->node_key,
		.interval_ms = (unsigned)strtoul(a->cfg.report_interval_ms, NULL, 10),
		.batch = (unsigned)strtoul(a->cfg.report_batch, NULL, 10),
		.contracts = a->slot_contract,
		.n_contracts = AGENT_MAX_SLOTS,
	};

	if (!*a->cfg.platform_url)
		return 0;
	a->report = report__open(&ro);
	return a->report ? 0 : -errno;
}

/* The journal onto Kafka, when kafka_brokers is set (agent/kafka.h). */
static int open_kafka(struct agent *a)
{
	struct kafka_opts ko = {
		.base = a->base,
		.records = a->records,
		.brokers = a->cfg.kafka_brokers,
		.topic = a->cfg.kafka_topic,
		.properties = a->cfg.kafka_properties,
		.n_properties = a->cfg.n_kafka_properties,
		.state_dir = a->cfg.state_dir,
		.key = a->node_key,
		.interval_ms = (unsigned)strtoul(a->cfg.report_interval_ms, NULL, 10),
		.batch = (unsigned)strtoul(a->cfg.report_batch, NULL, 10),
	};

	if (!*a->cfg.kafka_brokers)
		return 0;
	a->kafka = kafka__open(&ko);
	return a->kafka ? 0 : -errno;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: shutting down (enforcement stays pinned)", (int)sig);
	event_base_loopbreak(arg);
}

static int start(struct agent *a)
{
	int r;

	r = choose_backend(a);
	if (!r)
		r = open_state(a);
	if (!r)
		r = open_guards(a);
	if (!r)
		r = open_workloads(a);
	if (!r)
		r = watch_clock(a);
	if (!r)
		r = platform__open(a);
	if (!r)
		r = agent_restore(a);
	if (!r)
		r = open_report(a);
	if (!r)
		r = open_kafka(a);
	if (r)
		return r;
	a->admin = admin__open(a->base, a->cfg.admin_socket, agent_command, a);
	if (!a->admin)
		return log_errno(-errno, "admin socket %s", a->cfg.admin_socket);
	r = api__open(a);
	if (!r)
		r = agent_confine(a);
	if (r)
		return r;
	log_info("ready: admin socket %s, pins %s", a->cfg.admin_socket, a->cfg.bpffs_dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct agent a = { 0 };
	struct event *sigterm = NULL, *sigint = NULL;
	int r;

	/* glibc raises its mmap threshold to the largest block freed (up to 32 MiB): after the
	 * kernel's BTF (several MiB) was read and freed at load, every later large block comes
	 * from the heap, which keeps its freed memory: 11 MiB of an idle agent's 23 MiB RSS.
	 * A fixed threshold (glibc's default) keeps large blocks mmapped, returned when freed. */
	(void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	log_route_libbpf();
	/* A client gone before its reply (pepctl killed, a peer that hangs up) must not end the
	 * agent: writing to it fails with EPIPE instead of raising SIGPIPE. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &a.cfg) < 0) {
		fputs(usage, stderr);
		config__free(&a.cfg);
		return 2;
	}
	a.base = event_base_new();
	if (!a.base) {
		r = -ENOMEM;
		goto out;
	}
	sigterm = evsignal_new(a.base, SIGTERM, on_signal, a.base);
	sigint = evsignal_new(a.base, SIGINT, on_signal, a.base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) || evsignal_add(sigint, NULL)) {
		r = -ENOMEM;
		goto out;
	}
	r = start(&a);
	if (!r)
		r = event_base_dispatch(a.base) < 0 ? -EIO : 0;
out:
	api__close(&a);
	admin__close(a.admin);
	workloads__close(a.workloads); /* its decisions need the guards */
	for (int i = 0; i < 2; i++)
		if (a.guard_events[i])
			event_free(a.guard_events[i]);
	guards__close(a.guards);
	report__close(a.report);
	kafka__close(a.kafka);
	records__close(a.records);
	EVP_PKEY_free(a.node_key);
	trust_store__free(a.trust);
	store__close(a.store);
	for (int i = 0; i < AGENT_MAX_SLOTS; i++) {
		agent_name_slot(&a, i, NULL, NULL);
		agent_expiry_disarm(&a, i);
	}
	if (a.clock_tick)
		event_free(a.clock_tick);
	platform__close(&a);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (a.base)
		event_base_free(a.base);
	config__free(&a.cfg);
	return r ? 1 : 0;
}
