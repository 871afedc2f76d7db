/* watch_stream.c - the recorded stream of bench_watch_events: KubeVirt
 * virt-launcher Pods of one node and projectcalico.org/v3 LiveMigrations as
 * newline-delimited watch events, made by a deterministic generator (the
 * same file every time). See bench_watch_events.c for what it holds. */
#include "watch_stream.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_FLIGHT 64 /* concurrent migrations in the recorded stream */

/* Deterministic pseudo-random numbers (xorshift64*), so the file is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

struct vm {
	unsigned gen;   /* suffix of its current virt-launcher pod */
	bool local;     /* its pod runs on this node */
	bool migrating; /* a migration is in flight */
	unsigned rv;    /* status updates so far, for varying content */
};

struct migration {
	unsigned vm, id, step;
	bool incoming; /* the target pod is on this node */
};

void uid_of(char out[40], const char *tag, unsigned a, unsigned b)
{
	snprintf(out, 40, "%08x-%04x-4%03x-8000-%012x", a, b & 0xffff, (a ^ b) & 0xfff,
	         (unsigned)(a * 2654435761u));
	out[0] = tag[0];
}

static void vm_ns(char out[32], unsigned vm)
{
	snprintf(out, 32, "tenant-%02u", vm % 20);
}

/* The VM's IPv4 and IPv6 addresses: they move with it. */
static void vm_ips(unsigned vm, char v4[32], char v6[48])
{
	snprintf(v4, 32, "10.%u.%u.%u", 64 + vm / 65536 % 64, vm / 256 % 256, vm % 256);
	snprintf(v6, 48, "fd00:10:244::%x:%x", vm / 65536, vm % 65536);
}

/* A virt-launcher pod as the API server sends it (without managedFields).
 * `job`: the migration's uid for a migration target pod, else NULL.
 * `running`: addresses assigned and phase Running, else Pending. */
