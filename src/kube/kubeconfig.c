/* kubeconfig.c - where the API server is and how to authenticate: from a
 * kubeconfig file (current-context -> context -> cluster + user) or from the
 * pod's service account. Errors name the file and the field. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/client.h"
#include "util/yaml_json.h"

#define DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ca_file);
	free(c->ca_data);
	free(c->token);
	free(c->token_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	free(c->key_data);
	memset(c, 0, sizeof(*c));
}

/* Reading one kubeconfig: the file's name and directory for messages and
 * relative paths. */
struct kc {
	const char *path;
	char dir[PATH_MAX];
	struct herr *err;
};

static int kc_fail(struct kc *kc, int code, const char *field, const char *what)
{
	return herr_set(kc->err, code, "kubeconfig %s: %s: %s", kc->path, field, what);
}

/* A string field, NULL when absent; -EINVAL when present but not a string. */
static int kc_string(struct kc *kc, const json_t *obj, const char *key, const char *where,
                     const char **out)
{
	json_t *v = json_object_get(obj, key);
	char field[256];

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	snprintf(field, sizeof(field), "%s%s%s", where, *where ? "." : "", key);
	if (!json_is_string(v))
		return kc_fail(kc, -EINVAL, field, "not a string");
	*out = json_string_value(v);
	return 0;
}

/* The entry of `list` (clusters, users, contexts) whose name is `name`; its
 * index goes to *idx for messages. */
static int kc_find(struct kc *kc, const json_t *root, const char *list, const char *name,
                   const char *needed_by, const json_t **out, size_t *idx)
{
	json_t *arr = json_object_get(root, list);
	json_t *e;
	size_t i;
	char what[512];

	if (arr && !json_is_array(arr))
		return kc_fail(kc, -EINVAL, list, "not a list");
	json_array_foreach(arr, i, e)
	{
		const char *n = json_string_value(json_object_get(e, "name"));
		if (n && !strcmp(n, name)) {
			*out = e;
			*idx = i;
			return 0;
		}
	}
	snprintf(what, sizeof(what), "no entry named \"%s\" (named by %s)", name, needed_by);
	return kc_fail(kc, -ENOENT, list, what);
}

/* A path from the file, relative ones resolved against the file's folder. */
static char *kc_path(struct kc *kc, const char *p)
{
	char *out;

	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", kc->dir, p) < 0)
		return NULL;
	return out;
}

/* certificate-authority-data and friends: base64 of PEM text. Whitespace
 * (line breaks in a folded YAML scalar) is ignored. */
static int kc_base64(struct kc *kc, const char *field, const char *in, char **out)
{
	size_t n = strlen(in), m = 0, pad = 0;
	char *clean = malloc(n + 1);
	unsigned char *dec;
	int len;

	*out = NULL;
	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", in[i]))
			clean[m++] = in[i];
	clean[m] = 0;
	if (m == 0 || m % 4) {
		free(clean);
		return kc_fail(kc, -EINVAL, field, "not base64");
	}
	pad = (clean[m - 1] == '=') + (clean[m - 2] == '=');
	dec = malloc(m / 4 * 3 + 1);
	if (!dec) {
		free(clean);
		return -ENOMEM;
	}
	len = EVP_DecodeBlock(dec, (unsigned char *)clean, (int)m);
	free(clean);
	if (len < 0) {
		free(dec);
		return kc_fail(kc, -EINVAL, field, "not base64");
	}
	len -= (int)pad; /* EVP_DecodeBlock counts the padding as zero bytes */
	dec[len] = 0;
	if (memchr(dec, 0, (size_t)len) || !strstr((char *)dec, "-----BEGIN ")) {
		free(dec);
		return kc_fail(kc, -EINVAL, field, "not PEM once base64-decoded");
	}
	*out = (char *)dec;
	return 0;
}

