package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/alecthomas/kingpin/v2"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/ping"
	"github.com/wardprobe/wardprobe/internal/survey/radio"
	"github.com/wardprobe/wardprobe/internal/survey/report"
	"github.com/wardprobe/wardprobe/internal/survey/store"
	surveyweb "github.com/wardprobe/wardprobe/internal/survey/web"
	"github.com/wardprobe/wardprobe/internal/webserve"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/icmp"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

// surveyCommand is `wardprobe survey` (its default sub-command, `survey
// serve`): the walk-the-ward survey page. It must be listed before
// surveyReportCommand, which adds `survey report` under it.
func surveyCommand(app *kingpin.Application, stderr io.Writer, redact *secret.Redactor) command {
	parent := app.Command("survey", "Walk-the-ward survey: serve a page where the engineer taps their position on the floor plan; "+
		"each point is scanned, pinged and judged against the ward's standard; heatmaps and a not-spot register follow.")
	cmd := parent.Command("serve", "Serve the survey page (the default: `wardprobe survey --config FILE --floor-plan PLAN.png --out DIR`). "+
		"Points are kept in DIR, one directory per building and floor; run it again to resume.").Default()
	cfgFile := cmd.Flag("config", "Config file: location, wifi.interface, wifi.ssids, standard and the icmp targets (default: the built-in config).").
		PlaceHolder("FILE").String()
	planFile := cmd.Flag("floor-plan", "Floor plan image (PNG or JPEG); needed when DIR is new.").PlaceHolder("PLAN.png").String()
	out := cmd.Flag("out", "Survey directory (created when missing; one per building and floor).").Required().PlaceHolder("DIR").String()
	listen := cmd.Flag("web.listen-address", "Address to serve the survey page on.").Default(":9811").String()
	webCfg := cmd.Flag("web.config.file", "Path to an exporter-toolkit web config file (TLS, basic auth).").PlaceHolder("FILE").String()
	scans := cmd.Flag("scans", "Active scans per point (the median of each BSS's signals is kept), 1..5.").Default("3").Int()
	pings := cmd.Flag("pings", "Ping burst length per icmp target, 0..1000 (0: no pings).").Default("20").Int()
	pingEvery := cmd.Flag("ping-interval", "Time between the packets of a burst, 10ms..10s.").Default("100ms").Duration()
	radius := cmd.Flag("radius", "Heatmap no-data radius, as a fraction of the plan's longer side.").
		Default(fmt.Sprint(heatmap.DefaultParams().Radius)).Float64()
	newLog := logOptions(cmd, stderr, redact)
	return command{cmd, func() int {
		usage := func(format string, args ...any) int {
			fmt.Fprintf(stderr, "wardprobe survey: "+format+"\n", args...)
			return 2
		}
		switch {
		case *scans < 1 || *scans > 5:
			return usage("--scans must be 1..5")
		case *pings < 0 || *pings > ping.MaxCount:
			return usage("--pings must be 0..%d", ping.MaxCount)
		case *pingEvery < 10*time.Millisecond || *pingEvery > 10*time.Second:
			return usage("--ping-interval must be 10ms..10s")
		case !(*radius > 0 && *radius <= 1):
			return usage("--radius must be within 0..1 (a fraction of the plan's longer side)")
		}
		zl, err := newLog()
		if err != nil {
			return usage("%v", err)
		}
		cfg := kinds.Default()
		if *cfgFile != "" {
			if cfg, err = kinds.Load(*cfgFile); err != nil {
				printErrors(stderr, *cfgFile, err, redact)
				return 1
			}
		}
		return runSurvey(surveyOptions{cfg: cfg, planFile: *planFile, out: *out, listen: *listen, webCfg: *webCfg, scans: *scans,
			pings: *pings, pingEvery: *pingEvery, radius: *radius}, zl, stderr)
	}}
}

type surveyOptions struct {
	cfg                   *config.Config
	planFile, out, listen string
	webCfg                string
	scans, pings          int
	pingEvery             time.Duration
	radius                float64
}

