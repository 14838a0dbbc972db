#!/usr/bin/env bash
# Starts a local three-node forkstore cluster on loopback (make run-cluster):
# S3 on 127.0.0.1:9011-9013, Raft on 127.0.0.1:7011-7013, data in
# ${DATA:-./data-cluster}/n1..n3. Ctrl-C stops the three nodes.
set -euo pipefail
bin=${BIN:-bin/forkstore}
data=${DATA:-./data-cluster}
export FORKSTORE_ROOT_USER=${FORKSTORE_ROOT_USER:-forkstore}
export FORKSTORE_ROOT_PASSWORD=${FORKSTORE_ROOT_PASSWORD:-forkstore-dev-secret}
export FORKSTORE_CLUSTER_KEY=${FORKSTORE_CLUSTER_KEY:-forkstore-dev-cluster-key}
members=1=127.0.0.1:7011,2=127.0.0.1:7012,3=127.0.0.1:7013
pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop EXIT INT TERM
for i in 1 2 3; do
  mkdir -p "$data/n$i"
  "$bin" server --node-id "$i" --raft-addr "127.0.0.1:701$i" --s3-addr "127.0.0.1:901$i" \
    --initial-members "$members" --data "$data/n$i" >"$data/n$i.log" 2>&1 &
  pids+=("$!")
done
for i in 1 2 3; do
  for _ in $(seq 1 150); do
    curl -sf "http://127.0.0.1:901$i/health/ready" >/dev/null 2>&1 && break
    kill -0 "${pids[$((i-1))]}" 2>/dev/null || { echo "node $i exited; see $data/n$i.log"; exit 1; }
    sleep 0.2
  done
done
echo "forkstore cluster of 3 nodes (logs in $data/n*.log):"
for i in 1 2 3; do echo "  node $i  S3 endpoint http://127.0.0.1:901$i"; done
echo "  AWS_ACCESS_KEY_ID=$FORKSTORE_ROOT_USER"
echo "  AWS_SECRET_ACCESS_KEY=$FORKSTORE_ROOT_PASSWORD"
echo "  e.g. FORKSTORE_ENDPOINT=http://127.0.0.1:9012 bin/forkstore cluster status"
echo "Ctrl-C stops the cluster."
wait -n "${pids[@]}"
