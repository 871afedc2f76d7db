/* yaml_json.c - YAML streams to jansson trees with libyaml's event parser.
 *
 * The tree is built with an explicit stack of open containers, so nesting
 * depth costs heap, not C stack; it is still bounded (YAML_MAX_DEPTH)
 * because jansson frees and dumps trees recursively.
 *
 * Decisions (beyond the YAML 1.2 core schema described in the header):
 * - a plain integer that does not fit in 64 bits becomes a real;
 * - .inf / .nan have no JSON form and stay strings;
 * - an explicit !!str tag keeps a plain scalar a string; other tags are
 *   ignored and the scalar resolves as if untagged;
 * - "<<" merge keys are not YAML 1.2 and are ordinary keys here;
 * - a non-string mapping key becomes its text (`1: a` -> {"1": "a"});
 *   a key that is a mapping or a sequence is an error;
 * - duplicate keys in one mapping are an error (Kubernetes rejects them too);
 * - aliases share the anchored node (jansson reference counting), and a
 *   document that would expand to more than YAML_MAX_NODES nodes is rejected,
 *   so a "billion laughs" stream cannot explode a consumer that walks it. */
#include "util/yaml_json.h"

#include "util/hmap.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 256
#define YAML_MAX_NODES (1u << 20)

/* One open mapping or sequence. */
struct frame {
	json_t *node;
	char *anchor; /* to register when the container closes */
	size_t size;  /* expanded node count, for the alias bound */
	char *key;    /* mapping: key waiting for its value */
	size_t key_len;
	yaml_mark_t mark; /* where the container started */
};

/* Anchors by name (a stream may hold tens of thousands: a linear search per
 * alias made such a file take minutes); `all` chains them for freeing. */
struct anchor {
	struct hnode hn;
	char *name;
	json_t *node;
	size_t size;
	struct anchor *all;
};

struct builder {
	struct frame *stack;
	size_t depth;
	struct hmap anchors;
	struct anchor *all_anchors;
	json_t *root; /* completed root of the current document */
	size_t root_size;
	struct herr *err;
};

static int fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Errors carry 1-based positions; libyaml's marks are 0-based. */
static int fail_at(struct builder *b, yaml_mark_t m, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return herr_set(b->err, -EINVAL, "line %zu, column %zu: %s", m.line + 1, m.column + 1,
	                what);
}

static void anchors_clear(struct builder *b)
{
	while (b->all_anchors) {
		struct anchor *a = b->all_anchors;
		b->all_anchors = a->all;
		hmap_del(&b->anchors, &a->hn);
		free(a->name);
		json_decref(a->node);
		free(a);
	}
}

static struct anchor *anchor_lookup(const struct builder *b, const char *name)
{
	struct hnode *n = hmap_get(&b->anchors, name, hmap_hash(name));

	return n ? container_of(n, struct anchor, hn) : NULL;
}

/* A redefined anchor shadows the earlier one: its entry takes the new node. */
static int anchor_add(struct builder *b, const char *name, json_t *node, size_t size)
{
	struct anchor *a = anchor_lookup(b, name);

	if (a) {
		json_decref(a->node);
		a->node = json_incref(node);
		a->size = size;
		return 0;
	}
	if (!(a = calloc(1, sizeof(*a))) || !(a->name = strdup(name))) {
		free(a);
		return -ENOMEM;
	}
	a->node = json_incref(node);
	a->size = size;
	a->all = b->all_anchors;
	b->all_anchors = a;
	hmap_put(&b->anchors, &a->hn, a->name);
	return 0;
}

static const struct anchor *anchor_find(const struct builder *b, const char *name)
{
	return anchor_lookup(b, name);
}

static void stack_clear(struct builder *b)
{
	while (b->depth) {
		struct frame *f = &b->stack[--b->depth];
		json_decref(f->node);
		free(f->anchor);
		free(f->key);
	}
}

/* ---- scalar resolution (YAML 1.2 core schema, plain scalars only) ------- */

