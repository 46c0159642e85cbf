// SPDX-License-Identifier: Apache-2.0
/*
 * pepctl run: starts CMD as a workload of a contract (portable backend). The child loads a
 * seccomp filter that turns the file-opening and deleting calls into notifications, hands
 * the notification fd to the agent over the workload socket (tools/workload_proto.h), and
 * execs CMD once the agent has it in the contract's cgroup and answers. From then on the
 * agent performs every supervised call for CMD and its descendants. The parent waits and
 * exits with CMD's status.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>
#include <seccomp.h>

#include "tools/pepctl.h"
#include "tools/workload_proto.h"

/* Exit codes of the child before CMD runs, as env(1) and timeout(1) use them. */
#define EXIT_RUN_FAILED	 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND	 127

/* The calls the agent performs itself (agent/workload.c decodes exactly these). */
static const char *const supervised[] = {
    "open",	"openat", "openat2", "creat",	 "truncate",  "unlink",
    "unlinkat", "rmdir",  "rename",  "renameat", "renameat2",
};

/* Ways around the supervisor, closed: io_uring opens files without a system call the
 * filter sees (ENOSYS: programs fall back to plain calls), open_by_handle_at opens by
 * handle, not by path. */
static const struct {
	const char *name;
	int error;
} refused[] = {
    {"io_uring_setup", ENOSYS},
    {"io_uring_enter", ENOSYS},
    {"io_uring_register", ENOSYS},
    {"open_by_handle_at", EPERM},
};

/* Loads the filter; returns its notification fd or -errno. */
static int load_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0, nr;

	if (!ctx)
		return -ENOMEM;
	/* Calls of another ABI (ia32, x32) would bypass the native rules: kill the process. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (size_t i = 0; !r && i < sizeof(supervised) / sizeof(supervised[0]); i++) {
		nr = seccomp_syscall_resolve_name(supervised[i]);
		if (nr >= 0) /* not every architecture has open, creat, rename... */
			r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
	}
	for (size_t i = 0; !r && i < sizeof(refused) / sizeof(refused[0]); i++) {
		nr = seccomp_syscall_resolve_name(refused[i].name);
		if (nr >= 0)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(refused[i].error), nr, 0);
	}
	if (!r)
		r = seccomp_load(ctx);
	if (!r)
		r = seccomp_notify_fd(ctx);
	seccomp_release(ctx);
	return r;
}

static int connect_agent(const char *admin_socket)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval timeout = {.tv_sec = 10};
	int fd;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s%s", admin_socket,
		     WORKLOAD_SOCKET_SUFFIX) >= (int)sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout))) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* The request line with the notification fd attached, in one sendmsg(). */
static int send_request(int sock, const char *contract, int notify_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char line[WORKLOAD_MSG_MAX], *json;
	struct iovec iov = {.iov_base = line};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cJSON *req = cJSON_CreateObject();
	int n;

	cJSON_AddStringToObject(req, "contract", contract);
	cJSON_AddNumberToObject(req, "pid", getpid());
	json = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	n = json ? snprintf(line, sizeof(line), "%s\n", json) : -1;
	free(json);
	if (n < 0 || n >= (int)sizeof(line))
		return -EMSGSIZE;
	iov.iov_len = (size_t)n;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &notify_fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == n ? 0 : -errno;
}

/* Reads the reply line; 0 when the agent accepted, else prints why. */
static int read_reply(int sock, const char *contract)
{
	char line[WORKLOAD_MSG_MAX];
	size_t len = 0;
	ssize_t n;
	cJSON *reply, *error;
	int r;

	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		n = recv(sock, line + len, sizeof(line) - 1 - len, 0);
		if (n <= 0) {
			fprintf(stderr, "pepctl run: no answer from the agent: %s\n",
				n ? strerror(errno) : "connection closed");
			return -EPROTO;
		}
		len += (size_t)n;
	}
	line[len] = '\0';
	reply = cJSON_Parse(line);
	error = cJSON_GetObjectItemCaseSensitive(reply, "error");
	r = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")) ? 0 : -EPERM;
	if (r)
		fprintf(stderr, "pepctl run: contract %s: %s\n", contract,
			cJSON_IsString(error) ? error->valuestring : "the agent refused");
	cJSON_Delete(reply);
	return r;
}

/*
 * The child: filter, hand-over, exec. Between seccomp_load() and the agent's answer nothing
 * here may open a file: that call would wait for a supervisor that does not have the fd yet.
 */
static void __attribute__((noreturn)) run_child(const char *contract, char **argv)
{
	int sock, notify_fd = -1, r;

	sock = connect_agent(pepctl_socket);
	if (sock < 0) {
		fprintf(stderr, "pepctl run: %s%s: %s\n", pepctl_socket, WORKLOAD_SOCKET_SUFFIX,
			strerror(-sock));
		_exit(EXIT_RUN_FAILED);
	}
	r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;
	if (!r)
		r = notify_fd = load_filter();
	if (r < 0)
		fprintf(stderr, "pepctl run: cannot load the seccomp filter: %s\n", strerror(-r));
	else if ((r = send_request(sock, contract, notify_fd)))
		fprintf(stderr, "pepctl run: cannot reach the agent: %s\n", strerror(-r));
	else
		r = read_reply(sock, contract);
	/* CMD must not hold the fd: whoever has it answers the calls. */
	if (notify_fd >= 0)
		close(notify_fd);
	close(sock);
	if (r)
		_exit(EXIT_RUN_FAILED);
	execvp(argv[0], argv);
	fprintf(stderr, "pepctl run: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

static int wait_child(pid_t pid)
{
	int status;

	/* Like system(3): the terminal's ^C goes to CMD, which decides. */
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGQUIT, SIG_IGN);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXIT_RUN_FAILED;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
	    {"contract", required_argument, NULL, 'c'},
	    {0},
	};
	const char *contract = NULL;
	pid_t pid;
	int opt;

	while ((opt = getopt_long(argc, argv, "+c:", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			contract = optarg;
			break;
		default:
			return pepctl_usage("run");
		}
	}
	if (!contract || optind >= argc)
		return pepctl_usage("run");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "pepctl run: fork: %s\n", strerror(errno));
		return EXIT_RUN_FAILED;
	}
	if (pid == 0)
		run_child(contract, argv + optind);
	return wait_child(pid);
}
