/* selector.h - the Calico selector language, as LiveMigration targets use it.
 *
 *   (vmi.kubevirt.io/id == 'my-vmi' || vm.kubevirt.io/name == 'my-vmi')
 *       && kubevirt.io/migrationJobUID == 'uid-123'
 *
 * Operators: ==, !=, in {..}, not in {..}, has(k), !, &&, ||, (), all(),
 * contains, starts with, ends with; single- or double-quoted strings (no
 * escapes); keys with prefixes (a.b/c-d_e). && binds tighter than ||.
 * As in Calico, `k != 'v'` and `k not in {..}` are true when k is absent; every
 * other test on an absent label is false. */
#ifndef HANDOFF_CORE_SELECTOR_H
#define HANDOFF_CORE_SELECTOR_H

#include <stdbool.h>

#include "core/model.h"

struct selector;

/* Parse `text` into a tree the caller frees with selector_free(). On error
 * returns -EINVAL, sets *out to NULL, and err->msg says the 1-based column of
 * the offending token, what was expected and what was found, e.g.
 * "column 14: expected a quoted string, found end of input". An empty (or
 * all-blank) text is an error. Nesting of '(' and '!' is capped at 64 levels
 * so that hostile input cannot exhaust the stack. -ENOMEM when out of memory. */
int selector_parse(const char *text, struct selector **out, struct herr *err);
bool selector_match(const struct selector *s, const struct labels *labels);
void selector_free(struct selector *s); /* NULL is fine */
/* A test `key == 'value'` that every label set `s` matches passes: `s`
 * itself or a conjunct of a top-level && (the last such, as selectors name
 * the most specific label last). Lets a caller index selectors by it. False
 * when there is none; *key and *value point into `s`. */
bool selector_required_eq(const struct selector *s, const char **key, const char **value);

#endif
