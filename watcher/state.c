/* state.c - the watcher's node-local state file (state.h).
 *
 * {"version":1,"node":"node-1","bootId":"<kernel boot id>","savedAtMs":<unix ms>,
 *  "endpoints":[{"id":"vms/virt-launcher-a","state":"TimeWait","role":"NONE",
 *                "migrationUid":"uid-7","deadlineUnixMs":<unix ms>,
 *                "convergenceMs":30000}]}
 *
 * Decisions where the file and the rest disagree:
 *   - no file, unreadable, not a regular file, a symlink, over 1 MiB, not
 *     JSON, another version, another node, another boot: logged, ignored
 *     whole (after a reboot the kernel's routes are gone too);
 *   - one entry with a bad field: logged with its index and field, ignored;
 *     the others are restored;
 *   - a TimeWait deadline in the past pops at once; one further away than
 *     its convergence time (the wall clock stepped back) is cut to that;
 *   - the file says Target but the kernel holds the endpoint's route at an
 *     elevated metric: Live (routes are applied before the file is written,
 *     so the kernel can be one decision ahead of it, never behind);
 *   - the file says Live/TimeWait but the kernel holds the route only at the
 *     normal metric: the file wins (the FSM decided it; the route was lost)
 *     and a warning says so;
 *   - no entry, but the kernel holds the endpoint's route elevated: restored
 *     as Live with role TARGET, so the settle keeps it Live while the
 *     endpoint is still a target, and starts a full convergence time when
 *     the migration is gone (the remaining time is unknown: the longer wait
 *     is the safe one). */
#define _GNU_SOURCE
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/routes.h"
#include "status.h"
#include "util/log.h"
#include "util/loop.h"

#define STATE_VERSION  1
#define STATE_MAX_SIZE (1 << 20)

struct saved_rec {
	char *key, *uid;
	enum lm_state state;
	enum lm_role role;
	uint64_t deadline_mono; /* TimeWait */
};

struct saved_state {
	struct saved_rec *v;
	size_t n;
};

static uint64_t wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The kernel's id for this boot; "" when unknown (then never a mismatch). */
static void boot_id(char out[40])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, 40, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static int parse_state(const char *s, enum lm_state *out)
{
	char buf[24];
	for (int i = LM_TARGET; i <= LM_TIMEWAIT; i++)
		if (!strcmp(s, lm_state_name(i, buf))) {
			*out = (enum lm_state)i;
			return 0;
		}
	return -1;
}

static int parse_role(const char *s, enum lm_role *out)
{
	for (int i = LM_ROLE_NONE; i <= LM_ROLE_TARGET; i++)
		if (!strcmp(s, lm_role_name((enum lm_role)i))) {
			*out = (enum lm_role)i;
			return 0;
		}
	return -1;
}

static void saved_free(struct saved_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].uid);
	}
	free(s->v);
	free(s);
}

void state_free(struct watcher *w)
{
	saved_free(w->saved);
	w->saved = NULL;
}

