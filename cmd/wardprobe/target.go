package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/speedtarget"
)

// byteSizeFlag is a flag taking a size such as "32MiB".
type byteSizeFlag struct{ v *int64 }

func (b byteSizeFlag) String() string {
	if b.v == nil {
		return ""
	}
	return fmt.Sprint(*b.v)
}

func (b byteSizeFlag) Set(s string) error {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*mult < 1 || f*mult > 1<<40 {
		return fmt.Errorf("%q is not a size between 1B and 1TiB (use e.g. 4096, 512KiB, 32MiB)", s)
	}
	*b.v = int64(f * mult)
	return nil
}

// runTarget runs the on-premises throughput target.
func runTarget(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("target", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8080", "address to serve the speedtest endpoints, TCP PING and /metrics on")
	webCfg := fs.String("web.config.file", "", "exporter-toolkit web config file (TLS, basic auth)")
	maxTests := fs.Int("max-tests", speedtarget.DefaultMaxTests, "clients that may test at once (others get 503)")
	maxStreams := fs.Int("max-streams", speedtarget.DefaultMaxStreams, "transfers one client may have in flight")
	maxUpload := int64(speedtarget.DefaultMaxUploadBytes)
	fs.Var(byteSizeFlag{&maxUpload}, "max-upload-bytes", "largest upload request body (e.g. 32MiB)")
	maxSide := fs.Int("max-side", speedtarget.DefaultMaxSide, "largest N served as random{N}x{N}.jpg (2·N² bytes)")
	stall := fs.Duration("stall-timeout", speedtarget.DefaultStallTimeout, "abort a transfer making no progress for this long")
	newLog := logFlags(fs, stderr)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "wardprobe target: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"max-tests", *maxTests}, {"max-streams", *maxStreams}, {"max-side", *maxSide}} {
		if v.n <= 0 {
			fmt.Fprintf(stderr, "wardprobe target: --%s must be positive\n", v.name)
			return 2
		}
	}
	if *stall <= 0 {
		fmt.Fprintln(stderr, "wardprobe target: --stall-timeout must be positive")
		return 2
	}
	zl, err := newLog()
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe: %v\n", err)
		return 2
	}
	log := logging.Slog(zl.With().Str("component", "target").Logger())
	srv, err := speedtarget.New(speedtarget.Options{
		MaxTests: *maxTests, MaxStreams: *maxStreams, MaxUploadBytes: maxUpload, MaxSide: *maxSide,
		StallTimeout: *stall, Version: version, Log: log,
	})
	if err != nil {
		zl.Error().Err(err).Msg("wardprobe target failed")
		return 1
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		zl.Error().Err(err).Str("address", *listen).Msg("wardprobe target cannot listen")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("wardprobe target starting", append([]any{"version", version, "address", l.Addr().String()}, srv.Info()...)...)
	if err := srv.Serve(ctx, l, *webCfg); err != nil {
		zl.Error().Err(err).Msg("wardprobe target failed")
		return 1
	}
	log.Info("wardprobe target stopped")
	return 0
}
