package daemon

import (
	"context"
	"net/url"
	"path/filepath"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe/throughput"
)

// throughputKey identifies what a throughput runner depends on ("" when off).
func throughputKey(cfg *config.Config) string {
	if cfg.Throughput == nil {
		return ""
	}
	return sectionKey(cfg.Throughput, cfg.WiFi.Interface)
}

// throughputWorker runs throughput tests while the config has a throughput
// section, one runner at a time: when Apply changes that section (or the
// Wi-Fi interface), the running test is stopped and waited for before the
// new runner starts. The day's byte budget survives such restarts.
type throughputWorker struct {
	mailbox
	d      *Daemon
	budget *throughput.Budget
}

func newThroughputWorker(d *Daemon, stateDir string) *throughputWorker {
	t := &throughputWorker{mailbox: newMailbox(), d: d, budget: throughput.NewBudget(0)}
	if stateDir != "" {
		path := filepath.Join(stateDir, "throughput-budget.json")
		if err := t.budget.Keep(path); err != nil {
			d.log.Error().Err(err).Str("file", path).
				Msg("throughput budget: the state file cannot be read; today counts as spent and tests are paused until midnight (fix or delete the file and restart to resume sooner)")
		}
	}
	return t
}

// run starts and stops runners as configs arrive, until ctx ends.
func (t *throughputWorker) run(ctx context.Context) {
	restartOnChange(ctx, t.mailbox, throughputKey, nil, func(ctx context.Context, cfg *config.Config) job {
		return t.d.startThroughput(ctx, cfg, t.budget)
	})
}

// startThroughput starts a runner for cfg.
func (d *Daemon) startThroughput(ctx context.Context, cfg *config.Config, budget *throughput.Budget) job {
	tp := cfg.Throughput
	log := d.log.With().Str("component", "throughput").Logger()
	budget.SetLimit(int64(tp.DailyBudget))
	target := tp.URL
	if a := tp.BasicAuth; a != nil && tp.Mode == throughput.ModeOnPrem {
		pw, err := d.opts.Redact.ReadFile(string(a.PasswordFile)) // Build has read it once already
		if u, perr := url.Parse(tp.URL); err == nil && perr == nil {
			u.User = url.UserPassword(a.Username, pw)
			target = u.String()
		}
	}
	r, err := throughput.NewRunner(throughput.Config{
		Mode: tp.Mode, URL: target, ServerIDs: tp.ServerIDs, Interface: cfg.WiFi.Interface,
		Timeout: tp.Timeout.D(), UserAgent: "wardprobe/" + d.opts.Version,
	}, tp.Interval.D(), int64(tp.MaxBytes), budget)
	if err != nil { // the validator rules this out
		log.Error().Err(err).Msg("throughput tests cannot run")
		return job{}
	}
	server := tp.Mode
	if tp.Mode == throughput.ModeOnPrem {
		server = secret.StripURL(tp.URL)
	}
	log.Info().Str("mode", tp.Mode).Str("server", server).Str("interval", tp.Interval.String()).
		Int64("max_bytes", int64(tp.MaxBytes)).Int64("daily_budget", int64(tp.DailyBudget)).Msg("throughput tests enabled")
	paused, storeErr := false, ""
	return goJob(ctx, func(rctx context.Context) {
		r.Run(rctx, func(res throughput.Result) {
			d.exp.ObserveThroughput(res)
			if !res.Success {
				log.Warn().Str("server", res.Server).Str("reason", string(res.Reason)).Str("detail", res.Detail).
					Stringer("duration", res.Duration).Int64("bytes", res.Bytes()).Msg("throughput test failed")
				return
			}
			log.Info().Str("server", res.Server).
				Float64("download_mbps", res.Download.BitsPerSecond/1e6).Float64("upload_mbps", res.Upload.BitsPerSecond/1e6).
				Stringer("idle_latency", res.IdleLatency).Stringer("download_latency", res.Download.Latency).Stringer("upload_latency", res.Upload.Latency).
				Int64("bytes", res.Bytes()).Stringer("duration", res.Duration).Msg("throughput test")
		}, func(s throughput.BudgetStatus) {
			d.exp.SetThroughputBudget(s)
			if s.StoreError != storeErr { // each new error, and its clearing, once
				if storeErr = s.StoreError; storeErr != "" {
					log.Error().Str("error", storeErr).Msg("throughput budget: the state file cannot be written; tests are paused until a write succeeds")
				} else {
					log.Info().Msg("throughput budget: the state file is written again")
				}
			}
			if s.Paused != paused {
				paused = s.Paused
				ev := log.Info()
				if paused {
					ev = log.Warn()
				}
				ev.Bool("paused", paused).Int64("used", s.Used).Int64("budget", s.Limit).Msg("throughput daily budget")
			}
		})
		log.Info().Msg("throughput tests stopped")
	})
}
