# rise — the two commands a newcomer needs:
#   make dev    bring up a local platform (PostgreSQL, registry, Dex, rise server) and print the next steps
#   make test   install test dependencies, lint, and run the whole test suite against real parts
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(CURDIR)/.bin:$(PATH)
export GOBIN := $(CURDIR)/.bin

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/riseplatform/rise/core/version.Version=$(VERSION)
GO_TEST_FLAGS ?= -timeout 40m
# Every module of the workspace (go.work): rise, the SDK (its own module,
# sdk/vX.Y.Z tags) and the example plugins. `./...` alone stops at a nested
# module, so test, vet and staticcheck name each module's tree.
PKGS = $(patsubst $(CURDIR)%,.%,$(shell go list -m -f '{{.Dir}}/...'))

.PHONY: all build deps test unit lint proto bench bench-check dev dev-down clean

all: build

build: ## build bin/rise (CLI, server and built-in plugins in one binary)
	go build -ldflags "$(LDFLAGS)" -o bin/rise ./cmd/rise

deps: ## install apt packages and Go tools the tests and dev platform need
	@./dev/deps.sh

# testrun prints go test's usual lines, then one line counting skipped tests
# by reason; with -leaks it fails when a test-started process, or a container,
# network or volume of rise's, outlives the run (docs/development.md).
TESTRUN := $(GOBIN)/testrun

test: deps lint ## the whole suite on real parts (what CI runs): a missing part fails, leaks fail
	go build -o $(TESTRUN) ./dev/cmd/testrun
	RISE_REQUIRE_REAL=1 $(TESTRUN) -leaks -- go test -json $(GO_TEST_FLAGS) $(PKGS)

unit: ## quick: tests that need no external service are still run, others skip (counted at the end)
	go build -o $(TESTRUN) ./dev/cmd/testrun
	RISE_REQUIRE_REAL=0 $(TESTRUN) -- go test -json -short $(PKGS)

lint: ## gofmt, go vet, staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet $(PKGS)
	staticcheck $(PKGS)

proto: ## regenerate sdk/pluginpb from sdk/proto (protoc from Debian, plugins pinned in dev/deps.sh)
	@RISE_DEPS=dev ./dev/deps.sh
	protoc -I sdk/proto -I /usr/include \
	  --go_out=. --go_opt=module=github.com/riseplatform/rise \
	  --go-grpc_out=. --go-grpc_opt=module=github.com/riseplatform/rise \
	  rise/plugin/v1/plugin.proto

# Every benchmark does a fixed workload in one iteration (-benchtime 1x), rise
# and its reference interleaved, and prints `name ratio=R budget=B`
# (docs/development.md). bench-check fails when a ratio exceeds its budget by
# more than BENCH_TOLERANCE; it is what a reviewer runs, not part of CI.
BENCH_OUT ?= .bench.out
BENCH_TOLERANCE ?= 0.10

bench: ## performance budgets: every benchmark against its reference, < 15 min
	set -o pipefail; { RISE_REQUIRE_REAL=1 go test -run '^$$' -bench . -benchtime 1x -timeout 15m ./... && \
	  RISE_REQUIRE_REAL=1 RISE_BENCH_EDGE=1 go test -count=1 -run '^TestEdgeVsCaddy$$' -v ./server/edge/; } | tee $(BENCH_OUT)

bench-check: bench ## make bench, then fail when a ratio is over its budget (+ BENCH_TOLERANCE)
	go run ./dev/cmd/benchcheck -tolerance $(BENCH_TOLERANCE) $(BENCH_OUT)

dev: build ## start the local platform under .dev/
	@RISE_DEPS=dev ./dev/deps.sh
	@./dev/up.sh

dev-down: ## stop the local platform
	@./dev/down.sh

clean:
	rm -rf bin .bin $(BENCH_OUT)
