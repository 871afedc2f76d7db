# podman-env.sh - sourced: a private podman configuration and storage under
# $1, so that builds and tests never touch the machine's own containers,
# networks or /etc/cni/net.d. Sets CONTAINERS_CONF, CONTAINERS_STORAGE_CONF
# and the array `podman_global` (pass it before every podman subcommand).
#
# What this machine's podman 4.3 needs (/work/shared/podman-notes.md): runc
# (crun refuses the hybrid cgroup setup), cgroupfs, explicit ulimits (no
# CAP_SYS_RESOURCE to raise podman's defaults), the CNI backend with its
# configuration directory kept private, and a pause image instead of one
# built with catatonit when that is missing.
podman_dir=$(realpath -m "${1:?podman-env.sh: give the directory for podman state}")
mkdir -p "$podman_dir/net.d" "$podman_dir/root" "$podman_dir/runroot" "$podman_dir/tmp"
cat >"$podman_dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$podman_dir/tmp"
[network]
network_backend = "cni"
network_config_dir = "$podman_dir/net.d"
cni_plugin_dirs = ["/usr/lib/cni"]
CONF
cat >"$podman_dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$podman_dir/root"
runroot = "$podman_dir/runroot"
CONF
export CONTAINERS_CONF=$podman_dir/containers.conf
export CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf
podman_global=(--root "$podman_dir/root" --runroot "$podman_dir/runroot" --cgroup-manager cgroupfs
	--runtime runc)