// runSurvey opens the radio and the survey directory and serves the page
// until SIGTERM or SIGINT.
func runSurvey(o surveyOptions, zl zerolog.Logger, stderr io.Writer) int {
	failf := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "wardprobe survey: "+format+"\n", args...)
		return 1
	}
	cfg := o.cfg
	rd, err := radio.Open(cfg.WiFi.Interface)
	if err != nil {
		return failf("the survey needs a Wi-Fi interface: %v", err)
	}
	defer rd.Close()
	var plan *store.Plan
	if o.planFile != "" {
		p, err := store.ReadPlan(o.planFile)
		if err != nil {
			return failf("%v", err)
		}
		plan = &p
	}
	loc := cfg.Location
	st, err := store.Open(o.out, store.Options{Plan: plan,
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
		if spec, ok := t.Spec.(*icmp.Spec); ok {
			targets = append(targets, survey.PingTarget{Name: t.Name, Address: spec.Address, Size: spec.PacketSize})
			timeout = max(timeout, t.Timeout.D())
		}
	}
	if len(targets) == 0 {
		warnings = append(warnings, "the config has no icmp target: loss, RTT and jitter are not measured.")
	}
	for _, w := range warnings {
		zl.Warn().Msg("survey: " + w)
	}
	capt := &survey.Capturer{Scanner: rd, Pinger: &ping.Pinger{Interface: cfg.WiFi.Interface}, Scans: o.scans,
		Targets: targets, Pings: o.pings, PingInterval: o.pingEvery, PingTimeout: timeout, SSIDs: cfg.WiFi.SSIDs}
	params := heatmap.DefaultParams()
	params.Radius = o.radius
	srv, err := surveyweb.New(surveyweb.Options{Store: st, Capturer: capt, Settings: settings, Params: params,
		Warnings: warnings, Version: version, Log: zl})
	if err != nil {
		return failf("%v", err)
	}
	l, err := webserve.Listen(o.listen)
	if err != nil {
		return failf("%v", err)
	}
	pts, _ := st.Points()
	lb := st.Label()
	zl.Info().Str("address", l.Addr().String()).Str("dir", o.out).Int("points", len(pts)).Str("interface", rd.Interface()).
		Str("site", lb.Site).Str("building", lb.Building).Str("floor", lb.Floor).Str("standard", cfg.Standard).
		Msg("survey: serving the survey page")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(logging.Slog(zl).Handler(), slog.LevelDebug)}
	if err := webserve.Serve(ctx, l, hs, o.webCfg, logging.Slog(zl)); err != nil {
		return failf("%v", err)
	}
	zl.Info().Msg("survey: stopped")
	return 0
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

// surveyReportCommand is `wardprobe survey report DIR...`; surveyCommand
// must have added `survey` first.
func surveyReportCommand(app *kingpin.Application, stdout, stderr io.Writer) command {
	cmd := app.GetCommand("survey").Command("report", "Write each survey's report: OUTDIR/<site>-<building>-<floor>.html "+
		"(every layer, the not-spot register, the points, the standard) and ...-primary.png (for the Floor plan dashboard).")
	outDir := cmd.Flag("out", "Directory to write the reports to (default: each survey's own directory).").PlaceHolder("OUTDIR").String()
	radius := cmd.Flag("radius", "Heatmap no-data radius, as a fraction of the plan's longer side.").
		Default(fmt.Sprint(heatmap.DefaultParams().Radius)).Float64()
	dirs := cmd.Arg("dir", "Survey directories.").Required().Strings()
	return command{cmd, func() int {
		if !(*radius > 0 && *radius <= 1) {
			fmt.Fprintln(stderr, "wardprobe survey report: --radius must be within 0..1")
			return 2
		}
		params := heatmap.DefaultParams()
		params.Radius = *radius
		status := 0
		for _, dir := range *dirs {
			html, png, err := writeReport(dir, *outDir, params)
			if err != nil {
				fmt.Fprintf(stderr, "wardprobe survey report: %s: %v\n", dir, err)
				status = 1
				continue
			}
			fmt.Fprintf(stdout, "%s\n%s\n", html, png)
		}
		return status
	}}
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
