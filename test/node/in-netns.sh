#!/usr/bin/env bash
# Runs a command (the node tier's vitest) inside a network namespace of its own: only `lo` at first; the tier's
# global setup adds the pod bridge. Everything the tier starts (etcd, the control plane, containerd, the kubelet,
# registries, file servers) listens inside it, so no test traffic leaves it. The namespace is deleted afterwards,
# and any process still inside it (there should be none) is killed by its PID first.
set -uo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "the node tier must run as root: it creates a network namespace and runs a kubelet" >&2
  exit 1
fi
name="cdk8s-node-$$"
# `ip netns add` makes /run/netns a mount point the first time; undo that too when this script made it
mountpoint -q /run/netns && netns_mounted=1 || netns_mounted=0
ip netns add "$name" || exit 1
cleanup() {
  for pid in $(ip netns pids "$name" 2>/dev/null); do
    echo "in-netns.sh: killing leftover process $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" >&2
    kill -KILL "$pid" 2>/dev/null
  done
  ip netns del "$name"
  if [ "$netns_mounted" = 0 ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null && rmdir /run/netns 2>/dev/null
  fi
}
trap cleanup EXIT
ip -n "$name" link set lo up
status=0
NODE_TIER_NETNS="$name" nsenter --net="/run/netns/$name" -- "$@" || status=$?
exit "$status"
