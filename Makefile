# nobufs — see README.md. Every target works on a fresh clone with Go, gcc and git.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/nobufs
PKGS    := ./...
# Cross builds checked by `make cross` (and CI).
CROSS   := windows/amd64 windows/arm64 darwin/amd64 darwin/arm64 freebsd/amd64 linux/arm64
# Fuzz time per target in `make fuzz` (CI); run longer by hand: make fuzz FUZZTIME=10m
FUZZTIME ?= 10s

.PHONY: all build demo test test-short lint cross bench fuzz clean vm-kernel

all: lint test build

# A static binary: no cgo.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/nobufs

# The main job on the built-in default: port exhaustion on loopback.
demo: build
	./$(BIN) run scenarios.d/port-exhaustion.yaml

test:
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

cross:
	@set -e; for p in $(CROSS); do \
		os=$${p%/*}; arch=$${p#*/}; echo "build+vet $$os/$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -o /dev/null ./cmd/nobufs; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) vet $(PKGS); \
	done

# Benchmarks report ratios against a reference measured in the same run:
# the go test benchmarks (benchstat-ready), then nobufs beside the C
# reference ../shared/peers/connref.c, interleaved (docs/performance.md).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 $(PKGS)
	$(GO) run ./internal/perfbench

fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$t for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

# The guest kernel of the VM placement (lab/vm): the newest Debian cloud
# kernel apt offers, taken out of its package (not installed) into
# $NOBUFS_VM_CACHE, else $XDG_CACHE_HOME/nobufs/vm, else ~/.cache/nobufs/vm.
# Needs apt-get, apt-cache and dpkg-deb; the lab/vm boot tests skip without it.
vm-kernel:
	$(GO) run ./lab/vm/internal/vmkernel

clean:
	rm -rf bin
