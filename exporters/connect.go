package exporters

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/probe/wifi/connect"
	"github.com/wardprobe/wardprobe/probe/wifi/events"
)

// Buckets of the connect-test phases, in seconds: a phase takes from
// milliseconds (dns) to the test's timeout (30 s by default).
func connectBuckets() []float64 { return []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30} }

// Buckets of roam durations, in seconds, at the references' thresholds:
// Aruba's voice guidance (150-200 ms), Mist's slow fast roam (400 ms) and
// slow standard roam (2 s).
func roamBuckets() []float64 { return []float64{0.05, 0.1, 0.15, 0.2, 0.4, 1, 2, 5} }

// connectCollector exports connect tests (while configured) and the main
// link's events: roam durations, disconnect reasons, packets lost in roams.
type connectCollector struct {
	duration       *prometheus.HistogramVec
	tests          *prometheus.CounterVec
	failures       *prometheus.CounterVec
	roam           prometheus.Histogram
	reasons        *prometheus.CounterVec
	roamLost       prometheus.Counter
	info           *prometheus.Desc
	lastSuccess    *prometheus.Desc
	lastOK         *prometheus.Desc
	lastTime       *prometheus.Desc
	lastDisconnect *prometheus.Desc
	planned        *prometheus.Desc

	mu       sync.Mutex
	cfg      *config.ConnectTest
	last     connect.Result
	haveLast bool
	okAt     time.Time
	discAt   time.Time
	inOutage bool
}

func newConnectCollector() *connectCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &connectCollector{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "wardprobe_wifi_connect_duration_seconds",
			Help: "How long each phase of a connect test took, in seconds: association (scan included), eap (802.1X), " +
				"handshake (4-way), dhcp, dns, gateway, and total (successful tests only); scan is the part of association " +
				"spent finding the AP. A failed test adds the phases it completed.",
			Buckets: connectBuckets()}, []string{"phase"}),
		tests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_wifi_connect_tests_total",
			Help: "Connect tests run, by result (success, failure)."}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_wifi_connect_failures_total",
			Help: "Failed connect tests by the phase that failed and why (timeout, no_ap, rejected, wrong_key, certificate, no_lease, ...)."},
			[]string{"phase", "reason"}),
		roam: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wardprobe_wifi_roam_duration_seconds",
			Help: "Roams of the Wi-Fi interface under test, from nl80211 events: from the old AP falling silent (or the station " +
				"leaving it) to the new link being usable (port authorized), in seconds.",
			Buckets: roamBuckets()}),
		reasons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_wifi_disconnect_reasons_total",
			Help: "Disconnects of the Wi-Fi interface under test seen in nl80211 events, by IEEE 802.11 reason code " +
				"(names of IEEE Std 802.11-2020 Table 9-49; other beyond them)."}, []string{"reason"}),
		roamLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_wifi_roam_lost_packets_total",
			Help: "ICMP packets of targets on the Wi-Fi interface under test sent during a roam and lost."}),
		info: d("wardprobe_wifi_connect_info", "The connect test's adapter, SSID and method (psk, peap, tls, ttls); always 1.",
			"interface", "ssid", "method"),
		lastSuccess: d("wardprobe_wifi_connect_last_success_timestamp_seconds",
			"When the last successful connect test ended, in seconds since the Unix epoch."),
		lastOK:   d("wardprobe_wifi_connect_last_test_success", "Whether the last connect test succeeded (1) or failed (0)."),
		lastTime: d("wardprobe_wifi_connect_last_test_timestamp_seconds", "When the last connect test ended, in seconds since the Unix epoch."),
		lastDisconnect: d("wardprobe_wifi_last_disconnect_timestamp_seconds",
			"When the Wi-Fi interface under test last lost its link (a disconnect counted in wardprobe_wifi_disconnect_reasons_total), in seconds since the Unix epoch."),
		planned: d("wardprobe_wifi_planned_outage",
			"Whether the Wi-Fi interface under test is in a planned outage (1): a connect test reconnecting the main link; nothing counts as a disconnect or lost packet meanwhile."),
	}
}

func (c *connectCollector) apply(ct *config.ConnectTest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = ct
	if ct != nil {
		c.tests.WithLabelValues("success")
		c.tests.WithLabelValues("failure")
	}
}

