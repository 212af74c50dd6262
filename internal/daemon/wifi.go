package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/netif"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// pollerConfig takes the Wi-Fi poller's settings from a config.
func pollerConfig(cfg *config.Config) wifi.Config {
	return wifi.Config{Interface: cfg.WiFi.Interface, SSIDs: slices.Clone(cfg.WiFi.SSIDs),
		Interval: cfg.WiFi.PollInterval.D(), ScanInterval: cfg.WiFi.ScanInterval.D(), MaxNeighbors: cfg.WiFi.MaxNeighbors}
}

func samePollerConfig(a, b wifi.Config) bool {
	return a.Interface == b.Interface && slices.Equal(a.SSIDs, b.SSIDs) && a.Interval == b.Interval &&
		a.ScanInterval == b.ScanInterval && a.MaxNeighbors == b.MaxNeighbors
}

// runWiFi polls the Wi-Fi interface under test, judges coverage from it and
// the network probes' recent results, and hands both to the exporter, until
// ctx ends. Config reloads take effect at the next poll.
func (d *Daemon) runWiFi(ctx context.Context) {
	p := wifi.NewPoller(pollerConfig(d.exp.Config()), wifi.OpenNL80211, nil)
	w := &wifiLog{log: d.log.With().Str("component", "wifi").Logger(), caps: map[string]wifi.Capability{}}
	var ledger coverage.Ledger
	p.Run(ctx, func(s wifi.Snapshot) {
		cfg := d.exp.Config()
		if pc := pollerConfig(cfg); !samePollerConfig(pc, p.Config()) {
			p.SetConfig(pc)
		}
		network := d.cov.Stats(s.Time)
		if s.Connected && network.Unusable == "" {
			if _, err := netif.SourceAddr(s.Interface); errors.Is(err, netif.ErrNoAddress) {
				network.Unusable = "no usable network: " + s.Interface + " has no IPv4 address"
			}
		}
		a := coverage.Assess(coverage.Input{WiFi: s, Network: network}, coverage.SettingsFrom(cfg))
		ledger.Add(a)
		d.exp.SetWiFi(s)
		d.exp.SetCoverage(a, ledger.Totals())
		w.report(s, a)
	})
}

// wifiLog logs changes of the Wi-Fi and coverage state, once each.
type wifiLog struct {
	log     zerolog.Logger
	started bool
	last    wifi.Snapshot
	state   coverage.State
	caps    map[string]wifi.Capability
}

func (w *wifiLog) report(s wifi.Snapshot, a coverage.Assessment) {
	l := w.last
	first := !w.started
	w.started, w.last = true, s
	switch {
	case first || s.Present != l.Present || s.Connected != l.Connected || s.Interface != l.Interface ||
		(!s.Connected && s.Detail != l.Detail):
		ev := w.log.Info()
		if !s.Connected {
			ev = w.log.Warn()
		}
		ev.Str("interface", s.Interface).Bool("present", s.Present).Bool("connected", s.Connected).
			Str("ssid", s.Link.SSID).Str("bssid", s.Link.BSSID).Msg("Wi-Fi: " + s.Detail)
	case s.Counters.Roams > l.Counters.Roams || (s.Connected && s.Link.BSSID != l.Link.BSSID):
		w.log.Info().Str("interface", s.Interface).Str("ssid", s.Link.SSID).Str("from", l.Link.BSSID).
			Str("to", s.Link.BSSID).Int("channel", s.Link.Channel).Msg("Wi-Fi: roamed")
	}
	if s.Counters.Disconnects > l.Counters.Disconnects && !first {
		w.log.Warn().Str("interface", s.Interface).Uint64("disconnects", s.Counters.Disconnects).
			Float64("disconnected_seconds", s.Counters.Disconnected.Seconds()).Msg("Wi-Fi: disconnect counted")
	}
	for _, c := range s.Capabilities {
		if old, ok := w.caps[c.Name]; ok && old.Available == c.Available && old.Detail == c.Detail {
			continue
		}
		w.caps[c.Name] = c
		if c.Available && c.Detail == "" {
			w.log.Info().Str("capability", c.Name).Msg("Wi-Fi: can measure " + strings.ReplaceAll(c.Name, "_", " "))
		} else {
			w.log.Warn().Str("capability", c.Name).Bool("available", c.Available).Msg("Wi-Fi: " + c.Detail)
		}
	}
	if a.State != w.state {
		ev := w.log.Info()
		if a.State == coverage.NotSpot || a.State == coverage.Disconnected || a.State == coverage.Degraded {
			ev = w.log.Warn()
		}
		ev.Str("state", string(a.State)).Str("was", string(w.state)).Str("standard", a.Standard).
			Msg("coverage: " + string(a.State) + ": " + a.Reason)
		w.state = a.State
	}
}
