/* Folder datastore: files added, changed, broken, deleted, renamed into place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kube/folder.h"

struct seen {
	char events[2048];
	char errors[2048];
};

static void on_event(void *arg, enum obj_event ev, const json_t *obj)
{
	struct seen *s = arg;
	char key[256];
	obj_key(obj, key, sizeof(key), NULL);
	const char *v = json_string_value(json_object_get(json_object_get(obj, "spec"), "v"));
	snprintf(s->events + strlen(s->events), sizeof(s->events) - strlen(s->events), "%s %s%s%s;",
	         obj_event_name(ev), key, v ? "=" : "", v ? v : "");
}

static void on_error(void *arg, const char *msg)
{
	struct seen *s = arg;
	snprintf(s->errors + strlen(s->errors), sizeof(s->errors) - strlen(s->errors), "%s\n", msg);
}

static char dir[64];

/* Deletions wait this long in these tests (1 s by default). */
#define GRACE_MS 100

static void put(const char *name, const char *text)
{
	char path[256], tmp[256];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	f = fopen(tmp, "w");
	fputs(text, f);
	fclose(f);
	rename(tmp, path); /* as editors and kubectl-like writers do: atomically */
}

/* Wait (bounded) for inotify and process what arrived. */
static void settle(struct folder_store *fs)
{
	struct pollfd p = {.fd = folder_store_fd(fs), .events = POLLIN};
	while (poll(&p, 1, 200) > 0)
		assert_int_equal(folder_store_handle(fs, NULL), 0);
}

/* Process what arrived, let a reconcile `grace` later happen, process it. */
static void settle_past(struct folder_store *fs, unsigned grace)
{
	settle(fs);
	usleep((grace + 300) * 1000);
	settle(fs);
}

static const char *LM = "apiVersion: projectcalico.org/v3\nkind: LiveMigration\n"
                        "metadata: {namespace: vms, name: m1}\nspec: {v: one}\n";

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/handoff-folder-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void lifecycle_of_files(void **state)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct herr err = {{0}};

	put("a.yaml", LM);
	put("notes.txt", "kind: Pod\nmetadata: {name: ignored}\n");
	struct folder_store *fs = folder_store_open(dir, on_event, on_error, &s, &err);
	assert_non_null(fs);
	folder_store_set_grace(fs, GRACE_MS);
	assert_string_equal(s.events, "ADDED LiveMigration/vms/m1=one;");

	/* A second file with two documents. */
	s.events[0] = '\0';
	put("b.yml", "kind: Pod\nmetadata: {namespace: vms, name: p1}\nspec: {v: x}\n---\n"
	             "kind: Pod\nmetadata: {namespace: vms, name: p2}\n");
	settle(fs);
	assert_string_equal(s.events, "ADDED Pod/vms/p1=x;ADDED Pod/vms/p2;");

	/* A change to one object of a file. */
	s.events[0] = '\0';
	put("b.yml", "kind: Pod\nmetadata: {namespace: vms, name: p1}\nspec: {v: y}\n---\n"
	             "kind: Pod\nmetadata: {namespace: vms, name: p2}\n");
	settle(fs);
	assert_string_equal(s.events, "MODIFIED Pod/vms/p1=y;");

	/* A broken file is reported by name and position; its objects stay. */
	s.events[0] = '\0';
	put("b.yml", "kind: Pod\nmetadata: {namespace: vms, name: p1\n");
	settle(fs);
	assert_string_equal(s.events, "");
	assert_non_null(strstr(s.errors, "/b.yml"));
	assert_non_null(strstr(s.errors, "line"));
	assert_non_null(obj_cache_get(folder_store_cache(fs), "Pod/vms/p1"));

	/* An object without a name makes the file invalid, reported with the document. */
	s.errors[0] = '\0';
	put("b.yml", "kind: Pod\nmetadata: {namespace: vms, name: p1}\n---\nkind: Pod\n"
	             "metadata: {namespace: vms}\n");
	settle(fs);
	assert_string_equal(s.events, "");
	assert_non_null(strstr(s.errors, "document 2: Pod: metadata.name: missing"));

	/* Deleting a file deletes its objects; the other file's stay. */
	char path[256];
	snprintf(path, sizeof(path), "%s/b.yml", dir);
	unlink(path);
	settle(fs);
	assert_string_equal(s.events, "DELETED Pod/vms/p1=y;DELETED Pod/vms/p2;");
	assert_int_equal(obj_cache_count(folder_store_cache(fs)), 1);
	folder_store_close(fs);
}

