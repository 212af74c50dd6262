// Package promcheck checks PromQL used by wardprobe's dashboards and rules
// against what the exporter really exposes: every expression must parse,
// every metric must be in the golden /metrics exposition (or be a recorded
// or Prometheus-made series), every label matched must exist on that metric,
// and values of enumerated labels (state, met, kind, …) must be ones the
// exporter uses.
package promcheck

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Enumerated are the labels whose values form a fixed vocabulary in the
// exporter; queries may only match values the golden exposition shows.
func Enumerated() []string {
	return []string{"state", "met", "kind", "phase", "direction", "mode", "result"}
}

// targetLabels are added by Prometheus to every scraped series.
func targetLabels() []string { return []string{"job", "instance"} }

// locationLabels are on every wardprobe series, and on `up` when the scrape
// config's targets carry them (deploy/prometheus/wardprobe-targets.yml).
func locationLabels() []string { return []string{"site", "building", "floor", "ward", "probe"} }

// metric is what is known of one metric name.
type metric struct {
	anyLabel bool                       // recorded or ALERTS: labels not tracked
	labels   map[string]bool            // label names seen
	values   map[string]map[string]bool // enumerated label -> values seen
	source   string
}

// Known is the set of series names queries may use.
type Known struct {
	metrics map[string]*metric
}

// NewKnown returns an empty set.
func NewKnown() *Known { return &Known{metrics: map[string]*metric{}} }

// LoadExposition adds the metrics of a Prometheus text exposition file.
func (k *Known) LoadExposition(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening golden metrics: %w", err)
	}
	defer f.Close()
	return k.ReadExposition(path, f)
}

// ReadExposition adds the metrics of a text exposition read from r; name
// is used in messages. Histograms add their _bucket, _sum and _count series.
func (k *Known) ReadExposition(name string, r io.Reader) error {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", name, err)
	}
	for fname, fam := range fams {
		names := []string{fname}
		switch fam.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names = []string{fname + "_bucket", fname + "_sum", fname + "_count"}
		case dto.MetricType_SUMMARY:
			names = []string{fname, fname + "_sum", fname + "_count"}
		}
		for _, n := range names {
			m := k.add(n, name)
			for _, s := range fam.GetMetric() {
				for _, lp := range s.GetLabel() {
					m.labels[lp.GetName()] = true
					if m.values[lp.GetName()] == nil {
						m.values[lp.GetName()] = map[string]bool{}
					}
					m.values[lp.GetName()][lp.GetValue()] = true
				}
			}
			if strings.HasSuffix(n, "_bucket") {
				m.labels["le"] = true
			}
			if fam.GetType() == dto.MetricType_SUMMARY && n == fname {
				m.labels["quantile"] = true
			}
			for _, l := range targetLabels() {
				m.labels[l] = true
			}
		}
	}
	return nil
}

func (k *Known) add(name, source string) *metric {
	m, ok := k.metrics[name]
	if !ok {
		m = &metric{labels: map[string]bool{}, values: map[string]map[string]bool{}, source: source}
		k.metrics[name] = m
	}
	return m
}

// Documented are values of enumerated labels the exporter documents but a
// golden exposition (one moment of one probe) cannot all show at once:
// wardprobe_icmp_socket_info{mode} is one of unprivileged, raw or
// unavailable (its HELP text in exporters/descs.go and the README's metric
// table); the golden file has raw.
func Documented() map[string]map[string][]string {
	return map[string]map[string][]string{
		"wardprobe_icmp_socket_info": {"mode": {"unprivileged", "raw", "unavailable"}},
	}
}

// AddDocumented adds the Documented values to metrics already known.
func (k *Known) AddDocumented() {
	for name, labels := range Documented() {
		m, ok := k.metrics[name]
		if !ok {
			continue
		}
		for l, vals := range labels {
			if m.values[l] == nil {
				m.values[l] = map[string]bool{}
			}
			for _, v := range vals {
				m.values[l][v] = true
			}
		}
	}
}

// AddRecorded adds a series made by a recording rule; its labels are not tracked.
func (k *Known) AddRecorded(name, source string) { k.add(name, source).anyLabel = true }

// AddPrometheus adds the series Prometheus itself makes: up and the scrape_
// series (with the target and location labels) and ALERTS (any labels).
func (k *Known) AddPrometheus() {
	for _, n := range []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"} {
		m := k.add(n, "Prometheus")
		for _, l := range append(targetLabels(), locationLabels()...) {
			m.labels[l] = true
		}
	}
	k.AddRecorded("ALERTS", "Prometheus")
	k.AddRecorded("ALERTS_FOR_STATE", "Prometheus")
}

// Parse parses a PromQL expression.
func Parse(expr string) (parser.Expr, error) {
	return parser.ParseExpr(expr)
}

// Selectors returns the vector selectors of a parsed expression.
func Selectors(e parser.Expr) []*parser.VectorSelector {
	var out []*parser.VectorSelector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs)
		}
		return nil
	})
	return out
}

// Check parses expr and returns every problem: a parse error, an unknown
// metric, a label the metric does not have, or an enumerated label value
// the exporter never uses.
func (k *Known) Check(expr string) []error {
	e, err := Parse(expr)
	if err != nil {
		return []error{fmt.Errorf("does not parse: %w", err)}
	}
	var errs []error
	for _, vs := range Selectors(e) {
		name := vs.Name
		if name == "" {
			errs = append(errs, fmt.Errorf("selector %s has no metric name", vs))
			continue
		}
		m, ok := k.metrics[name]
		if !ok {
			errs = append(errs, fmt.Errorf("metric %s is not exposed by the exporter (not in the golden /metrics) nor recorded", name))
			continue
		}
		if m.anyLabel {
			continue
		}
		for _, mt := range vs.LabelMatchers {
			if mt.Name == model.MetricNameLabel {
				continue
			}
			if !m.labels[mt.Name] {
				errs = append(errs, fmt.Errorf("metric %s has no label %q (it has %s)", name, mt.Name, keys(m.labels)))
				continue
			}
			if err := m.checkValue(name, mt); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// literalAlternation matches regexes that are plain a|b|c alternations.
var literalAlternation = regexp.MustCompile(`^[A-Za-z0-9_:-]+(\|[A-Za-z0-9_:-]+)*$`)

func (m *metric) checkValue(name string, mt *labels.Matcher) error {
	enumerated := false
	for _, l := range Enumerated() {
		if l == mt.Name {
			enumerated = true
		}
	}
	seen := m.values[mt.Name]
	if !enumerated || seen == nil {
		return nil
	}
	var vals []string
	switch mt.Type {
	case labels.MatchEqual, labels.MatchNotEqual:
		vals = []string{mt.Value}
	case labels.MatchRegexp, labels.MatchNotRegexp:
		if !literalAlternation.MatchString(mt.Value) {
			return nil
		}
		vals = strings.Split(mt.Value, "|")
	}
	for _, v := range vals {
		if !seen[v] {
			return fmt.Errorf("metric %s: %s=%q is never exported (values seen: %s)", name, mt.Name, v, keys(seen))
		}
	}
	return nil
}

func keys(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Join wraps every error with the context where, for messages.
func Join(where string, errs []error) error {
	var out []error
	for _, e := range errs {
		out = append(out, fmt.Errorf("%s: %w", where, e))
	}
	return errors.Join(out...)
}
