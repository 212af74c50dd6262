# wardprobe — see README.md.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
BIN         := bin/wardprobe
LDFLAGS     := -s -w -X main.version=$(VERSION)

.PHONY: all build run test lint deps bench clean dashboards

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/wardprobe

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
	$(GO) test -count=1 -timeout 40m -p 1 ./test/...

## bench: footprint and accuracy benchmarks; prints figures
bench: build
	./test/deps.sh bench
	$(GO) test -count=1 -timeout 40m -run '^$$' -bench . -benchtime 1x ./test/...

clean:
	rm -rf bin
