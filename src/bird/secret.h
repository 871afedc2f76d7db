/* bird/secret.h - Secrets in the BGP resource set: the only thing handoff
 * reads from them is a BGP password (BGPPeer.spec.password,
 * BGPConfiguration.spec.nodeMeshPassword). Internal to src/bird. */
#ifndef HANDOFF_BIRD_SECRET_H
#define HANDOFF_BIRD_SECRET_H

#include "bird/model.h"

void bgp_secret_ref_free(struct bgp_secret_ref *r);
/* Add or replace by (namespace, name); `s` is moved in. Returns 1. */
int bgp_resources_put_secret(struct bgp_resources *set, struct bgp_secret *s, struct herr *err);
/* `ns_name` is "<namespace>/<name>" (or a bare name for a Secret without
 * namespace). Returns 1 when one went. */
int bgp_resources_remove_secret(struct bgp_resources *set, const char *ns_name);

#endif
