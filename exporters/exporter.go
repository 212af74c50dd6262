// Package exporters turns probe results into Prometheus metrics and serves
// them. It never measures: results arrive as probe.Result values through
// Observe, snapshots through SetWiFi and SetCoverage.
//
// Every metric lives on client_golang's own types (CounterVec, GaugeVec,
// HistogramVec, or const metrics of a snapshot, as node_exporter's wifi
// collector does), registered in one registry that is wrapped with the
// location labels (site, building, floor, ward, probe): the one place they
// are added. /metrics serves that registry, and push gathers from it.
package exporters

import (
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/probe"
)

// LocationLabelNames returns the labels every series carries, in order.
func LocationLabelNames() []string { return []string{"site", "building", "floor", "ward", "probe"} }

// locationLabels returns the location labels of cfg.
func locationLabels(cfg *config.Config) prometheus.Labels {
	l := cfg.Location
	v := escape.Valid
	return prometheus.Labels{"site": v(l.Site), "building": v(l.Building), "floor": v(l.Floor), "ward": v(l.Ward), "probe": v(cfg.Probe.Name)}
}

// Target identifies a configured target.
type Target struct {
	Name string
	Kind string
}

// TargetStatus is a copy of what is known of one target, for the landing page.
type TargetStatus struct {
	Target
	Last       probe.Result
	HaveResult bool
	// Probes counts results with a known outcome, Failures the failed ones.
	Probes, Failures uint64
	// PacketsSent and PacketsLost count the packets of a kind that counts for coverage.
	PacketsSent, PacketsLost uint64
	// LastMinute is what the target did over the last minute; Failures its
	// last failed results, oldest first.
	LastMinute     Minute
	RecentFailures []Failure

	recent *recent
}

// kindMetric is one of a kind's metrics on client_golang's types.
type kindMetric struct {
	spec      probe.Metric
	collector prometheus.Collector
	counter   *prometheus.CounterVec
	gauge     *prometheus.GaugeVec
	histogram *prometheus.HistogramVec

	mu      sync.Mutex // of an Info: its current label values
	current string
}

// observe applies one observation for target.
func (m *kindMetric) observe(target string, ob probe.Observation) {
	if len(ob.Labels) != len(m.spec.Labels) {
		return // a kind that breaks its own declaration: drop rather than panic
	}
	lv := make([]string, 0, len(ob.Labels)+1)
	if !m.spec.PerKind {
		lv = append(lv, target)
	}
	for _, v := range ob.Labels {
		lv = append(lv, escape.Valid(v))
	}
	switch m.spec.Type {
	case probe.Counter:
		m.counter.WithLabelValues(lv...).Add(max(ob.Value, 0))
	case probe.Gauge:
		m.gauge.WithLabelValues(lv...).Set(ob.Value)
	case probe.Info:
		key := strings.Join(lv, "\xff")
		m.mu.Lock()
		if key != m.current {
			m.current = key
			m.gauge.Reset()
			m.gauge.WithLabelValues(lv...).Set(1)
		}
		m.mu.Unlock()
	case probe.Histogram:
		m.histogram.WithLabelValues(lv...).Observe(ob.Value)
	}
}

func newKindMetric(spec probe.Metric) *kindMetric {
	labels := slices.Clone(spec.Labels)
	if !spec.PerKind {
		labels = append([]string{"target"}, labels...)
	}
	m := &kindMetric{spec: spec}
	switch spec.Type {
	case probe.Counter:
		m.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: spec.Name, Help: spec.Help}, labels)
		m.collector = m.counter
	case probe.Gauge, probe.Info:
		m.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: spec.Name, Help: spec.Help}, labels)
		m.collector = m.gauge
	case probe.Histogram:
		m.histogram = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: spec.Name, Help: spec.Help, Buckets: spec.Buckets}, labels)
		m.collector = m.histogram
	}
	return m
}

