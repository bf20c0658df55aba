# hourglass — see README.md. `make demo` shows the whole product; `make test` is what CI runs.
GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/hourglass

.PHONY: all engine build test vet demo bench fuzz clean

all: build

## engine: fetch the pinned embedded ClickHouse engine (libchdb.so) into the cache folder
engine:
	@scripts/fetch-engine.sh

## build: the engine and the hourglass binary (no cgo)
build: engine
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hourglass

vet:
	$(GO) vet ./...

## test: every test, on the embedded engine and on a clickhouse-server the tests start
test: engine vet
	$(GO) test -count=1 -timeout 40m ./...

## fuzz: run each fuzz target for FUZZTIME (not part of make test or CI)
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run XXX -fuzz '^FuzzQuote$$' -fuzztime $(FUZZTIME) ./ident
	$(GO) test -run XXX -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./timerange
	$(GO) test -run XXX -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./datasources

## demo: the whole product on a fresh ./hourglass-demo project, measured (DEMO_FLAGS e.g. --events 1000000 --force-new)
DEMO_FLAGS ?= --force-new
demo: build
	./$(BIN) demo $(DEMO_FLAGS)

## bench: backfill, populate, validate and endpoint benchmarks (not part of make test);
## BENCH_EVENTS (default 10 M), BENCH_DAYS (365), BENCH_RUNS (3); writes bench/results.{json,md}
bench: build
	BENCH_BIN=./$(BIN) $(GO) run ./bench

clean:
	rm -rf bin
