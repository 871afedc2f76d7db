/* Where the API server is and how to authenticate: kubeconfig files (the
 * current context's cluster and user, inline data, relative paths) and the
 * pod's service account; errors name the file and the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/client.h"

static char dir[PATH_MAX];

static const char *write_file(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_kubeconfig.%d.XXXXXX", (int)getpid());
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* base64 of "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n" */
#define CERT_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tClFVSkQKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
#define CERT_PEM "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"
/* base64 of "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n" */
#define KEY_B64 "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tClMwVloKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo="
#define KEY_PEM "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"

static void current_context_selects_cluster_and_token(void **state)
{
	const char *p =
	    write_file("two-contexts.yaml", "apiVersion: v1\n"
	                                    "kind: Config\n"
	                                    "current-context: prod\n"
	                                    "contexts:\n"
	                                    "- name: dev\n"
	                                    "  context: {cluster: dev, user: dev}\n"
	                                    "- name: prod\n"
	                                    "  context: {cluster: prod, user: admin}\n"
	                                    "clusters:\n"
	                                    "- name: dev\n"
	                                    "  cluster: {server: 'http://dev:8080'}\n"
	                                    "- name: prod\n"
	                                    "  cluster:\n"
	                                    "    server: https://10.96.0.1:443\n"
	                                    "    certificate-authority: /etc/k8s/ca.crt\n"
	                                    "users:\n"
	                                    "- name: dev\n"
	                                    "  user: {token: devtoken}\n"
	                                    "- name: admin\n"
	                                    /* `token: |` style: the final newline goes */
	                                    "  user: {token: \"s3cret\\n\"}\n");
	struct kube_config c;
	struct herr err = {{0}};

	assert_int_equal(kube_config_from_kubeconfig(p, &c, &err), 0);
	assert_string_equal(c.server, "https://10.96.0.1:443");
	assert_string_equal(c.ca_file, "/etc/k8s/ca.crt");
	assert_null(c.ca_data);
	assert_string_equal(c.token, "s3cret");
	assert_null(c.token_file);
	assert_null(c.cert_file);
	assert_null(c.key_data);
	kube_config_free(&c);
}

static void inline_data_is_base64_decoded(void **state)
{
	const char *p =
	    write_file("data.yaml", "current-context: c\n"
	                            "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	                            "clusters:\n"
	                            "- name: k\n"
	                            "  cluster:\n"
	                            "    server: https://[fd00::1]:6443\n"
	                            "    certificate-authority: ignored.crt\n"
	                            "    certificate-authority-data: " CERT_B64 "\n"
	                            "users:\n"
	                            "- name: u\n"
	                            "  user:\n"
	                            "    client-certificate-data: " CERT_B64 "\n"
	                            "    client-key-data: " KEY_B64 "\n");
	struct kube_config c;
	struct herr err = {{0}};

	assert_int_equal(kube_config_from_kubeconfig(p, &c, &err), 0);
	assert_string_equal(c.server, "https://[fd00::1]:6443");
	/* The inline CA wins over the file, as with kubectl. */
	assert_string_equal(c.ca_data, CERT_PEM);
	assert_null(c.ca_file);
	assert_string_equal(c.cert_data, CERT_PEM);
	assert_string_equal(c.key_data, KEY_PEM);
	assert_null(c.token);
	kube_config_free(&c);
}

static void relative_paths_resolve_against_the_file(void **state)
{
	const char *p =
	    write_file("rel.yaml", "current-context: c\n"
	                           "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
	                           "clusters:\n"
	                           "- name: k\n"
	                           "  cluster:\n"
	                           "    server: https://api:6443\n"
	                           "    certificate-authority: pki/ca.crt\n"
	                           "users:\n"
	                           "- name: u\n"
	                           "  user:\n"
	                           "    tokenFile: token\n"
	                           "    client-certificate: /abs/client.crt\n"
	                           "    client-key: ../client.key\n");
	char want[PATH_MAX + 64];
	struct kube_config c;
	struct herr err = {{0}};

	assert_int_equal(kube_config_from_kubeconfig(p, &c, &err), 0);
	snprintf(want, sizeof(want), "%s/pki/ca.crt", dir);
	assert_string_equal(c.ca_file, want);
	snprintf(want, sizeof(want), "%s/token", dir);
	assert_string_equal(c.token_file, want);
	assert_null(c.token);
	assert_string_equal(c.cert_file, "/abs/client.crt");
	snprintf(want, sizeof(want), "%s/../client.key", dir);
	assert_string_equal(c.key_file, want);
	kube_config_free(&c);
}

static void no_user_means_anonymous(void **state)
{
	const char *p = write_file("anon.yaml", "current-context: c\n"
	                                        "contexts: [{name: c, context: {cluster: k}}]\n"
	                                        "clusters: [{name: k, cluster: {server: "
	                                        "'http://127.0.0.1:8001/'}}]\n");
	struct kube_config c;
	struct herr err = {{0}};

	assert_int_equal(kube_config_from_kubeconfig(p, &c, &err), 0);
	assert_string_equal(c.server, "http://127.0.0.1:8001/");
	assert_null(c.token);
	assert_null(c.token_file);
	assert_null(c.ca_file);
	kube_config_free(&c);
}