// start makes the target's series that exist before any result: counters
// at 0 and empty histograms without labels beyond "target".
func (m *kindMetric) start(target string) {
	if m.spec.PerKind || len(m.spec.Labels) > 0 {
		return
	}
	switch m.spec.Type {
	case probe.Counter:
		m.counter.WithLabelValues(target)
	case probe.Histogram:
		m.histogram.WithLabelValues(target)
	}
}

// forget deletes the target's series.
func (m *kindMetric) forget(target string) {
	if m.spec.PerKind {
		return
	}
	if v, ok := m.collector.(interface {
		DeletePartialMatch(prometheus.Labels) int
	}); ok {
		v.DeletePartialMatch(prometheus.Labels{"target": target})
	}
}

// Exporter holds wardprobe's metrics and what the landing page shows. It is
// safe for concurrent use.
type Exporter struct {
	version string
	start   time.Time
	// kinds are the target kinds, by name; metrics their metrics, by name.
	kinds   map[string]probe.Kind
	metrics map[string]*kindMetric
	// reg holds every collector; Gatherer adds the location labels in
	// force (loc) to what it gathers.
	reg *prometheus.Registry
	loc atomic.Pointer[[]*dto.LabelPair]

	buildInfo, probeInfo *prometheus.GaugeVec
	reloadOK, reloadTime prometheus.Gauge
	startTime            prometheus.Gauge
	up, lastResult       *prometheus.GaugeVec
	probes, failures     *prometheus.CounterVec
	wifiC                *wifiCollector
	tpC                  *throughputCollector
	connC                *connectCollector
	goC, processC        prometheus.Collector
	extra                []prometheus.Collector
	coverageKinds        map[string]bool
	labels               prometheus.Labels

	mu        sync.RWMutex // Observe holds it for reading, Apply for writing
	cfg       *config.Config
	reloadOKv bool
	// reloadErrs are the errors of the last failed reload, reloadAt its time.
	reloadErrs []string
	reloadAt   time.Time
	targets    map[Target]*TargetStatus
	// statusMu guards the TargetStatus values, which Observe updates
	// concurrently under the read lock.
	statusMu sync.Mutex
}

// New returns an Exporter of the given kinds for version, started at start,
// with cfg in force. extra collectors (push's own metrics, say) are served
// beside wardprobe's, with the location labels.
func New(version string, kinds []probe.Kind, cfg *config.Config, start time.Time, extra ...prometheus.Collector) *Exporter {
	e := &Exporter{
		version: version, start: start, kinds: map[string]probe.Kind{}, metrics: map[string]*kindMetric{},
		coverageKinds: map[string]bool{}, targets: map[Target]*TargetStatus{}, extra: extra, reloadOKv: true,
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wardprobe_build_info",
			Help: "wardprobe's version and the Go version it was built with; always 1."}, []string{"version", "goversion"}),
		probeInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wardprobe_probe_info",
			Help: "Where this probe stands (spot, floor-plan x and y from 0 to 1) and the minimum standard its ward is held to; always 1."},
			[]string{"spot", "x", "y", "standard"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wardprobe_config_last_reload_successful",
			Help: "Whether the last config reload succeeded (1) or failed and the previous config is still in force (0)."}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wardprobe_config_last_reload_success_timestamp_seconds",
			Help: "When the config was last loaded successfully, in seconds since the Unix epoch."}),
		startTime: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wardprobe_start_time_seconds",
			Help: "When this wardprobe process started, in seconds since the Unix epoch."}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wardprobe_target_up",
			Help: "Whether the last probe of the target succeeded (1) or failed (0)."}, []string{"target", "kind"}),
		lastResult: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wardprobe_target_last_result_timestamp_seconds",
			Help: "When the target's last result came, in seconds since the Unix epoch."}, []string{"target", "kind"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_target_probes_total",
			Help: "Results of the target whose outcome is known: probes, or for a packet kind (icmp) packets and failures to send."},
			[]string{"target", "kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_target_failures_total",
			Help: "Failed results of the target by reason."}, []string{"target", "kind", "reason"}),
		wifiC:    newWiFiCollector(),
		tpC:      newThroughputCollector(),
		connC:    newConnectCollector(),
		goC:      collectors.NewGoCollector(),
		processC: &cachedCollector{c: collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), ttl: processEvery},
	}
	for _, k := range kinds {
		e.kinds[k.Name] = k
		e.coverageKinds[k.Name] = k.Coverage
		for _, m := range k.Metrics {
			e.metrics[m.Name] = newKindMetric(m)
		}
	}
	e.reg = prometheus.NewRegistry()
	e.reg.MustRegister(e.collectors()...)
	e.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	e.startTime.Set(float64(start.UnixMilli()) / 1000)
	e.reloadOK.Set(1)
	e.reloadTime.Set(float64(start.UnixMilli()) / 1000)
	e.Apply(cfg)
	return e
}

