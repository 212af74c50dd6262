package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/ping"
	"github.com/wardprobe/wardprobe/internal/survey/radio"
	"github.com/wardprobe/wardprobe/internal/survey/report"
	"github.com/wardprobe/wardprobe/internal/survey/store"
	surveyweb "github.com/wardprobe/wardprobe/internal/survey/web"
	"github.com/wardprobe/wardprobe/probe/coverage"
)

const surveyUsage = `usage:
  wardprobe survey --config FILE --floor-plan PLAN.png --out DIR [flags]
      serve the survey page (tap your position, get its verdict) on --web.listen-address;
      points are kept in DIR (one directory per building and floor; run again to resume)
  wardprobe survey report [--out OUTDIR] DIR...
      write each survey's report: OUTDIR/<site-building-floor>.html and ...-primary.png
`

// runSurvey runs "wardprobe survey" and "wardprobe survey report".
func runSurvey(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "report" {
		return surveyReport(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("survey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, surveyUsage+"\nflags:\n"); fs.PrintDefaults() }
	cfgFile := fs.String("config", "", "config file: location, wifi.interface, wifi.ssids, standard, ICMP targets (default: the built-in config)")
	planFile := fs.String("floor-plan", "", "floor plan image (PNG or JPEG); needed when DIR is new")
	out := fs.String("out", "", "survey directory (created when missing; one per building and floor)")
	listen := fs.String("web.listen-address", ":9811", "address to serve the survey page on")
	webCfg := fs.String("web.config.file", "", "exporter-toolkit web config file (TLS, basic auth)")
	scans := fs.Int("scans", 3, "active scans per point (their median is kept), 1..5")
	pings := fs.Int("pings", 20, "ping burst length per ICMP target, 0..1000 (0: no pings)")
	pingEvery := fs.Duration("ping-interval", 100*time.Millisecond, "time between the packets of a burst")
	radius := fs.Float64("radius", heatmap.DefaultParams().Radius, "heatmap no-data radius, as a fraction of the plan's longer side")
	newLog := logFlags(fs, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "wardprobe survey: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *out == "":
		fmt.Fprintln(stderr, "wardprobe survey: --out DIR is required (the survey directory)")
		return 2
	case *scans < 1 || *scans > 5:
		fmt.Fprintln(stderr, "wardprobe survey: --scans must be 1..5")
		return 2
	case *pings < 0 || *pings > ping.MaxCount:
		fmt.Fprintf(stderr, "wardprobe survey: --pings must be 0..%d\n", ping.MaxCount)
		return 2
	case *pingEvery < 10*time.Millisecond || *pingEvery > 10*time.Second:
		fmt.Fprintln(stderr, "wardprobe survey: --ping-interval must be 10ms..10s")
		return 2
	case !(*radius > 0 && *radius <= 1):
		fmt.Fprintln(stderr, "wardprobe survey: --radius must be within 0..1 (a fraction of the plan's longer side)")
		return 2
	}
	zl, err := newLog()
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe: %v\n", err)
		return 2
	}
	cfg := config.Default()
	if *cfgFile != "" {
		if cfg, err = config.Load(*cfgFile); err != nil {
			var errs config.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					fmt.Fprintln(stderr, e.Error())
				}
			} else {
				fmt.Fprintf(stderr, "wardprobe survey: %v\n", err)
			}
			return 1
		}
	}
	failf := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "wardprobe survey: "+format+"\n", args...)
		return 1
	}
	rd, err := radio.Open(cfg.WiFi.Interface)
	if err != nil {
		return failf("the survey needs a Wi-Fi interface: %v", err)
	}
	defer rd.Close()
	var plan *store.Plan
	if *planFile != "" {
		p, err := store.ReadPlan(*planFile)
		if err != nil {
			return failf("%v", err)
		}
		plan = &p
	}
	loc := cfg.Location
	st, err := store.Open(*out, store.Options{Plan: plan,
		Label: store.Label{Site: loc.Site, Building: loc.Building, Floor: loc.Floor, Ward: loc.Ward}})
	if err != nil {
		return failf("%v", err)
	}
	defer st.Close()
	settings := store.Settings{Coverage: coverage.SettingsFrom(cfg), ConfigFile: cfg.File, StandardSource: survey.StandardSource(cfg)}
	if err := st.SetSettings(settings); err != nil {
		return failf("recording the settings: %v", err)
	}

	var warnings []string
	if !hasCapability(capNetAdmin) {
		warnings = append(warnings, "wardprobe survey lacks CAP_NET_ADMIN, so it cannot trigger scans: each point uses the kernel's cached scan results "+
			"(the last scan the supplicant made, possibly elsewhere). Run it as root, or grant it CAP_NET_ADMIN and CAP_NET_RAW.")
	}
	if len(cfg.WiFi.SSIDs) == 0 {
		warnings = append(warnings, "wifi.ssids is empty in the config: every SSID heard counts for coverage.")
	}
	var targets []survey.PingTarget
	timeout := time.Second
	for _, t := range cfg.Targets {
		if t.Kind == config.KindICMP {
			targets = append(targets, survey.PingTarget{Name: t.Name, Address: t.Address, Size: t.PacketSize})
			timeout = max(timeout, t.Timeout.D())
		}
	}
	if len(targets) == 0 {
		warnings = append(warnings, "the config has no ICMP target: loss, RTT and jitter are not measured.")
	}
	for _, w := range warnings {
		zl.Warn().Msg("survey: " + w)
	}
	capt := &survey.Capturer{Scanner: rd, Pinger: &ping.Pinger{Interface: cfg.WiFi.Interface}, Scans: *scans,
		Targets: targets, Pings: *pings, PingInterval: *pingEvery, PingTimeout: timeout, SSIDs: cfg.WiFi.SSIDs}
	params := heatmap.DefaultParams()
	params.Radius = *radius
	srv, err := surveyweb.New(surveyweb.Options{Store: st, Capturer: capt, Settings: settings, Params: params,
		Warnings: warnings, Version: version, Log: zl})
	if err != nil {
		return failf("%v", err)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return failf("cannot listen on %s: %v", *listen, err)
	}
	pts, _ := st.Points()
	lb := st.Label()
	zl.Info().Str("address", l.Addr().String()).Str("dir", *out).Int("points", len(pts)).Str("interface", rd.Interface()).
		Str("site", lb.Site).Str("building", lb.Building).Str("floor", lb.Floor).Str("standard", cfg.Standard).
		Msg("survey: serving the survey page")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, l, srv, *webCfg, logging.Slog(zl)); err != nil {
		return failf("%v", err)
	}
	zl.Info().Msg("survey: stopped")
	return 0
}

