/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The file guard's decision, shared by every hook of file_guard.bpf.c (the portable sys_exit
 * tracepoint, the lsm file_open hook, file_decide for workloads) and by net_guard.bpf.c
 * (endpoint uses take the same counters). Hooks gather the context (rule, the opener's
 * executable, access, time), these helpers decide. The first group is pure; the second takes
 * maps as arguments so each object passes its own.
 * Include vmlinux.h, bpf_helpers.h and file_guard.h first.
 */
#ifndef PEP_FILE_GUARD_BPF_H
#define PEP_FILE_GUARD_BPF_H

/* ---- pure ----------------------------------------------------------------------------- */

/* One use = one open with read access (O_RDONLY, O_RDWR); write-only and O_PATH opens are
 * decided but not counted. fmode: file->f_mode. */
static __always_inline bool fg_is_use(__u32 fmode)
{
	return fmode & FG_FMODE_READ;
}

/* Whether the application list must be looked up at all. */
static __always_inline bool fg_wants_app(const struct fg_rule *r)
{
	return r->flags & (FG_APP_ALLOW | FG_APP_DENY);
}

/* Whether rule r's application list refuses an executable that is (listed) or is not in it. */
static __always_inline bool fg_app_refused(const struct fg_rule *r, bool listed)
{
	return ((r->flags & FG_APP_ALLOW) && !listed) || ((r->flags & FG_APP_DENY) && listed);
}

/* Everything but the counters: FG_R_NONE, or why an open of a file of rule r's slot, by an
 * executable that is (listed) or is not in the slot's application list, at boot time now,
 * is refused. */
static __always_inline __u32 fg_check(const struct fg_rule *r, bool listed, __u64 now)
{
	if (!(r->flags & FG_ACTIVE))
		return FG_R_NO_RULE;
	if (r->flags & FG_TERMINATED)
		return FG_R_TERMINATED;
	if (now < r->not_before)
		return FG_R_NOT_YET;
	if (r->not_after && now > r->not_after)
		return FG_R_EXPIRED;
	if (fg_app_refused(r, listed))
		return FG_R_APP;
	return FG_R_NONE;
}

/* Whether rule r refuses an admission whose record cannot be made (file_guard.h). */
static __always_inline bool fg_unrecordable(const struct fg_rule *r, bool recordable)
{
	return !recordable && (r->flags & FG_RECORD_REQUIRED);
}

/* The counter window of time now (fg_check has refused now < not_before). */
static __always_inline __u64 fg_window(const struct fg_rule *r, __u64 window_ns, __u64 now)
{
	return window_ns ? (now - r->not_before) / window_ns : 0;
}

/* A copy of a rule is usable iff it is the slot's and both stamps agree (file_guard.h). */
static __always_inline bool fg_rule_whole(const struct fg_rule *r, __u32 slot)
{
	return r->slot == slot && r->generation == r->generation_end;
}

/* ---- with maps ------------------------------------------------------------------------ */

/* Whether the journal takes records (file_record_state, the agent's flag). */
static __always_inline bool fg_journal_ok(void *record_state)
{
	__u32 zero = 0, *full = bpf_map_lookup_elem(record_state, &zero);

	return !full || !*full;
}

/*
 * Copies slot's rule into *out; false if there is none or no consistent copy could be
 * made (after two tries: a torn copy needs two rule updates within the few nanoseconds of
 * the copy, so a second failure means something is badly wrong: refuse).
 */
static __always_inline bool fg_rule_get(void *rules, __u32 slot, struct fg_rule *out)
{
	struct fg_rule *r;
	int i;

	for (i = 0; i < 2; i++) {
		r = bpf_map_lookup_elem(rules, &slot);
		if (!r)
			return false;
		__builtin_memcpy(out, r, sizeof(*out));
		if (fg_rule_whole(out, slot))
			return true;
	}
	return false;
}

static __always_inline bool fg_app_listed(void *apps, const struct fg_rule *r,
					  const struct fg_inode *exe)
{
	struct fg_app_key k = {.slot = r->slot, .generation = r->generation, .exe = *exe};

	return bpf_map_lookup_elem(apps, &k) != NULL;
}

