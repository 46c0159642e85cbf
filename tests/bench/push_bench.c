// SPDX-License-Identifier: Apache-2.0
/*
 * Push over HTTPS -> enforcing, and the agent's memory (make bench). A real pep-agent (this
 * tree's; its own state dir, pin root, cgroup, admin socket and port) serves its platform API;
 * the bench is the platform. Each push is a contract of its own (a new contractId and product,
 * signed here by both test parties with policy/), POSTed over mutual TLS by https/'s client on
 * a new connection, as `tds-platform push` does. Timed from the POST to the answer; then the
 * pinned maps are read: the product's file must be bound to a slot whose rule is active when
 * the answer is there, or the bench fails.
 *
 * The contracts are tests/bench/make-inputs.sh's: typical (file-app-count-delete) and 5000
 * CIDRs, each pushed and terminated (pepctl, not timed) before the next; then 1000 are pushed
 * and kept: 64 typical ones (every holder slot: a contract with an egress limit or a deletion
 * needs one) and file-only ones. The baseline of the same run: the HTTPS round trip of a body
 * refused at once. The agent's resident memory (smaps) is read idle and with the 1000 in
 * execution. The agent runs on the bench's core: it and the client take turns.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include <openssl/ssl.h>

#include "policy/policy.h"
#include "policy/signed.h"
#include "https/https.h"
#include "tests/bench/bench.h"
#include "bpf/file_guard.h"
#include "bpf/holders.h"
#include "agent/file_guard.h"
#include "agent/probe.h"

#define TYPICAL_ROUNDS 200
#define CIDR_ROUNDS 50
#define KEPT 1000	 /* the memory figure is taken with them in execution */
#define PRODUCTS (TYPICAL_ROUNDS + CIDR_ROUNDS + KEPT)
#define PROVIDER "91110000100000000X"
#define CONSUMER "91310000MA1K00001B"

struct bench {
	char work[64], bin[PATH_MAX], pins[PATH_MAX + 64], cgroup[PATH_MAX + 64];
	char sock[96], url[64];
	pid_t agent;
	SSL_CTX *ssl;
	EVP_PKEY *keys[2];
	char *certs[2];
	int bound_fd, rules_fd; /* the pinned file_bound and file_rules */
};

/* ---- the contracts --------------------------------------------------------------------- */

static void product_path(const struct bench *b, int i, char *path, size_t len)
{
	snprintf(path, len, "%s/data/%04d.csv", b->work, i);
}

/* Every policy's subjectInfo.dataProductId set to P-BENCH-i. */
static void set_product(cJSON *doc, int i)
{
	static const char *const kinds[] = { "permissionPolicies", "prohibitionPolicies",
					     "obligationPolicies" };
	cJSON *policies = cJSON_GetObjectItem(doc, "contractPolicies"), *p;
	char id[32];

	snprintf(id, sizeof(id), "P-BENCH-%04d", i);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(policies, kinds[k]))
			cJSON_ReplaceItemInObject(cJSON_GetObjectItem(p, "subjectInfo"),
						  "dataProductId", cJSON_CreateString(id));
}

/* The template as contract i: its own id (serial i, check character again) and product,
 * signed by both parties. The body (malloc'd) and its id in id[48], or NULL. */
static char *contract(const struct bench *b, const cJSON *template, int i, char id[48])
{
	struct pol_errors errs = { 0 };
	cJSON *doc = cJSON_Duplicate(template, 1);
	const char *old = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "contractId"));
	char *body = NULL;
	int err = old && strlen(old) == 47 ? 0 : -EINVAL;

	if (!err) {
		snprintf(id, 48, "%.38s%08d", old, i);
		id[46] = contract_id__check_char(id, 46);
		cJSON_ReplaceItemInObject(doc, "contractId", cJSON_CreateString(id));
		set_product(doc, i);
	}
	for (int k = 0; !err && k < 2; k++)
		err = contract_doc__sign(doc, b->keys[k], b->certs[k], &errs);
	if (!err)
		body = cJSON_PrintUnformatted(doc);
	for (size_t k = 0; k < errs.n; k++)
		fprintf(stderr, "push_bench: signing: %s: %s\n", errs.v[k].path, errs.v[k].msg);
	pol_errors__clear(&errs);
	cJSON_Delete(doc);
	return body;
}

