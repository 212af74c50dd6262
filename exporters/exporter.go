// Package exporters turns probe results into Prometheus metrics. It never
// measures: results arrive as probe.Result values through Observe, and every
// series carries the location labels (site, building, floor, ward, probe).
package exporters

import (
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
)

// LocationLabelNames returns the labels every series carries, in order.
func LocationLabelNames() []string { return []string{"site", "building", "floor", "ward", "probe"} }

// Buckets of the latency histograms, in seconds: fine around typical LAN and
// Wi-Fi round trips, with a tail for a struggling ward network.
func latencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5}
}

// Target identifies a configured target.
type Target struct {
	Name string
	Kind string
}

// TargetStatus is a copy of what is known of one target, for the landing page.
type TargetStatus struct {
	Target
	Last        probe.Result
	HaveResult  bool
	Probes      uint64
	Failures    uint64
	PacketsSent uint64
	PacketsLost uint64
	Jitter      time.Duration
}

type histogram struct {
	upper  []float64
	counts []uint64 // not cumulative
	count  uint64
	sum    float64
}

func newHistogram() *histogram {
	b := latencyBuckets()
	return &histogram{upper: b, counts: make([]uint64, len(b))}
}

func (h *histogram) observe(v float64) {
	h.count++
	h.sum += v
	i := sort.SearchFloat64s(h.upper, v)
	if i < len(h.counts) {
		h.counts[i]++
	}
}

func (h *histogram) buckets() map[float64]uint64 {
	m := make(map[float64]uint64, len(h.upper))
	var cum uint64
	for i, u := range h.upper {
		cum += h.counts[i]
		m[u] = cum
	}
	return m
}

type targetState struct {
	status   TargetStatus
	failures map[probe.Reason]uint64
	latency  *histogram // icmp rtt, dns lookup, tcp connect
	rcodes   map[string]uint64
}

// Exporter is a prometheus.Collector holding the state built from results.
// It is safe for concurrent use.
type Exporter struct {
	mu        sync.Mutex
	version   string
	cfg       *config.Config
	loc       []string // location label values, in LocationLabelNames order
	targets   map[Target]*targetState
	reloadOK  bool
	reloadAt  time.Time
	icmpMode  string
	d         *descs
	startTime time.Time
	wifi      wifiState
	tp        throughputState
}

// New returns an Exporter for version and the given config, started at start.
func New(version string, cfg *config.Config, start time.Time) *Exporter {
	e := &Exporter{version: version, targets: map[Target]*targetState{}, reloadOK: true, reloadAt: start, startTime: start}
	e.SetConfig(cfg)
	return e
}

// SetConfig switches to cfg: location labels follow it, targets no longer
// configured (or whose kind changed) are forgotten, and the others keep their
// counters.
func (e *Exporter) SetConfig(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	e.loc = []string{cfg.Location.Site, cfg.Location.Building, cfg.Location.Floor, cfg.Location.Ward, cfg.Probe.Name}
	e.d = newDescs()
	keep := map[Target]bool{}
	for _, t := range cfg.Targets {
		k := Target{t.Name, t.Kind}
		keep[k] = true
		if _, ok := e.targets[k]; !ok {
			e.targets[k] = &targetState{status: TargetStatus{Target: k}, failures: map[probe.Reason]uint64{},
				latency: newHistogram(), rcodes: map[string]uint64{}}
		}
	}
	for k := range e.targets {
		if !keep[k] {
			delete(e.targets, k)
		}
	}
}

// SetReload records the outcome of a config reload.
func (e *Exporter) SetReload(ok bool, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reloadOK = ok
	if ok {
		e.reloadAt = at
	}
}

// SetICMPMode records which ICMP socket kind is in use ("raw", "unprivileged"
// or "unavailable").
func (e *Exporter) SetICMPMode(mode string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.icmpMode = mode
}

