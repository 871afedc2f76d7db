/* request.h - inside src/kube/ only: one HTTP GET to the API server on the
 * client's libcurl multi handle, and what watch.c needs from the client.
 *
 * A 2xx body goes to the data callback as it arrives; any other status's body
 * (a Status object) is kept, up to a few KiB, for the done callback. The done
 * callback runs from the loop, never from inside libcurl, so it may start or
 * cancel requests; the request is freed right after it returns. */
#ifndef HANDOFF_KUBE_REQUEST_H
#define HANDOFF_KUBE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct kube_client;
struct kube_watch;
struct loop;

struct kube_response {
	long status;       /* HTTP status, 0 when none was received */
	int curl_code;     /* CURLcode: 0 when the transfer completed */
	const char *error; /* libcurl's explanation, "" when none */
	const char *body;  /* non-2xx: the start of the body; "" otherwise */
	uint64_t received; /* body bytes passed to the data callback */
	long retry_after;  /* seconds the server asked us to wait (429, 503), or 0 */
};

/* Return 0 to go on, or -1 to abort the transfer (done then sees a
 * CURLE_WRITE_ERROR). Called from inside libcurl: start nothing here. */
typedef int (*kube_data_cb)(void *arg, const char *data, size_t len);
typedef void (*kube_done_cb)(void *arg, const struct kube_response *r);

struct kube_request;

/* GET server + target ("/api/v1/pods?limit=500"). timeout_ms bounds the whole
 * transfer (0: none). */
struct kube_request *kube_request_start(struct kube_client *c, const char *target, long timeout_ms,
                                        kube_data_cb data, kube_done_cb done, void *arg,
                                        struct herr *err);
/* TLS verification and client certificate of `k` on a libcurl easy handle
 * (rest.c's synchronous requests use it too). Non-zero on failure. */
struct kube_config;
int kube_set_tls(const struct kube_config *k, void *easy);

/* Abort without calling done. */
void kube_request_cancel(struct kube_request *r);

/* The server answered 401: read the token file again before the next request. */
void kube_client_token_rejected(struct kube_client *c);

struct loop *kube_client_loop(struct kube_client *c);
/* A random number for backoff jitter. */
uint32_t kube_client_random(struct kube_client *c);

/* The client's list of watches, freed with it (watch.c adds to it). */
struct kube_watch **kube_client_watches(struct kube_client *c);
struct kube_watch *kube_watch_next(struct kube_watch *w);
void kube_watch_destroy(struct kube_watch *w);

#endif