static int kc_cluster(struct kc *kc, const json_t *root, const char *name, struct kube_config *out)
{
	const json_t *entry, *cl;
	const char *server, *ca, *ca_data;
	size_t i;
	char where[64], field[128];
	int rc;

	if ((rc = kc_find(kc, root, "clusters", name, "the current context", &entry, &i)) < 0)
		return rc;
	snprintf(where, sizeof(where), "clusters[%zu].cluster", i);
	cl = json_object_get(entry, "cluster");
	if (!json_is_object(cl))
		return kc_fail(kc, -EINVAL, where, "missing");
	if ((rc = kc_string(kc, cl, "server", where, &server)) < 0 ||
	    (rc = kc_string(kc, cl, "certificate-authority", where, &ca)) < 0 ||
	    (rc = kc_string(kc, cl, "certificate-authority-data", where, &ca_data)) < 0)
		return rc;
	snprintf(field, sizeof(field), "%s.server", where);
	if (!server || !*server)
		return kc_fail(kc, -EINVAL, field, "missing");
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return kc_fail(kc, -EINVAL, field, "not an http:// or https:// URL");
	snprintf(field, sizeof(field), "%s.insecure-skip-tls-verify", where);
	if (json_is_true(json_object_get(cl, "insecure-skip-tls-verify")))
		return kc_fail(kc, -EINVAL, field, "not supported: TLS is always verified");
	if (!(out->server = strdup(server)))
		return -ENOMEM;
	/* Like kubectl: the inline data wins over the file. */
	if (ca_data) {
		snprintf(field, sizeof(field), "%s.certificate-authority-data", where);
		return kc_base64(kc, field, ca_data, &out->ca_data);
	}
	if (ca && !(out->ca_file = kc_path(kc, ca)))
		return -ENOMEM;
	return 0;
}

static int kc_user(struct kc *kc, const json_t *root, const char *name, struct kube_config *out)
{
	const json_t *entry, *u;
	const char *token, *token_file, *cert, *cert_data, *key, *key_data;
	static const char *const unsupported[] = {"exec", "auth-provider", "username", "password"};
	size_t i;
	char where[64], field[128];
	int rc;

	if ((rc = kc_find(kc, root, "users", name, "the current context", &entry, &i)) < 0)
		return rc;
	snprintf(where, sizeof(where), "users[%zu].user", i);
	u = json_object_get(entry, "user");
	if (!json_is_object(u))
		return kc_fail(kc, -EINVAL, where, "missing");
	for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++)
		if (json_object_get(u, unsupported[k])) {
			snprintf(field, sizeof(field), "%s.%s", where, unsupported[k]);
			return kc_fail(
			    kc, -EINVAL, field,
			    "not supported (use a token, tokenFile or client certificate)");
		}
	if ((rc = kc_string(kc, u, "token", where, &token)) < 0 ||
	    (rc = kc_string(kc, u, "tokenFile", where, &token_file)) < 0 ||
	    (rc = kc_string(kc, u, "client-certificate", where, &cert)) < 0 ||
	    (rc = kc_string(kc, u, "client-certificate-data", where, &cert_data)) < 0 ||
	    (rc = kc_string(kc, u, "client-key", where, &key)) < 0 ||
	    (rc = kc_string(kc, u, "client-key-data", where, &key_data)) < 0)
		return rc;
	if ((cert || cert_data) && !(key || key_data))
		return kc_fail(kc, -EINVAL, where, "client-certificate without client-key");
	if ((key || key_data) && !(cert || cert_data))
		return kc_fail(kc, -EINVAL, where, "client-key without client-certificate");

	if (token) {
		/* The token goes into one header line: checked as a token file's is
		 * (client.c), trailing whitespace dropped (a `token: |` block). */
		size_t n = strlen(token);
		while (n > 0 && strchr(" \t\r\n", token[n - 1]))
			n--;
		snprintf(field, sizeof(field), "%s.token", where);
		if (n == 0)
			return kc_fail(kc, -EINVAL, field, "empty");
		if (memchr(token, '\n', n) || memchr(token, '\r', n))
			return kc_fail(kc, -EINVAL, field, "more than one line");
		if (!(out->token = strndup(token, n)))
			return -ENOMEM;
	}
	if (token_file && !(out->token_file = kc_path(kc, token_file)))
		return -ENOMEM;
	if (cert_data) {
		snprintf(field, sizeof(field), "%s.client-certificate-data", where);
		if ((rc = kc_base64(kc, field, cert_data, &out->cert_data)) < 0)
			return rc;
	} else if (cert && !(out->cert_file = kc_path(kc, cert))) {
		return -ENOMEM;
	}
	if (key_data) {
		snprintf(field, sizeof(field), "%s.client-key-data", where);
		if ((rc = kc_base64(kc, field, key_data, &out->key_data)) < 0)
			return rc;
	} else if (key && !(out->key_file = kc_path(kc, key))) {
		return -ENOMEM;
	}
	return 0;
}

