// SPDX-License-Identifier: Apache-2.0
/*
 * Is the contract authentic and in force? Every signatory's signature over the canonical bytes,
 * its certificate (chain, time, subject), the parties that must have signed, and the validity
 * period. Every problem is reported, each at the JSON path it concerns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/policy.h"
#include "policy/crypto.h"

struct verifier {
	const struct contract *c;
	struct trust_store *store;
	const unsigned char *data; /* the canonical bytes every party signed */
	size_t len;
	int64_t now;
	struct pol_errors *errs;
};

/* Times in messages are written as the contracts write them: ISO 8601, China Standard Time. */
static const char *fmt_time(int64_t t, char buf[32])
{
	time_t local = (time_t)(t + 8 * 3600);
	struct tm tm;

	if (!gmtime_r(&local, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%S+08:00", &tm))
		snprintf(buf, 32, "@%lld", (long long)t);
	return buf;
}

/* Appends an error at "<signatory's path>.<member>": "signatories[1].signature". */
__attribute__((format(printf, 4, 5))) static void
signatory_error(const struct verifier *v, const struct signatory *s, const char *member,
		const char *fmt, ...)
{
	char path[256], *msg;
	va_list ap;

	snprintf(path, sizeof(path), "%s.%s", s->path ? s->path : "signatories", member);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	pol_errors__add(v->errs, path, "%s", msg ? msg : "out of memory");
	free(msg);
}

/* ---- signatures ------------------------------------------------------------------------ */

static bool check_signature(const struct verifier *v, const struct signatory *s, X509 *cert)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	enum key_kind kind = key ? key_kind_of(key) : KEY_OTHER;
	unsigned char *sig = NULL;
	size_t len = 0;
	bool ok = false;

	if (kind == KEY_OTHER) {
		signatory_error(v, s, "certificate",
				"certificate key is %s; the profile allows SM2, EC P-256, Ed25519",
				key ? key_kind_name(key) : "unreadable");
		goto cleanup;
	}
	if (!s->signature_b64 || !*s->signature_b64) {
		signatory_error(v, s, "signature", "no signature");
		goto cleanup;
	}
	sig = base64_decode(s->signature_b64, &len);
	if (!sig) {
		signatory_error(v, s, "signature", "signature is not base64");
		goto cleanup;
	}
	ok = signature_verifies(key, sig, len, v->data, v->len);
	if (!ok)
		signatory_error(v, s, "signature", "signature does not verify with the "
				"certificate's %s key", key_kind_name(key));
cleanup:
	free(sig);
	return ok;
}

/* ---- certificates ---------------------------------------------------------------------- */

/* The subject has exactly one CN, and it is the signatory's entity id. */
static bool check_subject(const struct verifier *v, const struct signatory *s, X509 *cert)
{
	const char *id = s->entity_id ? s->entity_id : "";
	char *cn = x509_common_name(cert);
	bool ok = cn && strcmp(cn, id) == 0;

	if (!cn)
		signatory_error(v, s, "certificate", "certificate subject must have one CN, the "
				"signatoryEntityId \"%s\"", id);
	else if (!ok)
		signatory_error(v, s, "certificate", "certificate CN \"%s\" is not "
				"signatoryEntityId \"%s\"", cn, id);
	free(cn);
	return ok;
}

/* The certificate must have been trustworthy when it signed: chain and validity are judged at
 * the signatory's signTime, else the contract's, else now. */
static bool check_chain(const struct verifier *v, const struct signatory *s, X509 *cert)
{
	int64_t at = s->sign_time ? s->sign_time : v->c->sign_time ? v->c->sign_time : v->now;
	const char *why = trust_store_check(v->store, cert, at);
	char when[32];

	if (why)
		signatory_error(v, s, "certificate",
				"certificate does not chain to the trust store at signTime %s: %s",
				fmt_time(at, when), why);
	return !why;
}

/* A signatory counts when its signature, its certificate chain and its subject are all good;
 * every problem is reported. */
static bool check_signatory(const struct verifier *v, const struct signatory *s)
{
	X509 *cert;
	bool ok;

	if (!s->certificate_pem) {
		signatory_error(v, s, "certificate", "no certificate");
		return false;
	}
	cert = x509_from_pem(s->certificate_pem);
	if (!cert) {
		signatory_error(v, s, "certificate",
				"certificate is not a PEM X.509 certificate: %s", openssl_reason());
		return false;
	}
	ok = check_signature(v, s, cert);
	ok = check_chain(v, s, cert) && ok;
	ok = check_subject(v, s, cert) && ok;
	X509_free(cert);
	return ok;
}

/* ---- the contract as a whole ----------------------------------------------------------- */

/* "signatories", or the Annex B list the parser found the signatories in. */
static void list_path(const struct contract *c, char buf[32])
{
	const char *p = c->n_signatories && c->signatories[0].path ? c->signatories[0].path :
								     "signatories";

	snprintf(buf, 32, "%.*s", (int)strcspn(p, "["), p);
}

/* Provider and consumer must both be among the valid signatories (contract profile). */
static void check_parties(const struct verifier *v, const bool valid[])
{
	static const struct {
		enum signatory_type type;
		const char *what;
	} required[] = {
		{ SIGNATORY_PROVIDER, "provider (signatorytype 01)" },
		{ SIGNATORY_CONSUMER, "consumer (signatorytype 02)" },
	};
	const struct contract *c = v->c;
	char path[32];

	list_path(c, path);
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
		bool listed = false, signed_ok = false;

		for (size_t i = 0; i < c->n_signatories; i++) {
			if (c->signatories[i].type != required[r].type)
				continue;
			listed = true;
			signed_ok |= valid[i];
		}
		if (!signed_ok)
			pol_errors__add(v->errs, path, "no %s signature%s", required[r].what,
					listed ? " that verifies" : "");
	}
}