int pod_event(char *buf, size_t cap, const char *type, unsigned vm, unsigned gen, const char *job,
              bool running, unsigned rv)
{
	char ns[32], v4[32], v6[48], poduid[40], vmiuid[40], jobl[96] = "", status[1200];

	vm_ns(ns, vm);
	vm_ips(vm, v4, v6);
	uid_of(poduid, "p", vm, gen);
	uid_of(vmiuid, "v", vm, 0);
	if (job)
		snprintf(jobl, sizeof(jobl), ",\"kubevirt.io/migrationJobUID\":\"%s\"", job);
	if (running)
		snprintf(status, sizeof(status),
		         "{\"phase\":\"Running\",\"conditions\":["
		         "{\"type\":\"Initialized\",\"status\":\"True\","
		         "\"lastTransitionTime\":\"2026-11-20T10:%02u:%02uZ\"},"
		         "{\"type\":\"Ready\",\"status\":\"True\","
		         "\"lastTransitionTime\":\"2026-11-20T10:%02u:%02uZ\"},"
		         "{\"type\":\"ContainersReady\",\"status\":\"True\"},"
		         "{\"type\":\"PodScheduled\",\"status\":\"True\"}],"
		         "\"hostIP\":\"192.168.0.11\",\"hostIPs\":[{\"ip\":\"192.168.0.11\"}],"
		         "\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"},{\"ip\":\"%s\"}],"
		         "\"startTime\":\"2026-11-20T10:00:00Z\",\"qosClass\":\"Burstable\","
		         "\"containerStatuses\":[{\"name\":\"compute\",\"ready\":true,"
		         "\"restartCount\":0,\"image\":\"quay.io/kubevirt/virt-launcher:v1.4.0\","
		         "\"started\":true,\"state\":{\"running\":{\"startedAt\":"
		         "\"2026-11-20T10:00:03Z\"}}}]}",
		         rv / 60 % 60, rv % 60, rv / 60 % 60, rv % 60, v4, v4, v6);
	else
		snprintf(status, sizeof(status),
		         "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\","
		         "\"status\":\"True\"}],\"qosClass\":\"Burstable\"}");
	return snprintf(
	    buf, cap,
	    "{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\","
	    "\"metadata\":{\"name\":\"virt-launcher-vm-%u-%u\",\"generateName\":"
	    "\"virt-launcher-vm-%u-\",\"namespace\":\"%s\",\"uid\":\"%s\","
	    "\"resourceVersion\":\"%u\",\"creationTimestamp\":\"2026-11-20T10:00:00Z\","
	    "\"labels\":{\"kubevirt.io\":\"virt-launcher\",\"kubevirt.io/created-by\":\"%s\","
	    "\"kubevirt.io/nodeName\":\"" NODE "\",\"vm.kubevirt.io/name\":\"vm-%u\","
	    "\"vmi.kubevirt.io/id\":\"vm-%u\"%s},"
	    "\"annotations\":{\"kubevirt.io/domain\":\"vm-%u\","
	    "\"kubectl.kubernetes.io/default-container\":\"compute\","
	    "\"descheduler.alpha.kubernetes.io/request-evict-only\":\"\"},"
	    "\"ownerReferences\":[{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":"
	    "\"VirtualMachineInstance\",\"name\":\"vm-%u\",\"uid\":\"%s\",\"controller\":true,"
	    "\"blockOwnerDeletion\":true}]},"
	    "\"spec\":{\"nodeName\":\"" NODE "\",\"containers\":[{\"name\":\"compute\","
	    "\"image\":\"quay.io/kubevirt/virt-launcher:v1.4.0\",\"command\":["
	    "\"/usr/bin/virt-launcher-monitor\",\"--qemu-timeout\",\"321s\",\"--name\","
	    "\"vm-%u\",\"--namespace\",\"%s\"],\"resources\":{\"limits\":{"
	    "\"devices.kubevirt.io/kvm\":\"1\",\"devices.kubevirt.io/tun\":\"1\"},"
	    "\"requests\":{\"cpu\":\"100m\",\"memory\":\"2294Mi\"}}}],"
	    "\"restartPolicy\":\"Never\",\"serviceAccountName\":\"default\","
	    "\"schedulerName\":\"default-scheduler\",\"terminationGracePeriodSeconds\":30,"
	    "\"nodeSelector\":{\"kubevirt.io/schedulable\":\"true\"}},"
	    "\"status\":%s}}\n",
	    type, vm, gen, vm, ns, poduid, rv, vmiuid, vm, vm, jobl, vm, vm, vmiuid, vm, ns,
	    status);
}

/* A LiveMigration as KubeVirt's migration maps to it (calico-semantics A.3):
 * the source is the VM's current pod, the target the pod carrying this
 * migration's job uid. */
int lm_event(char *buf, size_t cap, const char *type, unsigned vm, unsigned src_gen, unsigned id,
             unsigned rv)
{
	char ns[32], uid[40];

	vm_ns(ns, vm);
	uid_of(uid, "m", id, vm);
	return snprintf(
	    buf, cap,
	    "{\"type\":\"%s\",\"object\":{\"apiVersion\":\"projectcalico.org/v3\","
	    "\"kind\":\"LiveMigration\",\"metadata\":{\"name\":\"vm-%u-migration-%u\","
	    "\"namespace\":\"%s\",\"uid\":\"%s\",\"resourceVersion\":\"%u\","
	    "\"creationTimestamp\":\"2026-11-20T11:00:00Z\"},"
	    "\"spec\":{\"source\":{\"workload\":{\"orchestratorID\":\"k8s\","
	    "\"workloadID\":\"%s/virt-launcher-vm-%u-%u\"}},"
	    "\"target\":{\"selector\":\"(vmi.kubevirt.io/id == 'vm-%u' || "
	    "vm.kubevirt.io/name == 'vm-%u') && kubevirt.io/migrationJobUID == '%s'\"}}}}\n",
	    type, vm, id, ns, uid, rv, ns, vm, src_gen, vm, vm, uid);
}

