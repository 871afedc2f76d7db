#!/usr/bin/python3
"""test_manifests.py - every document under manifests/ is an object a real API
server accepts from `kubectl apply -R -f manifests/` (after `-f crd/`):

- apiVersion, kind and metadata.name (a DNS-1123 subdomain) are present;
- a built-in kind is one of the (apiVersion, kind) pairs Kubernetes serves
  that handoff ships; any other kind must be defined by a CRD in crd/, in a
  served version, with metadata.namespace only for a Namespaced CRD, and the
  object must pass the CRD's openAPIV3Schema (types, required, enum, pattern,
  limits, and no field the schema does not declare: the API server would
  prune it, or refuse it under strict field validation). CEL rules
  (x-kubernetes-validations) are not evaluated here.
- The ConfigMap's conflist is cni/10-handoff.conflist (what the image carries).
- The DaemonSet runs the image this version builds, with IfNotPresent.
- The top level of manifests/ holds built-in kinds only, so that
  `kubectl apply -f crd/ -f manifests/` works in one go.

Objects that are not Kubernetes kinds (the folder datastore's Nodes and block
affinities) live in examples/datastore/, outside manifests/."""
import glob
import json
import os
import re
import sys

import yaml

SRC = os.environ["HANDOFF_SOURCE_DIR"]

BUILTIN = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"), ("v1", "Service"),
    ("apps/v1", "DaemonSet"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
}
CLUSTER_SCOPED_BUILTIN = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def load_crds():
    crds = {}
    for path in sorted(glob.glob(os.path.join(SRC, "crd", "*.yaml"))):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if not d or d.get("kind") != "CustomResourceDefinition":
                    continue
                spec = d["spec"]
                for v in spec["versions"]:
                    if v.get("served"):
                        key = (f"{spec['group']}/{v['name']}", spec["names"]["kind"])
                        crds[key] = (spec["scope"], v["schema"]["openAPIV3Schema"], path)
    return crds


def type_ok(v, t):
    return {
        "object": isinstance(v, dict),
        "array": isinstance(v, list),
        "string": isinstance(v, str),
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": isinstance(v, bool),
    }.get(t, True)


def check_schema(where, v, s):
    """A structural schema's rules, as the API server applies them."""
    if "type" in s and not type_ok(v, s["type"]):
        if not (v is None and s.get("nullable")):
            err(where, f"{json.dumps(v)} is not of type {s['type']}")
        return
    if "enum" in s and v not in s["enum"]:
        err(where, f"{json.dumps(v)} is not one of {s['enum']}")
    if isinstance(v, str):
        if "pattern" in s and not re.search(s["pattern"], v):
            err(where, f"\"{v}\" does not match {s['pattern']}")
        if "maxLength" in s and len(v) > s["maxLength"]:
            err(where, f"longer than {s['maxLength']}")
        if "minLength" in s and len(v) < s["minLength"]:
            err(where, f"shorter than {s['minLength']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            err(where, f"{v} is below the minimum {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            err(where, f"{v} is above the maximum {s['maximum']}")
    if isinstance(v, list):
        if "maxItems" in s and len(v) > s["maxItems"]:
            err(where, f"more than {s['maxItems']} items")
        for i, e in enumerate(v):
            if "items" in s:
                check_schema(f"{where}[{i}]", e, s["items"])
    if isinstance(v, dict):
        props = s.get("properties")
        for r in s.get("required", []):
            if r not in v:
                err(where, f"required field {r} is missing")
        if s.get("x-kubernetes-preserve-unknown-fields"):
            props = props or {}
        for k, e in v.items():
            if props is not None and k in props:
                check_schema(f"{where}.{k}", e, props[k])
            elif "additionalProperties" in s and isinstance(s["additionalProperties"], dict):
                check_schema(f"{where}.{k}", e, s["additionalProperties"])
            elif props is not None and not s.get("x-kubernetes-preserve-unknown-fields"):
                err(where, f"unknown field {k} (the API server would drop it)")


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        m = re.search(r"project\(handoff VERSION ([0-9.]+)", f.read())
    return m.group(1)


def check_object(where, d, crds):
    if not isinstance(d, dict):
        err(where, "not a mapping")
        return
    api, kind = d.get("apiVersion"), d.get("kind")
    md = d.get("metadata") or {}
    if not api or not kind:
        err(where, "apiVersion and kind are required")
        return
    where = f"{where} ({kind} {md.get('name', '?')})"
    name = md.get("name")
    if not isinstance(name, str) or len(name) > 253 or not DNS1123.match(name):
        err(where, f"metadata.name {name!r} is not a DNS-1123 subdomain")
    if (api, kind) in BUILTIN:
        if kind in CLUSTER_SCOPED_BUILTIN and "namespace" in md:
            err(where, f"{kind} is cluster-scoped: metadata.namespace must not be set")
        return
    crd = crds.get((api, kind))
    if not crd:
        err(where, f"{api} {kind} is neither a built-in kind handoff ships nor defined "
                   f"by a CRD in crd/ (objects for the folder datastore belong in "
                   f"examples/datastore/)")
        return
    scope, schema, path = crd
    if scope == "Cluster" and "namespace" in md:
        err(where, f"{kind} is cluster-scoped ({os.path.basename(path)}): no metadata.namespace")
    body = {k: v for k, v in d.items() if k not in ("apiVersion", "kind", "metadata")}
    props = dict(schema.get("properties", {}))
    for k in ("apiVersion", "kind", "metadata"):
        props.pop(k, None)
    check_schema(f"{where}", body, dict(schema, properties=props))


def main():
    crds = load_crds()
    if not crds:
        err("crd/", "no CustomResourceDefinition found")
    files = sorted(glob.glob(os.path.join(SRC, "manifests", "**", "*.yaml"), recursive=True))
    if not files:
        err("manifests/", "no files")
    ndocs = 0
    for path in files:
        rel = os.path.relpath(path, SRC)
        with open(path) as f:
            try:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                err(rel, f"not YAML: {e}")
                continue
        for i, d in enumerate(docs):
            ndocs += 1
            check_object(f"{rel}#{i}", d, crds)
            # `kubectl apply -f crd/ -f manifests/` in one go: the top level
            # holds no custom resource (its CRD would not be established yet).
            if os.path.dirname(rel) == "manifests" and isinstance(d, dict) and \
                    (d.get("apiVersion"), d.get("kind")) not in BUILTIN:
                err(f"{rel}#{i}", "a custom resource at the top of manifests/: "
                                  "put it in manifests/examples/")
            if isinstance(d, dict) and d.get("kind") == "ConfigMap" and \
                    d["metadata"]["name"] == "handoff-cni":
                with open(os.path.join(SRC, "cni", "10-handoff.conflist")) as c:
                    if d.get("data", {}).get("10-handoff.conflist") != c.read():
                        err(rel, "data.10-handoff.conflist differs from cni/10-handoff.conflist")
            if isinstance(d, dict) and d.get("kind") == "DaemonSet":
                want = f"handoff:{project_version()}"
                spec = d["spec"]["template"]["spec"]
                for c in spec.get("initContainers", []) + spec["containers"]:
                    if c.get("image") != want or c.get("imagePullPolicy") != "IfNotPresent":
                        err(rel, f"container {c['name']}: image {c.get('image')} "
                                 f"({c.get('imagePullPolicy')}), want {want} (IfNotPresent)")
    for e in errors:
        print("FAIL:", e, file=sys.stderr)
    if errors:
        return 1
    print(f"PASS: {ndocs} documents in {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
