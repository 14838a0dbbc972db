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

export CGO_ENABLED ?= 0

.PHONY: all build run test deps lint unit e2e cluster fuzz bench docker clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./gateway/cmd/forkstore

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

# test: everything CI runs. Installs the clients the tests drive when they
# are missing (Debian packages: awscli is the v2 CLI; python3-boto3).
test: deps lint unit e2e

deps:
	@./tests/install-deps.sh

lint:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./tests/...
	$(GO) vet -tags bench ./tests/...
	$(GO) test -count=1 -run 'TestForbiddenImports' .

unit:
	$(GO) test -race -count=1 -timeout 10m ./...

e2e:
	$(GO) test -count=1 -timeout 20m -tags e2e ./tests/e2e/...

fuzz:
	@for pkg in ./s3api ./meta; do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -count=1 -timeout 60m -tags bench -run '^$$' -bench . -benchtime 1x ./tests/bench/... | tee bench.out

docker: build
	docker build -t $(IMAGE) .

clean:
	rm -rf bin bench.out
