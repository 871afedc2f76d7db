#!/usr/bin/env bash
# The migration scenarios through ToRs (issue 13, scenarios 1 and 9): every
# node peers eBGP with its rack's ToR, with seed 001's BGPFilter attached to
# the ToR peers from CRD objects (bgp/racks.yaml, in the watchers' datastore);
# the ToRs prefer the community-tagged elevated route. Node c, in the other
# rack, probes the VM; a, the source, probes it too.
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
cl_up ebgp
start=$SECONDS
scenario_clean vm1 10.65.0.11
wait_route_via tor1 10.65.0.11/32 10.91.0.2
scenario_remigration vm4 10.65.0.14
log "PASS: eBGP scenarios in $((SECONDS - start)) s"
