// SPDX-License-Identifier: Apache-2.0
/*
 * What the agent still needs once it runs, and why. Measured: the kernel tests (the .t files
 * of tests/bpf) were run with each capability dropped in turn; they fail without
 *   CAP_SETGID, CAP_SYS_CHROOT  a caller thread takes the workload's groups and root (caller.c)
 *   CAP_SYS_PTRACE              a workload's memory (/proc/PID/mem: the path it asks for)
 * and these are kept for what the tests do not reach (their files and workloads are root's):
 *   CAP_SETUID                  the fsuid of a workload run by another user
 *   CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
 *                               deleting files of any owner, in any directory (sticky ones
 *                               too); opening them for such a workload
 * Given up, since nothing fails without them: CAP_BPF, CAP_SYS_ADMIN, CAP_PERFMON (rules go
 * into maps already open; BPF_PROG_RUN of file_decide takes none), CAP_KILL (cgroup.kill),
 * CAP_NET_ADMIN and the rest.
 * The system calls: those the agent made over the kernel tests after start-up (strace -f -c
 * on the running agent), with their glibc variants, and those of paths the tests do not reach
 * (shutdown, DNS for a platform named by host name, abort).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <seccomp.h>

#include "agent/agent.h"
#include "agent/confine.h"
#include "agent/log.h"

static const int kept_caps[] = {
	CAP_SETGID, CAP_SYS_CHROOT,	 CAP_SYS_PTRACE, CAP_SETUID,
	CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
};

static const char *const allowed_calls[] = {
	/* files, the store, the journal */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "openat", "openat2",
	"open", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "flock", "fstat",
	"newfstatat", "statx", "stat", "lstat", "fstatfs", "statfs", "getdents64", "readlink",
	"readlinkat", "access", "faccessat", "faccessat2", "fsync", "fdatasync", "ftruncate",
	"fallocate", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat",
	"rmdir", "fchmod", "fchown", "umask", "getcwd", "fchdir", "chroot", "unshare",
	/* memory, threads, time */
	"mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "futex", "clone", "clone3",
	"set_robust_list", "rseq", "exit", "exit_group", "sched_yield", "getrandom",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "membarrier",
	/* the event loop and signals */
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll", "select", "pselect6",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "getpid", "gettid",
	"tgkill", "kill", "pipe2", "socketpair", "eventfd2",
	/* sockets: admin, workload and platform API; the platform client; DNS */
	"socket", "connect", "accept", "accept4", "bind", "listen", "shutdown", "sendto",
	"sendmsg", "sendmmsg", "recvfrom", "recvmsg", "getsockopt", "setsockopt", "getsockname",
	"getpeername", "uname",
	/* the kernel guards and the workload supervisor */
	"bpf", "ioctl", "pidfd_open", "pidfd_send_signal", "pidfd_getfd", "process_vm_readv",
	"setgroups", "setfsuid", "setfsgid", "capget", "capset", "getuid", "geteuid", "getgid",
	"getegid", "prctl",
};

static bool kept(int cap)
{
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		if (kept_caps[i] == cap)
			return true;
	return false;
}

static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct cap[2] = { 0 }, now[2];

	/* The bounding set first: dropping from it takes CAP_SETPCAP, given up just below. */
	for (int c = 0; prctl(PR_CAPBSET_READ, c) >= 0; c++)
		if (!kept(c) && prctl(PR_CAPBSET_DROP, c) < 0)
			return log_errno(-errno, "confine: capability %d out of the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return log_errno(-errno, "confine: ambient capabilities");
	if (syscall(SYS_capget, &hdr, now) < 0)
		return log_errno(-errno, "confine: capget");
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		cap[kept_caps[i] / 32].permitted |= 1u << (kept_caps[i] % 32);
	for (int i = 0; i < 2; i++) {
		cap[i].permitted &= now[i].permitted;
		cap[i].effective = cap[i].permitted;
	}
	return syscall(SYS_capset, &hdr, cap) ? log_errno(-errno, "confine: capset") : 0;
}

/* A system call off the list: one line in the agent's log, then the agent ends (status 159,
 * as if killed by SIGSYS). Only async-signal-safe calls here. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[] = "pep-agent: ALERT: confine: system call ????? is not on the allow-list: "
		     "exiting\n";
	char *digit = strchr(msg, '?');

	for (int i = 4, nr = si->si_syscall; i >= 0; i--, nr /= 10)
		digit[i] = (char)('0' + nr % 10);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(128 + SIGSYS);
}

static int install_filter(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int err = ctx ? 0 : -ENOMEM, nr;

	if (!err && sigaction(SIGSYS, &sa, NULL) < 0)
		err = -errno;
	for (size_t i = 0; !err && i < sizeof(allowed_calls) / sizeof(allowed_calls[0]); i++) {
		nr = seccomp_syscall_resolve_name(allowed_calls[i]);
		if (nr != __NR_SCMP_ERROR) /* not on every architecture (open, stat, ...) */
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	/* the kernel's audit log gets the refused call too; every thread gets the filter */
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	if (!err)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err ? log_errno(err, "confine: the system call filter") : 0;
}

int agent_confine(struct agent *a)
{
	int err;

	if (!strcmp(a->cfg.confine, "no")) {
		log_warn("confine = no: the agent keeps every capability and system call");
		return 0;
	}
	err = drop_capabilities();
	if (!err)
		err = install_filter();
	if (!err)
		log_info("confined: %zu capabilities kept, %zu system calls allowed",
			 sizeof(kept_caps) / sizeof(kept_caps[0]),
			 sizeof(allowed_calls) / sizeof(allowed_calls[0]));
	return err;
}
