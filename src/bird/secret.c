/* bird/secret.c - core/v1 Secrets holding BGP passwords (calico-semantics
 * D.1/D.2: BGPPeer.spec.password.secretKeyRef and
 * BGPConfiguration.spec.nodeMeshPassword select a key of a Secret in the node
 * agent's own namespace).
 *
 * A password is a credential: values are wiped before their memory is
 * released, and no message here ever quotes one (errors name the Secret and
 * the key only). */
#include "bird/secret.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void bgp_secret_ref_free(struct bgp_secret_ref *r)
{
	free(r->name);
	free(r->key);
	r->name = r->key = NULL;
}

void bgp_secret_free(struct bgp_secret *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i]);
		wipe_free(s->values[i]);
	}
	free(s->keys);
	free(s->values);
	free(s->name);
	free(s->namespace);
	memset(s, 0, sizeof(*s));
}

/* Standard base64 (what the API server puts in .data) into a NUL-terminated
 * string; NULL when it is not base64 or decodes to text with a NUL in it. */
static char *b64_text(const char *in)
{
	size_t n = strlen(in), pad = 0;
	unsigned char *out;
	int len;

	if (n % 4)
		return NULL;
	if (n && in[n - 1] == '=')
		pad++;
	if (n > 1 && in[n - 2] == '=')
		pad++;
	if (!(out = malloc(n / 4 * 3 + 1)))
		return NULL;
	len = n ? EVP_DecodeBlock(out, (const unsigned char *)in, (int)n) : 0;
	if (len < 0) {
		free(out);
		return NULL;
	}
	len -= (int)pad; /* EVP_DecodeBlock counts padding as zero bytes */
	out[len] = '\0';
	if (memchr(out, '\0', (size_t)len)) {
		explicit_bzero(out, (size_t)len);
		free(out);
		return NULL;
	}
	return (char *)out;
}

static int set_value(struct bgp_secret *s, const char *key, char *value)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i], key)) {
			wipe_free(s->values[i]);
			s->values[i] = value;
			return 0;
		}
	char **k = realloc(s->keys, (s->n + 1) * sizeof(*k));
	if (k)
		s->keys = k;
	char **v = realloc(s->values, (s->n + 1) * sizeof(*v));
	if (v)
		s->values = v;
	char *kc = strdup(key);
	if (!k || !v || !kc) {
		free(kc);
		wipe_free(value);
		return -ENOMEM;
	}
	s->keys[s->n] = kc;
	s->values[s->n++] = value;
	return 0;
}

int bgp_secret_decode(const json_t *obj, struct bgp_secret *out, struct herr *err)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const json_t *name = json_object_get(meta, "name");
	const json_t *ns = json_object_get(meta, "namespace");
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_string(name) || !*json_string_value(name))
		return herr_set(err, -EINVAL, "Secret: metadata.name: required");
	const char *nm = json_string_value(name);
	out->name = strdup(nm);
	out->namespace = strdup(json_is_string(ns) ? json_string_value(ns) : "");
	if (!out->name || !out->namespace)
		goto oom;
	json_object_foreach(json_object_get(obj, "data"), key, v)
	{
		/* A value that is not text (a certificate bundle, a keytab) is
		 * no password: left out, so that a reference to it is reported
		 * as missing, and other Secrets of the namespace are no error. */
		char *val = json_is_string(v) ? b64_text(json_string_value(v)) : NULL;
		if (val && set_value(out, key, val) < 0)
			goto oom;
	}
	json_object_foreach(json_object_get(obj, "stringData"), key, v)
	{
		char *val;
		if (!json_is_string(v)) {
			bgp_secret_free(out);
			return herr_set(err, -EINVAL, "Secret %s: stringData.%s: must be a string",
			                nm, key);
		}
		if (!(val = strdup(json_string_value(v))) || set_value(out, key, val) < 0)
			goto oom;
	}
	return 0;
oom:
	bgp_secret_free(out);
	return herr_set(err, -ENOMEM, "out of memory");
}

int bgp_resources_put_secret(struct bgp_resources *set, struct bgp_secret *s, struct herr *err)
{
	for (size_t i = 0; i < set->nsecrets; i++) {
		struct bgp_secret *o = &set->secrets[i];
		if (!strcmp(o->name, s->name) && !strcmp(o->namespace, s->namespace)) {
			bgp_secret_free(o);
			*o = *s;
			return 1;
		}
	}
	struct bgp_secret *nv = realloc(set->secrets, (set->nsecrets + 1) * sizeof(*nv));
	if (!nv) {
		bgp_secret_free(s);
		return herr_set(err, -ENOMEM, "out of memory");
	}
	set->secrets = nv;
	set->secrets[set->nsecrets++] = *s;
	return 1;
}

int bgp_resources_remove_secret(struct bgp_resources *set, const char *ns_name)
{
	const char *slash = strchr(ns_name, '/');
	size_t nslen = slash ? (size_t)(slash - ns_name) : 0;
	const char *name = slash ? slash + 1 : ns_name;

	for (size_t i = 0; i < set->nsecrets; i++) {
		struct bgp_secret *o = &set->secrets[i];
		if (strcmp(o->name, name) || strlen(o->namespace) != nslen ||
		    strncmp(o->namespace, ns_name, nslen))
			continue;
		bgp_secret_free(o);
		memmove(o, o + 1, (set->nsecrets - i - 1) * sizeof(*o));
		set->nsecrets--;
		return 1;
	}
	return 0;
}

const char *bgp_resources_secret(const struct bgp_resources *set, const struct bgp_secret_ref *ref,
                                 bool *missing)
{
	*missing = false;
	if (!ref->name)
		return NULL;
	for (size_t i = 0; i < set->nsecrets; i++) {
		const struct bgp_secret *s = &set->secrets[i];
		/* A Secret written without a namespace (a folder of YAML)
		 * counts as the watcher's own. */
		if (strcmp(s->name, ref->name) || (set->secret_namespace && *s->namespace &&
		                                   strcmp(s->namespace, set->secret_namespace)))
			continue;
		for (size_t k = 0; k < s->n; k++)
			if (!strcmp(s->keys[k], ref->key))
				return s->values[k];
	}
	*missing = true;
	return NULL;
}
