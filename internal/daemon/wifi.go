package daemon

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"

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

// wifiWorker polls the Wi-Fi interface under test, judges coverage from it
// and the network probes' recent results, and hands both to the exporter.
type wifiWorker struct {
	d        *Daemon
	poller   *wifi.Poller
	settings atomic.Pointer[coverage.Settings]
	conn     *connectWorker
	events   *eventsWorker
}

func newWiFiWorker(d *Daemon, open wifi.Opener, conn *connectWorker, ev *eventsWorker) *wifiWorker {
	w := &wifiWorker{d: d, poller: wifi.NewPoller(wifi.Config{Interval: config.DefaultWiFiPoll.D()}, open, nil), conn: conn, events: ev}
	w.poller.SetPlanned(d.planned)
	return w
}

// Apply implements part: the next poll uses cfg.
func (w *wifiWorker) Apply(cfg *config.Config) {
	w.poller.SetConfig(pollerConfig(cfg))
	s := coverage.SettingsFrom(cfg)
	w.settings.Store(&s)
}

// run polls until ctx ends.
func (w *wifiWorker) run(ctx context.Context) {
	l := &wifiLog{log: w.d.log.With().Str("component", "wifi").Logger(), caps: map[string]wifi.Capability{}}
	var ledger coverage.Ledger
	var held coverage.Assessment // the last assessment outside a planned outage
	w.poller.Run(ctx, func(s wifi.Snapshot) {
		network := w.d.cov.Stats(s.Time)
		if s.Connected && network.Unusable == "" {
			if _, err := netif.SourceAddr(s.Interface); errors.Is(err, netif.ErrNoAddress) {
				network.Unusable = "no usable network: " + s.Interface + " has no IPv4 address"
			}
		}
		a := coverage.Assess(coverage.Input{WiFi: s, Network: network, Connect: w.conn.lastConnect(), Roam: w.events.lastRoam()},
			*w.settings.Load())
		if s.Planned && held.State != "" {
			// A connect test is reconnecting the main link: the time is
			// booked to the state before it, not to a planned outage.
			a = held
			a.Time = s.Time
		} else {
			held = a
		}
		w.d.exp.SetPlannedOutage(s.Planned)
		if polled := w.d.polled.Load(); polled == nil || *polled != s.Interface {
			name := s.Interface
			w.d.polled.Store(&name)
		}
		ledger.Add(a)
		w.d.exp.SetWiFi(s)
		w.d.exp.SetCoverage(a, ledger.Totals())
		l.report(s, a)
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