/* ---- one push ---------------------------------------------------------------------------- */

/* Whether the kernel enforces a rule on product i's file: bound to a slot, rule active. */
static bool enforced(const struct bench *b, int i)
{
	struct fg_binding bind;
	struct fg_rule rule;
	struct fg_inode id = { 0 };
	char path[PATH_MAX];
	struct stat st;

	product_path(b, i, path, sizeof(path));
	if (stat(path, &st) < 0)
		return false;
	id.dev = file_guard__kdev(st.st_dev);
	id.ino = st.st_ino;
	return !bpf_map_lookup_elem(b->bound_fd, &id, &bind) &&
	       !bpf_map_lookup_elem(b->rules_fd, &bind.slot, &rule) &&
	       (rule.flags & FG_ACTIVE) && !(rule.flags & FG_TERMINATED);
}

/* Pushes contract i made from template: microseconds from the POST to the answer, or -1
 * when the answer is not status "0" or the kernel does not hold the rule by then. */
static double push(const struct bench *b, const cJSON *template, int i, char id[48])
{
	struct https_reply r = { 0 };
	char *body = contract(b, template, i, id), url[128];
	double t0 = now_us(), t = -1;
	cJSON *answer = NULL;
	int err;

	snprintf(url, sizeof(url), "%s/contractExecution", b->url);
	err = body ? https_post_wait(b->ssl, url, body, strlen(body), &r) : -ENOMEM;
	if (!err)
		t = now_us() - t0;
	answer = !err && r.body ? cJSON_Parse(r.body) : NULL;
	if (!cJSON_IsString(cJSON_GetObjectItem(answer, "status")) ||
	    strcmp(cJSON_GetObjectItem(answer, "status")->valuestring, "0") || !enforced(b, i)) {
		fprintf(stderr, "push_bench: contract %d: %s\n", i,
			r.error ? r.error : r.body ? r.body : "not enforced when answered");
		t = -1;
	}
	cJSON_Delete(answer);
	https_reply__clear(&r);
	free(body);
	return t;
}

/* p50 and p99 of n pushes of contracts first.. made from template; each one terminated
 * after its push (pepctl, not timed) when `terminate`. 0, or -1 when a push failed. */
static int measure(struct bench *b, const cJSON *template, int first, int n, bool terminate,
		   double ret[2])
{
	char id[48], cmd[2 * PATH_MAX + 256];
	double *t = calloc(n, sizeof(*t));
	int err = template && t ? 0 : -1;

	for (int i = 0; !err && i < n; i++) {
		t[i] = push(b, template, first + i, id);
		err = t[i] < 0 ? -1 : 0;
		snprintf(cmd, sizeof(cmd), "%s/pepctl --socket %s terminate %s >/dev/null", b->bin,
			 b->sock, id);
		if (!err && terminate && system(cmd))
			err = -1;
	}
	if (!err) {
		qsort(t, n, sizeof(*t), cmp_double);
		ret[0] = t[n / 2];
		ret[1] = t[n * 99 / 100];
	}
	free(t);
	return err;
}

/* The baseline: p50 of the HTTPS round trip alone, a body refused as it is parsed ("{}"). */
static double round_trip(const struct bench *b)
{
	double t[TYPICAL_ROUNDS], t0;
	char url[128];

	snprintf(url, sizeof(url), "%s/contractExecution", b->url);
	for (int i = 0; i < TYPICAL_ROUNDS; i++) {
		struct https_reply r = { 0 };

		t0 = now_us();
		t[i] = https_post_wait(b->ssl, url, "{}", 2, &r) || r.status != 200 ? -1 :
										 now_us() - t0;
		https_reply__clear(&r);
		if (t[i] < 0)
			return -1;
	}
	qsort(t, TYPICAL_ROUNDS, sizeof(*t), cmp_double);
	return t[TYPICAL_ROUNDS / 2];
}