static void later_file_wins_on_duplicates(void **state)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct herr err = {{0}};

	put("1.yaml", LM);
	put("2.yaml", "apiVersion: projectcalico.org/v3\nkind: LiveMigration\n"
	              "metadata: {namespace: vms, name: m1}\nspec: {v: two}\n");
	struct folder_store *fs = folder_store_open(dir, on_event, on_error, &s, &err);
	assert_non_null(fs);
	folder_store_set_grace(fs, GRACE_MS);
	assert_string_equal(s.events, "ADDED LiveMigration/vms/m1=two;");
	assert_non_null(strstr(s.errors, "LiveMigration/vms/m1 is defined again in 2.yaml"));
	folder_store_close(fs);
}

static void at(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* A FIFO, a device, a symlink to /dev/zero and an oversized file in the
 * folder, at start and renamed in later: none is read (a FIFO blocked the
 * loop for good, /dev/zero ate memory without bound); each is named with
 * why; the regular files next to them load. SIGALRM fails a hang. */
static void special_files_are_refused_by_name(void **state)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct herr err = {{0}};
	char p[256], q[256];
	FILE *f;

	put("good.yaml", LM);
	at(p, sizeof(p), "fifo.yaml");
	assert_int_equal(mkfifo(p, 0600), 0);
	at(p, sizeof(p), "zero.yaml");
	assert_int_equal(symlink("/dev/zero", p), 0);
	at(p, sizeof(p), "big.yaml");
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(ftruncate(fileno(f), 17 << 20), 0);
	fclose(f);
	at(p, sizeof(p), "dev.yaml");
	bool dev = mknod(p, S_IFCHR | 0600, makedev(1, 5)) == 0; /* /dev/zero; root only */

	alarm(10);
	struct folder_store *fs = folder_store_open(dir, on_event, on_error, &s, &err);
	assert_non_null(fs);
	folder_store_set_grace(fs, GRACE_MS);
	assert_string_equal(s.events, "ADDED LiveMigration/vms/m1=one;");
	assert_non_null(strstr(s.errors, "/fifo.yaml: a FIFO, not read"));
	assert_non_null(strstr(s.errors, "/zero.yaml: a character device, not read"));
	assert_non_null(strstr(s.errors, "/big.yaml: 17825792 bytes, over the 16 MiB limit"));
	if (dev)
		assert_non_null(strstr(s.errors, "/dev.yaml: a character device, not read"));

	/* Renamed into place over a good file: refused, its objects stay. */
	s.errors[0] = '\0';
	at(p, sizeof(p), ".tmp-link");
	assert_int_equal(symlink("/dev/zero", p), 0);
	at(q, sizeof(q), "good.yaml");
	assert_int_equal(rename(p, q), 0);
	settle(fs);
	alarm(0);
	assert_string_equal(s.events, "ADDED LiveMigration/vms/m1=one;");
	assert_non_null(strstr(s.errors, "/good.yaml: a character device, not read (ignored; "
	                                 "the file's last good objects stay)"));
	folder_store_close(fs);
}

/* Write a file directly (inside a hidden directory nothing watches). */
static void write_at(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static const char *POD = "kind: Pod\nmetadata: {namespace: vms, name: p1}\n";

static void sh(const char *fmt, const char *arg)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
	assert_int_equal(system(cmd), 0);
}

/* `rm -rf; mkdir` and new files: only what changed is reported (nothing is
 * deleted in between), and the new folder is followed from then on. */
static void replaced_folder_is_followed(void **state)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct herr err = {{0}};

	put("a.yaml", LM);
	put("b.yaml", POD);
	struct folder_store *fs = folder_store_open(dir, on_event, on_error, &s, &err);
	assert_non_null(fs);
	folder_store_set_grace(fs, 1000); /* the refill below takes a few ms */
	s.events[0] = '\0';
	sh("rm -rf %s && mkdir %s", dir);
	settle(fs); /* seen while the folder is empty: nothing goes yet */
	assert_string_equal(s.events, "");
	put("b.yaml", POD);
	put("a.yaml", "apiVersion: projectcalico.org/v3\nkind: LiveMigration\n"
	              "metadata: {namespace: vms, name: m1}\nspec: {v: two}\n");
	settle_past(fs, 1000); /* the reconcile has run */
	assert_string_equal(s.events, "MODIFIED LiveMigration/vms/m1=two;");
	/* The new folder is the one watched. */
	s.events[0] = '\0';
	put("c.yaml", "kind: Pod\nmetadata: {namespace: vms, name: p2}\n");
	settle(fs);
	assert_string_equal(s.events, "ADDED Pod/vms/p2;");
	folder_store_close(fs);
}

