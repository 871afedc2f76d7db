#define _GNU_SOURCE
#include "netns/nsutil.h"

#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int vrun(char *buf, int len, const char *fmt, va_list ap)
{
	char cmd[2048];
	FILE *p;
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if (!buf)
		st = system(cmd);
	else {
		size_t n;
		p = popen(cmd, "r");
		if (!p)
			return -1;
		n = fread(buf, 1, (size_t)len - 1, p);
		buf[n] = '\0';
		st = pclose(p);
	}
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int sh(const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vrun(NULL, 0, fmt, ap);
	va_end(ap);
	return r;
}

int sh_out(char *buf, int len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vrun(buf, len, fmt, ap);
	va_end(ap);
	return r;
}

void ns_name(char out[32], const char *base)
{
	snprintf(out, 32, "%.20s-%d", base, (int)getpid());
}

int ns_create(const char *name)
{
	if (sh("ip netns add %s", name) != 0)
		return -1;
	return sh("ip -n %s link set lo up", name) == 0 ? 0 : -1;
}

void ns_delete(const char *name)
{
	sh("ip netns del %s 2>/dev/null", name);
}

int ns_enter(const char *name)
{
	char path[128];
	int self, fd;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		if (self >= 0)
			close(self);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return self;
}

void ns_leave(int saved_fd)
{
	if (saved_fd >= 0) {
		if (setns(saved_fd, CLONE_NEWNET) < 0)
			perror("setns back");
		close(saved_fd);
	}
}

bool ns_have_root(void)
{
	return geteuid() == 0;
}
