/* loop.h - the watcher's single event loop: epoll over file descriptors,
 * timers as timerfds, signals as a signalfd. No threads, no sleeps. */
#ifndef HANDOFF_UTIL_LOOP_H
#define HANDOFF_UTIL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *l, struct loop_timer *t, void *arg);
typedef void (*loop_signal_cb)(struct loop *l, int signo, void *arg);

struct loop *loop_new(void);
/* Closes the loop's own descriptors and frees its timers; callers close theirs. */
void loop_free(struct loop *l);

/* Watch `fd` for EPOLLIN/EPOLLOUT/...; one registration per fd. 0 or -errno. */
int loop_add_fd(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod_fd(struct loop *l, int fd, uint32_t events);
int loop_del_fd(struct loop *l, int fd);

/* A one-shot timer. Arm with a delay from now; re-arming replaces the deadline. */
struct loop_timer *loop_timer_new(struct loop *l, loop_timer_cb cb, void *arg);
int loop_timer_arm(struct loop_timer *t, uint64_t delay_ms);
int loop_timer_arm_at(struct loop_timer *t, uint64_t monotonic_ms);
void loop_timer_disarm(struct loop_timer *t);
bool loop_timer_armed(const struct loop_timer *t);
void loop_timer_free(struct loop_timer *t);

/* Deliver `signo` through the loop (it is blocked for the process). */
int loop_add_signal(struct loop *l, int signo, loop_signal_cb cb, void *arg);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t loop_now_ms(void);

/* Run until loop_stop(); returns 0, or -errno if epoll itself fails. */
int loop_run(struct loop *l);
/* Run one iteration, waiting at most timeout_ms (-1: forever). Returns the
 * number of callbacks run, or -errno. */
int loop_once(struct loop *l, int timeout_ms);
void loop_stop(struct loop *l);
/* Called once after every iteration's callbacks: where a consumer applies
 * what the iteration's events decided, once, in order. */
typedef void (*loop_iteration_cb)(struct loop *l, void *arg);
void loop_on_iteration(struct loop *l, loop_iteration_cb cb, void *arg);
/* Iterations completed (the /healthz liveness signal). */
uint64_t loop_iterations(const struct loop *l);

#endif