// serve serves h on l through exporter-toolkit (TLS, basic auth) until ctx ends.
func serve(ctx context.Context, l net.Listener, h http.Handler, webCfg string, log *slog.Logger) error {
	if webCfg != "" {
		if err := web.Validate(webCfg); err != nil {
			return fmt.Errorf("web config %s: %w", webCfg, err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	systemd := false
	addrs := []string{l.Addr().String()}
	errc := make(chan error, 1)
	go func() {
		errc <- web.Serve(l, srv, &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webCfg}, log)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// hasCapability reports whether the process has capability bit c in its
// effective set.
func hasCapability(c uint) bool {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && mask&(1<<c) != 0
		}
	}
	return false
}

// slug names a floor's files: site-building-floor in lower case, as the
// Floor plan dashboard's images are named (dashboards/floorplans/).
func slug(l store.Label) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(l.Site + " " + l.Building + " " + l.Floor) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "survey"
	}
	return b.String()
}

// surveyReport writes the report of each survey directory.
func surveyReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("survey report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outDir := fs.String("out", "", "directory to write the reports to (default: each survey's own directory)")
	radius := fs.Float64("radius", heatmap.DefaultParams().Radius, "heatmap no-data radius, as a fraction of the plan's longer side")
	fs.Usage = func() { fmt.Fprint(stderr, surveyUsage+"\nflags:\n"); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, "wardprobe survey report: give at least one survey directory\n\n"+surveyUsage)
		return 2
	}
	if !(*radius > 0 && *radius <= 1) {
		fmt.Fprintln(stderr, "wardprobe survey report: --radius must be within 0..1")
		return 2
	}
	params := heatmap.DefaultParams()
	params.Radius = *radius
	status := 0
	for _, dir := range fs.Args() {
		html, png, err := writeReport(dir, *outDir, params)
		if err != nil {
			fmt.Fprintf(stderr, "wardprobe survey report: %s: %v\n", dir, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s\n%s\n", html, png)
	}
	return status
}

func writeReport(dir, outDir string, params heatmap.Params) (htmlPath, pngPath string, err error) {
	st, err := store.Open(dir, store.Options{ReadOnly: true})
	if errors.Is(err, store.ErrInUse) {
		return "", "", fmt.Errorf("%w: stop it first, or fetch /api/v1/report.html from its page", err)
	}
	if err != nil {
		return "", "", err
	}
	defer st.Close()
	settings, ok, err := st.Settings()
	if err != nil || !ok {
		return "", "", fmt.Errorf("the survey has no settings recorded (%v)", err)
	}
	plan, err := st.Plan()
	if err != nil {
		return "", "", err
	}
	pts, err := st.Points()
	if err != nil {
		return "", "", err
	}
	report.Judge(pts, settings)
	d := report.Data{Label: st.Label(), Settings: settings, Points: pts, Plan: plan.Image, Params: params, Generated: time.Now(), Version: version}
	if outDir == "" {
		outDir = dir
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", "", err
	}
	name := slug(st.Label())
	htmlPath, pngPath = filepath.Join(outDir, name+".html"), filepath.Join(outDir, name+"-primary.png")
	m, err := report.Compute(d)
	if err != nil {
		return "", "", err
	}
	var page strings.Builder
	if err := report.WriteMaps(&page, d, m); err != nil {
		return "", "", err
	}
	primary, err := heatmap.EncodePNG(m.Layer(heatmap.Primary, true))
	if err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(htmlPath, []byte(page.String())); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(pngPath, primary); err != nil {
		return "", "", err
	}
	return htmlPath, pngPath, nil
}

// writeFileAtomic writes a file through a temporary file, fsync and rename,
// so a reader never sees half a report.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