static int kc_read(struct kc *kc, const json_t *root, struct kube_config *out)
{
	const json_t *entry, *ctx;
	const char *current, *cluster, *user;
	size_t i;
	char where[64];
	int rc;

	if (!json_is_object(root))
		return kc_fail(kc, -EINVAL, "document", "not a mapping");
	if ((rc = kc_string(kc, root, "current-context", "", &current)) < 0)
		return rc;
	if (!current || !*current)
		return kc_fail(kc, -EINVAL, "current-context", "missing");
	if ((rc = kc_find(kc, root, "contexts", current, "current-context", &entry, &i)) < 0)
		return rc;
	snprintf(where, sizeof(where), "contexts[%zu].context", i);
	ctx = json_object_get(entry, "context");
	if (!json_is_object(ctx))
		return kc_fail(kc, -EINVAL, where, "missing");
	if ((rc = kc_string(kc, ctx, "cluster", where, &cluster)) < 0 ||
	    (rc = kc_string(kc, ctx, "user", where, &user)) < 0)
		return rc;
	if (!cluster || !*cluster) {
		char field[128];
		snprintf(field, sizeof(field), "%s.cluster", where);
		return kc_fail(kc, -EINVAL, field, "missing");
	}
	if ((rc = kc_cluster(kc, root, cluster, out)) < 0)
		return rc;
	/* No user: anonymous (a plain http:// test server). */
	if (user && *user && (rc = kc_user(kc, root, user, out)) < 0)
		return rc;
	return 0;
}

int kube_config_from_kubeconfig(const char *path, struct kube_config *out, struct herr *err)
{
	struct kc kc = {.path = path, .err = err};
	struct yaml_docs docs;
	const char *slash = strrchr(path, '/');
	int rc;

	memset(out, 0, sizeof(*out));
	if (!slash)
		snprintf(kc.dir, sizeof(kc.dir), ".");
	else if (slash == path)
		snprintf(kc.dir, sizeof(kc.dir), "/");
	else
		snprintf(kc.dir, sizeof(kc.dir), "%.*s", (int)(slash - path), path);
	if ((rc = yaml_parse_file(path, &docs, err)) < 0) {
		herr_prefix(err, "kubeconfig: ");
		return rc;
	}
	if (docs.n == 0)
		rc = kc_fail(&kc, -EINVAL, "document", "empty file");
	else
		rc = kc_read(&kc, docs.v[0], out);
	yaml_docs_free(&docs);
	if (rc < 0) {
		if (rc == -ENOMEM)
			herr_set(err, rc, "kubeconfig %s: out of memory", path);
		kube_config_free(out);
	}
	return rc;
}

int kube_config_in_cluster(const char *sa_dir, struct kube_config *out, struct herr *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *end;
	long p;

	memset(out, 0, sizeof(*out));
	if (!sa_dir)
		sa_dir = DEFAULT_SA_DIR;
	if (!host || !*host)
		return herr_set(err, -ENOENT,
		                "in-cluster: KUBERNETES_SERVICE_HOST: not set (not in a pod? use "
		                "--kubeconfig)");
	if (!port || !*port)
		return herr_set(err, -ENOENT, "in-cluster: KUBERNETES_SERVICE_PORT: not set");
	p = strtol(port, &end, 10);
	if (*end || p < 1 || p > 65535)
		return herr_set(err, -EINVAL,
		                "in-cluster: KUBERNETES_SERVICE_PORT: \"%s\" is not a port", port);
	/* An IPv6 address goes in brackets in a URL. */
	if (asprintf(&out->server, strchr(host, ':') ? "https://[%s]:%ld" : "https://%s:%ld", host,
	             p) < 0 ||
	    asprintf(&out->token_file, "%s/token", sa_dir) < 0 ||
	    asprintf(&out->ca_file, "%s/ca.crt", sa_dir) < 0) {
		kube_config_free(out);
		return herr_set(err, -ENOMEM, "in-cluster: out of memory");
	}
	if (access(out->token_file, R_OK) < 0 || access(out->ca_file, R_OK) < 0) {
		int e = errno;
		herr_set(err, -e, "in-cluster: %s: %s",
		         access(out->token_file, R_OK) < 0 ? out->token_file : out->ca_file,
		         strerror(e));
		kube_config_free(out);
		return -e;
	}
	return 0;
}