/* The next event of migration `m`, or 0 when it is over.
 *   incoming: LM ADDED, target pod ADDED (Pending), target pod Running,
 *             LM MODIFIED, LM DELETED, then the VM is local;
 *   outgoing: LM ADDED, source pod MODIFIED, LM MODIFIED, LM DELETED,
 *             source pod DELETED, then the VM is elsewhere. */
static int migration_step(char *buf, size_t cap, struct migration *m, struct vm *vms, unsigned *rv)
{
	struct vm *v = &vms[m->vm];
	char job[40];

	uid_of(job, "m", m->id, m->vm);
	switch (m->step++) {
	case 0:
		return lm_event(buf, cap, "ADDED", m->vm, v->gen, m->id, ++*rv);
	case 1:
		return m->incoming
		           ? pod_event(buf, cap, "ADDED", m->vm, v->gen + 1, job, false, ++*rv)
		           : pod_event(buf, cap, "MODIFIED", m->vm, v->gen, NULL, true, ++*rv);
	case 2:
		return m->incoming
		           ? pod_event(buf, cap, "MODIFIED", m->vm, v->gen + 1, job, true, ++*rv)
		           : lm_event(buf, cap, "MODIFIED", m->vm, v->gen, m->id, ++*rv);
	case 3:
		return m->incoming ? lm_event(buf, cap, "MODIFIED", m->vm, v->gen, m->id, ++*rv)
		                   : lm_event(buf, cap, "DELETED", m->vm, v->gen, m->id, ++*rv);
	case 4:
		if (m->incoming) {
			int n = lm_event(buf, cap, "DELETED", m->vm, v->gen, m->id, ++*rv);
			v->gen++;
			v->local = true;
			return n;
		}
		v->local = false;
		return pod_event(buf, cap, "DELETED", m->vm, v->gen, NULL, true, ++*rv);
	}
	v->migrating = false;
	return 0;
}

int write_stream(const char *path, long events, unsigned pods)
{
	FILE *f = fopen(path, "w");
	struct vm *vms = calloc(pods, sizeof(*vms));
	struct migration fl[IN_FLIGHT];
	unsigned nfl = 0, next_vm = 0, ids = 0, rv = 1000;
	char buf[8192];
	long n = 0;

	if (!f || !vms) {
		fprintf(stderr, "bench_watch_events: cannot write %s: %s\n", path, strerror(errno));
		free(vms);
		if (f)
			fclose(f);
		return -1;
	}
	/* The initial pods: two VMs in three run here; the others may come. */
	for (unsigned i = 0; i < pods && n < events; i++) {
		vms[i].local = i % 3 != 2;
		if (!vms[i].local)
			continue;
		int len = pod_event(buf, sizeof(buf), "ADDED", i, 0, NULL, true, ++rv);
		fwrite(buf, 1, (size_t)len, f);
		n++;
	}
	while (n < events) {
		int len = 0;
		if (rnd() % 2) {
			/* A status update of a running local pod not migrating. */
			unsigned i = (unsigned)(rnd() % pods);
			if (!vms[i].local || vms[i].migrating)
				continue;
			len = pod_event(buf, sizeof(buf), "MODIFIED", i, vms[i].gen, NULL, true,
			                ++vms[i].rv * 7 + ++rv);
		} else if (nfl < IN_FLIGHT && rnd() % 4 == 0) {
			unsigned i = next_vm++ % pods;
			if (vms[i].migrating)
				continue;
			vms[i].migrating = true;
			fl[nfl++] =
			    (struct migration){.vm = i, .id = ids++, .incoming = !vms[i].local};
			continue;
		} else if (nfl) {
			unsigned k = (unsigned)(rnd() % nfl);
			len = migration_step(buf, sizeof(buf), &fl[k], vms, &rv);
			if (!len) {
				fl[k] = fl[--nfl];
				continue;
			}
		} else {
			continue;
		}
		fwrite(buf, 1, (size_t)len, f);
		n++;
	}
	free(vms);
	if (fclose(f) != 0) {
		fprintf(stderr, "bench_watch_events: write %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("recorded %ld events (%u VMs, %u migrations started) into %s\n", n, pods, ids, path);
	return 0;
}
