# Trunkline make targets. `make help` lists them.

# CI may run with a minimal PATH: fall back to the toolchain in /usr/local/go.
export PATH := $(PATH):/usr/local/go/bin

GO       ?= go
GOFMT    ?= gofmt
BIN      := bin/trunkline
FUZZTIME ?= 10s
SHELL    := /bin/bash

# A shell snippet that lists unformatted Go files and fails if there are any (testdata may hold
# deliberately odd files, so it is skipped).
FMT_CHECK = out="$$(find . -path ./.git -prune -o -path ./bin -prune -o -path ./data -prune \
	-o -name testdata -prune -o -name '*.go' -print0 | xargs -0 -r $(GOFMT) -l)"; \
	if [ -n "$$out" ]; then echo "gofmt: these files are not formatted (run gofmt -w):"; echo "$$out"; exit 1; fi

.PHONY: help build run test bench fuzz lint vet fmt-check clean screenshots

help:
	@echo "make build   build $(BIN) (static, CGO_ENABLED=0)"
	@echo "make run     build, then run the switch with its defaults (./data, SIP :5060, admin 127.0.0.1:8080)"
	@echo "make test    start Redis/ClickHouse/sipp (scripts/services.sh up), vet, gofmt check, go test"
	@echo "make bench   go benchmarks, then bench/run.sh if present"
	@echo "make fuzz    run every Fuzz* target for FUZZTIME (default 10s) each"
	@echo "make lint    go vet + gofmt check"
	@echo "make clean   remove bin/ and test artefacts"

build:
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -o $(BIN) ./cmd/trunkline

run: build
	./$(BIN) serve

vet:
	$(GO) vet ./...

fmt-check:
	@$(FMT_CHECK)

lint: vet fmt-check

# The services script prints the TRUNKLINE_TEST_* exports on stdout; they are in force for go test.
test:
	@set -euo pipefail; \
	envs="$$(bash scripts/services.sh up)"; eval "$$envs"; echo "$$envs"; \
	echo "go vet ./..."; $(GO) vet ./...; \
	echo "gofmt -l"; $(FMT_CHECK); \
	$(GO) test -count=1 -timeout 12m ./...

bench:
	@set -euo pipefail; \
	envs="$$(bash scripts/services.sh up)"; eval "$$envs"; \
	$(GO) test -run '^$$' -bench . -benchmem ./...; \
	if [ -x bench/run.sh ]; then bench/run.sh; fi

# Every Fuzz* function in a *_test.go file, each alone in its own package.
fuzz:
	@set -euo pipefail; \
	targets="$$(grep -rEo --include='*_test.go' --exclude-dir=.git --exclude-dir=testdata \
		'^func Fuzz[A-Za-z0-9_]*\(' . | sed -E 's/^(.*)\/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($$/\1 \2/' | sort -u)"; \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz* functions found"; exit 0; fi; \
	while read -r dir name; do \
		echo "== $$name ($$dir, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$dir" </dev/null; \
	done <<< "$$targets"

clean:
	rm -rf bin/ coverage.out coverage.html *.test

# The README's pictures of the control panel and the portal, taken by the browser tests
# (chromium, and sipp for a real call: scripts/services.sh installs both).
screenshots:
	@set -euo pipefail; \
	envs="$$(bash scripts/services.sh up)"; eval "$$envs"; \
	TRUNKLINE_SCREENSHOTS=$(CURDIR)/web/screenshots $(GO) test ./web ./cmd/trunkline -run '^TestBrowser' -count=1
