package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/wifi"
	"github.com/wardprobe/wardprobe/probe/wifi/connect"
	"github.com/wardprobe/wardprobe/probe/wifi/events"
)

// runtimeDir is where connect tests keep their private files: systemd's
// $RUNTIME_DIRECTORY (RuntimeDirectory=wardprobe), else /run/wardprobe.
func runtimeDir() string {
	if d := os.Getenv("RUNTIME_DIRECTORY"); d != "" {
		return d
	}
	return connect.DefaultStateDir
}

// connectConfig is the connect test of cfg (nil when off).
func connectConfig(cfg *config.Config, planned *connect.Planned, readSecret func(string) (string, error)) *connect.Config {
	ct := cfg.WiFi.ConnectTest
	if ct == nil {
		return nil
	}
	ssid, err := escape.Unescape(ct.SSID)
	if err != nil { // the validator rules this out
		ssid = []byte(ct.SSID)
	}
	c := &connect.Config{
		Interface: ct.Interface, SSID: string(ssid), Interval: ct.Interval.D(), Timeout: ct.Timeout.D(),
		PSKFile: string(ct.PSKFile), Query: ct.Query, Frequencies: slices.Clone(ct.Frequencies),
		MainInterface: cfg.WiFi.Interface, Shared: ct.Interface == cfg.WiFi.Interface, Planned: planned,
		StateDir: runtimeDir(), ReadSecret: readSecret,
	}
	if e := ct.EAP; e != nil {
		c.EAP = &connect.EAP{Method: e.Method, Identity: e.Identity, PasswordFile: string(e.PasswordFile), CAFile: e.CAFile,
			Phase2: e.Phase2, ClientCertFile: e.ClientCertFile, ClientKeyFile: string(e.ClientKeyFile)}
	}
	return c
}

