#!/usr/bin/python3
"""Every query of the Grafana dashboard (dashboards/handoff.json) asks for
metrics the daemon exports, with labels it exports, so the two cannot drift.

A real `handoff-watcher run --kubeconfig` with its dataplane (in a network
namespace, so every metric family is written: watches per resource, routes,
histograms) is scraped once ready. For each panel query:
- every handoff_* name is a sample name in /metrics (a histogram's _bucket,
  _sum, _count included);
- every label in a {matcher} is one that metric's samples carry, and a
  `label="value"` matcher names a value the daemon writes;
- every label of `by (...)`/`without (...)` is carried by every handoff
  metric of that query (le by the _bucket series only);
- `instance` and `job` (added by Prometheus at scrape time) are allowed.
The dashboard must also query each family the issue asks for: migrations by
outcome, phase durations, GARP-to-route time, BIRD reload failures, watch
relists and errors, rejected objects.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kapi  # noqa: E402
from kapi import check  # noqa: E402

NS = "hdash-%d" % os.getpid()
DASHBOARD = os.path.join(os.environ.get("HANDOFF_SOURCE_DIR", "."), "dashboards", "handoff.json")
SCRAPE_LABELS = {"instance", "job"}
REQUIRED = ["handoff_migrations_total", "handoff_migration_phase_seconds_bucket",
            "handoff_garp_to_route_seconds_bucket", "handoff_bird_reload_failures_total",
            "handoff_watch_relists_total", "handoff_watch_errors_total",
            "handoff_objects_rejected_total"]


def parse_metrics(text):
    """{sample name: {label name: set of values}}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ', line)
        check(m, "unreadable /metrics line: %r" % line)
        labels = out.setdefault(m.group(1), {})
        for k, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""):
            labels.setdefault(k, set()).add(v)
    return out


def queries(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            yield "variable " + v["name"], q["query"]


def check_query(where, expr, exported):
    names = re.findall(r'\b(handoff_[a-z0-9_]+)\b', expr)
    check(names, "%s: %r queries no handoff metric" % (where, expr))
    for name in names:
        check(name in exported, "%s: %s is not exported (%r)" % (where, name, expr))
    for name, body in re.findall(r'\b(handoff_[a-z0-9_]+)\{([^}]*)\}', expr):
        for label, op, value in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"',
                                           body):
            if label in SCRAPE_LABELS:
                continue
            check(label in exported[name], "%s: %s has no label %s (%r)" % (where, name, label,
                                                                            expr))
            if op == "=":
                check(value in exported[name][label], "%s: %s{%s} is never %r (it is %s)" %
                      (where, name, label, value, sorted(exported[name][label])))
    for clause in re.findall(r'\b(?:by|without)\s*\(([^)]*)\)', expr):
        for label in [x.strip() for x in clause.split(",") if x.strip()]:
            if label in SCRAPE_LABELS:
                continue
            for name in names:
                if label == "le" and not name.endswith("_bucket"):
                    continue
                check(label in exported[name], "%s: %s has no label %s to aggregate by (%r)" %
                      (where, name, label, expr))
    return names


def setup_netns():
    subprocess.run(["ip", "netns", "add", NS], check=True)
    subprocess.run(["ip", "-n", NS, "link", "set", "lo", "up"], check=True)


def teardown_netns():
    subprocess.run(["ip", "netns", "del", NS], stderr=subprocess.DEVNULL)


def body(h):
    with open(DASHBOARD) as f:
        dash = json.load(f)
    h.apply(kapi.felix("30s"), kapi.pod("vm1", "node-1", "10.65.0.10"))
    w = h.watcher("node-1", "node-1", netns=NS)
    w.wait_ready()
    code, text = w.http("/metrics")
    check(code == 200, "/metrics: %d" % code)
    exported = parse_metrics(text)
    # The daemon writes what the dashboard relies on, with the labels it groups by.
    check(exported["handoff_watch_relists_total"].get("resource"), "no resource label")
    check({"completed", "garp_missed", "failed"} <= exported["handoff_migrations_total"]["outcome"],
          "outcomes: %s" % exported["handoff_migrations_total"])
    used = set()
    n = 0
    for where, expr in queries(dash):
        used.update(check_query(where, expr, exported))
        n += 1
    check(n >= 10, "only %d queries" % n)
    missing = [m for m in REQUIRED if m not in used]
    check(not missing, "the dashboard does not show %s" % missing)
    print("checked %d queries over %d metrics" % (n, len(used)))


teardown_netns()
setup_netns()
h = kapi.Harness("dashboard", netns=NS, deadline=60, hooks=[teardown_netns])
h.run(body)
