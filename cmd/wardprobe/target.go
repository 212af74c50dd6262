package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/speedtarget"
)

// byteSizeFlag is a flag taking a size in config's syntax ("32MiB", "8KiB",
// "4096"; see config.ParseByteSize), between 1 byte and 1 TiB.
type byteSizeFlag struct{ v *int64 }

func (b byteSizeFlag) String() string {
	if b.v == nil {
		return ""
	}
	return fmt.Sprint(*b.v)
}

func (b byteSizeFlag) Set(s string) error {
	n, err := config.ParseByteSize(s)
	if err != nil || n < 1 || n > 1<<40 {
		return fmt.Errorf("%q is not a size between 1B and 1TiB (use e.g. 4096, 512KiB, 32MiB)", s)
	}
	*b.v = n
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
	stall := fs.Duration("stall-timeout", speedtarget.DefaultStallTimeout, "abort a transfer whose one read or write (up to 64 KiB) does not complete for this long")
	minRate := int64(speedtarget.DefaultMinRate)
	fs.Var(byteSizeFlag{&minRate}, "min-rate", "slowest transfer allowed, bytes per second over --rate-window (e.g. 8KiB); a slower one is cut off and its client refused for --max-test-time")
	rateWindow := fs.Duration("rate-window", speedtarget.DefaultRateWindow, "the window --min-rate is judged over")
	maxTransfer := fs.Duration("max-transfer-time", speedtarget.DefaultMaxTransferTime, "longest transfer; a longer one is cut off and its client refused for --max-test-time")
	maxTest := fs.Duration("max-test-time", speedtarget.DefaultMaxTestTime, "longest test of one client (first transfer to last); then its transfers are cut off and it is refused for as long again")
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
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"stall-timeout", *stall}, {"rate-window", *rateWindow}, {"max-transfer-time", *maxTransfer}, {"max-test-time", *maxTest}} {
		if v.d <= 0 {
			fmt.Fprintf(stderr, "wardprobe target: --%s must be positive\n", v.name)
			return 2
		}
	}
	zl, err := newLog()
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe: %v\n", err)
		return 2
	}
	log := logging.Slog(zl.With().Str("component", "target").Logger())
	srv, err := speedtarget.New(speedtarget.Options{
		MaxTests: *maxTests, MaxStreams: *maxStreams, MaxUploadBytes: maxUpload, MaxSide: *maxSide,
		StallTimeout: *stall, MinRate: minRate, RateWindow: *rateWindow, MaxTransferTime: *maxTransfer, MaxTestTime: *maxTest,
		Version: version, Log: log,
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
