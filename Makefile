# Cadenza's make targets. `make test` is the one CI runs (.ci/run).
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOBIN         := $(shell $(GO) env GOPATH)/bin
PKGS          := ./...

.PHONY: help test vet lint unit bench demo firstrun build clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

test: ## install what is missing, start throwaway Postgres and Redis, vet, lint, go test -race
	deploy/testenv.sh $(MAKE) --no-print-directory vet lint unit

vet: ## go vet
	$(GO) vet $(PKGS)

lint: ## staticcheck at a pinned version
	$(GO) install $(STATICCHECK)
	$(GOBIN)/staticcheck $(PKGS)

unit: ## go test -race (needs the services from `make test` for integration tests)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	@# The 30-day predictive simulations are too slow under -race; they
	@# check arithmetic, not concurrency, so they run once more without it.
	$(GO) test -count=1 -run 'TestSimulation' ./dialer/predictive/

bench: ## benchmarks with -benchmem, inside the test environment
	deploy/testenv.sh $(GO) test -run '^$$' -bench . -benchmem $(PKGS)

demo: ## run the demo campaign
	$(GO) run ./cmd/cadenza demo

firstrun: ## time a newcomer's first `go run ./cmd/cadenza demo` (fresh clone of HEAD, empty Go caches)
	deploy/firstrun.sh

build: ## build bin/cadenza
	CGO_ENABLED=0 $(GO) build -o bin/cadenza ./cmd/cadenza

clean:
	rm -rf bin
