// Package daemon wires wardprobe together: it owns the config, builds it
// (Build, shared with check-config), and hands each new config to every
// long-running part through Apply on the one reload path: the exporter,
// the probe scheduler, the Wi-Fi poller and coverage, throughput tests and
// remote-write push.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/exporters"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/internal/webserve"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/kinds"
	"github.com/wardprobe/wardprobe/probe/wifi"
	"github.com/wardprobe/wardprobe/probe/wifi/connect"
)

// Options configure a daemon run.
type Options struct {
	// ConfigFile is the config to load ("" = the built-in default).
	ConfigFile string
	// ListenAddress is where to serve; Listener, when set, is used instead.
	ListenAddress string
	Listener      net.Listener
	WebConfigFile string
	// EnableLifecycle enables POST /-/reload.
	EnableLifecycle bool
	Version         string
	Log             zerolog.Logger
	// Redact masks credentials in every output; the logger should write
	// through it too.
	Redact *secret.Redactor
	// Reload delivers reload requests (SIGHUP).
	Reload <-chan struct{}
	// OpenWiFi opens nl80211 (wifi.OpenNL80211 when nil; a fake in tests).
	OpenWiFi wifi.Opener
	// StateDir keeps state across restarts ($STATE_DIRECTORY under systemd; "" for none).
	StateDir string
}

// part is a long-running piece of the daemon that follows the config.
type part interface {
	Apply(cfg *config.Config)
}

// Daemon is a running wardprobe.
type Daemon struct {
	opts  Options
	log   zerolog.Logger
	exp   *exporters.Exporter
	sched *probe.Scheduler
	cov   *coverage.Window // recent network results, for coverage
	parts []part

	mu  sync.Mutex // serialises loads and applies
	ctx context.Context
	cfg *config.Config

	tlog *targetLog // logs target state changes, damped

	// planned records the main link's planned outages (connect tests on
	// wifi.interface); pkts the recent packets, for roams' lost packets.
	planned  *connect.Planned
	pkts     *packetLog
	timeouts atomic.Pointer[map[string]time.Duration] // per target, for emit
	iface    atomic.Pointer[string]                   // wifi.interface in force
	polled   atomic.Pointer[string]                   // the interface the Wi-Fi poller reports
}

// load reads and builds the config file.
func (d *Daemon) load() (*Plan, error) {
	var cfg *config.Config
	if d.opts.ConfigFile == "" {
		cfg = kinds.Default()
	} else {
		var err error
		if cfg, err = kinds.Load(d.opts.ConfigFile); err != nil {
			return nil, err
		}
	}
	return Build(cfg, cfg.WiFi.Interface, d.log, d.opts.Redact)
}

