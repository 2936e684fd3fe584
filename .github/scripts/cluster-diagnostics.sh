#!/usr/bin/env bash
# What a failed cluster job leaves behind: the cluster's events, its pods, and
# every container's log (the previous one too, after a restart), through the
# lab's own context. Usage: cluster-diagnostics.sh CONTEXT OUTDIR
set -uo pipefail
context="$1"
out="$2"
mkdir -p "$out"
k() { kubectl --context "$context" "$@"; }
k get nodes -o wide >"$out/nodes.txt" 2>&1
k get events -A --sort-by=.lastTimestamp -o wide >"$out/events.txt" 2>&1
k get all -A -o wide >"$out/all.txt" 2>&1
k describe pods -A >"$out/pods-described.txt" 2>&1
k get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' 2>/dev/null |
  while read -r namespace pod; do
    case "$namespace" in kube-system | local-path-storage) continue ;; esac
    k logs -n "$namespace" "$pod" --all-containers --timestamps >"$out/logs-$namespace-$pod.txt" 2>&1
    k logs -n "$namespace" "$pod" --all-containers --timestamps --previous \
      >"$out/logs-$namespace-$pod-previous.txt" 2>/dev/null || rm -f "$out/logs-$namespace-$pod-previous.txt"
  done
exit 0
