/* loop.c - epoll + timerfd + signalfd. Each registration owns a small record
 * that the epoll event points to, so dispatch is O(1). */
#include "util/loop.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum reg_kind { REG_FD, REG_TIMER, REG_SIGNAL };

struct reg {
	enum reg_kind kind;
	int fd;
	loop_fd_cb cb;
	void *arg;
	struct reg *next; /* every registration, for lookup and teardown */
	bool dead;        /* removed during dispatch; freed after it */
};

struct loop_timer {
	struct reg reg; /* first: the epoll pointer is the reg */
	struct loop *loop;
	loop_timer_cb cb;
	void *arg;
	bool armed;
};

struct sigreg {
	int signo;
	loop_signal_cb cb;
	void *arg;
};

struct loop {
	int epfd;
	struct reg *regs;
	struct reg sigreg; /* the signalfd, created on first loop_add_signal */
	struct sigreg sigs[16];
	int nsigs;
	sigset_t sigmask;
	bool stop;
	bool dispatching;
	loop_iteration_cb after;
	void *after_arg;
	uint64_t iterations;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->sigreg.fd = -1;
	sigemptyset(&l->sigmask);
	if (l->epfd < 0) {
		free(l);
		return NULL;
	}
	return l;
}

static struct reg *reg_find(struct loop *l, int fd)
{
	for (struct reg *r = l->regs; r; r = r->next)
		if (r->fd == fd && !r->dead && r->kind == REG_FD)
			return r;
	return NULL;
}

static void reg_unlink(struct loop *l, struct reg *target)
{
	for (struct reg **p = &l->regs; *p; p = &(*p)->next)
		if (*p == target) {
			*p = target->next;
			return;
		}
}

/* Free registrations removed while dispatching. */
static void reap(struct loop *l)
{
	struct reg **p = &l->regs;
	while (*p) {
		struct reg *r = *p;
		if (r->dead && r->kind == REG_FD) {
			*p = r->next;
			free(r);
		} else {
			p = &r->next;
		}
	}
}

int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct reg *r;
	struct epoll_event ev = {.events = events};

	if (reg_find(l, fd))
		return -EEXIST;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->kind = REG_FD;
	r->fd = fd;
	r->cb = cb;
	r->arg = arg;
	ev.data.ptr = r;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(r);
		return -e;
	}
	r->next = l->regs;
	l->regs = r;
	return 0;
}

int loop_mod_fd(struct loop *l, int fd, uint32_t events)
{
	struct reg *r = reg_find(l, fd);
	struct epoll_event ev = {.events = events};

	if (!r)
		return -ENOENT;
	ev.data.ptr = r;
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int loop_del_fd(struct loop *l, int fd)
{
	struct reg *r = reg_find(l, fd);

	if (!r)
		return -ENOENT;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	r->dead = true;
	if (!l->dispatching)
		reap(l);
	return 0;
}

struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!t)
		return NULL;
	t->reg.kind = REG_TIMER;
	t->reg.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	t->loop = l;
	t->cb = cb;
	t->arg = arg;
	ev.data.ptr = &t->reg;
	if (t->reg.fd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, t->reg.fd, &ev) < 0) {
		if (t->reg.fd >= 0)
			close(t->reg.fd);
		free(t);
		return NULL;
	}
	t->reg.next = l->regs;
	l->regs = &t->reg;
	return t;
}

int loop_timer_arm_at(struct loop_timer *t, uint64_t ms)
{
	struct itimerspec its = {0};

	/* 0 would disarm: a deadline in the past fires on the next iteration. */
	if (ms == 0)
		ms = 1;
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	if (timerfd_settime(t->reg.fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	t->armed = true;
	return 0;
}

int loop_timer_arm(struct loop_timer *t, uint64_t delay_ms)
{
	return loop_timer_arm_at(t, loop_now_ms() + delay_ms);
}

void loop_timer_disarm(struct loop_timer *t)
{
	struct itimerspec its = {0};
	uint64_t n;

	timerfd_settime(t->reg.fd, 0, &its, NULL);
	/* Drop an expiry that is already pending so it cannot fire late. */
	while (read(t->reg.fd, &n, sizeof(n)) > 0)
		;
	t->armed = false;
}

bool loop_timer_armed(const struct loop_timer *t)
{
	return t->armed;
}

void loop_timer_free(struct loop_timer *t)
{
	if (!t)
		return;
	epoll_ctl(t->loop->epfd, EPOLL_CTL_DEL, t->reg.fd, NULL);
	close(t->reg.fd);
	reg_unlink(t->loop, &t->reg);
	free(t);
}

int loop_add_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN};

	if (l->nsigs == (int)(sizeof(l->sigs) / sizeof(l->sigs[0])))
		return -ENOSPC;
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &l->sigmask, NULL) < 0)
		return -errno;
	int fd = signalfd(l->sigreg.fd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigreg.fd < 0) {
		l->sigreg.kind = REG_SIGNAL;
		l->sigreg.fd = fd;
		ev.data.ptr = &l->sigreg;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
	}
	l->sigs[l->nsigs++] = (struct sigreg){signo, cb, arg};
	return 0;
}

static void dispatch_signals(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sigreg.fd, &si, sizeof(si)) == sizeof(si))
		for (int i = 0; i < l->nsigs; i++)
			if ((int)si.ssi_signo == l->sigs[i].signo)
				l->sigs[i].cb(l, (int)si.ssi_signo, l->sigs[i].arg);
}

int loop_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[64];
	int n = epoll_wait(l->epfd, evs, 64, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	/* The iteration's log lines go out together, before the loop sleeps. */
	hlog_hold();
	l->dispatching = true;
	for (int i = 0; i < n; i++) {
		struct reg *r = evs[i].data.ptr;
		if (r->dead)
			continue;
		if (r->kind == REG_FD) {
			r->cb(l, r->fd, evs[i].events, r->arg);
		} else if (r->kind == REG_TIMER) {
			struct loop_timer *t = (struct loop_timer *)r;
			uint64_t exp;
			/* A disarm between epoll_wait and here leaves nothing to read. */
			if (read(t->reg.fd, &exp, sizeof(exp)) != sizeof(exp))
				continue;
			t->armed = false;
			t->cb(l, t, t->arg);
		} else {
			dispatch_signals(l);
		}
	}
	l->dispatching = false;
	reap(l);
	if (l->after)
		l->after(l, l->after_arg);
	hlog_release();
	l->iterations++;
	return n;
}

int loop_run(struct loop *l)
{
	l->stop = false;
	while (!l->stop) {
		int r = loop_once(l, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_on_iteration(struct loop *l, loop_iteration_cb cb, void *arg)
{
	l->after = cb;
	l->after_arg = arg;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

uint64_t loop_iterations(const struct loop *l)
{
	return l->iterations;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	while (l->regs) {
		struct reg *r = l->regs;
		l->regs = r->next;
		if (r->kind == REG_TIMER) {
			close(r->fd);
			free((struct loop_timer *)r);
		} else if (r->kind == REG_FD) {
			free(r);
		}
	}
	if (l->sigreg.fd >= 0)
		close(l->sigreg.fd);
	close(l->epfd);
	free(l);
}