// buildConnect checks what run would refuse of the connect test: the
// package's own validation, and the certificate files it reads (the
// credential files Build reads through the redactor).
func buildConnect(cfg *config.Config) config.Errors {
	c := connectConfig(cfg, nil, nil)
	if c == nil {
		return nil
	}
	var errs config.Errors
	if err := c.WithDefaults().Validate(); err != nil {
		var fe *connect.FieldError
		for _, e := range unwrapAll(err) {
			if errors.As(e, &fe) {
				errs = append(errs, cfg.Errorf("wifi.connect_test."+fe.Field, "%s", fe.Message))
			}
		}
	}
	if e := cfg.WiFi.ConnectTest.EAP; e != nil {
		for _, f := range []struct{ key, path string }{{"ca_file", e.CAFile}, {"client_cert_file", e.ClientCertFile}} {
			if f.path == "" {
				continue
			}
			if _, err := secret.ReadRegular(f.path, secret.MaxPEMBytes); err != nil {
				errs = append(errs, cfg.Errorf("wifi.connect_test.eap."+f.key, "%v", err))
			}
		}
	}
	return errs
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// connectWorker runs connect tests while the config has wifi.connect_test,
// one tester at a time: when Apply changes the section (or wifi.interface),
// the running test is stopped and waited for, and the adapter released,
// before the new tester starts.
type connectWorker struct {
	mailbox
	d *Daemon
	// last is the total of the last successful test, in seconds, for the
	// standards' connect_seconds check.
	last atomic.Pointer[float64]
}

func newConnectWorker(d *Daemon) *connectWorker {
	return &connectWorker{mailbox: newMailbox(), d: d}
}

// connectKey identifies what a tester depends on ("" when off).
func connectKey(cfg *config.Config) string {
	if cfg.WiFi.ConnectTest == nil {
		return ""
	}
	return sectionKey(cfg.WiFi.ConnectTest, cfg.WiFi.Interface)
}

// lastConnect is the last successful test's total, when there is one.
func (w *connectWorker) lastConnect() wifi.Value {
	if v := w.last.Load(); v != nil {
		return wifi.Some(*v)
	}
	return wifi.Value{}
}

// run runs one tester at a time, restarted when the config's
// wifi.connect_test or wifi.interface changes, until ctx ends.
func (w *connectWorker) run(ctx context.Context) {
	restartOnChange(ctx, w.mailbox, connectKey, func() { w.last.Store(nil) }, w.start)
}

// start starts a tester for cfg; the job stops once the tester has stopped
// and released the adapter.
func (w *connectWorker) start(ctx context.Context, cfg *config.Config) job {
	log := w.d.log.With().Str("component", "connect").Logger()
	c := connectConfig(cfg, w.d.planned, w.d.opts.Redact.ReadFile)
	if log.GetLevel() <= zerolog.DebugLevel {
		c.Trace = func(at time.Time, msg string) { log.Debug().Time("at", at).Msg("wpa_supplicant: " + msg) }
	}
	t, err := connect.New(*c)
	if err != nil { // the validator and Build rule this out
		log.Error().Err(w.d.opts.Redact.Error(err)).Msg("connect tests cannot run")
		return job{}
	}
	method := "psk"
	if c.EAP != nil {
		method = c.EAP.Method
	}
	log.Info().Str("interface", c.Interface).Str("ssid", cfg.WiFi.ConnectTest.SSID).Str("method", method).
		Str("interval", cfg.WiFi.ConnectTest.Interval.String()).Bool("main_link", c.Shared).Msg("connect tests enabled")
	warned := ""
	return goJob(ctx, func(rctx context.Context) {
		t.Run(rctx, func(r connect.Result) {
			if rctx.Err() != nil && !r.Success {
				return // stopped mid-test: no measurement
			}
			if r.Warning != "" && r.Warning != warned {
				warned = r.Warning
				log.Warn().Str("interface", c.Interface).Msg("connect test: " + r.Warning)
			}
			w.d.exp.ObserveConnect(r)
			total, _ := r.Duration(connect.PhaseTotal)
			if r.Success {
				s := total.Seconds()
				w.last.Store(&s)
				ev := log.Info().Str("bssid", r.BSSID).Str("address", r.Address).Stringer("total", total)
				for _, p := range r.Phases {
					ev = ev.Stringer(string(p.Phase), p.Duration)
				}
				ev.Msg("connect test")
				return
			}
			log.Warn().Str("phase", string(r.Phase)).Str("reason", string(r.Reason)).
				Str("detail", w.d.opts.Redact.String(r.Detail)).Msg("connect test failed")
		})
		log.Info().Str("interface", c.Interface).Msg("connect tests stopped")
	})
}

// eventsWorker follows wifi.interface through nl80211 events: roam
// durations and disconnect reasons, and the packets each roam cost.
type eventsWorker struct {
	mailbox
	d *Daemon
	// last is the last roam's duration in seconds, for the standards'
	// roam_seconds check.
	last atomic.Pointer[float64]
}

func newEventsWorker(d *Daemon) *eventsWorker {
	return &eventsWorker{mailbox: newMailbox(), d: d}
}

func (w *eventsWorker) lastRoam() wifi.Value {
	if v := w.last.Load(); v != nil {
		return wifi.Some(*v)
	}
	return wifi.Value{}
}

// eventsConfig is the listener's config for cfg: wifi.interface, or the
// interface the poller found when it is unset (polled says which; "" when
// none).
func eventsConfig(cfg *config.Config, polled string, planned events.Planned) events.Config {
	iface := cfg.WiFi.Interface
	if iface == "" {
		iface = polled
	}
	var ssids []string
	for _, s := range cfg.WiFi.SSIDs {
		if b, err := escape.Unescape(s); err == nil {
			ssids = append(ssids, string(b))
		}
	}
	return events.Config{Interface: iface, SSIDs: ssids, Planned: planned}
}

func (w *eventsWorker) run(ctx context.Context) {
	log := w.d.log.With().Str("component", "wifi").Logger()
	var (
		key string
		cur job
		cfg *config.Config
	)
	defer cur.stop()
	tick := time.NewTicker(5 * time.Second) // wifi.interface unset: follow what the poller finds
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case cfg = <-w.ch:
		case <-tick.C:
		}
		if cfg == nil {
			continue
		}
		polled := ""
		if p := w.d.polled.Load(); p != nil {
			polled = *p
		}
		ec := eventsConfig(cfg, polled, w.d.planned)
		k, _ := json.Marshal(struct {
			I string
			S []string
		}{ec.Interface, ec.SSIDs})
		if string(k) == key {
			continue
		}
		cur.stop()
		key = string(k)
		if ec.Interface != "" {
			cur = w.listen(ctx, ec, log)
		}
	}
}

