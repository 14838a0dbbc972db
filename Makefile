# forkstore: `make run` starts a single-node server, `make test` runs every test.
GO        ?= go
BIN       := bin/forkstore
DATA      ?= ./data
S3_ADDR   ?= 127.0.0.1:9000
RAFT_ADDR ?= 127.0.0.1:9001
FUZZTIME  ?= 30s
IMAGE     ?= forkstore:latest

# Development credentials used by `make run` when FORKSTORE_ROOT_USER /
# FORKSTORE_ROOT_PASSWORD are not set. Never use them outside a laptop.
DEV_USER     := forkstore
DEV_PASSWORD := forkstore-dev-secret

# Time limits keep `make test` under 15 minutes on 2 cores.
UNIT_TIMEOUT    ?= 8m
E2E_TIMEOUT     ?= 10m
CLUSTER_TIMEOUT ?= 10m

.PHONY: all build run run-cluster test deps lint unit e2e cluster fuzz bench soak docker clean

all: build

# A static binary (no cgo), so it runs in a FROM scratch image too. In a git
# clone the commit is stamped into the build info (forkstore version).
BUILDVCS := $(if $(wildcard .git/HEAD),-buildvcs=auto)
build:
	CGO_ENABLED=0 $(GO) build -trimpath $(BUILDVCS) -o $(BIN) ./gateway/cmd/forkstore

run: build
	@user="$${FORKSTORE_ROOT_USER:-}"; pass="$${FORKSTORE_ROOT_PASSWORD:-}"; \
	if [ -z "$$user" ] || [ -z "$$pass" ]; then \
	  user="$(DEV_USER)"; pass="$(DEV_PASSWORD)"; \
	  echo "FORKSTORE_ROOT_USER/FORKSTORE_ROOT_PASSWORD not set: using the development defaults below."; \
	fi; \
	echo "forkstore S3 endpoint: http://$(S3_ADDR)   region: us-east-1   data: $(DATA)"; \
	echo "  AWS_ACCESS_KEY_ID=$$user"; \
	echo "  AWS_SECRET_ACCESS_KEY=$$pass"; \
	echo "  e.g. AWS_ACCESS_KEY_ID=$$user AWS_SECRET_ACCESS_KEY=$$pass aws --endpoint-url http://$(S3_ADDR) s3 ls"; \
	FORKSTORE_ROOT_USER="$$user" FORKSTORE_ROOT_PASSWORD="$$pass" \
	  exec ./$(BIN) server --data $(DATA) --s3-addr $(S3_ADDR) --raft-addr $(RAFT_ADDR)

# A local three-node cluster on loopback (S3 on 127.0.0.1:9011-9013).
run-cluster: build
	@./deploy/run-cluster.sh

# test: everything CI runs (.ci/run). Installs the clients the end-to-end
# tests drive when they are missing.
test: deps lint unit e2e cluster

# Debian's awscli (the v2 CLI), python3-boto3 if the python3 on PATH lacks
# boto3, and chromium for the browser test; apt-get update runs once, and
# only when something is missing.
deps:
	@./tests/install-deps.sh

# go mod tidy -diff changes nothing and fails when go.mod or go.sum is not
# tidy (it prints what tidy would change). The darwin build keeps `make run`
# building on a Mac (the tests themselves need Linux).
lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt -l reports:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags e2e ./tests/...
	$(GO) vet -tags bench ./tests/...
	$(GO) vet -tags cluster ./tests/...
	GOOS=darwin GOARCH=arm64 $(GO) build ./...
	$(GO) test -count=1 -run 'TestForbiddenImports' .