// Describe implements prometheus.Collector.
func (c *connectCollector) Describe(ch chan<- *prometheus.Desc) {
	c.duration.Describe(ch)
	c.tests.Describe(ch)
	c.failures.Describe(ch)
	c.roam.Describe(ch)
	c.reasons.Describe(ch)
	c.roamLost.Describe(ch)
	for _, d := range []*prometheus.Desc{c.info, c.lastSuccess, c.lastOK, c.lastTime, c.lastDisconnect, c.planned} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *connectCollector) Collect(out chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := constMetrics(out)
	c.roam.Collect(out)
	c.reasons.Collect(out)
	c.roamLost.Collect(out)
	ch.gauge(c.planned, boolf(c.inOutage))
	if !c.discAt.IsZero() {
		ch.gauge(c.lastDisconnect, float64(c.discAt.UnixMilli())/1000)
	}
	ct := c.cfg
	if ct == nil {
		return
	}
	method := "psk"
	if ct.EAP != nil {
		method = ct.EAP.Method
	}
	ch.gauge(c.info, 1, ct.Interface, escape.Valid(ct.SSID), method)
	c.duration.Collect(out)
	c.tests.Collect(out)
	c.failures.Collect(out)
	if c.haveLast {
		ch.gauge(c.lastOK, boolf(c.last.Success))
		ch.gauge(c.lastTime, float64(c.last.Time.UnixMilli())/1000)
	}
	if !c.okAt.IsZero() {
		ch.gauge(c.lastSuccess, float64(c.okAt.UnixMilli())/1000)
	}
}

// ObserveConnect folds in one connect test: its phases' durations when it
// succeeded, the failing phase and reason when it did not.
func (e *Exporter) ObserveConnect(r connect.Result) {
	c := e.connC
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.haveLast = r, true
	if r.Success {
		c.tests.WithLabelValues("success").Inc()
		c.okAt = r.Time
	} else {
		c.tests.WithLabelValues("failure").Inc()
		c.failures.WithLabelValues(string(r.Phase), string(r.Reason)).Inc()
	}
	for _, p := range r.Phases {
		c.duration.WithLabelValues(string(p.Phase)).Observe(p.Duration.Seconds())
	}
}

// ObserveWiFiEvent folds in one event of the Wi-Fi interface under test:
// a roam's duration, a disconnect's reason. Disconnects inside a planned
// outage are not counted.
func (e *Exporter) ObserveWiFiEvent(ev events.Event) {
	c := e.connC
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Type {
	case events.Roam:
		c.roam.Observe(ev.Duration.Seconds())
	case events.Disconnect:
		if ev.Planned {
			return
		}
		reason := ev.ReasonName
		if reason == "" {
			reason = events.ReasonOther
		}
		c.reasons.WithLabelValues(reason).Inc()
		if ev.Time.After(c.discAt) {
			c.discAt = ev.Time
		}
	}
}

// AddRoamLostPackets adds the packets a roam cost.
func (e *Exporter) AddRoamLostPackets(n int) {
	if n > 0 {
		e.connC.roamLost.Add(float64(n))
	}
}

// SetPlannedOutage records whether the main link is in a planned outage.
func (e *Exporter) SetPlannedOutage(on bool) {
	c := e.connC
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inOutage = on
}

// connectView is what the landing page shows of connect tests.
type connectView struct {
	Cfg  *config.ConnectTest
	Last *connectResult
}

// connectResult is a connect.Result with its phases ready to show.
type connectResult struct {
	connect.Result
	Phases phaseTimes
}

// phaseTimes are the phases of a test, in order.
type phaseTimes []connect.PhaseTime

// Total is the whole test's duration (0 when it failed).
func (p phaseTimes) Total() time.Duration {
	for _, pt := range p {
		if pt.Phase == connect.PhaseTotal {
			return pt.Duration
		}
	}
	return 0
}

// Line lists the phases, e.g. "association 270 ms · eap 531 ms · ...".
func (p phaseTimes) Line() string {
	var b strings.Builder
	for _, pt := range p {
		if pt.Phase == connect.PhaseTotal || pt.Phase == connect.PhaseScan {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		fmt.Fprintf(&b, "%s %d ms", pt.Phase, pt.Duration.Milliseconds())
	}
	if b.Len() == 0 {
		return "no phase completed"
	}
	return b.String()
}

func (e *Exporter) connectView() connectView {
	c := e.connC
	c.mu.Lock()
	defer c.mu.Unlock()
	v := connectView{Cfg: c.cfg}
	if c.haveLast {
		v.Last = &connectResult{Result: c.last, Phases: phaseTimes(c.last.Phases)}
	}
	return v
}
