// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/log.h"
#include "agent/pins.h"

int pins__prepare_root(const char *who, const char *path)
{
	struct statfs fs;

	if (mkdir(path, 0700) && errno != EEXIST)
		return log_errno(-errno, "%s: pin root %s", who, path);
	if (statfs(path, &fs))
		return log_errno(-errno, "%s: pin root %s", who, path);
	if (fs.f_type != BPF_FS_MAGIC)
		return log_errno(-ENOTSUP, "%s: pin root %s is not on a mounted bpffs", who, path);
	return 0;
}

int pins__size_maps(const char *who, struct bpf_object *obj, const struct pin_size *want,
		    size_t n)
{
	struct bpf_map *map;
	int err;

	for (size_t i = 0; i < n; i++)
		if (want[i].n && (err = bpf_map__set_max_entries(want[i].map, want[i].n)))
			return log_errno(err, "%s: size of %s", who, bpf_map__name(want[i].map));
	bpf_object__for_each_map(map, obj) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		const char *path = bpf_map__pin_path(map);
		int fd = path ? bpf_obj_get(path) : -ENOENT;

		if (fd == -ENOENT)
			continue;
		if (fd < 0)
			return log_errno(fd, "%s: pinned map %s", who, path);
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (!err)
			err = bpf_map__set_max_entries(map, info.max_entries);
		if (err)
			return log_errno(err, "%s: pinned map %s", who, path);
	}
	return 0;
}

int pins__link_path(const char *root, const struct bpf_program *prog, char buf[PATH_MAX])
{
	int n = snprintf(buf, PATH_MAX, "%s/link_%s", root, bpf_program__name(prog));

	return n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

int pins__percpu_sum(struct bpf_map *map, unsigned int key, unsigned long long *ret_sum)
{
	int ncpu = libbpf_num_possible_cpus(), err;
	unsigned long long sum = 0;
	__u64 *v;

	if (ncpu < 0)
		return ncpu;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	err = bpf_map__lookup_elem(map, &key, sizeof(key), v, ncpu * sizeof(*v), 0);
	for (int i = 0; !err && i < ncpu; i++)
		sum += v[i];
	free(v);
	if (!err)
		*ret_sum = sum;
	return err;
}