/* Read the whole file, refusing what is not a small regular file (a FIFO
 * would block the loop, a symlink could point anywhere). NULL when absent or
 * refused (logged). */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t off = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			hlog(HLOG_INFO, "No saved migration state", "file=%s", path);
		else
			hlog(HLOG_WARN, "Saved migration state ignored", "file=%s error=%s", path,
			     hlog_q(errno == ELOOP ? "is a symbolic link" : strerror(errno)));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_MAX_SIZE) {
		hlog(HLOG_WARN, "Saved migration state ignored", "file=%s error=%s", path,
		     hlog_q(S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file"));
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (!buf || off != (size_t)st.st_size) {
		hlog(HLOG_WARN, "Saved migration state ignored", "file=%s error=%s", path,
		     hlog_q(buf ? "short read" : "out of memory"));
		free(buf);
		return NULL;
	}
	*len = off;
	return buf;
}

/* One entry into rec; -1 with *field naming what is wrong. */
static int parse_entry(const json_t *e, uint64_t wall, uint64_t mono, struct saved_rec *rec,
                       const char **field)
{
	const char *id = json_string_value(json_object_get(e, "id"));
	const char *st = json_string_value(json_object_get(e, "state"));
	const char *role = json_string_value(json_object_get(e, "role"));
	const json_t *uid = json_object_get(e, "migrationUid");

	memset(rec, 0, sizeof(*rec));
	if (!json_is_object(e))
		return *field = "(entry): not an object", -1;
	if (!id || !*id || !strchr(id, '/'))
		return *field = "id: not \"<namespace>/<name>\"", -1;
	if (!st || parse_state(st, &rec->state) < 0)
		return *field = "state: not Target, Live or TimeWait", -1;
	if (!role || parse_role(role, &rec->role) < 0)
		return *field = "role: not NONE, SOURCE or TARGET", -1;
	if (uid && !json_is_string(uid))
		return *field = "migrationUid: not a string", -1;
	if (rec->state == LM_TIMEWAIT) {
		const json_t *d = json_object_get(e, "deadlineUnixMs");
		const json_t *c = json_object_get(e, "convergenceMs");
		if (!json_is_integer(d) || json_integer_value(d) < 0)
			return *field = "deadlineUnixMs: not a time in milliseconds", -1;
		if (!json_is_integer(c) || json_integer_value(c) < 0)
			return *field = "convergenceMs: not a duration in milliseconds", -1;
		uint64_t dl = (uint64_t)json_integer_value(d),
		         conv = (uint64_t)json_integer_value(c);
		uint64_t left = dl > wall ? dl - wall : 0;
		rec->deadline_mono = mono + (left > conv ? conv : left);
	}
	rec->key = strdup(id);
	rec->uid = strdup(uid ? json_string_value(uid) : "");
	if (!rec->key || !rec->uid) {
		free(rec->key);
		free(rec->uid);
		return *field = "(entry): out of memory", -1;
	}
	return 0;
}

void state_load(struct watcher *w)
{
	const char *path = w->opt.state_file;
	char boot[40];
	size_t len = 0;
	json_error_t jerr;
	char *text;
	json_t *root;

	if (!path || !*path || w->opt.no_dataplane)
		return;
	if (!(text = read_file(path, &len)))
		return;
	root = json_loadb(text, len, 0, &jerr);
	free(text);
	const char *node = json_string_value(json_object_get(root, "node"));
	const char *bid = json_string_value(json_object_get(root, "bootId"));
	json_t *eps = json_object_get(root, "endpoints");
	boot_id(boot);
	const char *why = !root ? jerr.text
	                  : json_integer_value(json_object_get(root, "version")) != STATE_VERSION
	                      ? "version: not 1"
	                  : !node || strcmp(node, w->opt.node) ? "node: another node's state"
	                  : bid && *boot && strcmp(bid, boot)  ? "bootId: saved before a reboot"
	                  : !json_is_array(eps)                ? "endpoints: not a list"
	                                                       : NULL;
	if (why) {
		hlog(HLOG_WARN, "Saved migration state ignored", "file=%s error=%s", path,
		     hlog_q(why));
		json_decref(root);
		return;
	}
	struct saved_state *s = calloc(1, sizeof(*s));
	size_t n = json_array_size(eps);
	if (s && n)
		s->v = calloc(n, sizeof(*s->v));
	if (!s || (n && !s->v)) {
		hlog(HLOG_ERROR, "Saved migration state ignored", "file=%s error=\"out of memory\"",
		     path);
		saved_free(s);
		json_decref(root);
		return;
	}
	uint64_t wall = wall_now_ms(), mono = loop_now_ms();
	for (size_t i = 0; i < n; i++) {
		const char *field = NULL;
		if (parse_entry(json_array_get(eps, i), wall, mono, &s->v[s->n], &field) < 0) {
			hlog(HLOG_WARN, "Saved migration state entry ignored",
			     "file=%s entry=%zu error=%s", path, i, hlog_q(field));
			continue;
		}
		s->n++;
	}
	json_decref(root);
	hlog(HLOG_INFO, "Saved migration state read", "file=%s endpoints=%zu", path, s->n);
	w->saved = s;
}

/* ---- the settle ------------------------------------------------------------ */

/* The lowest metric of our kernel routes per destination ("dst/plen"). */
static void collect_kernel(void *arg, int family, const char *dst, uint32_t metric)
{
	json_t *m = arg;
	json_t *old = json_object_get(m, dst);
	(void)family;

	if (!old || (uint64_t)json_integer_value(old) > metric)
		json_object_set_new(m, dst, json_integer(metric));
}

/* What the kernel says of an endpoint: 2 elevated, 1 only normal, 0 nothing. */
static int kernel_says(const json_t *kern, const struct endpoint *ep,
                       const struct route_config *cfg)
{
	int best = 0;

	for (size_t i = 0; i < ep->naddrs; i++) {
		int fam = addr_family(ep->addrs[i]);
		char dst[HANDOFF_ADDRSIZ + 8];
		if (!fam)
			continue;
		snprintf(dst, sizeof(dst), "%s/%d", ep->addrs[i], fam == 4 ? 32 : 128);
		const json_t *m = json_object_get(kern, dst);
		if (!m)
			continue;
		if ((uint64_t)json_integer_value(m) < cfg->normal[fam == 4 ? 0 : 1])
			best = 2;
		else if (!best)
			best = 1;
	}
	return best;
}

static const struct endpoint *find_ep(const struct endpoint *const *eps, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(eps[mid]->key, key);
		if (!c)
			return eps[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A value as it goes in a log line: bare when it is a plain name, as the
 * transition lines print ids and uids, quoted otherwise. */
static const char *logval(const char *s)
{
	if (!*s ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./_:-") !=
	        strlen(s))
		return hlog_q(s);
	return s;
}

static void restore_one(struct watcher *w, const struct lm_record *r, const char *from,
                        uint64_t mono, json_t *restored)
{
	struct herr err = {{0}};
	char sb[24];

	if (engine_restore(w->engine, r, mono, &w->decisions, &err) < 0) {
		hlog(HLOG_WARN, "Saved migration state entry ignored", "id=%s error=%s",
		     hlog_q(r->key), hlog_q(err.msg));
		return;
	}
	hlog(HLOG_INFO, "Live migration state restored",
	     "from=%s id=%s migrationUid=%s remainingMs=%lld state=%s", from, logval(r->key),
	     logval(r->uid ? r->uid : ""),
	     r->state == LM_TIMEWAIT
	         ? (long long)(r->deadline_ms > mono ? r->deadline_ms - mono : 0)
	         : -1LL,
	     lm_state_name(r->state, sb));
	json_object_set_new(restored, r->key, json_true());
}

/* /migrations: each restored endpoint still in a state, with the uid the
 * settle gave it (a kernel-recovered one learns it from its LiveMigration). */
static void report_restored(struct watcher *w, const json_t *restored, uint64_t mono)
{
	size_t n = engine_records(w->engine, NULL, 0);
	struct lm_record *recs = n ? calloc(n, sizeof(*recs)) : NULL;

	if (!recs)
		return;
	engine_records(w->engine, recs, n);
	for (size_t i = 0; i < n; i++)
		if (json_object_get(restored, recs[i].key))
			status_restored(w->status, recs[i].key, recs[i].uid ? recs[i].uid : "",
			                recs[i].state, wall_now_ms(), mono);
	free(recs);
}

void state_settle(struct watcher *w)
{
	const struct route_config *cfg = engine_route_config(w->engine);
	const struct endpoint *const *eps;
	size_t neps = engine_endpoints(w->engine, &eps);
	uint64_t mono = loop_now_ms();
	json_t *kern = json_object(), *restored = json_object();
	char sb[24];

	if (!kern || !restored) {
		json_decref(kern);
		json_decref(restored);
		hlog(HLOG_ERROR, "Saved migration state not restored", "error=\"out of memory\"");
		state_free(w);
		engine_restore_settle(w->engine, mono, &w->decisions);
		return;
	}

	if (w->routes)
		route_syncer_foreach_kernel(w->routes, collect_kernel, kern);
	for (size_t i = 0; w->saved && i < w->saved->n; i++) {
		const struct saved_rec *s = &w->saved->v[i];
		const struct endpoint *ep = find_ep(eps, neps, s->key);
		struct lm_record r = {s->key, s->uid, s->state, s->role, s->deadline_mono};
		int k = ep ? kernel_says(kern, ep, cfg) : 0;

		if (s->state == LM_TARGET && k == 2) {
			/* Elevated after the file was written: the GARP came. */
			r.state = LM_LIVE;
			hlog(HLOG_INFO, "Saved Target is elevated in the kernel; restoring Live",
			     "id=%s", logval(s->key));
		} else if (s->state != LM_TARGET && k == 1) {
			hlog(HLOG_WARN,
			     "Saved state and kernel route disagree; the saved state wins",
			     "id=%s state=%s", logval(s->key), lm_state_name(s->state, sb));
		}
		restore_one(w, &r, "file", mono, restored);
	}
	/* Elevated in the kernel with nothing saved (file lost or unreadable). */
	for (size_t i = 0; i < neps; i++) {
		if (engine_state(w->engine, eps[i]->key) != LM_BASE ||
		    kernel_says(kern, eps[i], cfg) != 2)
			continue;
		struct lm_record r = {eps[i]->key, "", LM_LIVE, LM_ROLE_TARGET, 0};
		restore_one(w, &r, "kernel", mono, restored);
	}
	json_decref(kern);
	state_free(w);
	engine_restore_settle(w->engine, mono, &w->decisions);
	report_restored(w, restored, mono);
	json_decref(restored);
}

/* ---- saving ------------------------------------------------------------------ */

static int write_atomic(const char *path, const char *text, struct herr *err)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX], tmp[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int fd, dfd;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	snprintf(basebuf, sizeof(basebuf), "%s", path);
	const char *dir = dirname(dirbuf), *base = basename(basebuf);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return herr_set(err, -errno, "%s: mkdir: %s", dir, strerror(errno));
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >= (int)sizeof(tmp))
		return herr_set(err, -ENAMETOOLONG, "%s: path too long", path);
	/* O_EXCL (mkostemp): a planted symlink is never followed. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return herr_set(err, -errno, "%s: create: %s", tmp, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* rename replaces whatever the name was (a symlink included), atomically. */
	if (rename(tmp, path) < 0)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return herr_set(err, -e, "%s: write: %s", path, strerror(e));
}

void state_save(struct watcher *w)
{
	const char *path = w->opt.state_file;
	struct herr err = {{0}};
	struct lm_record *recs = NULL;
	uint64_t wall = wall_now_ms(), mono = loop_now_ms();
	uint64_t conv = engine_route_config(w->engine)->convergence_ms;
	char boot[40], sb[24];
	size_t n;

	if (!path || !*path || w->opt.no_dataplane)
		return;
	n = engine_records(w->engine, NULL, 0);
	if (n && !(recs = calloc(n, sizeof(*recs))))
		goto oom;
	engine_records(w->engine, recs, n);
	boot_id(boot);
	json_t *root =
	    json_pack("{s:i,s:s,s:s,s:I,s:[]}", "version", STATE_VERSION, "node", w->opt.node,
	              "bootId", boot, "savedAtMs", (json_int_t)wall, "endpoints");
	json_t *eps = json_object_get(root, "endpoints");
	for (size_t i = 0; root && i < n; i++) {
		json_t *e = json_pack("{s:s,s:s,s:s,s:s}", "id", recs[i].key, "state",
		                      lm_state_name(recs[i].state, sb), "role",
		                      lm_role_name(recs[i].role), "migrationUid", recs[i].uid);
		if (e && recs[i].state == LM_TIMEWAIT) {
			uint64_t left = recs[i].deadline_ms > mono ? recs[i].deadline_ms - mono : 0;
			json_object_set_new(e, "deadlineUnixMs",
			                    json_integer((json_int_t)(wall + left)));
			json_object_set_new(e, "convergenceMs",
			                    json_integer((json_int_t)(left > conv ? left : conv)));
		}
		if (!e || json_array_append_new(eps, e) < 0) {
			json_decref(root);
			root = NULL;
		}
	}
	free(recs);
	char *text = root ? json_dumps(root, JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if (!text)
		goto oom;
	if (write_atomic(path, text, &err) < 0)
		hlog(HLOG_WARN, "Migration state not saved; a restart now would lose it",
		     "file=%s error=%s", path, hlog_q(err.msg));
	free(text);
	return;
oom:
	hlog(HLOG_ERROR, "Migration state not saved", "file=%s error=\"out of memory\"", path);
}