/* A folder that is gone keeps its objects; once back, its content decides. */
static void vanished_folder_keeps_objects_until_back(void **state)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct herr err = {{0}};

	put("a.yaml", LM);
	put("b.yaml", POD);
	struct folder_store *fs = folder_store_open(dir, on_event, on_error, &s, &err);
	assert_non_null(fs);
	folder_store_set_grace(fs, 1000); /* the refill below takes a few ms */
	s.events[0] = '\0';
	sh("rm -rf %s", dir);
	settle_past(fs, 1000);
	assert_string_equal(s.events, "");
	assert_int_equal(obj_cache_count(folder_store_cache(fs)), 2);
	assert_non_null(strstr(s.errors, "is missing; its 2 objects stay until it returns"));
	/* Back with a.yaml only: b.yaml's pod goes, after the grace. */
	sh("mkdir %s", dir);
	put("a.yaml", LM);
	settle_past(fs, 1000);
	assert_string_equal(s.events, "DELETED Pod/vms/p1;");
	assert_non_null(strstr(s.errors, "is back"));
	folder_store_close(fs);
}

/* A ConfigMap volume: files are symlinks through ..data, which kubelet
 * swaps to a new timestamped directory in one rename. */
static void configmap_data_swap_is_followed(void **state)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct herr err = {{0}};
	char p[256], q[256];

	sh("mkdir %s/..2026_01", dir);
	write_at("..2026_01/a.yaml", LM);
	write_at("..2026_01/b.yaml", POD);
	at(p, sizeof(p), "..data");
	assert_int_equal(symlink("..2026_01", p), 0);
	at(p, sizeof(p), "a.yaml");
	assert_int_equal(symlink("..data/a.yaml", p), 0);
	at(p, sizeof(p), "b.yaml");
	assert_int_equal(symlink("..data/b.yaml", p), 0);
	struct folder_store *fs = folder_store_open(dir, on_event, on_error, &s, &err);
	assert_non_null(fs);
	folder_store_set_grace(fs, GRACE_MS);
	assert_string_equal(s.events, "ADDED LiveMigration/vms/m1=one;ADDED Pod/vms/p1;");

	/* The update: a.yaml changed, b.yaml removed (its link too). */
	s.events[0] = '\0';
	sh("mkdir %s/..2026_02", dir);
	write_at("..2026_02/a.yaml", "apiVersion: projectcalico.org/v3\nkind: LiveMigration\n"
	                             "metadata: {namespace: vms, name: m1}\nspec: {v: two}\n");
	at(p, sizeof(p), "..data_tmp");
	assert_int_equal(symlink("..2026_02", p), 0);
	at(q, sizeof(q), "..data");
	assert_int_equal(rename(p, q), 0);
	at(p, sizeof(p), "b.yaml");
	assert_int_equal(unlink(p), 0);
	sh("rm -rf %s/..2026_01", dir);
	settle_past(fs, GRACE_MS);
	/* One publish, in the cache's order. */
	assert_non_null(strstr(s.events, "MODIFIED LiveMigration/vms/m1=two;"));
	assert_non_null(strstr(s.events, "DELETED Pod/vms/p1;"));
	assert_int_equal(strlen(s.events), strlen("MODIFIED LiveMigration/vms/m1=two;"
	                                          "DELETED Pod/vms/p1;"));
	folder_store_close(fs);
}

static void missing_folder_is_an_error(void **state)
{
	struct herr err = {{0}};
	assert_null(folder_store_open("/nonexistent/handoff", on_event, on_error, NULL, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/handoff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lifecycle_of_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(later_file_wins_on_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(special_files_are_refused_by_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(replaced_folder_is_followed, setup, teardown),
	    cmocka_unit_test_setup_teardown(vanished_folder_keeps_objects_until_back, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(configmap_data_swap_is_followed, setup, teardown),
	    cmocka_unit_test(missing_folder_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
