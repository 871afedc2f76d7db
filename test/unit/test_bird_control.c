/* test_bird_control.c - the control-socket client and bird_reload() against a
 * scripted fake BIRD (a forked child on a Unix socket in a private temporary
 * directory). No root, no network. The same calls against a real BIRD are in
 * test/netns/test_bird_reload.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "bird/control.h"
#include "bird/reload.h"
#include "util/loop.h"

/* What the fake BIRD does on its one connection. */
struct script {
	const char *greeting; /* sent first, as is */
	const char *reply;    /* sent after the command line; "@PATH@" becomes the quoted
	                         path of the command; NULL: send nothing */
	int hang;             /* after replying, keep the connection open (timeouts) */
};

struct fake {
	char dir[64];
	char sock[128];
	pid_t pid;
	int cmd_fd;        /* the command line the child received, as text */
	char command[512]; /* filled by fake_finish() */
};

static const char GREETING[] = "0001 BIRD 1.6.8 ready.\n";

/* Write s one byte at a time: the client must reassemble lines. */
static void write_bytewise(int fd, const char *s)
{
	for (; *s; s++)
		if (write(fd, s, 1) != 1)
			_exit(3);
}

static void fake_child(int lfd, int out, const struct script *sc)
{
	char cmd[512] = "", reply[1024], path[256] = "";
	size_t n = 0;
	int c;

	alarm(10); /* never outlive a test that failed before fake_finish() */
	c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(2);
	write_bytewise(c, sc->greeting);
	while (n < sizeof(cmd) - 1 && read(c, cmd + n, 1) == 1 && cmd[n++] != '\n')
		;
	cmd[n] = '\0';
	if (write(out, cmd, n) != (ssize_t)n)
		_exit(4);
	close(out);
	if (sc->reply) {
		const char *q = strchr(cmd, '"'), *p = sc->reply, *at;
		size_t o = 0;

		if (q && strchr(q + 1, '"'))
			snprintf(path, sizeof(path), "%.*s", (int)(strchr(q + 1, '"') - q - 1),
			         q + 1);
		while ((at = strstr(p, "@PATH@"))) {
			o += (size_t)snprintf(reply + o, sizeof(reply) - o, "%.*s%s", (int)(at - p),
			                      p, path);
			p = at + 6;
		}
		snprintf(reply + o, sizeof(reply) - o, "%s", p);
		write_bytewise(c, reply);
	}
	if (sc->hang)
		pause();
	_exit(0);
}

static void fake_start(struct fake *f, const struct script *sc)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, p[2];

	snprintf(f->dir, sizeof(f->dir), "/tmp/handoff-bctl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/bird.ctl", f->dir);
	strcpy(sa.sun_path, f->sock);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(pipe(p), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		close(p[0]);
		fake_child(lfd, p[1], sc);
	}
	close(lfd);
	close(p[1]);
	f->cmd_fd = p[0];
}

