package exporters

import (
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe/kinds"
	"github.com/wardprobe/wardprobe/probe/throughput"
)

const throughputConfig = `probe: {name: p1}
location: {site: S, building: B, floor: "1", ward: W}
throughput:
  url: http://user:secret@10.20.0.9:8080
`

func throughputResults() []throughput.Result {
	ok := throughput.Result{Start: t0, Duration: 9 * time.Second, Mode: "onprem", Success: true,
		IdleLatency: 2 * time.Millisecond, SentBytes: 6_000_000, ReceivedBytes: 12_000_000,
		Download: throughput.Direction{Ran: true, BitsPerSecond: 95e6, Latency: 40 * time.Millisecond, Settled: true},
		Upload:   throughput.Direction{Ran: true, BitsPerSecond: 48e6, Latency: 90 * time.Millisecond, Capped: true}}
	failed := throughput.Result{Start: t0.Add(30 * time.Minute), Duration: 4 * time.Second, Mode: "onprem",
		Reason: throughput.ReasonStalled, ReceivedBytes: 1_000_000, SentBytes: 1000}
	return []throughput.Result{ok, failed}
}

// feedThroughput gives the golden exporter throughput results and a budget.
func feedThroughput(e *Exporter) {
	for _, r := range throughputResults() {
		e.ObserveThroughput(r)
	}
	e.SetThroughputBudget(throughput.BudgetStatus{Limit: 2 << 30, Used: 19_001_000, Skipped: 0})
}

func throughputScrape(t *testing.T, results []throughput.Result, budget *throughput.BudgetStatus) string {
	t.Helper()
	cfg, err := kinds.Parse("t.yml", []byte(throughputConfig))
	if err != nil {
		t.Fatal(err)
	}
	e := New("test", kinds.All(), cfg, t0)
	for _, r := range results {
		e.ObserveThroughput(r)
	}
	if budget != nil {
		e.SetThroughputBudget(*budget)
	}
	s := NewServer(e, ServerOptions{Reload: func() error { return nil }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Redact: &secret.Redactor{}})
	return scrape(t, s.Handler())
}

// want is one expected series: name, extra labels (beyond the location), value.
type want struct {
	name   string
	labels []string
	value  float64
}

func TestThroughputMetrics(t *testing.T) {
	tests := []struct {
		name    string
		results []throughput.Result
		budget  *throughput.BudgetStatus
		want    []want
		absent  []string // metric names that must not appear
	}{
		{"before any test", nil, nil,
			[]want{{"wardprobe_throughput_info", []string{"mode", "onprem", "server", "http://10.20.0.9:8080"}, 1},
				{"wardprobe_throughput_tests_total", nil, 0},
				{"wardprobe_throughput_bytes_total", []string{"direction", "download"}, 0}},
			[]string{"wardprobe_throughput_bits_per_second", "wardprobe_throughput_last_success_timestamp_seconds", "wardprobe_throughput_budget_paused"}},
		{"success then failure", throughputResults(), &throughput.BudgetStatus{Limit: 1 << 30, Used: 19_001_000, Skipped: 2, Paused: true},
			[]want{
				{"wardprobe_throughput_bits_per_second", []string{"direction", "download"}, 95e6},
				{"wardprobe_throughput_bits_per_second", []string{"direction", "upload"}, 48e6},
				{"wardprobe_throughput_bytes_total", []string{"direction", "download"}, 13e6},
				{"wardprobe_throughput_bytes_total", []string{"direction", "upload"}, 6_001_000},
				{"wardprobe_throughput_last_success_timestamp_seconds", nil, float64(t0.Add(9 * time.Second).Unix())},
				{"wardprobe_throughput_last_test_timestamp_seconds", nil, float64(t0.Add(30*time.Minute + 4*time.Second).Unix())},
				{"wardprobe_throughput_latency_seconds", []string{"phase", "idle"}, 0.002},
				{"wardprobe_throughput_latency_seconds", []string{"phase", "download"}, 0.04},
				{"wardprobe_throughput_latency_seconds", []string{"phase", "upload"}, 0.09},
				{"wardprobe_throughput_tests_total", nil, 2},
				{"wardprobe_throughput_failures_total", []string{"reason", "stalled"}, 1},
				{"wardprobe_throughput_last_test_success", nil, 0},
				{"wardprobe_throughput_last_test_duration_seconds", nil, 4},
				{"wardprobe_throughput_last_test_bytes", nil, 1_001_000},
				{"wardprobe_throughput_capped_total", []string{"direction", "upload"}, 1},
				{"wardprobe_throughput_capped_total", []string{"direction", "download"}, 0},
				{"wardprobe_throughput_budget_bytes", nil, 1 << 30},
				{"wardprobe_throughput_budget_used_bytes", nil, 19_001_000},
				{"wardprobe_throughput_budget_paused", nil, 1},
				{"wardprobe_throughput_budget_skipped_total", nil, 2},
			}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := throughputScrape(t, tc.results, tc.budget)
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				got, ok := seriesValue(fams, w.name, append([]string{"site", "S", "building", "B", "floor", "1", "ward", "W", "probe", "p1"}, w.labels...))
				if !ok || got != w.value {
					t.Errorf("%s%v = %v (present %v), want %v", w.name, w.labels, got, ok, w.value)
				}
			}
			for _, a := range tc.absent {
				if _, ok := fams[a]; ok {
					t.Errorf("%s present, want absent", a)
				}
			}
			if strings.Contains(text, "secret") {
				t.Error("the target URL's password leaked into the metrics")
			}
		})
	}
}

// seriesValue returns the value of the series of family name whose labels
// are exactly labels (pairs).
func seriesValue(fams map[string]*dto.MetricFamily, name string, labels []string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		match := true
		for _, lp := range m.GetLabel() {
			found := false
			for i := 0; i+1 < len(labels); i += 2 {
				found = found || (labels[i] == lp.GetName() && labels[i+1] == lp.GetValue())
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func TestThroughputAbsentWhenNotConfigured(t *testing.T) {
	cfg, err := kinds.Parse("t.yml", []byte("probe: {name: p1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := New("test", kinds.All(), cfg, t0)
	e.ObserveThroughput(throughputResults()[0])
	s := NewServer(e, ServerOptions{Reload: func() error { return nil }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Redact: &secret.Redactor{}})
	if text := scrape(t, s.Handler()); strings.Contains(text, "wardprobe_throughput_") {
		t.Errorf("throughput series without a throughput config:\n%s", grepLines(text, "wardprobe_throughput_"))
	}
}

func TestThroughputMetricsPromtool(t *testing.T) {
	promtoolCheck(t, throughputScrape(t, throughputResults(), &throughput.BudgetStatus{Limit: 1 << 30}))
}

// unexpectedLint returns promtool's lint lines other than its advice to use
// bytes for the contract's metrics named in bits per second, which is accepted.
func unexpectedLint(out string) []string {
	contractBits := regexp.MustCompile(`^wardprobe_(throughput_bits_per_second|wifi_(transmit|receive)_bitrate_bits_per_second) use base unit "bytes" instead of "bits"$`)
	var other []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !contractBits.MatchString(l) {
			other = append(other, l)
		}
	}
	return other
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