/* Each broken kubeconfig is rejected with the file and the field named. */
static void errors_name_the_file_and_field(void **state)
{
	static const struct {
		const char *yaml, *msg;
	} cases[] = {
	    {"contexts: []\n", "current-context: missing"},
	    {"current-context: x\ncontexts: [{name: y, context: {cluster: k}}]\n",
	     "contexts: no entry named \"x\" (named by current-context)"},
	    {"current-context: c\ncontexts: [{name: c, context: {user: u}}]\n",
	     "contexts[0].context.cluster: missing"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
	     "clusters: [{name: other, cluster: {server: 'https://a'}}]\n",
	     "clusters: no entry named \"k\" (named by the current context)"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
	     "clusters: [{name: k, cluster: {certificate-authority: ca.crt}}]\n",
	     "clusters[0].cluster.server: missing"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
	     "clusters: [{name: k, cluster: {server: 'ftp://a'}}]\n",
	     "clusters[0].cluster.server: not an http:// or https:// URL"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a', insecure-skip-tls-verify: "
	     "true}}]\n",
	     "clusters[0].cluster.insecure-skip-tls-verify: not supported: TLS is always verified"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a', certificate-authority-data: "
	     "'%%%%'}}]\n",
	     "clusters[0].cluster.certificate-authority-data: not base64"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: v, user: {}}, {name: u, user: {client-certificate-data: " CERT_B64
	     ", client-key-data: 'not*base64'}}]\n",
	     "users[1].user.client-key-data: not base64"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {client-certificate-data: aGVsbG8K, client-key: k.pem}}]\n",
	     "users[0].user.client-certificate-data: not PEM once base64-decoded"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {client-certificate: c.pem}}]\n",
	     "users[0].user: client-certificate without client-key"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {exec: {command: aws}}}]\n",
	     "users[0].user.exec: not supported"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {token: [1, 2]}}]\n",
	     "users[0].user.token: not a string"},
	    /* A token is one header line: a newline inside would end the
	     * Authorization header and start another (as a token file's is refused). */
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {token: \"abc\\nX-Evil: 1\"}}]\n",
	     "users[0].user.token: more than one line"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {token: \"abc\\rdef\"}}]\n",
	     "users[0].user.token: more than one line"},
	    {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
	     "clusters: [{name: k, cluster: {server: 'https://a'}}]\n"
	     "users: [{name: u, user: {token: \" \\n\"}}]\n",
	     "users[0].user.token: empty"},
	    {"- just\n- a list\n", "document: not a mapping"},
	    {"current-context: [a]\n", "current-context: not a string"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32], want[PATH_MAX + 256];
		struct kube_config c;
		struct herr err = {{0}};
		snprintf(name, sizeof(name), "bad%zu.yaml", i);
		const char *p = write_file(name, cases[i].yaml);
		snprintf(want, sizeof(want), "kubeconfig %s: %s", p, cases[i].msg);
		assert_true(kube_config_from_kubeconfig(p, &c, &err) < 0);
		if (strncmp(err.msg, want, strlen(want))) {
			fprintf(stderr, "case %zu:\n  got  %s\n  want %s...\n", i, err.msg, want);
			fail();
		}
		assert_null(c.server); /* nothing half-filled is left */
	}
}

static void missing_file_is_named(void **state)
{
	struct kube_config c;
	struct herr err = {{0}};

	assert_int_equal(kube_config_from_kubeconfig("/nonexistent/kubeconfig", &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/kubeconfig"));
}

static void in_cluster_from_env_and_sa_dir(void **state)
{
	char sa[PATH_MAX + 8], want[PATH_MAX + 64];
	struct kube_config c;
	struct herr err = {{0}};

	snprintf(sa, sizeof(sa), "%s/sa", dir);
	assert_int_equal(mkdir(sa, 0700), 0);
	write_file("sa/token", "eyJhbGciOi\n");
	write_file("sa/ca.crt", CERT_PEM);

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(sa, &c, &err), 0);
	assert_string_equal(c.server, "https://10.96.0.1:443");
	snprintf(want, sizeof(want), "%s/token", sa);
	assert_string_equal(c.token_file, want);
	snprintf(want, sizeof(want), "%s/ca.crt", sa);
	assert_string_equal(c.ca_file, want);
	assert_null(c.token); /* read by the client, and again when it rotates */
	kube_config_free(&c);

	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	assert_int_equal(kube_config_in_cluster(sa, &c, &err), 0);
	assert_string_equal(c.server, "https://[fd00:10:96::1]:443");
	kube_config_free(&c);

	setenv("KUBERNETES_SERVICE_PORT", "https", 1);
	assert_int_equal(kube_config_in_cluster(sa, &c, &err), -EINVAL);
	assert_string_equal(err.msg,
	                    "in-cluster: KUBERNETES_SERVICE_PORT: \"https\" is not a port");
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);

	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_int_equal(kube_config_in_cluster(sa, &c, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "KUBERNETES_SERVICE_HOST: not set"));

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	snprintf(want, sizeof(want), "%s/sa/token", dir);
	unlink(want);
	assert_int_equal(kube_config_in_cluster(sa, &c, &err), -ENOENT);
	snprintf(want, sizeof(want), "in-cluster: %s/sa/token: No such file or directory", dir);
	assert_string_equal(err.msg, want);
	assert_null(c.server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(current_context_selects_cluster_and_token),
	    cmocka_unit_test(inline_data_is_base64_decoded),
	    cmocka_unit_test(relative_paths_resolve_against_the_file),
	    cmocka_unit_test(no_user_means_anonymous),
	    cmocka_unit_test(errors_name_the_file_and_field),
	    cmocka_unit_test(missing_file_is_named),
	    cmocka_unit_test(in_cluster_from_env_and_sa_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
