/* ipam.c - delegation to the IPAM plugin (spec "Delegated plugins"): exec it
 * from CNI_PATH with our environment, the network configuration on stdin and
 * CNI_COMMAND set to the operation, and read its result from stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni.h"
#include "noderange.h"

/* The first executable CNI_PATH entry named `type`. */
static int find_plugin(const char *type, char *path, size_t len, struct herr *err)
{
	const char *cp = getenv("CNI_PATH"), *p;

	if (!cp || !*cp)
		return herr_set(err, -ENOENT, "CNI_PATH: must list the plugin directories");
	for (p = cp; *p;) {
		size_t n = strcspn(p, ":");
		if (n) {
			snprintf(path, len, "%.*s/%s", (int)n, p, type);
			if (access(path, X_OK) == 0)
				return 0;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return herr_set(err, -ENOENT, "ipam.type: plugin \"%s\" not found in CNI_PATH %s", type,
	                cp);
}

/* Write `in` to fd_in and read fd_out to the end, without deadlocking on a
 * plugin that writes before it has read everything. */
static int exchange(int fd_in, int fd_out, const char *in, char **out, size_t *outlen)
{
	size_t inlen = strlen(in), off = 0, cap = 4096, n = 0;
	char *buf = malloc(cap);
	struct pollfd p[2];

	if (!buf)
		return -ENOMEM;
	if (inlen == 0) {
		close(fd_in);
		fd_in = -1;
	}
	for (;;) {
		int np = 0, iout = -1, iin = -1;
		if (fd_out >= 0) {
			p[np] = (struct pollfd){.fd = fd_out, .events = POLLIN};
			iout = np++;
		}
		if (fd_in >= 0) {
			p[np] = (struct pollfd){.fd = fd_in, .events = POLLOUT};
			iin = np++;
		}
		if (np == 0)
			break;
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (iin >= 0 && p[iin].revents) {
			ssize_t w = write(fd_in, in + off, inlen - off);
			if (w > 0)
				off += (size_t)w;
			if (w < 0 || off == inlen) {
				close(fd_in);
				fd_in = -1;
			}
		}
		if (iout >= 0 && p[iout].revents) {
			if (n + 1 >= cap) {
				char *nb = realloc(buf, cap *= 2);
				if (!nb)
					break;
				buf = nb;
			}
			ssize_t r = read(fd_out, buf + n, cap - n - 1);
			if (r > 0)
				n += (size_t)r;
			else if (r == 0 || errno != EINTR) {
				close(fd_out);
				fd_out = -1;
			}
		}
	}
	if (fd_in >= 0)
		close(fd_in);
	if (fd_out >= 0)
		close(fd_out);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
}

static int exec_plugin(const char *type, const char *command, const char *stdin_conf, char **out,
                       int *code, char *details, size_t details_len, struct herr *err)
{
	char path[PATH_MAX], *res = NULL, *split = NULL;
	int in[2], o[2], status, r;
	size_t reslen = 0;
	pid_t pid;

	*code = CNI_ERR_IO;
	if (details && details_len)
		details[0] = '\0';
	if ((r = find_plugin(type, path, sizeof(path), err)) < 0)
		return r;
	/* Ordinary pods stay out of the VM addresses' half (vmaddr.c). */
	if ((r = cni_vm_split_conf(stdin_conf, &split, err)) < 0)
		return r;
	if (split)
		stdin_conf = split;
	if (pipe2(in, O_CLOEXEC) < 0) {
		r = herr_set(err, -errno, "ipam %s: pipe: %s", type, strerror(errno));
		free(split);
		return r;
	}
	if (pipe2(o, O_CLOEXEC) < 0) {
		r = -errno;
		close(in[0]);
		close(in[1]);
		free(split);
		return herr_set(err, r, "ipam %s: pipe: %s", type, strerror(-r));
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(in[0]), close(in[1]), close(o[0]), close(o[1]);
		free(split);
		return herr_set(err, r, "ipam %s: fork: %s", type, strerror(-r));
	}
	if (pid == 0) {
		/* Child: stdin/stdout are the pipes, stderr stays ours (the runtime's log). */
		dup2(in[0], 0);
		dup2(o[1], 1);
		setenv("CNI_COMMAND", command, 1);
		execl(path, type, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	/* A plugin that exits early must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	r = exchange(in[1], o[0], stdin_conf, &res, &reslen);
	free(split);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return herr_set(err, r, "ipam %s: out of memory", type);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* A CNI error on stdout: pass its code, msg and details through (11,
		 * "try again later", must reach the runtime as 11). */
		json_t *e = json_loads(res, 0, NULL);
		const char *msg = json_string_value(json_object_get(e, "msg"));
		const char *det = json_string_value(json_object_get(e, "details"));
		json_int_t c = json_integer_value(json_object_get(e, "code"));
		if (c > 0 && c <= 999)
			*code = (int)c;
		if (details && details_len)
			snprintf(details, details_len, "%s", det ? det : "");
		r = herr_set(err, -EIO, "ipam %s %s failed (%s %d): %s%s%s", type, command,
		             WIFEXITED(status) ? "exit" : "signal",
		             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		             msg ? msg : res, det && *det ? ": " : "", det ? det : "");
		json_decref(e);
		free(res);
		return r;
	}
	if (out)
		*out = res;
	else
		free(res);
	return 0;
}

int cni_ipam_exec(const char *type, const char *command, const char *stdin_conf, char **out,
                  int *code, char *details, size_t details_len, struct herr *err)
{
	char *conf = NULL;
	/* This node's ranges in place of "usePodCidr" (noderange.c). */
	int r = cni_noderange_apply(command, stdin_conf, &conf, err);

	if (r < 0) {
		/* No ranges published yet: the watcher has not started; the
		 * runtime tries again (CNI error 11). */
		*code = r == -EAGAIN ? CNI_ERR_TRY_LATER : CNI_ERR_IO;
		if (details && details_len)
			details[0] = '\0';
		return r;
	}
	r = exec_plugin(type, command, conf ? conf : stdin_conf, out, code, details, details_len,
	                err);
	free(conf);
	return r;
}
