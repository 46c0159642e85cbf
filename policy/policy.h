/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/: the contract engine. Pure C: no kernel, no logging, no global state.
 *
 *   bytes --policy__parse()--> struct contract   (strict JSON + Annex C validation + typed values)
 *         --policy__verify()-> authentic?        (JCS digest, signatures, chains, validity)
 *         --policy__plan()---> struct plan       (one entry per policy x action x constraint)
 *
 * Every function that can fail on input appends to a struct pol_errors, one entry per problem,
 * each naming the JSON path and the rule, and never stops at the first one.
 */
#ifndef PEP_POLICY_H
#define PEP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ---- errors ---------------------------------------------------------------------------- */

struct pol_error {
	char *path; /* JSON path, "contractPolicies.permissionPolicies[0].actions[1]"; "" = document */
	char *msg;  /* the rule that was broken, in plain words */
};

struct pol_errors {
	struct pol_error *v;
	size_t n, cap;
};

/* Appends one error; the path and the formatted message are copied. Never fails silently:
 * on allocation failure the error list keeps a flag so pol_errors__count() stays > 0. */
void pol_errors__add(struct pol_errors *errs, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t pol_errors__count(const struct pol_errors *errs);
void pol_errors__clear(struct pol_errors *errs);

/* ---- dictionary codes (Annex B/C) ------------------------------------------------------ */

enum policy_kind { POLICY_PERMISSION, POLICY_PROHIBITION, POLICY_OBLIGATION };

/* Annex C.5, numbered as in the table; ACTION_CUSTOM is a custom action ("export" of
 * Annex D, or an expansionItem object in the actions list). */
enum action {
	ACTION_TRANSFORM = 1,
	ACTION_ANONYMIZE,
	ACTION_DESENSITIZE,
	ACTION_ACCESS,
	ACTION_READ,
	ACTION_REPRODUCE,
	ACTION_STORAGE,
	ACTION_DOWNLOAD,
	ACTION_PROCESS,
	ACTION_JOINT_DEVELOP,
	ACTION_DISTRIBUTE,
	ACTION_COMPUTE,
	ACTION_GRANT_USE,
	ACTION_POLICY_TRANSMIT,
	ACTION_DELIVERY,
	ACTION_SELL,
	ACTION_LOG_RECORD_SEND,
	ACTION_DELETE,
	ACTION_ALERT,
	ACTION_COMPENSATE,
	ACTION_CUSTOM,
};

/* Annex C.6, numbered as in the table. */
enum constraint_name {
	CN_TIME = 1,
	CN_TIME_WINDOW,
	CN_REGION,
	CN_NETWORK_ADDRESS,
	CN_PHYSICAL_ADDRESS,
	CN_COUNT,
	CN_FREQUENCY,
	CN_DATA_SIZE,
	CN_DATE_RECORD,
	CN_DATA_FIELD,
	CN_VALUE_EXPRESSION,
	CN_APPLICATION,
	CN_ALGORITHM,
	CN_ML_MODELS,
	CN_EXECUTION_ENV,
	CN_ENCRYPT_MODE,
	CN_DELIVERY_METHOD,
	CN_PAY_AMOUNT,
	CN_EXPANSION,
};

/* Annex B operator codes 01..12, in that order. */
enum op {
	OP_EQ = 1,
	OP_GT,
	OP_GTEQ,
	OP_HAS_PART,
	OP_IS_A,
	OP_IS_ALL_OF,
	OP_IS_ANY_OF,
	OP_IS_NONE_OF,
	OP_IS_PART_OF,
	OP_LT,
	OP_LTEQ,
	OP_NEQ,
};

/* Name as the standard spells it ("plicyTransmit"), or NULL when out of range. */
const char *action__name(enum action a);
const char *constraint_name__str(enum constraint_name c);
const char *op__name(enum op o);
/* Accepts the standard's spelling and the corrected one; returns 0 or -ENOENT. */
int action__parse(const char *s, enum action *ret);
int constraint_name__parse(const char *s, enum constraint_name *ret);
/* Accepts a name ("lteq") or a two-digit code ("11"). */
int op__parse(const char *s, enum op *ret);

/* ---- typed constraint values ----------------------------------------------------------- */

enum value_type {
	VAL_NONE,      /* expansionItem: free-form, not interpreted */
	VAL_INTEGER,   /* count, frequency, dateRecord; dataSize with a unit becomes bytes */
	VAL_DURATION,  /* timeWindow "P1D", seconds */
	VAL_TIME,      /* one instant, seconds since the epoch (UTC) */
	VAL_TIME_RANGE,/* "A--B", both instants inclusive */
	VAL_PREFIXES,  /* networkAddress: IPv4/IPv6 addresses and CIDRs */
	VAL_HOSTS,     /* networkAddress given as host names (cannot be enforced at sockets) */
	VAL_PATHS,     /* application: absolute executable paths */
	VAL_CODES,     /* executionEnv, encryptMode, deliveryMethod: two-digit codes */
	VAL_AMOUNT,    /* payAmount "100.00 CNY" */
	VAL_STRINGS,   /* dataField, algorithm, region, ...: a list of opaque strings */
};

/* Period of a count or frequency written with a unit ("10000 次/天", "600/hour"). */
enum rate_period { PERIOD_NONE = 0, PERIOD_MINUTE = 60, PERIOD_HOUR = 3600, PERIOD_DAY = 86400 };

struct net_prefix {
	uint8_t family;   /* AF_INET or AF_INET6 */
	uint8_t prefixlen;/* 0..32 or 0..128 */
	uint8_t addr[16]; /* network byte order, host bits zero */
};

struct amount {
	int64_t minor_units; /* 100.00 CNY -> 10000 */
	uint8_t scale;       /* digits after the point as written: 2 */
	char currency[4];    /* ISO 4217, "CNY" */
};

struct constraint_value {
	enum value_type type;
	uint64_t integer;             /* VAL_INTEGER (bytes for dataSize) */
	enum rate_period period;      /* VAL_INTEGER from "N 次/天": the period written with it */
	int64_t seconds;              /* VAL_DURATION */
	int64_t from, to;             /* VAL_TIME (from only), VAL_TIME_RANGE */
	struct amount amount;         /* VAL_AMOUNT */
	struct net_prefix *prefixes;  /* VAL_PREFIXES */
	char **strings;               /* VAL_HOSTS, VAL_PATHS, VAL_CODES, VAL_STRINGS */
	size_t n;                     /* entries in prefixes or strings */
	bool is_list;                 /* written as "[a, b]" */
};

/*
 * Parses `text`, the constraintValue of constraint `name`, into `ret` (zeroed first).
 * On failure appends an error at `path` saying what form was expected and returns -EINVAL;
 * `ret` then holds nothing that needs freeing. Never guesses: a unit, zone or form it does not
 * know is an error.
 */
int constraint_value__parse(enum constraint_name name, const char *text, const char *path,
			    struct constraint_value *ret, struct pol_errors *errs);
void constraint_value__free(struct constraint_value *v);

/*
 * Timestamps: "YYYYMMDDHHMMSS" (the dictionary form), ISO 8601 "YYYY-MM-DDTHH:MM:SS" with "Z" or
 * "+hh:mm" (the interface form) and "YYYY-MM-DD HH:MM:SS" (as Annex D writes them). A time
 * without an offset is China Standard Time (UTC+08:00), the standard's jurisdiction.
 * Returns 0 or -EINVAL; writes seconds since the epoch (UTC) to *ret.
 */
int pol_time__parse(const char *s, int64_t *ret);

/* ---- the contract --------------------------------------------------------------------- */

struct constraint {
	enum constraint_name name;
	enum op op;
	char *text; /* constraintValue as written */
	struct constraint_value value;
};

struct policy {
	enum policy_kind kind;
	char *id;   /* policyId, or "permissionPolicies[0]" when absent */
	char *path; /* JSON path of the policy object */
	char *product_id;        /* subjectInfo.dataProductId */
	char *product_entity_id; /* subjectInfo.dataProductEntityId */
	char *provider_node_id;  /* executionNodeInfo.providerNodeId / assignerId */
	char *consumer_node_id;  /* executionNodeInfo.consumerNodeId / assigneeId */
	enum action *actions;
	char **action_names; /* as written, for custom actions ("export") */
	size_t n_actions;
	struct constraint *constraints;
	size_t n_constraints;
};

enum signatory_type {
	SIGNATORY_PROVIDER = 1,
	SIGNATORY_CONSUMER,
	SIGNATORY_SERVICE,
	SIGNATORY_OTHER,
};

struct signatory {
	char *entity_id;
	char *name;
	enum signatory_type type; /* 0 when the Annex B form does not say */
	int64_t sign_time;        /* 0 when not given */
	char *certificate_pem;    /* NULL when not given */
	char *signature_b64;
	char *path;
};

struct contract {
	char *id;
	char *name;
	char *status; /* Annex C.1 code as written: "05" */
	int64_t activation_time, end_time; /* validity; 0 = not given */
	int64_t sign_time, indate, create_time;
	struct signatory *signatories;
	size_t n_signatories;
	struct policy *policies;
	size_t n_policies;
	bool annex_b_form;     /* single "strategy" object */
	struct cJSON *doc;     /* the parsed document, kept for canonicalisation */
};

struct parse_opts {
	size_t max_bytes;        /* 0 = 4 MiB */
	bool skip_id_check_char; /* platforms with another check-character algorithm */
};

/*
 * Parses and validates a contract. Returns NULL and appends every error found when the document
 * is not a valid contract (errno = EINVAL), or on allocation failure (errno = ENOMEM).
 */
struct contract *policy__parse(const char *buf, size_t len, const struct parse_opts *opts,
			       struct pol_errors *errs);
void contract__free(struct contract *c);

/* ISO/IEC 7064 MOD 37,36 check character over `s` (digits, upper-case letters);
 * returns the character, or 0 when `s` holds another character. */
char contract_id__check_char(const char *s, size_t len);

/* ---- canonical form, digest, signatures ------------------------------------------------ */

/* RFC 8785 JSON Canonicalization Scheme of `doc`. Returns a malloc'd NUL-terminated string
 * (length in *ret_len) or NULL with errno set. */
char *jcs__serialize(const struct cJSON *doc, size_t *ret_len);

/* JCS of the contract without the `signature` members of its signatory lists. */
char *contract__canonical(const struct contract *c, size_t *ret_len);

enum digest_alg { DIGEST_SM3, DIGEST_SHA256 };

/* SM3 when any signatory uses an SM2 key, SHA-256 otherwise. */
enum digest_alg contract__digest_alg(const struct contract *c);
/* contractHash: 64 lower-case hex digits + NUL into ret_hex[65]. Returns 0 or -errno. */
int contract__hash(const struct contract *c, char ret_hex[65]);

/*
 * The CAs a node trusts, loaded once from a PEM file or a directory of PEM files. A store the
 * caller keeps across verifications remembers the certificate chains it has verified (with
 * the times they are valid) and does not verify their signatures again. NULL and errno (an
 * error appended) when the path holds no certificate or cannot be read.
 */
struct trust_store *trust_store__open(const char *path, struct pol_errors *errs);
void trust_store__free(struct trust_store *ts);

struct verify_opts {
	struct trust_store *trust; /* kept by the caller; NULL: trust_path is loaded for the call */
	const char *trust_path; /* CA file or directory (PEM) */
	int64_t now;            /* injectable clock: seconds since the epoch; 0 = time(NULL) */
};

/*
 * Verifies every signature, certificate chain and the validity period. Returns 0 when the
 * contract is authentic and valid now, -EINVAL (errors appended) when it is not, another
 * -errno on I/O failure (the trust store cannot be read).
 */
int policy__verify(const struct contract *c, const struct verify_opts *opts,
		   struct pol_errors *errs);

/* ---- the plan -------------------------------------------------------------------------- */

enum enforcer {
	ENFORCE_KERNEL,   /* eBPF programs and maps */
	ENFORCE_AGENT,    /* the daemon: timers, deletion, records */
	ENFORCE_RECORDED, /* not usage control at the node: reported, not enforced */
	ENFORCE_REFUSED,  /* a usage constraint this node cannot honour */
};

/* What this node can do; the plan depends on it. */
struct node_caps {
	const char *backend;     /* "lsm", "portable", or NULL when unknown (plain verify) */
	bool sandbox;            /* workloads can be confined (executionEnv 02) */
	bool tee;                /* executionEnv 05 */
	const char *region;      /* the node's region code, NULL = unknown */
	const char *physical_id; /* the node's hardware identity, NULL = unknown */
};

struct plan_entry {
	const struct policy *policy;
	enum action action;
	const struct constraint *constraint; /* NULL: the action itself */
	enum enforcer enforcer;
	char *what;   /* plain words: what this entry means at this node */
	char *how;    /* how it is enforced, or why it is refused */
};

struct plan {
	const struct contract *contract;
	struct plan_entry *entries;
	size_t n;
	size_t n_refused;
};

/* Compiles a parsed (and verified) contract. Returns NULL with errno on allocation failure. */
struct plan *policy__plan(const struct contract *c, const struct node_caps *caps);
void plan__free(struct plan *p);
const char *enforcer__name(enum enforcer e);

#endif /* PEP_POLICY_H */