static cJSON *read_json(const char *work, const char *name)
{
	char path[PATH_MAX];
	size_t len;
	char *text;
	cJSON *doc;

	snprintf(path, sizeof(path), "%s/%s", work, name);
	text = slurp(path, &len);
	doc = text ? cJSON_Parse(text) : NULL;
	free(text);
	return doc;
}

/* The typical contract without what needs a holder slot (the egress prohibition, the
 * deletion obligation: MAX_HOLDER_SLOTS, 64, run at once): the application list, the count,
 * the records. */
static cJSON *file_only(const cJSON *typical)
{
	cJSON *doc = cJSON_Duplicate(typical, 1);
	cJSON *policies = cJSON_GetObjectItem(doc, "contractPolicies");

	cJSON_DeleteItemFromArray(cJSON_GetObjectItem(policies, "obligationPolicies"), 0);
	cJSON_ReplaceItemInObject(policies, "prohibitionPolicies", cJSON_CreateArray());
	return doc;
}

/* ---- memory ------------------------------------------------------------------------------ */

/* The agent's resident memory, kB: all of it, anonymous (heap, stacks), BPF maps mmapped
 * (ring buffers, whose data pages are mapped twice, and the inode bitmap), other files
 * (the program and its libraries, shared with other processes). */
static void print_rss(pid_t pid, const char *when)
{
	char path[64], line[512], name[256] = "";
	long kb, sum[4] = { 0 }; /* total, anon, bpf, files */
	unsigned long lo, hi;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		n = sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi, name);
		if (n == 2)
			*name = '\0'; /* a mapping without a name: anonymous */
		if (n >= 2 || sscanf(line, "Rss: %ld kB", &kb) != 1)
			continue;
		sum[0] += kb;
		sum[!strcmp(name, "anon_inode:bpf-map") ? 2 : *name == '/' ? 3 : 1] += kb;
	}
	if (f)
		fclose(f);
	printf("agent RSS %s: %ld kB = anonymous %ld + BPF maps %ld + program, libraries, "
	       "files %ld\n", when, sum[0], sum[1], sum[2], sum[3]);
}

/* ---- the agent ------------------------------------------------------------------------- */

/* Product i's file, and its binding in the agent's config (bind = P-BENCH-i FILE). */
static int make_products(const struct bench *b, int n, const char *config)
{
	char path[PATH_MAX];
	FILE *f = fopen(config, "we");
	int err = f ? 0 : -errno;

	snprintf(path, sizeof(path), "%s/data", b->work);
	if (!err && mkdir(path, 0755) < 0)
		err = -errno;
	for (int i = 0; !err && i < n; i++) {
		product_path(b, i, path, sizeof(path));
		fprintf(f, "bind = P-BENCH-%04d %s\n", i, path);
		err = close(creat(path, 0644)) < 0 ? -errno : 0;
	}
	if (f && fclose(f))
		err = -EIO;
	return err;
}

