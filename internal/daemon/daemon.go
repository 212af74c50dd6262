// Package daemon wires wardprobe together: config, the probe scheduler, the
// Wi-Fi poller, the exporter and its web server, and config reloads.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/exporters"
	"github.com/wardprobe/wardprobe/internal/logging"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/dns"
	"github.com/wardprobe/wardprobe/probe/http"
	"github.com/wardprobe/wardprobe/probe/icmp"
	"github.com/wardprobe/wardprobe/probe/tcp"
)

// Options configure a daemon run.
type Options struct {
	// ConfigFile is the config to load ("" = the built-in default).
	ConfigFile    string
	ListenAddress string
	WebConfigFile string
	Version       string
	Log           zerolog.Logger
	// Reload delivers reload requests (SIGHUP).
	Reload <-chan struct{}
}

// Daemon is a running wardprobe.
type Daemon struct {
	opts  Options
	log   zerolog.Logger
	exp   *exporters.Exporter
	sched *probe.Scheduler
	srv   *exporters.Server
	mode  icmp.Mode

	mu  sync.Mutex // serialises reloads
	ctx context.Context
	cfg *config.Config

	stateMu sync.Mutex
	up      map[string]bool // last up state per target, to log changes

	cov *coverage.Window // recent network results, for coverage (wifi.go)
}

func (d *Daemon) load() (*config.Config, error) {
	if d.opts.ConfigFile == "" {
		return config.Default(), nil
	}
	return config.Load(d.opts.ConfigFile)
}

// Run loads the config and runs until ctx ends. It returns an error when the
// config is invalid or the listen address cannot be bound.
func Run(ctx context.Context, opts Options) error {
	d := &Daemon{opts: opts, log: opts.Log, up: map[string]bool{}, ctx: ctx, cov: coverage.NewWindow(0)}
	cfg, err := d.load()
	if err != nil {
		return fmt.Errorf("loading config: %w", err)
	}
	d.exp = exporters.New(opts.Version, cfg, time.Now())
	d.sched = probe.NewScheduler(d.emit)
	defer d.sched.Stop()
	d.detectICMP(cfg)
	d.warnUnsupported(cfg)
	jobs, err := d.jobs(cfg)
	if err != nil {
		return fmt.Errorf("loading config: %w", err)
	}
	d.cfg = cfg
	d.srv = exporters.NewServer(d.exp, d.reload, logging.Slog(d.log.With().Str("component", "web").Logger()))
	l, err := exporters.Listen(opts.ListenAddress)
	if err != nil {
		return err
	}
	d.log.Info().Str("version", opts.Version).Str("config", cfg.File).Str("probe", cfg.Probe.Name).
		Str("ward", cfg.Location.Ward).Int("targets", len(cfg.Targets)).Str("address", l.Addr().String()).Msg("wardprobe starting")
	started, _ := d.sched.Apply(ctx, jobs)
	d.log.Debug().Strs("targets", started).Msg("probes started")

	var wg sync.WaitGroup
	wctx, stopWorkers := context.WithCancel(ctx)
	wg.Go(func() { d.runWiFi(wctx) })
	wg.Go(func() { d.runThroughput(wctx) })
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
	err = d.srv.Serve(ctx, l, opts.WebConfigFile)
	stopWorkers()
	wg.Wait()
	d.log.Info().Msg("wardprobe stopped")
	return err
}

// reload reloads the config file; a bad config keeps the running one.
func (d *Daemon) reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := d.load()
	var jobs []probe.Job
	if err == nil {
		jobs, err = d.jobs(cfg)
	}
	if err != nil {
		d.exp.SetReload(false, time.Now())
		var errs config.Errors
		if errors.As(err, &errs) {
			d.log.Error().Strs("errors", errLines(errs)).Msg("config reload failed; keeping the running config")
		} else {
			d.log.Error().Err(err).Msg("config reload failed; keeping the running config")
		}
		return err
	}
	d.detectICMP(cfg)
	d.warnUnsupported(cfg)
	d.exp.SetConfig(cfg)
	d.srv.Rebuild()
	started, stopped := d.sched.Apply(d.ctx, jobs)
	d.cfg = cfg
	d.exp.SetReload(true, time.Now())
	d.log.Info().Strs("started", started).Strs("stopped", stopped).Msg("config reloaded")
	return nil
}

func errLines(errs config.Errors) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// warnUnsupported logs config sections this version accepts but does not act on.
func (d *Daemon) warnUnsupported(cfg *config.Config) {
	if cfg.Push != nil {
		d.log.Warn().Msg("push: remote-write store-and-forward is not implemented in this version; metrics are served for scraping only")
	}
}

func (d *Daemon) detectICMP(cfg *config.Config) {
	need := false
	for _, t := range cfg.Targets {
		need = need || t.Kind == config.KindICMP
	}
	if !need || d.mode != "" {
		return
	}
	mode, err := icmp.DetectMode()
	if err != nil {
		d.log.Error().Err(err).Msg("ICMP probes cannot run")
		d.exp.SetICMPMode("unavailable")
		return
	}
	d.mode = mode
	d.exp.SetICMPMode(string(mode))
	d.log.Info().Str("mode", string(mode)).Msg("ICMP sockets")
}

// jobs builds the scheduler's jobs for cfg.
func (d *Daemon) jobs(cfg *config.Config) ([]probe.Job, error) {
	iface := cfg.WiFi.Interface
	jobs := make([]probe.Job, 0, len(cfg.Targets))
	for _, t := range cfg.Targets {
		spec, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		j := probe.Job{
			Name:     t.Name,
			Key:      fmt.Sprintf("%s|%s|%s", spec, iface, d.mode),
			Interval: t.Interval.D(),
			Timeout:  t.Timeout.D(),
		}
		switch t.Kind {
		case config.KindICMP:
			if d.mode == "" {
				j.Prober = unavailable{t.Name}
				break
			}
			j.Runner = icmp.New(icmp.Config{Target: t.Name, Address: t.Address, Interval: t.Interval.D(),
				Timeout: t.Timeout.D(), Size: t.PacketSize, Interface: iface, Mode: d.mode}, d.log)
		case config.KindDNS:
			j.Prober = dns.New(t, iface)
		case config.KindTCP:
			j.Prober = tcp.New(t, iface)
		case config.KindHTTP:
			p, err := http.New(t, iface)
			if err != nil {
				return nil, err
			}
			j.Prober = p
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// unavailable stands in for an ICMP target when no ICMP socket can be had.
type unavailable struct{ target string }

func (u unavailable) Probe(context.Context) probe.Result {
	return probe.Fail(u.target, config.KindICMP, probe.ReasonPermission, "no ICMP socket available (see the log)")
}

// emit passes a result to the exporter and logs a target going down or up.
func (d *Daemon) emit(r probe.Result) {
	d.exp.Observe(r)
	d.cov.Observe(r)
	d.stateMu.Lock()
	was, seen := d.up[r.Target]
	d.up[r.Target] = r.Success
	d.stateMu.Unlock()
	if seen && was == r.Success {
		return
	}
	if r.Success {
		d.log.Info().Str("target", r.Target).Str("kind", r.Kind).Str("address", r.Addr).Msg("target up")
	} else {
		d.log.Warn().Str("target", r.Target).Str("kind", r.Kind).Str("reason", string(r.Reason)).
			Str("detail", r.Detail).Msg("target down")
	}
}
