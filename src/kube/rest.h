/* rest.h - one synchronous JSON request to the API server (GET, POST, PUT,
 * DELETE) on a libcurl easy handle, for the watcher's IPAM worker threads,
 * which block on the API while the event loop must not. One kube_rest per
 * thread; the connection is kept alive between requests. */
#ifndef HANDOFF_KUBE_REST_H
#define HANDOFF_KUBE_REST_H

#include <jansson.h>

#include "kube/client.h"
#include "util/err.h"

struct kube_rest;

/* Copies what it needs of cfg. */
struct kube_rest *kube_rest_new(const struct kube_config *cfg, long timeout_ms, struct herr *err);
void kube_rest_free(struct kube_rest *r);

/* `method` `path` ("/api/v1/namespaces/ns/pods/p") with `body` (NULL: none).
 * Returns the HTTP status (200, 201, 404, 409, ...) with *out the answer's
 * JSON (a Status object for errors; NULL when the body is not JSON), or a
 * negative errno when no answer came (err says why). */
int kube_rest_call(struct kube_rest *r, const char *method, const char *path, const json_t *body,
                   json_t **out, struct herr *err);

/* The message of a Status answer, or "" (for error texts). */
const char *kube_status_message(const json_t *status);

#endif