static pid_t start_agent(const struct bench *b, const char *config, int port)
{
	char agent[PATH_MAX + 16], state[PATH_MAX + 8], trust[PATH_MAX + 24], listen[32],
		log[PATH_MAX + 16], tls[3][PATH_MAX + 24];
	pid_t pid;

	snprintf(agent, sizeof(agent), "%s/pep-agent", b->bin);
	snprintf(state, sizeof(state), "%s/state", b->work);
	snprintf(trust, sizeof(trust), "%s/pki/root-ca.crt", b->work);
	snprintf(log, sizeof(log), "%s/agent.log", b->work);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	snprintf(tls[0], sizeof(tls[0]), "%s/tls/node.crt", b->work);
	snprintf(tls[1], sizeof(tls[1]), "%s/tls/node.key", b->work);
	snprintf(tls[2], sizeof(tls[2]), "%s/tls/platform-ca.crt", b->work);
	pid = fork();
	if (pid == 0) {
		if (!freopen(log, "w", stderr)) /* a line per push */
			_exit(127);
		execl(agent, agent, "--config", config, "--state-dir", state, "--bpffs-dir",
		      b->pins, "--admin-socket", b->sock, "--trust", trust, "--cgroup", b->cgroup,
		      "--listen", listen, "--tls-cert", tls[0], "--tls-key", tls[1],
		      "--platform-ca", tls[2], "--platform-ids", "TDSPLATFORM0000001", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Until the agent answers on its admin socket (10 s at most). */
static int wait_ready(const struct bench *b)
{
	char cmd[2 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "%s/pepctl --socket %s status >/dev/null 2>&1", b->bin,
		 b->sock);
	for (int i = 0; i < 100; i++) {
		if (!system(cmd))
			return 0;
		usleep(100000);
	}
	return -1;
}

/* ---- set-up -------------------------------------------------------------------------- */

/* The parties' keys and certificates, the platform's TLS client, the pinned maps. */
static int open_client(struct bench *b)
{
	static const char *const parties[] = { PROVIDER, CONSUMER };
	char path[PATH_MAX + 96], ca[PATH_MAX + 24], cert[PATH_MAX + 24], key[PATH_MAX + 24],
		err[256];
	struct tls_files tls = { cert, key, ca };
	size_t len;

	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/pki/%s.key", b->work, parties[k]);
		b->keys[k] = pem_key__read(path);
		snprintf(path, sizeof(path), "%s/pki/%s.crt", b->work, parties[k]);
		b->certs[k] = slurp(path, &len);
		if (!b->keys[k] || !b->certs[k])
			return -1;
	}
	snprintf(cert, sizeof(cert), "%s/tls/platform.crt", b->work);
	snprintf(key, sizeof(key), "%s/tls/platform.key", b->work);
	snprintf(ca, sizeof(ca), "%s/tls/node-ca.crt", b->work);
	b->ssl = https_client_ctx(&tls, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/file_bound", b->pins);
	b->bound_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/file_rules", b->pins);
	b->rules_fd = bpf_obj_get(path);
	return b->ssl && b->bound_fd >= 0 && b->rules_fd >= 0 ? 0 : -1;
}

static void close_client(struct bench *b)
{
	for (int k = 0; k < 2; k++) {
		EVP_PKEY_free(b->keys[k]);
		free(b->certs[k]);
	}
	SSL_CTX_free(b->ssl);
	if (b->bound_fd >= 0)
		close(b->bound_fd);
	if (b->rules_fd >= 0)
		close(b->rules_fd);
}

static void print_times(const char *what, int n, const double t[2], double base,
			const char *base_name)
{
	printf("  %-40s %4d pushes: p50 %6.0f us, p99 %6.0f us, p50 %.1fx %s\n", what, n, t[0],
	       t[1], t[0] / base, base_name);
}

/* 1. idle; 2. typical contracts, each terminated after; 3. 5000 CIDRs, the same; 4. 1000
 * contracts kept: 64 typical (every holder slot) and file-only ones. */
static int run(struct bench *b)
{
	cJSON *typical = read_json(b->work, "typical.json"), *cidrs = read_json(b->work, "cidrs.json");
	cJSON *plain = typical ? file_only(typical) : NULL;
	double t[2], c[2], h[2], p[2], rtt = -1;
	int n = TYPICAL_ROUNDS, err = -1;

	sleep(1); /* idle: started, nothing pushed */
	print_rss(b->agent, "idle");
	if (plain && (rtt = round_trip(b)) > 0 && !measure(b, typical, 0, n, true, t) &&
	    !measure(b, cidrs, n, CIDR_ROUNDS, true, c) &&
	    !measure(b, typical, n + CIDR_ROUNDS, MAX_HOLDER_SLOTS, false, h) &&
	    !measure(b, plain, n + CIDR_ROUNDS + MAX_HOLDER_SLOTS, KEPT - MAX_HOLDER_SLOTS, false, p))
		err = 0;
	if (!err) {
		print_rss(b->agent, "with 1000 contracts applied");
		printf("push over HTTPS (mutual TLS, a new connection each) -> answered, the rule "
		       "in the kernel's maps; baseline: the round trip of a body refused at once, "
		       "p50 %.0f us\n", rtt);
		print_times("typical, terminated after each", n, t, rtt, "round trip");
		print_times("5000 CIDRs, terminated after each", CIDR_ROUNDS, c, t[0], "typical");
		print_times("typical, kept (0..63 in execution)", MAX_HOLDER_SLOTS, h, t[0],
			    "typical");
		print_times("file-only, kept (64..999 in execution)", KEPT - MAX_HOLDER_SLOTS, p,
			    t[0], "typical");
		printf("  targets: typical p99 <= 10000 us, 5000 CIDRs p99 <= 200000 us\n");
	}
	cJSON_Delete(plain);
	cJSON_Delete(cidrs);
	cJSON_Delete(typical);
	return err ? 1 : 0;
}

/* Where this binary lies (OUTPUT/tests/bench/) gives the agent, pepctl and the tree. */
static int set_paths(struct bench *b, const struct backend_support *s)
{
	char *slash;

	if (!realpath("/proc/self/exe", b->bin) || !(slash = strrchr(b->bin, '/')))
		return -1;
	*slash = '\0';
	strcat(b->bin, "/../..");
	snprintf(b->pins, sizeof(b->pins), "%s/pep-push-bench-%d", s->bpffs, getpid());
	snprintf(b->cgroup, sizeof(b->cgroup), "%s/pep-push-bench-%d", s->cgroup2, getpid());
	snprintf(b->sock, sizeof(b->sock), "%s/admin.sock", b->work);
	snprintf(b->url, sizeof(b->url), "https://127.0.0.1:%d", 20000 + getpid() % 20000);
	return 0;
}

int main(void)
{
	struct bench b = { .work = "/var/tmp/pep-push-bench-XXXXXX", .bound_fd = -1,
			   .rules_fd = -1 };
	char cmd[4 * PATH_MAX], config[PATH_MAX + 16];
	struct backend_support s;
	int status = 1;

	if (backend_probe(&s) < 0 || !mkdtemp(b.work) || set_paths(&b, &s)) {
		fprintf(stderr, "push_bench: needs root, bpffs and cgroup v2\n");
		return 1;
	}
	snprintf(config, sizeof(config), "%s/agent.conf", b.work);
	snprintf(cmd, sizeof(cmd), "cd %s/.. && tests/bench/make-inputs.sh %s && "
		 "tests/vectors/mktls.sh %s/tls >/dev/null", b.bin, b.work, b.work);
	if (system(cmd) || mkdir(b.cgroup, 0755) ||
	    make_products(&b, PRODUCTS, config))
		goto cleanup;
	b.agent = start_agent(&b, config, atoi(strrchr(b.url, ':') + 1));
	if (b.agent > 0 && !wait_ready(&b) && !open_client(&b))
		status = run(&b);
	else
		fprintf(stderr, "push_bench: the agent did not start (%s/agent.log)\n", b.work);
cleanup:
	close_client(&b);
	if (b.agent > 0 && !kill(b.agent, SIGTERM))
		waitpid(b.agent, NULL, 0);
	/* the agent leaves its workload cgroups (one a contract) under ours */
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s; find %s -depth -type d -exec rmdir {} +",
		 b.pins, b.work, b.cgroup);
	(void)system(cmd);
	return status;
}