/* Now must lie in [activationTime, endTime]; the parser puts signTime and indate there when
 * the document gives only those. */
static void check_period(const struct verifier *v)
{
	const struct contract *c = v->c;
	char a[32], b[32];

	if (c->activation_time && v->now < c->activation_time)
		pol_errors__add(v->errs, "activationTime",
				"contract not yet active: activationTime %s is after now %s",
				fmt_time(c->activation_time, a), fmt_time(v->now, b));
	if (c->end_time && v->now > c->end_time)
		pol_errors__add(v->errs, "endTime",
				"contract has ended: endTime %s is before now %s",
				fmt_time(c->end_time, a), fmt_time(v->now, b));
}

int policy__verify(const struct contract *c, const struct verify_opts *opts,
		   struct pol_errors *errs)
{
	struct verifier v = { .c = c, .errs = errs };
	size_t before = pol_errors__count(errs);
	char *data = NULL;
	bool *valid = NULL;
	int err;

	ERR_clear_error(); /* reasons reported below are ours, not a caller's leftovers */
	v.now = opts->now ? opts->now : (int64_t)time(NULL);
	/* 1. The trust store: without it nothing can be vouched for. */
	v.store = opts->trust ? opts->trust : trust_store__open(opts->trust_path, errs);
	if (!v.store)
		return -errno;
	/* 2. The bytes the parties signed. */
	valid = calloc(c->n_signatories + 1, sizeof(*valid));
	data = valid ? contract__canonical(c, &v.len) : NULL;
	if (!data) {
		err = -errno;
		pol_errors__add(errs, "", "the document has no canonical form (RFC 8785): %s",
				strerror(errno));
		goto cleanup;
	}
	v.data = (const unsigned char *)data;
	/* 3. Each signatory, then the parties that must be among them, then the period. */
	for (size_t i = 0; i < c->n_signatories; i++)
		valid[i] = check_signatory(&v, &c->signatories[i]);
	check_parties(&v, valid);
	check_period(&v);
	err = pol_errors__count(errs) != before ? -EINVAL : 0;
cleanup:
	free(valid);
	free(data);
	if (v.store != opts->trust)
		trust_store__free(v.store);
	return err;
}
