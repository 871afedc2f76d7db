#!/usr/bin/env bash
# The migration scenarios on an iBGP full mesh (issue 13, scenarios 1-8 and
# 10-15): three nodes on one segment, each with BIRD, bird6 and its own
# handoff-watcher following one datastore folder; every scenario has its own
# VM and addresses and runs after the previous one (lib/scenarios.sh says what
# each asserts). Nodes a and b own the IPAM blocks 10.66.1.0/24 and
# 10.66.2.0/24 (aggregation); the other VMs live outside any block.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/topo.sh
. "$here/lib/topo.sh"
# shellcheck source=lib/bgp.sh
. "$here/lib/bgp.sh"
# shellcheck source=lib/cluster.sh
. "$here/lib/cluster.sh"
# shellcheck source=lib/scenarios.sh
. "$here/lib/scenarios.sh"

topo_init
cl_up ibgp
cl_put blocks.yaml <<'YAML'
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: node-a-10-66-1-0-24}
spec: {cidr: 10.66.1.0/24, node: node-a, state: confirmed}
---
apiVersion: crd.projectcalico.org/v1
kind: BlockAffinity
metadata: {name: node-b-10-66-2-0-24}
spec: {cidr: 10.66.2.0/24, node: node-b, state: confirmed}
YAML

start=$SECONDS
scenario_clean vm1 10.65.0.11
scenario_garp_missed vm2 10.65.0.12
scenario_failure vm3 10.65.0.13
scenario_remigration vm4 10.65.0.14
scenario_target_first vm5 10.65.0.15
scenario_priorities vm6 10.65.0.16
scenario_v6 vm7 10.65.0.17 fd00:65::17
scenario_v6 vm8 - fd00:65::18
scenario_crossing vm9 10.65.0.19 vm10 10.65.0.20
scenario_aggregation vm11 10.66.1.10 10.66.1.0/24
scenario_watcher_restart vm12 10.65.0.22
scenario_bird_restart vm13 10.65.0.23
log "PASS: every iBGP scenario in $((SECONDS - start)) s"