// collectors returns every collector the registry serves.
func (e *Exporter) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{e.buildInfo, e.probeInfo, e.reloadOK, e.reloadTime, e.startTime,
		e.up, e.lastResult, e.probes, e.failures, e.wifiC, e.tpC, e.connC, e.goC, e.processC}
	names := make([]string, 0, len(e.metrics))
	for n := range e.metrics {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cs = append(cs, e.metrics[n].collector)
	}
	return append(cs, e.extra...)
}

// Gatherer returns the registry in force: every series with the location
// labels. /metrics serves it and push gathers from it.
func (e *Exporter) Gatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := e.reg.Gather()
		addLabels(mfs, *e.loc.Load())
		return mfs, err
	})
}

// Apply switches to cfg: the location labels follow it, targets no longer
// configured (or whose kind changed) are forgotten, and the others keep
// their counters.
func (e *Exporter) Apply(cfg *config.Config) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg = cfg
	l := cfg.Location
	e.probeInfo.Reset()
	e.probeInfo.WithLabelValues(escape.Valid(l.Spot), optFloat(l.X), optFloat(l.Y), escape.Valid(cfg.Standard)).Set(1)
	keep := map[Target]bool{}
	for _, t := range cfg.Targets {
		k := Target{t.Name, t.Kind}
		keep[k] = true
		if _, ok := e.targets[k]; ok {
			continue
		}
		e.targets[k] = &TargetStatus{Target: k, recent: &recent{}}
		e.probes.WithLabelValues(k.Name, k.Kind)
		for _, m := range e.kinds[k.Kind].Metrics {
			e.metrics[m.Name].start(k.Name)
		}
	}
	for k := range e.targets {
		if keep[k] {
			continue
		}
		delete(e.targets, k)
		sel := prometheus.Labels{"target": k.Name, "kind": k.Kind}
		for _, v := range []interface {
			DeletePartialMatch(prometheus.Labels) int
		}{e.up, e.lastResult, e.probes, e.failures} {
			v.DeletePartialMatch(sel)
		}
		for _, m := range e.kinds[k.Kind].Metrics {
			e.metrics[m.Name].forget(k.Name)
		}
	}
	e.tpC.apply(cfg.Throughput)
	e.connC.apply(cfg.WiFi.ConnectTest)
	if labels := locationLabels(cfg); !equalLabels(labels, e.labels) {
		e.labels = labels
		pairs := make([]*dto.LabelPair, 0, len(labels))
		for _, n := range LocationLabelNames() {
			v := labels[n]
			pairs = append(pairs, &dto.LabelPair{Name: &n, Value: &v})
		}
		sort.Slice(pairs, func(i, j int) bool { return pairs[i].GetName() < pairs[j].GetName() })
		e.loc.Store(&pairs)
	}
}

// processEvery is how often the process metrics are read afresh: reading
// them takes five /proc files (stat, /proc/stat for the boot time, limits,
// the fd directory, net/netstat), a quarter of wardprobe's CPU when
// scraped every second (test/bench).
const processEvery = 5 * time.Second

