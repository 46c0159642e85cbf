// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * journal_bench's second load: file guard decision events made up in the kernel and put
 * straight into the file guard's ring buffer (journal_bench reuses its map fd for this one).
 * An event costs a fraction of the open() it stands for, so rates beyond what one core of
 * openers makes (about 350 000/s here) can be offered to the agent's side.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bpf/file_guard.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); /* replaced by the file guard's own ring buffer */
} file_events SEC(".maps");

/* The context of a run (bpf_prog_test_run_opts ctx_in): how many events to make. */
struct load_args {
	__u32 events;
	__u32 slot;
};

__u64 made, lost; /* read by journal_bench */

static long make_event(__u64 i, void *ctx)
{
	struct load_args *args = ctx;
	struct fg_event *e = bpf_ringbuf_reserve(&file_events, fg_event_size(FG_EV_COUNTED), 0);

	if (!e) {
		lost++; /* as the file guard counts FG_DROP_EVENT */
		return 0;
	}
	/* what an admitted use of a bound file reports, as short as the file guard's: every field
	 * the agent reads */
	e->ts = bpf_ktime_get_boot_ns();
	e->counter = i + 1;
	e->cgroup_id = 1;
	e->object.dev = 8388609;
	e->object.pad = 0;
	e->object.ino = 10954747;
	e->exe.dev = 8388609;
	e->exe.pad = 0;
	e->exe.ino = 18624;
	e->kind = FG_EV_COUNTED;
	e->verdict = FG_ALLOW;
	e->reason = FG_R_NONE;
	e->slot = args->slot;
	e->generation = 1;
	e->pid = e->tgid = 4242;
	e->uid = 0;
	e->fd = 3;
	e->error = 0;
	__builtin_memcpy(e->comm, "journal_load\0\0\0", FG_COMM_LEN);
	bpf_ringbuf_submit(e, 0);
	made++;
	return 0;
}

SEC("syscall")
int journal_load(struct load_args *args)
{
	struct load_args copy = *args;

	bpf_loop(copy.events, make_event, &copy, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
