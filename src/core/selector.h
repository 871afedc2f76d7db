/* selector.h - the Calico selector language, as LiveMigration targets use it.
 *
 *   (vmi.kubevirt.io/id == 'my-vmi' || vm.kubevirt.io/name == 'my-vmi')
 *       && kubevirt.io/migrationJobUID == 'uid-123'
 *
 * Operators: ==, !=, in {..}, not in {..}, has(k), !, &&, ||, (), all(),
 * single- or double-quoted strings, keys with prefixes (a.b/c-d_e). */
#ifndef HANDOFF_CORE_SELECTOR_H
#define HANDOFF_CORE_SELECTOR_H

#include <stdbool.h>

#include "core/model.h"

struct selector;

/* Parse `text`. On error returns -EINVAL and err->msg says the 1-based column
 * and what was expected, e.g. "column 14: expected a quoted string". */
int selector_parse(const char *text, struct selector **out, struct herr *err);
bool selector_match(const struct selector *s, const struct labels *labels);
void selector_free(struct selector *s);

#endif
