/* err.h - the explanation a failing function leaves for its caller to log.
 *
 * Convention (DESIGN.md "Conventions"): a function that can fail returns 0 or
 * a negative errno, and writes one human sentence into a caller-provided
 * struct herr that names the object, the field and the rule that was broken. */
#ifndef HANDOFF_UTIL_ERR_H
#define HANDOFF_UTIL_ERR_H

#include <stddef.h>

struct herr {
	char msg[512];
};

/* Write the message (printf-style) and return `code` (a negative errno), so that
 * callers can `return herr_set(err, -EINVAL, "...")`. err may be NULL. */
int herr_set(struct herr *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with more context ("file x.yaml: " + msg). */
void herr_prefix(struct herr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