/* Collect the command the child saw, stop it and remove its directory. */
static void fake_finish(struct fake *f)
{
	ssize_t n, got = 0;
	char cmd[600];

	/* The call under test has returned: whatever the child received is in
	 * the pipe already, and killing it ends the pipe. */
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	while ((n = read(f->cmd_fd, f->command + got, sizeof(f->command) - 1 - (size_t)got)) > 0)
		got += n;
	f->command[got] = '\0';
	close(f->cmd_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_show_status_reassembles_continuations(void **state)
{
	struct script sc = {GREETING,
	                    "1000-BIRD 1.6.8\n"
	                    "1011-Router ID is 10.0.0.1\n"
	                    " Current server time is 2026-11-22 02:18:44\n"
	                    " Last reboot on 2026-11-22 02:18:44\n"
	                    "0013 Daemon is up and running\n",
	                    0};
	struct bird_reply r;
	struct herr err = {""};
	struct fake f;

	fake_start(&f, &sc);
	assert_int_equal(bird_control_show_status(f.sock, &r, &err), 0);
	fake_finish(&f);
	assert_string_equal(f.command, "show status\n");
	assert_int_equal(r.code, BIRD_CODE_STATUS);
	assert_string_equal(r.text, "BIRD 1.6.8\n"
	                            "Router ID is 10.0.0.1\n"
	                            "Current server time is 2026-11-22 02:18:44\n"
	                            "Last reboot on 2026-11-22 02:18:44\n"
	                            "Daemon is up and running");
	assert_int_equal(r.len, strlen(r.text));
	bird_reply_free(&r);
}

static void test_table_reply_ends_with_empty_final_line(void **state)
{
	struct script sc = {GREETING,
	                    "2002-name     proto    table    state  since       info\n"
	                    "1002-device1  Device   master   up     02:18:45    \n"
	                    " kernel1  Kernel   master   up     02:18:45    \n"
	                    "0000 \n",
	                    0};
	struct bird_reply r;
	struct fake f;

	fake_start(&f, &sc);
	assert_int_equal(bird_control_command(f.sock, "show protocols", 2000, &r, NULL), 0);
	fake_finish(&f);
	assert_string_equal(f.command, "show protocols\n");
	assert_int_equal(r.code, BIRD_CODE_OK);
	assert_non_null(strstr(r.text, "\nkernel1  Kernel   master   up"));
	assert_non_null(strstr(r.text, "\ndevice1  Device"));
	bird_reply_free(&r);
}

static void test_configure_sends_quoted_path(void **state)
{
	static const char *const accepted[] = {
	    "0002-Reading configuration from @PATH@\n0003 Reconfigured\n",
	    "0002-Reading configuration from @PATH@\n0004 Reconfiguration in progress\n",
	    "0002-Reading configuration from @PATH@\n0005 Reconfiguration already in progress, "
	    "queueing new config\n",
	};
	static const int codes[] = {3, 4, 5};

	for (size_t i = 0; i < 3; i++) {
		struct script sc = {GREETING, accepted[i], 0};
		struct bird_reply r;
		struct herr err = {""};
		struct fake f;

		fake_start(&f, &sc);
		assert_int_equal(bird_control_configure(f.sock, "/etc/bird/bird.cfg", &r, &err), 0);
		fake_finish(&f);
		assert_string_equal(f.command, "configure \"/etc/bird/bird.cfg\"\n");
		assert_int_equal(r.code, codes[i]);
		bird_reply_free(&r);
	}
}

static void test_configure_error_names_file_and_line(void **state)
{
	struct script sc = {GREETING,
	                    "0002-Reading configuration from @PATH@\n"
	                    "8002 @PATH@:3:26 syntax error\n",
	                    0};
	struct bird_reply r;
	struct herr err = {""};
	struct fake f;

	fake_start(&f, &sc);
	assert_int_equal(bird_control_configure(f.sock, "/etc/bird/bird.cfg", &r, &err), -EINVAL);
	fake_finish(&f);
	assert_int_equal(r.code, BIRD_CODE_CONFIG_ERROR);
	assert_non_null(strstr(err.msg, "8002 /etc/bird/bird.cfg:3:26 syntax error"));
	bird_reply_free(&r);
}

static void test_configure_while_shutting_down_is_an_error(void **state)
{
	struct script sc = {GREETING, "0006 Reconfiguration ignored, shutting down\n", 0};
	struct herr err = {""};
	struct fake f;

	fake_start(&f, &sc);
	assert_int_equal(bird_control_configure(f.sock, "/etc/bird/bird.cfg", NULL, &err),
	                 -ECANCELED);
	fake_finish(&f);
	assert_non_null(strstr(err.msg, "shutting down"));
}

static void test_check_and_parse_error(void **state)
{
	struct script ok = {GREETING,
	                    "0002-Reading configuration from /x.cfg\n0020 Configuration OK\n", 0};
	struct script bad = {GREETING, "9001 syntax error\n", 0};
	struct herr err = {""};
	struct fake f;

	fake_start(&f, &ok);
	assert_int_equal(bird_control_configure_check(f.sock, NULL, NULL, &err), 0);
	fake_finish(&f);
	assert_string_equal(f.command, "configure check\n");

	fake_start(&f, &bad);
	assert_int_equal(bird_control_command(f.sock, "shwo status", 2000, NULL, &err), -EINVAL);
	fake_finish(&f);
	assert_non_null(strstr(err.msg, "9001 syntax error"));
	assert_non_null(strstr(err.msg, "shwo status"));
}

static void test_silent_bird_times_out_in_bounded_time(void **state)
{
	struct script sc = {GREETING, NULL, 1};
	struct herr err = {""};
	struct fake f;
	long long t0, dt;

	fake_start(&f, &sc);
	t0 = mono_ms();
	assert_int_equal(bird_control_command(f.sock, "show status", 200, NULL, &err), -ETIMEDOUT);
	dt = mono_ms() - t0;
	fake_finish(&f);
	assert_true(dt >= 190 && dt < 1500);
	assert_non_null(strstr(err.msg, "timed out"));
}

static void test_peer_that_is_not_bird(void **state)
{
	struct script http = {"HTTP/1.1 400 Bad Request\r\n\r\n", NULL, 0};
	struct script restricted = {"0016 Access restricted\n", NULL, 0};
	struct herr err = {""};
	struct fake f;

	fake_start(&f, &http);
	assert_int_equal(bird_control_show_status(f.sock, NULL, &err), -EPROTO);
	fake_finish(&f);
	assert_non_null(strstr(err.msg, "not a BIRD reply line"));

	fake_start(&f, &restricted);
	assert_int_equal(bird_control_show_status(f.sock, NULL, &err), -EPROTO);
	fake_finish(&f);
	assert_non_null(strstr(err.msg, "greeting"));
}

static void test_bird_closing_mid_reply(void **state)
{
	struct script sc = {GREETING, "0002-Reading configuration from /x.cfg\n", 0};
	struct herr err = {""};
	struct fake f;

	fake_start(&f, &sc);
	assert_int_equal(bird_control_configure(f.sock, "/x.cfg", NULL, &err), -ECONNRESET);
	fake_finish(&f);
}

static void test_no_bird_and_bad_paths(void **state)
{
	struct herr err = {""};
	char longsock[200];

	assert_int_equal(bird_control_show_status("/nonexistent/handoff/bird.ctl", NULL, &err),
	                 -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/handoff/bird.ctl"));
	assert_non_null(strstr(err.msg, "is BIRD running?"));

	/* Refused before connecting: the socket does not exist, so -ENOENT
	 * would show that a connection had been tried. */
	assert_int_equal(bird_control_configure("/nonexistent/s", "bird.cfg", NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "must be absolute"));
	assert_int_equal(bird_control_configure("/nonexistent/s", "/a\"b.cfg", NULL, &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "quote"));
	assert_int_equal(bird_control_command("/nonexistent/s", "show\nstatus", 100, NULL, &err),
	                 -EINVAL);

	memset(longsock, 'a', sizeof(longsock) - 1);
	longsock[0] = '/';
	longsock[sizeof(longsock) - 1] = '\0';
	assert_int_equal(bird_control_show_status(longsock, NULL, &err), -ENAMETOOLONG);
}

/* ---- bird_reload / bird_write_if_changed ---- */

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!fp) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, 65535, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_write_if_changed(void **state)
{
	char dir[] = "/tmp/handoff-bwr-XXXXXX", path[128], cmd[160];
	struct herr err = {""};
	struct stat a, b;
	char *s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bird.cfg", dir);
	assert_int_equal(bird_write_if_changed(dir, "bird.cfg", "router id 1.2.3.4;\n", &err), 1);
	assert_int_equal(stat(path, &a), 0);
	/* 0600: the text may hold BGP passwords. */
	assert_int_equal(a.st_mode & 0777, 0600);
	/* Same text: not rewritten (the inode would change with a rename). */
	assert_int_equal(bird_write_if_changed(dir, "bird.cfg", "router id 1.2.3.4;\n", &err), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	/* A text that only differs in length, and one of the same length. */
	assert_int_equal(bird_write_if_changed(dir, "bird.cfg", "router id 1.2.3.44;\n", &err), 1);
	assert_int_equal(bird_write_if_changed(dir, "bird.cfg", "router id 1.2.3.45;\n", &err), 1);
	s = slurp(path);
	assert_string_equal(s, "router id 1.2.3.45;\n");
	free(s);
	assert_int_equal(count_entries(dir), 1); /* no temporary file left */
	assert_int_equal(bird_write_if_changed(dir, "../x", "x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "plain name"));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_reload_configures_a_temporary_file_then_renames_it(void **state)
{
	struct script sc = {GREETING, "0002-Reading configuration from @PATH@\n0003 Reconfigured\n",
	                    0};
	char dir[] = "/tmp/handoff-bra-XXXXXX", path[128], prefix[160], cmd[160];
	struct herr err = {""};
	struct fake f;
	char *s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bird.cfg", dir);
	fake_start(&f, &sc);
	assert_int_equal(bird_reload(dir, "bird.cfg", "router id 1.1.1.1;\n", f.sock, &err),
	                 BIRD_RELOAD_APPLIED);
	fake_finish(&f);
	/* BIRD was asked to read a temporary file beside the target... */
	snprintf(prefix, sizeof(prefix), "configure \"%s/.bird.cfg.", dir);
	assert_memory_equal(f.command, prefix, strlen(prefix));
	/* ...which then became the file BIRD restarts from. */
	s = slurp(path);
	assert_string_equal(s, "router id 1.1.1.1;\n");
	free(s);
	assert_int_equal(count_entries(dir), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_reload_rejected_keeps_last_good_file(void **state)
{
	struct script ok = {GREETING, "0002-Reading configuration from @PATH@\n0003 Reconfigured\n",
	                    0};
	struct script bad = {GREETING,
	                     "0002-Reading configuration from @PATH@\n"
	                     "8002 @PATH@:2:9 syntax error\n",
	                     0};
	char dir[] = "/tmp/handoff-brl-XXXXXX", path[128], rej[140], want[200], cmd[160];
	struct herr err = {""};
	struct fake f;
	char *s;

	/* One directory for the files; the fake's socket lives in its own. */
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bird.cfg", dir);
	snprintf(rej, sizeof(rej), "%s/bird.cfg.rejected", dir);

	fake_start(&f, &ok);
	assert_int_equal(bird_reload(dir, "bird.cfg", "router id 1.1.1.1;\n", f.sock, &err),
	                 BIRD_RELOAD_APPLIED);
	fake_finish(&f);
	s = slurp(path);
	assert_string_equal(s, "router id 1.1.1.1;\n");
	free(s);

	fake_start(&f, &bad);
	assert_int_equal(bird_reload(dir, "bird.cfg", "router id 1.1.1.1;\nbogus;\n", f.sock, &err),
	                 -EINVAL);
	fake_finish(&f);
	/* The message points at the kept copy of the rejected text... */
	snprintf(want, sizeof(want), "%s:2:9 syntax error", rej);
	assert_non_null(strstr(err.msg, want));
	assert_null(strstr(err.msg, "/.bird.cfg."));
	s = slurp(rej);
	assert_string_equal(s, "router id 1.1.1.1;\nbogus;\n");
	free(s);
	/* ...and the file BIRD restarts from is still the last good one. */
	s = slurp(path);
	assert_string_equal(s, "router id 1.1.1.1;\n");
	free(s);
	assert_int_equal(count_entries(dir), 2);

	/* Same (good) text as on disk: nothing to do, no connection at all
	 * (the socket path does not exist). */
	assert_int_equal(
	    bird_reload(dir, "bird.cfg", "router id 1.1.1.1;\n", "/nonexistent/s", &err),
	    BIRD_RELOAD_UNCHANGED);

	/* A later accepted text removes the stale rejected copy. */
	fake_start(&f, &ok);
	assert_int_equal(bird_reload(dir, "bird.cfg", "router id 2.2.2.2;\n", f.sock, &err),
	                 BIRD_RELOAD_APPLIED);
	fake_finish(&f);
	assert_int_equal(access(rej, F_OK), -1);
	assert_int_equal(count_entries(dir), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_reload_without_bird_writes_the_file(void **state)
{
	char dir[] = "/tmp/handoff-brw-XXXXXX", path[128], cmd[160];
	struct herr err = {""};
	char *s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bird.cfg", dir);
	assert_int_equal(
	    bird_reload(dir, "bird.cfg", "router id 3.3.3.3;\n", "/nonexistent/s", &err),
	    BIRD_RELOAD_WRITTEN);
	s = slurp(path);
	assert_string_equal(s, "router id 3.3.3.3;\n");
	free(s);
	assert_int_equal(bird_reload(dir, "bird.cfg", "router id 4.4.4.4;\n", NULL, &err),
	                 BIRD_RELOAD_WRITTEN);
	assert_int_equal(count_entries(dir), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_reload_io_failure_leaves_file_for_retry(void **state)
{
	struct script sc = {GREETING, "0002-Reading configuration from @PATH@\n", 0};
	char dir[] = "/tmp/handoff-bri-XXXXXX", path[128], cmd[160];
	struct herr err = {""};
	struct fake f;
	char *s;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bird.cfg", dir);
	assert_int_equal(bird_write_if_changed(dir, "bird.cfg", "router id 5.5.5.5;\n", &err), 1);
	fake_start(&f, &sc);
	assert_int_equal(bird_reload(dir, "bird.cfg", "router id 6.6.6.6;\n", f.sock, &err),
	                 -ECONNRESET);
	fake_finish(&f);
	s = slurp(path);
	assert_string_equal(s, "router id 5.5.5.5;\n");
	free(s);
	assert_int_equal(count_entries(dir), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* ---- the loop-driven client ---- */

struct async_result {
	int calls, rc, code;
	char msg[512];
	long long at_ms;
};

static void on_async(void *arg, int rc, const struct bird_reply *reply, const struct herr *err)
{
	struct async_result *res = arg;

	res->calls++;
	res->rc = rc;
	res->code = reply ? reply->code : -1;
	snprintf(res->msg, sizeof(res->msg), "%s", rc < 0 && err ? err->msg : "");
	res->at_ms = mono_ms();
}

static void on_tick(struct loop *l, struct loop_timer *t, void *arg)
{
	(*(int *)arg)++;
	loop_timer_arm(t, 10);
}

/* Turn the loop until the command's callback ran (at most 3 s). */
static void run_until_done(struct loop *l, struct async_result *res)
{
	long long end = mono_ms() + 3000;

	while (!res->calls && mono_ms() < end)
		assert_true(loop_once(l, 100) >= 0);
	assert_int_equal(res->calls, 1);
}

/* A BIRD that greets and then says nothing holds nothing: the call returns
 * at once, timers keep firing while it waits, and the deadline ends it. */
static void test_async_silent_bird_does_not_hold_the_loop(void **state)
{
	struct script sc = {GREETING, NULL, 1};
	struct async_result res = {0};
	struct loop *l = loop_new();
	struct loop_timer *tick;
	struct bird_async *a = NULL;
	struct herr err = {""};
	struct fake f;
	long long t0, started;
	int ticks = 0;

	assert_non_null(l);
	tick = loop_timer_new(l, on_tick, &ticks);
	loop_timer_arm(tick, 10);
	fake_start(&f, &sc);
	t0 = mono_ms();
	assert_int_equal(
	    bird_async_configure(l, f.sock, "/etc/bird/bird.cfg", 400, on_async, &res, &a, &err),
	    0);
	started = mono_ms() - t0;
	assert_non_null(a);
	assert_true(started < 100);
	run_until_done(l, &res);
	fake_finish(&f);
	assert_string_equal(f.command, "configure \"/etc/bird/bird.cfg\"\n");
	assert_int_equal(res.rc, -ETIMEDOUT);
	assert_true(res.at_ms - t0 >= 390 && res.at_ms - t0 < 2000);
	assert_non_null(strstr(res.msg, "timed out waiting for BIRD's reply"));
	/* 10 ms ticks went on all the while: the loop was never held. */
	assert_true(ticks >= 20);
	loop_timer_free(tick);
	loop_free(l);
}

static void test_async_configure_outcomes(void **state)
{
	static const struct {
		const char *reply;
		int rc, code;
		const char *msg;
	} cases[] = {
	    {"0002-Reading configuration from @PATH@\n0003 Reconfigured\n", 0, 3, NULL},
	    {"0002-Reading configuration from @PATH@\n8002 @PATH@:3:26 syntax error\n", -EINVAL,
	     8002, "8002 /etc/bird/bird.cfg:3:26 syntax error"},
	    {"0006 Reconfiguration ignored, shutting down\n", -ECANCELED, 6, "shutting down"},
	    {"0002-Reading", -ECONNRESET, -1, "closed the connection"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script sc = {GREETING, cases[i].reply, 0};
		struct async_result res = {0};
		struct loop *l = loop_new();
		struct bird_async *a = NULL;
		struct herr err = {""};
		struct fake f;

		fake_start(&f, &sc);
		assert_int_equal(bird_async_configure(l, f.sock, "/etc/bird/bird.cfg", 2000,
		                                      on_async, &res, &a, &err),
		                 0);
		run_until_done(l, &res);
		fake_finish(&f);
		if (res.rc != cases[i].rc)
			fail_msg("case %zu: rc %d (%s), expected %d", i, res.rc, res.msg,
			         cases[i].rc);
		if (cases[i].code >= 0)
			assert_int_equal(res.code, cases[i].code);
		if (cases[i].msg && !strstr(res.msg, cases[i].msg))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, res.msg, cases[i].msg);
		loop_free(l);
	}
}

static void test_async_no_bird_fails_at_once(void **state)
{
	struct loop *l = loop_new();
	struct async_result res = {0};
	struct bird_async *a = NULL;
	struct herr err = {""};

	assert_int_equal(bird_async_command(l, "/nonexistent/handoff/bird.ctl", "show status", 100,
	                                    on_async, &res, &a, &err),
	                 -ENOENT);
	assert_null(a);
	assert_non_null(strstr(err.msg, "is BIRD running?"));
	assert_int_equal(loop_once(l, 20), 0);
	assert_int_equal(res.calls, 0);
	loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_show_status_reassembles_continuations),
	    cmocka_unit_test(test_table_reply_ends_with_empty_final_line),
	    cmocka_unit_test(test_configure_sends_quoted_path),
	    cmocka_unit_test(test_configure_error_names_file_and_line),
	    cmocka_unit_test(test_configure_while_shutting_down_is_an_error),
	    cmocka_unit_test(test_check_and_parse_error),
	    cmocka_unit_test(test_silent_bird_times_out_in_bounded_time),
	    cmocka_unit_test(test_peer_that_is_not_bird),
	    cmocka_unit_test(test_bird_closing_mid_reply),
	    cmocka_unit_test(test_no_bird_and_bad_paths),
	    cmocka_unit_test(test_write_if_changed),
	    cmocka_unit_test(test_reload_configures_a_temporary_file_then_renames_it),
	    cmocka_unit_test(test_reload_rejected_keeps_last_good_file),
	    cmocka_unit_test(test_reload_without_bird_writes_the_file),
	    cmocka_unit_test(test_reload_io_failure_leaves_file_for_retry),
	    cmocka_unit_test(test_async_silent_bird_does_not_hold_the_loop),
	    cmocka_unit_test(test_async_configure_outcomes),
	    cmocka_unit_test(test_async_no_bird_fails_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
