/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps more than one guard object uses, declared once: libbpf reuses a map pinned by name
 * only when type, sizes and flags match, so every object must declare them alike.
 * holders: holders.h; file_rules, file_uses and file_record_state: file_guard.h (the net
 * guard decides endpoint uses by the contract's file rule and counts them on the same
 * counters).
 * Include vmlinux.h, bpf_helpers.h, holders.h and file_guard.h first.
 */
#ifndef PEP_SHARED_MAPS_BPF_H
#define PEP_SHARED_MAPS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_HOLDERS);
	__type(key, __u32);
	__type(value, struct holder);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FG_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct fg_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct fg_use_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_uses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} file_record_state SEC(".maps");

#endif /* PEP_SHARED_MAPS_BPF_H */
