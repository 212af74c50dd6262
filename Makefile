# wardprobe — see README.md.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
BIN         := bin/wardprobe
LDFLAGS     := -s -w -X main.version=$(VERSION)
NFPM        := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# Debian version of the packages: the latest vX.Y.Z tag (commits since it as
# +N.gHASH), or 0.0.0~gitDATE.HASH before the first tag. Must start with a digit.
PKG_VERSION ?= $(shell (git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//; s/-\([0-9]*\)-g/+\1.g/') || true)
PKG_VERSION := $(or $(PKG_VERSION),0.0.0~git$(shell git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).$(shell git rev-parse --short HEAD 2>/dev/null || echo dev))
PKG_ARCHES  ?= amd64 arm64 armhf
PKG_DIR     ?= dist

.PHONY: all build run test lint deps bench clean dashboards package

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/wardprobe

## package: .deb packages for PKG_ARCHES (amd64 arm64 armhf) in PKG_DIR (dist/), built with
## nfpm from deploy/package/nfpm.yaml; static binaries (CGO_ENABLED=0, GOARM=7 for armhf)
package:
	@set -e; mkdir -p $(PKG_DIR)/build; build=$$(cd $(PKG_DIR)/build && pwd); \
	  when=$$(date -u -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s)); \
	  printf 'wardprobe (%s) unstable; urgency=medium\n\n  * Built from git commit %s; see README.md, Changelog.\n\n -- wardprobe maintainers <wardprobe@example.org>  %s\n' \
	    '$(PKG_VERSION)' "$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$$when" | gzip -9n > $$build/changelog.gz; \
	  gzip -9n < deploy/package/wardprobe.1 > $$build/wardprobe.1.gz; \
	  for a in $(PKG_ARCHES); do \
	  case $$a in armhf) goarch=arm; goarm=7;; amd64|arm64) goarch=$$a; goarm=;; \
	    *) echo "package: unknown architecture $$a (amd64, arm64, armhf)" >&2; exit 2;; esac; \
	  mkdir -p $(PKG_DIR)/build/$$a; \
	  echo "package: wardprobe $(PKG_VERSION) $$a"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$goarch GOARM=$$goarm $(GO) build -trimpath \
	    -ldflags '-s -w -X main.version=$(PKG_VERSION)' -o $(PKG_DIR)/build/$$a/wardprobe ./cmd/wardprobe; \
	  PKG_ARCH=$$a PKG_VERSION='$(PKG_VERSION)' WARDPROBE_BIN=$(PKG_DIR)/build/$$a/wardprobe PKG_BUILD_DIR=$$build \
	    $(GO) run $(NFPM) package --config deploy/package/nfpm.yaml --packager deb --target $(PKG_DIR)/; \
	done

## run: build and run with the built-in default config (metrics on :9810)
run: build
	./$(BIN)

## dashboards: regenerate the Grafana dashboards' JSON (dashboards/grafana/) from dashboards/*.go
## and dashboards/floorplans.yml; SYNC=http://prometheus:9090 first refreshes the floor plans'
## probe positions from wardprobe_probe_info
dashboards:
	$(GO) run ./dashboards/gen -dir dashboards $(if $(SYNC),-sync $(SYNC))

## deps: install the Debian packages the tests need (when missing)
deps:
	./test/deps.sh test

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## test: everything CI runs: deps, lint, unit tests, then the network and Wi-Fi labs
## (labs one package at a time: rate measurements and qemu should not fight for 2 cores)
test: deps lint
	$(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /test/)
	@$(GO) test -count=1 -v -run '^TestSystemdSecurityExposure$$' ./deploy | grep 'exposure'
	$(GO) test -count=1 -timeout 40m -p 1 ./test/...

## bench: footprint and accuracy benchmarks; prints figures
bench: build
	./test/deps.sh bench
	$(GO) test -count=1 -timeout 40m -run '^$$' -bench . -benchtime 1x ./test/...

clean:
	rm -rf bin dist