// cachedCollector serves what c collected, collecting afresh at most every
// ttl. c must make const metrics (immutable, so they can be sent again).
type cachedCollector struct {
	c   prometheus.Collector
	ttl time.Duration

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

func (cc *cachedCollector) Describe(ch chan<- *prometheus.Desc) { cc.c.Describe(ch) }

func (cc *cachedCollector) Collect(ch chan<- prometheus.Metric) {
	cc.mu.Lock()
	if cc.metrics == nil || time.Since(cc.at) >= cc.ttl {
		// A new slice: a Collect still sending the old one keeps it.
		fresh := make([]prometheus.Metric, 0, len(cc.metrics))
		mc := make(chan prometheus.Metric)
		go func() { cc.c.Collect(mc); close(mc) }()
		for m := range mc {
			fresh = append(fresh, m)
		}
		cc.at, cc.metrics = time.Now(), fresh
	}
	ms := cc.metrics
	cc.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
}

// addLabels adds pairs (sorted by name) to every metric of mfs, keeping
// each metric's labels sorted: the one place the location labels are added.
// It is what prometheus.WrapRegistererWith did, without making a new Desc
// for every metric of every scrape (that was ~40% of a scrape's gathering).
// A metric's own label of the same name as a location label gives way to
// it (wrapping refused such a collector).
func addLabels(mfs []*dto.MetricFamily, pairs []*dto.LabelPair) {
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			own := m.Label
			out := make([]*dto.LabelPair, 0, len(own)+len(pairs))
			i, j := 0, 0
			for i < len(own) || j < len(pairs) {
				switch {
				case j == len(pairs) || (i < len(own) && own[i].GetName() < pairs[j].GetName()):
					out = append(out, own[i])
					i++
				case i < len(own) && own[i].GetName() == pairs[j].GetName():
					i++ // the location label wins
				default:
					out = append(out, pairs[j])
					j++
				}
			}
			m.Label = out
		}
	}
}

func equalLabels(a, b prometheus.Labels) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// SetReload records the outcome of a config reload at at, with the errors
// of a failed one (already redacted), for the landing page.
func (e *Exporter) SetReload(ok bool, at time.Time, errs []string) {
	e.mu.Lock()
	e.reloadOKv, e.reloadAt, e.reloadErrs = ok, at, errs
	e.mu.Unlock()
	e.reloadOK.Set(boolf(ok))
	if ok {
		e.reloadTime.Set(float64(at.UnixMilli()) / 1000)
	}
}

// Observe folds one result in. Results for targets not in the config in
// force (late results of a stopped job) are dropped.
func (e *Exporter) Observe(r probe.Result) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	st, ok := e.targets[Target{r.Target, r.Kind}]
	if !ok {
		return
	}
	e.observeStatus(st, r)
	e.up.WithLabelValues(r.Target, r.Kind).Set(boolf(r.Success))
	e.lastResult.WithLabelValues(r.Target, r.Kind).Set(float64(r.Time.UnixMilli()) / 1000)
	e.probes.WithLabelValues(r.Target, r.Kind).Inc()
	if !r.Success {
		e.failures.WithLabelValues(r.Target, r.Kind, escape.Valid(string(r.Reason))).Inc()
	}
	for _, ob := range r.Observations {
		if m, ok := e.metrics[ob.Metric]; ok {
			m.observe(r.Target, ob)
		}
	}
}

func (e *Exporter) observeStatus(st *TargetStatus, r probe.Result) {
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	st.Last, st.HaveResult = r, true
	st.Probes++
	if !r.Success {
		st.Failures++
	}
	if e.coverageKinds[r.Kind] {
		st.PacketsSent += uint64(r.Packets)
		if !r.Success {
			st.PacketsLost += uint64(r.Packets)
		}
	}
	st.recent.add(r)
}

// Targets returns the status of every target, sorted by name.
func (e *Exporter) Targets() []TargetStatus {
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	out := make([]TargetStatus, 0, len(e.targets))
	now := time.Now()
	for _, st := range e.targets {
		c := *st
		c.LastMinute = st.recent.minute(now)
		c.RecentFailures = append([]Failure(nil), st.recent.failures...)
		c.recent = nil
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Config returns the config in force.
func (e *Exporter) Config() *config.Config {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg
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
