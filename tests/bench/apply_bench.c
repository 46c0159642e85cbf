// SPDX-License-Identifier: Apache-2.0
/*
 * Contract -> enforcing, in process, on the agent's own path (root): parse + verify + plan,
 * the rules from the plan and the bindings, and the kernel maps written by guards__apply();
 * then guards__release() outside the timing. A typical contract (file-app-count-delete) and
 * the same with 5000 CIDRs. Prints p50 and p99 of each, and the ratio of the large one to
 * the typical one (same run). Pins and the cgroup are the bench's own, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/bench/bench.h"
#include "agent/guards.h"
#include "agent/rules.h"

#define ROUNDS 200

struct bench {
	struct guards *guards;
	const char *trust;
	char *data; /* the product's file */
};

static int lookup(const char *product, char ***ret, size_t *ret_n, void *ctx)
{
	struct bench *b = ctx;
	char **v = calloc(1, sizeof(*v));

	if (!v || !(v[0] = strdup(b->data))) {
		free(v);
		return -ENOMEM;
	}
	*ret = v;
	*ret_n = 1;
	return 0;
}

/* One contract from its bytes to enforced rules in slot 0; microseconds, or -1. */
static double apply_once(struct bench *b, const char *text, size_t len)
{
	static const struct node_caps caps = { .backend = "portable" };
	struct verify_opts vo = { .trust_path = b->trust };
	struct contract_rules r = { 0 };
	struct pol_errors errs = { 0 };
	struct plan *p = NULL;
	double t0 = now_us(), t = -1;
	struct contract *c = policy__parse(text, len, NULL, &errs);
	int err = c ? policy__verify(c, &vo, &errs) : -EINVAL;

	if (!err)
		p = policy__plan(c, &caps);
	if (p)
		err = contract_rules__build(p, lookup, b, &r, &errs);
	if (p && !err)
		err = guards__apply(b->guards, 0, &r, &errs);
	if (p && !err)
		t = now_us() - t0;
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "apply_bench: %s: %s\n", errs.v[i].path, errs.v[i].msg);
	(void)guards__release(b->guards, 0);
	contract_rules__free(&r);
	plan__free(p);
	contract__free(c);
	pol_errors__clear(&errs);
	return t;
}

/* p50 and p99 of applying the contract in `path`; 0 on success. */
static int measure(struct bench *b, const char *path, double ret[2])
{
	double t[ROUNDS];
	size_t len = 0;
	char *text = slurp(path, &len);

	for (int i = 0; text && i < ROUNDS; i++)
		if ((t[i] = apply_once(b, text, len)) < 0)
			text = (free(text), NULL);
	if (!text)
		return -1;
	free(text);
	qsort(t, ROUNDS, sizeof(*t), cmp_double);
	ret[0] = t[ROUNDS / 2];
	ret[1] = t[ROUNDS * 99 / 100];
	return 0;
}

static int run(struct bench *b, const char *dir)
{
	char typical[300], cidrs[300];
	double t[2], c[2];

	snprintf(typical, sizeof(typical), "%s/typical.json", dir);
	snprintf(cidrs, sizeof(cidrs), "%s/cidrs.json", dir);
	if (measure(b, typical, t) || measure(b, cidrs, c)) {
		fprintf(stderr, "apply_bench: a contract was not applied\n");
		return 1;
	}
	printf("contract -> enforcing (verify, plan, rules, kernel maps), %d rounds:\n", ROUNDS);
	printf("  typical contract: p50 %.0f us, p99 %.0f us (target p99 <= 10000 us)\n", t[0],
	       t[1]);
	printf("  5000 CIDRs:       p50 %.0f us, p99 %.0f us (target p99 <= 200000 us), "
	       "p50 %.1fx typical\n", c[0], c[1], c[0] / t[0]);
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/pep-apply-bench.XXXXXX", pins[4200], cgroup[4200], cmd[8600];
	struct backend_support s;
	struct bench b = { 0 };
	struct guards_opts o = { .pin_root = pins, .cgroup = cgroup, .backend = BACKEND_PORTABLE };
	char trust[300], data[300];
	int status = 1;

	if (backend_probe(&s) < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "apply_bench: needs root, bpffs and cgroup v2\n");
		return 1;
	}
	snprintf(pins, sizeof(pins), "%s/pep-apply-bench-%d", s.bpffs, getpid());
	snprintf(cgroup, sizeof(cgroup), "%s/pep-apply-bench-%d", s.cgroup2, getpid());
	snprintf(cmd, sizeof(cmd), "tests/bench/make-inputs.sh %s", dir);
	snprintf(trust, sizeof(trust), "%s/pki/root-ca.crt", dir);
	snprintf(data, sizeof(data), "%s/data.csv", dir);
	b.trust = trust;
	b.data = data;
	if (system(cmd) || mkdir(cgroup, 0755) || close(creat(data, 0644)))
		goto out;
	b.guards = guards__open(&o);
	if (b.guards)
		status = run(&b, dir);
	guards__close(b.guards);
out:
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s; rmdir %s 2>/dev/null", pins, dir, cgroup);
	(void)system(cmd);
	return status;
}
