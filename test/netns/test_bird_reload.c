/* test_bird_reload.c - bird_reload() and the control client against a real
 * BIRD 1.6 (Debian's `bird`), run in a network namespace created here.
 *
 * BIRD is started as `bird -c DIR/bird.cfg -s DIR/bird.ctl -P DIR/bird.pid`
 * inside the namespace; its control socket is a file, reachable from the test.
 * The configuration has no kernel protocol: BIRD touches no routes. With
 * `debug commands 2` BIRD logs every CLI command to DIR/bird.log, which shows
 * whether a reconfigure was asked for. The tests run in order: each starts
 * from the state the previous one left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bird/control.h"
#include "bird/reload.h"
#include "netns/nsutil.h"

static char ns[32], dir[64], cfg[96], sock[96], pidfile[96], logfile[96];

/* Configuration text: the common head plus the given protocols. */
static char *config(const char *protocols)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
	         "log \"%s\" all;\n"
	         "debug commands 2;\n"
	         "router id 10.0.0.1;\n"
	         "protocol device { scan time 10; }\n"
	         "%s",
	         logfile, protocols);
	return buf;
}

#define ONE   "protocol static static_one { route 10.77.1.0/24 unreachable; }\n"
#define TWO   "protocol static static_two { route 10.77.2.0/24 unreachable; }\n"
#define THREE "protocol static static_three { route 10.77.3.0/24 bogus; }\n"

static void sleep_ms(int ms)
{
	nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, NULL);
}

/* Start BIRD on DIR/bird.cfg and wait (at most 3 s) until it answers. */
static int bird_start(void)
{
	if (sh("ip netns exec %s bird -c %s -s %s -P %s", ns, cfg, sock, pidfile) != 0)
		return -1;
	for (int i = 0; i < 150; i++) {
		if (bird_control_show_status(sock, NULL, NULL) == 0)
			return 0;
		sleep_ms(20);
	}
	return -1;
}

/* Stop BIRD and wait (at most 3 s) until its pid file is gone. */
static void bird_stop(void)
{
	char pid[32] = "";
	FILE *f = fopen(pidfile, "r");

	if (!f)
		return;
	if (fgets(pid, sizeof(pid), f) && atoi(pid) > 0)
		kill(atoi(pid), SIGTERM);
	fclose(f);
	for (int i = 0; i < 150 && access(pidfile, F_OK) == 0; i++)
		sleep_ms(20);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

/* How often BIRD logged `needle` so far. */
static int log_count(const char *needle)
{
	const char *p = slurp(logfile);
	int n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p++;
	}
	return n;
}

/* `show protocols` through the client under test. */
static char *protocols(void)
{
	static char text[4096];
	struct bird_reply r;
	struct herr err = {""};

	if (bird_control_command(sock, "show protocols", 2000, &r, &err) != 0)
		fail_msg("show protocols: %s", err.msg);
	snprintf(text, sizeof(text), "%s", r.text);
	bird_reply_free(&r);
	return text;
}

static int setup(void **state)
{
	struct herr err = {""};

	if (!ns_have_root()) {
		fprintf(stderr, "test_bird_reload: needs root (network namespaces)\n");
		return -1;
	}
	ns_name(ns, "birdrl");
	snprintf(dir, sizeof(dir), "/tmp/handoff-birdrl-%d", (int)getpid());
	snprintf(cfg, sizeof(cfg), "%s/bird.cfg", dir);
	snprintf(sock, sizeof(sock), "%s/bird.ctl", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/bird.pid", dir);
	snprintf(logfile, sizeof(logfile), "%s/bird.log", dir);
	if (mkdir(dir, 0755) < 0 || ns_create(ns) < 0)
		return -1;
	/* First boot: no BIRD yet, so the file is just written. */
	if (bird_reload(dir, "bird.cfg", config(ONE), sock, &err) != BIRD_RELOAD_WRITTEN) {
		fprintf(stderr, "initial write: %s\n", err.msg);
		return -1;
	}
	return bird_start();
}

static int teardown(void **state)
{
	bird_stop();
	ns_delete(ns);
	sh("rm -rf %s", dir);
	return 0;
}

static void test_status_over_the_socket(void **state)
{
	struct bird_reply r;
	struct herr err = {""};

	assert_int_equal(bird_control_show_status(sock, &r, &err), 0);
	assert_int_equal(r.code, BIRD_CODE_STATUS);
	assert_non_null(strstr(r.text, "BIRD 1.6"));
	assert_non_null(strstr(r.text, "Router ID is 10.0.0.1"));
	assert_non_null(strstr(r.text, "Daemon is up and running"));
	bird_reply_free(&r);
	assert_non_null(strstr(protocols(), "static_one"));
}

static void test_changed_config_is_applied(void **state)
{
	struct herr err = {""};
	char *p;

	assert_null(strstr(protocols(), "static_two"));
	assert_int_equal(bird_reload(dir, "bird.cfg", config(ONE TWO), sock, &err),
	                 BIRD_RELOAD_APPLIED);
	p = protocols();
	assert_non_null(strstr(p, "static_one"));
	assert_non_null(strstr(p, "static_two"));
	assert_string_equal(slurp(cfg), config(ONE TWO));
	assert_int_equal(log_count("<INFO> Reconfigured"), 1);
}

static void test_syntax_error_keeps_running_config(void **state)
{
	struct herr err = {""};
	char want[160];
	char *p;

	assert_int_equal(bird_reload(dir, "bird.cfg", config(ONE TWO THREE), sock, &err), -EINVAL);
	/* BIRD's own words, pointing at the kept copy: line 7 is THREE. */
	snprintf(want, sizeof(want), "%s/bird.cfg.rejected:7:", dir);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "8002"));
	snprintf(want, sizeof(want), "%s.rejected", cfg);
	assert_string_equal(slurp(want), config(ONE TWO THREE));
	/* BIRD still runs the previous configuration... */
	p = protocols();
	assert_non_null(strstr(p, "static_two"));
	assert_null(strstr(p, "static_three"));
	/* ...and the file it restarts from is that one, which it accepts. */
	assert_string_equal(slurp(cfg), config(ONE TWO));
	assert_int_equal(bird_control_configure_check(sock, NULL, NULL, &err), 0);
}

static void test_unchanged_text_is_neither_written_nor_reloaded(void **state)
{
	int configures = log_count("CLI: configure \"");
	struct herr err = {""};
	struct stat a, b;

	assert_true(configures >= 2); /* the logging works: the two above */
	assert_int_equal(stat(cfg, &a), 0);
	assert_int_equal(bird_reload(dir, "bird.cfg", config(ONE TWO), sock, &err),
	                 BIRD_RELOAD_UNCHANGED);
	assert_int_equal(stat(cfg, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	/* A later command is logged, so an earlier configure would be too. */
	assert_int_equal(bird_control_show_status(sock, NULL, &err), 0);
	assert_int_equal(log_count("CLI: configure \""), configures);
}

static void test_restart_reads_last_good_file(void **state)
{
	char *p;

	bird_stop();
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(bird_start(), 0);
	p = protocols();
	assert_non_null(strstr(p, "static_one"));
	assert_non_null(strstr(p, "static_two"));
	assert_null(strstr(p, "static_three"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_over_the_socket),
	    cmocka_unit_test(test_changed_config_is_applied),
	    cmocka_unit_test(test_syntax_error_keeps_running_config),
	    cmocka_unit_test(test_unchanged_text_is_neither_written_nor_reloaded),
	    cmocka_unit_test(test_restart_reads_last_good_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
