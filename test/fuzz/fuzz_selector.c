/* fuzz_selector.c - the selector parser and matcher on arbitrary text.
 *
 * Beyond "no memory error" (the sanitizers' job), every input checks what
 * callers rely on, and aborts when it does not hold:
 * - a rejected selector returns -EINVAL, no tree, and a message of the form
 *   "column N: expected X, found Y" with N inside the text (or just past it);
 * - an accepted selector T gives a tree, and "!(T)" is accepted too (unless
 *   the two extra levels pass the nesting cap) and matches exactly the label
 *   sets T does not. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/selector.h"

#define NSETS 4

/* A fixed set of label sets: a KubeVirt target and source pod, short keys
 * with an empty value, and no labels at all. Built once; test code only. */
static struct labels sets[NSETS];

static void add(struct labels *l, const char *k, const char *v)
{
	if (labels_set(l, k, v) < 0)
		abort();
}

static void build_sets(void)
{
	static int built;

	if (built)
		return;
	built = 1;
	add(&sets[0], "kubevirt.io", "virt-launcher");
	add(&sets[0], "vmi.kubevirt.io/id", "my-vmi");
	add(&sets[0], "vm.kubevirt.io/name", "my-vmi");
	add(&sets[0], "kubevirt.io/migrationJobUID", "uid-123");
	add(&sets[1], "kubevirt.io", "virt-launcher");
	add(&sets[1], "vmi.kubevirt.io/id", "my-vmi");
	add(&sets[1], "kubevirt.io/migrationJobUID", "uid-099");
	add(&sets[2], "a", "1");
	add(&sets[2], "b", "2");
	add(&sets[2], "c", "");
	add(&sets[2], "app", "web");
}

static void check(int ok, const char *what, const char *text)
{
	if (!ok) {
		fprintf(stderr, "fuzz_selector: %s, selector: \"%s\"\n", what, text);
		abort();
	}
}

/* A rejection must explain itself in the one documented form. */
static void check_error(const char *text, int rc, const struct selector *s, const struct herr *err)
{
	unsigned long col;
	int used = 0;

	if (rc == -ENOMEM)
		return;
	check(rc == -EINVAL, "error other than -EINVAL", text);
	check(s == NULL, "tree returned with an error", text);
	check(sscanf(err->msg, "column %lu: expected %n", &col, &used) == 1 && used > 0,
	      "message does not start with \"column N: expected\"", text);
	check(col >= 1 && col <= strlen(text) + 1, "column outside the text", text);
	check(strstr(err->msg + used, ", found ") != NULL, "message lacks \", found\"", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector *s = NULL, *neg = NULL;
	struct herr err = {{0}};
	char *text, *wrapped;
	size_t len;
	int rc;

	build_sets();
	/* The parser takes a C string: anything after a NUL is not seen. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	len = strlen(text);

	rc = selector_parse(text, &s, &err);
	if (rc < 0) {
		check_error(text, rc, s, &err);
		free(text);
		return -1; /* libFuzzer: do not build on this input */
	}
	check(s != NULL, "accepted without a tree", text);

	wrapped = malloc(len + 4);
	if (!wrapped)
		abort();
	snprintf(wrapped, len + 4, "!(%s)", text);
	rc = selector_parse(wrapped, &neg, &err);
	if (rc == 0) {
		for (int i = 0; i < NSETS; i++)
			check(selector_match(s, &sets[i]) != selector_match(neg, &sets[i]),
			      "!(T) does not negate T", text);
	} else if (rc != -ENOMEM) {
		check(strstr(err.msg, "nested") != NULL, "!(T) rejected for other than depth",
		      text);
	}
	selector_free(neg);
	selector_free(s);
	free(wrapped);
	free(text);
	return 0;
}