// Run loads the config and runs until ctx ends. It returns an error when the
// config is invalid or the listen address cannot be bound.
func Run(ctx context.Context, opts Options) error {
	if opts.Redact == nil {
		opts.Redact = &secret.Redactor{}
	}
	if opts.OpenWiFi == nil {
		opts.OpenWiFi = wifi.OpenNL80211
	}
	d := &Daemon{opts: opts, log: opts.Log, ctx: ctx, cov: coverage.NewWindow(0), tlog: newTargetLog(opts.Log),
		planned: connect.NewPlanned(), pkts: &packetLog{}}
	plan, err := d.load()
	if err != nil {
		return fmt.Errorf("loading config: %w", err)
	}
	if err := webserve.Validate(opts.WebConfigFile); err != nil {
		return err
	}
	cfg := plan.Config
	pw := newPushWorker(d.log, opts.Version)
	d.exp = exporters.New(opts.Version, kinds.All(), cfg, time.Now(), pw)
	pw.gatherer = d.exp.Gatherer
	d.sched = probe.NewScheduler(d.emit)
	defer d.sched.Stop()
	srv := exporters.NewServer(d.exp, exporters.ServerOptions{Reload: d.reload, EnableLifecycle: opts.EnableLifecycle,
		Redact: opts.Redact, Log: logging.Slog(d.log.With().Str("component", "web").Logger())})
	l := opts.Listener
	if l == nil {
		if l, err = webserve.Listen(opts.ListenAddress); err != nil {
			return err
		}
	}
	d.log.Info().Str("version", opts.Version).Str("config", cfg.File).Str("probe", cfg.Probe.Name).
		Str("ward", cfg.Location.Ward).Int("targets", len(cfg.Targets)).Str("address", l.Addr().String()).Msg("wardprobe starting")

	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	c := newConnectWorker(d)
	ev := newEventsWorker(d)
	w := newWiFiWorker(d, opts.OpenWiFi, c, ev)
	t := newThroughputWorker(d, opts.StateDir)
	d.parts = []part{w, t, pw, c, ev}
	d.apply(plan)
	wg.Go(func() { w.run(wctx) })
	wg.Go(func() { t.run(wctx) })
	wg.Go(func() { pw.run(wctx) })
	wg.Go(func() { c.run(wctx) })
	wg.Go(func() { ev.run(wctx) })
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-opts.Reload:
				_ = d.reload()
			}
		}
	}()
	err = srv.Serve(ctx, l, opts.WebConfigFile)
	stopWorkers()
	wg.Wait()
	d.log.Info().Msg("wardprobe stopped")
	return err
}

// apply puts a built plan in force: the one path by which a config reaches
// every part.
func (d *Daemon) apply(p *Plan) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range p.Notes {
		d.log.WithLevel(n.Level).Msg(n.Msg)
	}
	d.cfg = p.Config
	intervals, timeouts := map[string]time.Duration{}, map[string]time.Duration{}
	for _, j := range p.Jobs {
		intervals[j.Name] = j.Interval
		timeouts[j.Name] = j.Timeout
	}
	d.timeouts.Store(&timeouts)
	iface := p.Config.WiFi.Interface
	d.iface.Store(&iface)
	d.tlog.setIntervals(intervals)
	d.exp.Apply(p.Config)
	started, stopped := d.sched.Apply(d.ctx, p.Jobs)
	for _, pt := range d.parts {
		pt.Apply(p.Config)
	}
	d.log.Debug().Strs("started", started).Strs("stopped", stopped).Msg("targets applied")
}

// reload reloads the config file; a bad config keeps the running one.
func (d *Daemon) reload() error {
	plan, err := d.load()
	if err != nil {
		lines := []string{d.opts.Redact.String(err.Error())}
		var errs config.Errors
		if errors.As(err, &errs) {
			lines = errLines(errs)
			d.log.Error().Strs("errors", lines).Msg("config reload failed; keeping the running config")
		} else {
			d.log.Error().Err(err).Msg("config reload failed; keeping the running config")
		}
		for i := range lines {
			lines[i] = d.opts.Redact.String(lines[i])
		}
		d.exp.SetReload(false, time.Now(), lines)
		return err
	}
	d.apply(plan)
	d.exp.SetReload(true, time.Now(), nil)
	d.log.Info().Str("config", plan.Config.File).Int("targets", len(plan.Config.Targets)).Msg("config reloaded")
	return nil
}

func errLines(errs config.Errors) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// emit passes a result to the exporter, coverage and the target log. A
// failure inside a planned outage of the main link (a connect test
// reconnecting it: a lost packet, no address for a moment) is dropped: it
// is not the network's.
func (d *Daemon) emit(r probe.Result) {
	var timeout time.Duration
	if m := d.timeouts.Load(); m != nil {
		timeout = (*m)[r.Target]
	}
	if !r.Success {
		if iface := d.iface.Load(); iface != nil && d.planned.Overlaps(*iface, r.Time.Add(-timeout), r.Time) {
			return
		}
	}
	if r.Packets == 1 {
		d.pkts.observe(r, timeout)
	}
	d.exp.Observe(r)
	d.cov.Observe(r)
	d.tlog.observe(r)
}