static bool all_digits(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_core_float(const char *s)
{
	size_t digits = 0;

	if (*s == '-' || *s == '+')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, digits++;
	if (*s == '.') {
		s++;
		size_t frac = 0;
		while (*s >= '0' && *s <= '9')
			s++, frac++;
		/* "." alone is not a number; "1." is. */
		if (!digits && !frac)
			return false;
	} else if (!digits) {
		return false;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* Integer forms: decimal with optional sign, 0o octal, 0x hex. Returns true
 * and sets *v when `s` is one and fits; *overflow when it is one but does not. */
static bool parse_core_int(const char *s, long long *v, bool *overflow)
{
	const char *digits = s;
	int base = 10;
	char *end;

	*overflow = false;
	if (!strncmp(s, "0o", 2) && all_digits(s + 2, "01234567")) {
		digits = s + 2;
		base = 8;
	} else if (!strncmp(s, "0x", 2) && all_digits(s + 2, "0123456789abcdefABCDEF")) {
		digits = s + 2;
		base = 16;
	} else {
		const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
		if (!all_digits(d, "0123456789"))
			return false;
	}
	errno = 0;
	*v = strtoll(digits, &end, base);
	if (errno == ERANGE)
		*overflow = true;
	return true;
}

static json_t *resolve_plain(const char *s, size_t len)
{
	long long iv;
	bool overflow;

	/* A NUL cannot occur in a plain scalar, but keep the length honest. */
	if (strlen(s) != len)
		return json_stringn(s, len);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (parse_core_int(s, &iv, &overflow)) {
		if (!overflow)
			return json_integer(iv);
		if (all_digits(s[0] == '-' || s[0] == '+' ? s + 1 : s, "0123456789"))
			return json_real(strtod(s, NULL));
		return json_string(s); /* a hex/octal literal beyond 64 bits */
	}
	if (is_core_float(s)) {
		double d = strtod(s, NULL);
		json_t *r = json_real(d); /* NULL for an overflow to inf */
		return r ? r : json_string(s);
	}
	return json_stringn(s, len);
}

static json_t *scalar_node(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (tag && !strcmp(tag, YAML_STR_TAG)))
		return json_stringn(v, len);
	return resolve_plain(v, len);
}

/* The text a scalar node stands for when it is used as a mapping key. */
static char *key_text(json_t *node, size_t *len)
{
	char *s;

	if (json_is_string(node)) {
		*len = json_string_length(node);
		s = malloc(*len + 1);
		if (s)
			memcpy(s, json_string_value(node), *len + 1);
		return s;
	}
	if (json_is_null(node)) {
		*len = 0;
		return strdup("");
	}
	s = json_dumps(node, JSON_ENCODE_ANY);
	*len = s ? strlen(s) : 0;
	return s;
}

/* ---- tree building ------------------------------------------------------ */

/* Attach a completed node (consumes the reference) to its parent, or make
 * it the document root. `size` is its expanded node count. `key_src` is the
 * scalar's own text when the node came from a scalar event: a key keeps
 * its spelling (`0x10: a` gives "0x10", not "16"). */
static int attach(struct builder *b, json_t *node, size_t size, yaml_mark_t m, const char *key_src,
                  size_t key_src_len)
{
	if (!node)
		return herr_set(b->err, -ENOMEM, "out of memory (or invalid UTF-8) at line %zu",
		                m.line + 1);
	if (!b->depth) {
		b->root = node;
		b->root_size = size;
		return 0;
	}
	struct frame *f = &b->stack[b->depth - 1];
	int rc = 0;

	if (json_is_object(f->node) && !f->key) {
		/* This node is a key. */
		if (json_is_object(node) || json_is_array(node)) {
			json_decref(node);
			return fail_at(b, m, "a mapping key must be a scalar");
		}
		size_t len;
		char *k;
		if (key_src) {
			k = malloc(key_src_len + 1);
			if (k) {
				memcpy(k, key_src, key_src_len);
				k[key_src_len] = '\0';
			}
			len = key_src_len;
		} else {
			k = key_text(node, &len);
		}
		json_decref(node);
		if (!k)
			return herr_set(b->err, -ENOMEM, "out of memory");
		if (strlen(k) != len) {
			free(k);
			return fail_at(b, m, "a mapping key must not contain NUL");
		}
		if (json_object_get(f->node, k)) {
			rc = fail_at(b, m, "duplicate mapping key \"%s\"", k);
			free(k);
			return rc;
		}
		f->key = k;
		f->key_len = len;
		return 0;
	}
	if (f->size + size > YAML_MAX_NODES) {
		json_decref(node);
		return herr_set(b->err, -E2BIG,
		                "line %zu, column %zu: document expands to more than %u nodes "
		                "(too many aliases)",
		                m.line + 1, m.column + 1, YAML_MAX_NODES);
	}
	if (json_is_object(f->node)) {
		rc = json_object_set_new(f->node, f->key, node);
		free(f->key);
		f->key = NULL;
	} else {
		rc = json_array_append_new(f->node, node);
	}
	if (rc)
		return herr_set(b->err, -ENOMEM, "out of memory");
	f->size += size;
	return 0;
}

static int open_container(struct builder *b, json_t *node, const yaml_char_t *anchor, yaml_mark_t m)
{
	if (!node)
		return herr_set(b->err, -ENOMEM, "out of memory");
	if (b->depth >= YAML_MAX_DEPTH) {
		json_decref(node);
		return herr_set(b->err, -EINVAL, "line %zu, column %zu: nesting deeper than %d",
		                m.line + 1, m.column + 1, YAML_MAX_DEPTH);
	}
	/* A container used as a mapping key is caught when it closes. */
	struct frame *ns = realloc(b->stack, (b->depth + 1) * sizeof(*ns));
	char *a = anchor ? strdup((const char *)anchor) : NULL;
	if (ns)
		b->stack = ns;
	if (!ns || (anchor && !a)) {
		free(a);
		json_decref(node);
		return herr_set(b->err, -ENOMEM, "out of memory");
	}
	b->stack[b->depth++] = (struct frame){.node = node, .anchor = a, .size = 1, .mark = m};
	return 0;
}

static int close_container(struct builder *b, yaml_mark_t m)
{
	struct frame f = b->stack[--b->depth];
	int rc = 0;

	free(f.key); /* cannot be set: libyaml pairs every key with a value */
	if (f.anchor) {
		rc = anchor_add(b, f.anchor, f.node, f.size);
		free(f.anchor);
		if (rc < 0) {
			json_decref(f.node);
			return herr_set(b->err, rc, "out of memory");
		}
	}
	return attach(b, f.node, f.size, f.mark, NULL, 0);
}

static int handle_event(struct builder *b, const yaml_event_t *ev)
{
	const struct anchor *a;
	json_t *node;
	int rc;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		node = scalar_node(ev);
		if (node && ev->data.scalar.anchor) {
			rc = anchor_add(b, (const char *)ev->data.scalar.anchor, node, 1);
			if (rc < 0) {
				json_decref(node);
				return herr_set(b->err, rc, "out of memory");
			}
		}
		return attach(b, node, 1, ev->start_mark, (const char *)ev->data.scalar.value,
		              ev->data.scalar.length);
	case YAML_ALIAS_EVENT:
		/* Only completed nodes are registered, so an alias cannot
		 * point into the container that holds it: no cycles. */
		a = anchor_find(b, (const char *)ev->data.alias.anchor);
		if (!a)
			return fail_at(b, ev->start_mark, "unknown alias \"*%s\"",
			               (const char *)ev->data.alias.anchor);
		return attach(b, json_incref(a->node), a->size, ev->start_mark, NULL, 0);
	case YAML_SEQUENCE_START_EVENT:
		return open_container(b, json_array(), ev->data.sequence_start.anchor,
		                      ev->start_mark);
	case YAML_MAPPING_START_EVENT:
		return open_container(b, json_object(), ev->data.mapping_start.anchor,
		                      ev->start_mark);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_container(b, ev->start_mark);
	default:
		return 0;
	}
}

static int docs_push(struct yaml_docs *d, json_t *doc)
{
	json_t **nv = realloc(d->v, (d->n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	d->v = nv;
	d->v[d->n++] = doc;
	return 0;
}

int yaml_parse(const char *text, size_t len, struct yaml_docs *out, struct herr *err)
{
	struct builder b = {.err = err};
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc = 0;
	bool done = false;

	memset(out, 0, sizeof(*out));
	if (!text) /* libyaml asserts on a NULL input, even an empty one */
		text = "", len = 0;
	if (hmap_init(&b.anchors) < 0)
		return herr_set(err, -ENOMEM, "out of memory");
	if (!yaml_parser_initialize(&parser)) {
		hmap_fini(&b.anchors);
		return herr_set(err, -ENOMEM, "out of memory");
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_mark_t m = parser.problem_mark;
			rc = herr_set(
			    err, -EINVAL, "line %zu, column %zu: %s%s%s", m.line + 1, m.column + 1,
			    parser.problem ? parser.problem : "syntax error",
			    parser.context ? " " : "", parser.context ? parser.context : "");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_END_EVENT:
			/* Empty documents ("---" alone, or just null) are skipped. */
			if (b.root && !json_is_null(b.root)) {
				if (docs_push(out, b.root) < 0) {
					json_decref(b.root);
					rc = herr_set(err, -ENOMEM, "out of memory");
				}
			} else {
				json_decref(b.root);
			}
			b.root = NULL;
			anchors_clear(&b); /* anchors are scoped to their document */
			break;
		default:
			rc = handle_event(&b, &ev);
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	stack_clear(&b);
	free(b.stack);
	anchors_clear(&b);
	hmap_fini(&b.anchors);
	json_decref(b.root);
	if (rc < 0)
		yaml_docs_free(out);
	return rc;
}

int yaml_parse_file(const char *path, struct yaml_docs *out, struct herr *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		rc = -errno;
		return herr_set(err, rc, "%s: %s", path, strerror(-rc));
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				free(buf);
				fclose(f);
				return herr_set(err, -ENOMEM, "%s: out of memory", path);
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return herr_set(err, -EIO, "%s: read error", path);
	}
	fclose(f);
	rc = yaml_parse(buf, len, out, err);
	free(buf);
	if (rc < 0)
		herr_prefix(err, "%s: ", path);
	return rc;
}

void yaml_docs_free(struct yaml_docs *docs)
{
	for (size_t i = 0; i < docs->n; i++)
		json_decref(docs->v[i]);
	free(docs->v);
	docs->v = NULL;
	docs->n = 0;
}