// listen starts a listener; it returns its cancel func and a channel closed
// when it has stopped.
func (w *eventsWorker) listen(ctx context.Context, ec events.Config, log zerolog.Logger) job {
	l := events.NewListener(ec)
	warned := map[string]bool{}
	l.Errorf = func(err error) {
		if msg := err.Error(); !warned[msg] {
			warned[msg] = true
			log.Warn().Err(err).Msg("Wi-Fi events")
		}
	}
	return goJob(ctx, func(lctx context.Context) {
		if err := l.Run(lctx, func(e events.Event) { w.event(log, e) }); err != nil {
			log.Info().Err(err).Msg("Wi-Fi events: not followed")
		}
	})
}

// event handles one event of the main link.
func (w *eventsWorker) event(log zerolog.Logger, e events.Event) {
	w.d.exp.ObserveWiFiEvent(e)
	switch e.Type {
	case events.Roam:
		s := e.Duration.Seconds()
		w.last.Store(&s)
		log.Info().Str("interface", e.Interface).Str("from", e.From).Str("to", e.BSSID).Stringer("duration", e.Duration).
			Bool("quiet", e.Quiet).Time("start", e.Start).Time("usable", e.Time).Msg("Wi-Fi: roam timed")
		w.d.pkts.afterRoam(e, func(sent, lost int) {
			w.d.exp.AddRoamLostPackets(lost)
			if sent > 0 {
				log.Debug().Int("sent", sent).Int("lost", lost).Stringer("duration", e.Duration).Msg("Wi-Fi: packets during the roam")
			}
		})
	case events.Disconnect:
		if e.Planned {
			return
		}
		log.Warn().Str("interface", e.Interface).Str("bssid", e.BSSID).Str("reason", e.ReasonName).Int("code", int(e.Reason)).
			Bool("by_ap", e.ByAP).Str("frame", e.Frame).Msg("Wi-Fi: disconnected")
	}
}

// packetLog keeps the send times and outcomes of the last two minutes of
// packets of the coverage kinds (ICMP), to count those a roam cost.
type packetLog struct {
	mu      sync.Mutex
	pkts    []events.Packet
	timeout time.Duration // the longest per-packet timeout in force
}

const packetKeep = 2 * time.Minute

// observe records a result's packet: sent at its Sent time; without one,
// at Time − RTT when answered, at Time − timeout when lost.
func (p *packetLog) observe(r probe.Result, timeout time.Duration) {
	if r.Packets != 1 {
		return
	}
	sent := r.Sent
	switch {
	case !sent.IsZero():
	case r.Success:
		sent = r.Time.Add(-r.Duration)
	default:
		sent = r.Time.Add(-timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timeout = max(p.timeout, timeout)
	p.pkts = append(p.pkts, events.Packet{Sent: sent, Lost: !r.Success})
	cut := 0
	for cut < len(p.pkts) && r.Time.Sub(p.pkts[cut].Sent) > packetKeep {
		cut++
	}
	p.pkts = p.pkts[cut:]
}

// afterRoam calls report with the packets of the roam once each packet
// sent during it has had its timeout.
func (p *packetLog) afterRoam(e events.Event, report func(sent, lost int)) {
	p.mu.Lock()
	wait := time.Until(e.Time.Add(p.timeout + time.Second))
	p.mu.Unlock()
	time.AfterFunc(max(wait, 0), func() {
		p.mu.Lock()
		sent, lost := e.LostDuring(p.pkts)
		p.mu.Unlock()
		report(sent, lost)
	})
}