// Observe folds one result in. Results for targets not in the current config
// (late results from a stopped job) are dropped.
func (e *Exporter) Observe(r probe.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.targets[Target{r.Target, r.Kind}]
	if !ok {
		return
	}
	s := &st.status
	s.Last, s.HaveResult = r, true
	s.Probes++
	if !r.Success {
		s.Failures++
		st.failures[r.Reason]++
	}
	switch r.Kind {
	case config.KindICMP:
		s.PacketsSent += uint64(r.Packets)
		if !r.Success {
			s.PacketsLost += uint64(r.Packets)
		} else {
			st.latency.observe(r.Duration.Seconds())
		}
		s.Jitter = r.Jitter
	case config.KindDNS:
		if r.Rcode != "" {
			st.rcodes[r.Rcode]++
			st.latency.observe(r.Duration.Seconds()) // a reply came, whatever its code
		}
	case config.KindTCP:
		if r.Success {
			st.latency.observe(r.Duration.Seconds())
		}
	}
}

// Targets returns the status of every target, sorted by name.
func (e *Exporter) Targets() []TargetStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]TargetStatus, 0, len(e.targets))
	for _, st := range e.targets {
		out = append(out, st.status)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Config returns the config in force.
func (e *Exporter) Config() *config.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// Describe implements prometheus.Collector. The exporter is an unchecked
// collector: its label values follow the config, which may change on reload.
func (e *Exporter) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, loc := e.d, e.loc
	lv := func(extra ...string) []string {
		return append(append(make([]string, 0, len(loc)+len(extra)), loc...), extra...)
	}
	gauge := func(desc *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, lv(extra...)...)
	}
	counter := func(desc *prometheus.Desc, v uint64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), lv(extra...)...)
	}
	hist := func(desc *prometheus.Desc, h *histogram, extra ...string) {
		ch <- prometheus.MustNewConstHistogram(desc, h.count, h.sum, h.buckets(), lv(extra...)...)
	}

	gauge(d.buildInfo, 1, e.version, runtime.Version())
	l := e.cfg.Location
	gauge(d.probeInfo, 1, l.Spot, optFloat(l.X), optFloat(l.Y), e.cfg.Standard)
	gauge(d.reloadOK, boolf(e.reloadOK))
	gauge(d.reloadTime, float64(e.reloadAt.UnixMilli())/1000)
	gauge(d.startTime, float64(e.startTime.UnixMilli())/1000)
	if e.icmpMode != "" {
		gauge(d.icmpMode, 1, e.icmpMode)
	}

	for k, st := range e.targets {
		s := &st.status
		if s.HaveResult {
			gauge(d.up, boolf(s.Last.Success), k.Name, k.Kind)
			gauge(d.lastProbe, float64(s.Last.Time.UnixMilli())/1000, k.Name, k.Kind)
		}
		counter(d.probes, s.Probes, k.Name, k.Kind)
		for reason, n := range st.failures {
			counter(d.failures, n, k.Name, k.Kind, string(reason))
		}
		switch k.Kind {
		case config.KindICMP:
			counter(d.icmpSent, s.PacketsSent, k.Name)
			counter(d.icmpLost, s.PacketsLost, k.Name)
			hist(d.icmpRTT, st.latency, k.Name)
			if s.HaveResult {
				gauge(d.icmpJitter, s.Jitter.Seconds(), k.Name)
			}
		case config.KindDNS:
			hist(d.dnsLookup, st.latency, k.Name)
			for rc, n := range st.rcodes {
				counter(d.dnsRcodes, n, k.Name, rc)
			}
		case config.KindTCP:
			hist(d.tcpConnect, st.latency, k.Name)
		case config.KindHTTP:
			if !s.HaveResult {
				break
			}
			for i := range probe.NumPhases {
				gauge(d.httpPhase, s.Last.Phases[i].Seconds(), k.Name, probe.PhaseName(i))
			}
			gauge(d.httpStatus, float64(s.Last.StatusCode), k.Name)
			if !s.Last.CertExpiry.IsZero() {
				gauge(d.httpCertExpiry, float64(s.Last.CertExpiry.Unix()), k.Name)
			}
			gauge(d.httpBody, float64(s.Last.BodyBytes), k.Name)
		}
	}
	e.collectWiFi(ch, gauge, counter)
	e.collectThroughput(gauge, counter)
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func optFloat(f *float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}
