package probe

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
)

// Kind is everything wardprobe knows of one target kind, defined once in the
// kind's own package: its config (keys, defaults, minimum interval,
// validation), its constructor, its metrics and whether it counts for
// coverage. The table of kinds is probe/kinds.
type Kind struct {
	config.Kind
	// New builds the job that probes target t (t.Spec is the kind's own
	// spec). An error about one key is a *config.FieldError, so that it can
	// be reported at that key's line.
	New func(t config.Target, env Env) (Job, error)
	// Metrics are the kind's own metrics. Every series of a PerTarget
	// metric carries the label "target"; Results fill them through
	// Observations.
	Metrics []Metric
	// Coverage says the kind's results are packets that count for coverage:
	// loss, round-trip time and jitter of the last minute.
	Coverage bool
}

// Env is what a kind's constructor gets from the daemon.
type Env struct {
	// Interface is the interface under test (wifi.interface); every probe and
	// every name lookup of the probe is bound to it. "" follows the routing table.
	Interface string
	// Log is the daemon's logger.
	Log zerolog.Logger
	// Secrets reads credential files and masks what they hold in every output.
	Secrets *secret.Redactor
	// Note logs msg once per config load, however many targets note it.
	Note func(level zerolog.Level, msg string)
}

// MetricType is the type of a kind's metric.
type MetricType int

// Metric types. An Info metric has one current label set, whose value is 1:
// setting another replaces it.
const (
	Counter MetricType = iota
	Gauge
	Histogram
	Info
)

// Metric is a metric a kind exports.
type Metric struct {
	// Name is the full metric name, e.g. "wardprobe_icmp_rtt_seconds".
	Name string
	// Help says what it is, with its unit.
	Help string
	Type MetricType
	// Labels are the labels beyond "target" (and the location labels).
	Labels []string
	// Buckets are a histogram's upper bounds, in the metric's unit.
	Buckets []float64
	// PerKind metrics have no "target" label (an Info of the kind, say).
	PerKind bool
}

// Observation is one value a Result gives one of its kind's metrics:
// added to a counter, set on a gauge or info, observed by a histogram.
type Observation struct {
	Metric string
	Value  float64
	// Labels are the values of the metric's Labels, in order.
	Labels []string
}

// LatencyBuckets are the buckets of the latency histograms, in seconds: fine
// around typical LAN and Wi-Fi round trips, with a tail for a struggling
// ward network.
func LatencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5}
}

// TimeoutUpTo returns a DefaultTimeout of the interval, at most most.
func TimeoutUpTo(most time.Duration) func(interval time.Duration) time.Duration {
	return func(interval time.Duration) time.Duration { return min(most, interval) }
}

// Ob returns an Observation of metric.
func Ob(metric string, v float64, labels ...string) Observation {
	return Observation{Metric: metric, Value: v, Labels: labels}
}
