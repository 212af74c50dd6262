package main

import (
	"context"
	"fmt"
	"io"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/internal/speedtarget"
	"github.com/wardprobe/wardprobe/internal/webserve"
)

// sizeValue is a kingpin value taking a size such as "32MiB" in the config's
// syntax (config.ParseByteSize), between 1 byte and 1 TiB; flag names it in errors.
type sizeValue struct {
	v    *int64
	flag string
}

func (s sizeValue) String() string { return config.ByteSize(*s.v).String() }

func (s sizeValue) Set(v string) error {
	n, err := config.ParseByteSize(v)
	if err == nil && n < 1 {
		err = fmt.Errorf("%q: the size must be at least 1B", v)
	}
	if err != nil {
		return fmt.Errorf("--%s: %w", s.flag, err)
	}
	*s.v = n
	return nil
}

// targetCommand is `wardprobe target`, the on-premises throughput target.
func targetCommand(app *kingpin.Application, stderr io.Writer, redact *secret.Redactor) command {
	cmd := app.Command("target", "Run the on-premises throughput target that probes test against (speedtest endpoints, TCP PING and /metrics).")
	listen := cmd.Flag("listen", "Address to serve the speedtest endpoints, TCP PING and /metrics on.").Default(":8080").String()
	webCfg := cmd.Flag("web.config.file", "Path to an exporter-toolkit web config file (TLS, basic auth).").PlaceHolder("FILE").String()
	maxTests := cmd.Flag("max-tests", "Clients that may test at once (others get 503).").Default(fmt.Sprint(speedtarget.DefaultMaxTests)).Int()
	maxStreams := cmd.Flag("max-streams", "Transfers one client may have in flight.").Default(fmt.Sprint(speedtarget.DefaultMaxStreams)).Int()
	maxUpload := int64(speedtarget.DefaultMaxUploadBytes)
	cmd.Flag("max-upload-bytes", "Largest upload request body (default "+config.ByteSize(maxUpload).String()+").").PlaceHolder("SIZE").SetValue(sizeValue{&maxUpload, "max-upload-bytes"})
	maxSide := cmd.Flag("max-side", "Largest N served as random{N}x{N}.jpg (2·N² bytes).").Default(fmt.Sprint(speedtarget.DefaultMaxSide)).Int()
	stall := cmd.Flag("stall-timeout", "Abort a transfer whose one read or write (up to 64 KiB) does not complete for this long.").
		Default(speedtarget.DefaultStallTimeout.String()).Duration()
	minRate := int64(speedtarget.DefaultMinRate)
	cmd.Flag("min-rate", "Slowest transfer allowed, bytes per second over --rate-window (default "+config.ByteSize(minRate).String()+
		"); a slower one is cut off and its client refused for --max-test-time.").PlaceHolder("SIZE").SetValue(sizeValue{&minRate, "min-rate"})
	rateWindow := cmd.Flag("rate-window", "The window --min-rate is judged over.").Default(speedtarget.DefaultRateWindow.String()).Duration()
	maxTransfer := cmd.Flag("max-transfer-time", "Longest transfer; a longer one is cut off and its client refused for --max-test-time.").
		Default(speedtarget.DefaultMaxTransferTime.String()).Duration()
	maxTest := cmd.Flag("max-test-time", "Longest test of one client (first transfer to last); then its transfers are cut off and it is refused for as long again.").
		Default(speedtarget.DefaultMaxTestTime.String()).Duration()
	newLog := logOptions(cmd, stderr, redact)
	return command{cmd, func() int {
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
		l, err := webserve.Listen(*listen)
		if err != nil {
			zl.Error().Err(err).Msg("wardprobe target cannot listen")
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
	}}
}