/*
 * Takes one use from the counter {slot, kind, window}: true iff the value before our own
 * fetch-and-add was below limit, so N racing openers get exactly min(N, limit) trues, with
 * no check-then-increment gap. A refused attempt gives its increment back (the counter
 * then reads as admitted uses); it never goes below the admitted ones, so it never admits
 * extra. *ret_value: uses after ours, when admitted.
 */
static __always_inline bool fg_take(void *uses, struct fg_use_key *k, __u64 limit, __u64 *ret_value)
{
	__u64 zero = 0, *v, old;

	v = bpf_map_lookup_elem(uses, k);
	if (!v) {
		/* NOEXIST: of racing creators one inserts, the others find it */
		(void)bpf_map_update_elem(uses, k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(uses, k);
		if (!v)
			return false; /* map full: fail closed */
	}
	old = __sync_fetch_and_add(v, 1);
	if (old < limit) {
		*ret_value = old + 1;
		return true;
	}
	__sync_fetch_and_add(v, -1);
	*ret_value = old;
	return false;
}

static __always_inline void fg_give_back(void *uses, struct fg_use_key *k)
{
	__u64 *v = bpf_map_lookup_elem(uses, k);

	if (v)
		__sync_fetch_and_add(v, -1);
}

/*
 * The limits of rule r for one use at now: FG_R_NONE (taken) or FG_R_FREQ/FG_R_COUNT.
 * Frequency first, and given back if the count refuses, so a refused open consumes
 * neither. *ret_value: the deciding counter (count if limited, else frequency).
 */
static __always_inline __u32 fg_take_use(void *uses, const struct fg_rule *r, __u64 now,
					 __u64 *ret_value)
{
	struct fg_use_key f = {.slot = r->slot, .kind = FG_USE_FREQ};
	struct fg_use_key c = {.slot = r->slot, .kind = FG_USE_COUNT};

	*ret_value = 0;
	if (r->flags & FG_FREQ_LIMIT) {
		f.window = fg_window(r, r->freq_window_ns, now);
		if (!fg_take(uses, &f, r->freq_limit, ret_value))
			return FG_R_FREQ;
	}
	if (r->flags & FG_COUNT_LIMIT) {
		c.window = fg_window(r, r->count_window_ns, now);
		if (!fg_take(uses, &c, r->count_limit, ret_value)) {
			if (r->flags & FG_FREQ_LIMIT)
				fg_give_back(uses, &f);
			return FG_R_COUNT;
		}
	}
	return FG_R_NONE;
}

/*
 * The decision on one open of a file of slot, by executable exe, with access fmode
 * (file->f_mode), at boot time now, whose record can be made or not (recordable):
 * FG_R_NONE (admitted, and one use taken if it is one) or why not. *ret_rule: the rule it
 * was decided by (zeroed when there was none: a torn copy must not mark a holder);
 * *ret_counter: the counter that decided, if any. Every hook and file_decide call this, on
 * the same maps: one rule, one set of counters.
 */
static __always_inline __u32 fg_decide(void *rules, void *apps, void *uses, __u32 slot,
				       const struct fg_inode *exe, __u32 fmode, __u64 now,
				       bool recordable, struct fg_rule *ret_rule,
				       __u64 *ret_counter)
{
	bool listed;
	__u32 reason;

	*ret_counter = 0;
	if (!fg_rule_get(rules, slot, ret_rule)) {
		__builtin_memset(ret_rule, 0, sizeof(*ret_rule));
		return FG_R_NO_RULE;
	}
	listed = fg_wants_app(ret_rule) && fg_app_listed(apps, ret_rule, exe);
	reason = fg_check(ret_rule, listed, now);
	if (reason == FG_R_NONE && fg_unrecordable(ret_rule, recordable))
		reason = FG_R_UNRECORDABLE; /* before a use is taken: it is not one */
	if (reason == FG_R_NONE && fg_is_use(fmode))
		reason = fg_take_use(uses, ret_rule, now, ret_counter);
	return reason;
}

#endif /* PEP_FILE_GUARD_BPF_H */