# Unit tests, fuzz seed corpora and the dependency test; the e2e, cluster
# and bench suites sit behind build tags, so ./... leaves them out. The
# gateway's tests run again over 4 metadata shards, every linearizable
# read through the codec of a read sent to another node.
unit:
	$(GO) test -race -count=1 -timeout $(UNIT_TIMEOUT) ./...
	FORKSTORE_TEST_META_SHARDS=4 FORKSTORE_TEST_WIRE_READS=1 $(GO) test -count=1 -timeout $(UNIT_TIMEOUT) ./gateway/ ./s3api/ ./console/

# The built binary against minio-go, the aws CLI (v1 and v2) and boto3.
# The server is built with the race detector (a race in its log fails the
# test); it costs about a quarter more time. E2E_RACE=0 turns it off.
E2E_RACE ?= 1
e2e:
	FORKSTORE_E2E_RACE=$(E2E_RACE) $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -tags e2e ./tests/e2e/...

# Clusters of 3 to 5 server processes on loopback with faults (kills,
# pauses, membership changes, partitions with iptables when root).
# The cluster tests that grow, shrink, partition and kill nodes run again
# over 4 metadata shards (placed on 3 of the nodes where there are more).
CLUSTER_SHARDED_RUN = TestJoinDuringWritesAndForks|TestRepairAfterNodeLoss|TestZoneDownLosesNothing|TestGrowAndShrinkUnderLoad|TestLinearizability$$|TestPartition|TestLeaderKillUnderLoad

cluster:
	@if [ "$$(id -u)" = 0 ] && ! command -v iptables >/dev/null 2>&1; then \
	  echo "installing iptables (cluster partitions)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null; } || true; \
	fi
	@if ls tests/cluster/*_test.go >/dev/null 2>&1; then \
	  echo "$(GO) test -count=1 -timeout $(CLUSTER_TIMEOUT) -tags cluster ./tests/cluster/..."; \
	  $(GO) test -count=1 -timeout $(CLUSTER_TIMEOUT) -tags cluster ./tests/cluster/... && \
	  echo "FORKSTORE_TEST_META_SHARDS=4 $(GO) test -count=1 -timeout $(CLUSTER_TIMEOUT) -tags cluster -run '$(CLUSTER_SHARDED_RUN)' ./tests/cluster/..." && \
	  FORKSTORE_TEST_META_SHARDS=4 $(GO) test -count=1 -timeout $(CLUSTER_TIMEOUT) -tags cluster -run '$(CLUSTER_SHARDED_RUN)' ./tests/cluster/...; \
	else echo "cluster: no tests in tests/cluster yet"; fi

# Each fuzz target of every package for FUZZTIME (go test runs one target
# at a time per package).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# System benchmarks against started binaries: TestBench (PUT/GET/list/RSS),
# the cluster, shard and capacity figures (TestBenchCapacity: issue #15's
# forks on capped nodes, about 7 minutes) and BenchmarkForks (snapshot and
# fork figures), each printing a markdown table (docs/benchmarks.md says how
# to read and record them), then the soak (15 minutes of mixed traffic on
# one node and on three, per minute).
bench:
	$(GO) test -count=1 -timeout 60m -tags bench -run '^TestBench(Cluster|SSE|Shards|Capacity)?$$' -bench . -benchtime 1x -v ./tests/bench/... | tee bench.out
	$(GO) test -count=1 -timeout 20m -run '^$$' -bench 'ForkCreate|Merge' -benchtime 1x ./meta/ | tee -a bench.out
	$(GO) test -count=1 -timeout 20m -run '^$$' -bench 'ConsolePages' -benchtime 20x ./console/ | tee -a bench.out
	$(MAKE) --no-print-directory soak

# soak: FORKSTORE_BENCH_SOAK (default 15m) on each target; fails when the
# last three minutes run below 0.85x the first three.
soak:
	$(GO) test -count=1 -timeout 60m -tags bench -run '^TestBenchSoak$$' -v ./tests/bench/... 2>&1 | tee -a bench.out

docker: build
	docker build -t $(IMAGE) .

clean:
	rm -rf bin data-cluster bench.out coverage.out coverage.html *.coverprofile
