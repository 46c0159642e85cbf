/* SPDX-License-Identifier: Apache-2.0 */
/* What the guards' loaders (file_guard.c, net_guard.c) do alike with their pins. */
#ifndef PEP_AGENT_PINS_H
#define PEP_AGENT_PINS_H

#include <limits.h>
#include <stddef.h>

struct bpf_object;
struct bpf_map;
struct bpf_program;

/* The pin root must be a directory on bpffs; made if missing. Returns 0 or -errno (logged,
 * prefixed with `who`). */
int pins__prepare_root(const char *who, const char *path);
struct pin_size {
	struct bpf_map *map;
	unsigned int n; /* 0: the object's default */
};

/* Sizes the maps as asked, then gives each map already pinned the size it has: a pinned map
 * is reused only if its parameters match (libbpf checks max_entries too). Before load. */
int pins__size_maps(const char *who, struct bpf_object *obj, const struct pin_size *want,
		    size_t n);
/* ROOT/link_<program name>: where a program's link is pinned. 0 or -ENAMETOOLONG. */
int pins__link_path(const char *root, const struct bpf_program *prog, char buf[PATH_MAX]);

/* The sum over CPUs of a per-CPU array's __u64 at `key` (the guards' drop counters). */
int pins__percpu_sum(struct bpf_map *map, unsigned int key, unsigned long long *ret_sum);

#endif /* PEP_AGENT_PINS_H */
