package push

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func TestFlatten(t *testing.T) {
	// Every series a scrape of the text exposition would store, with the
	// same labels and values: the text output of the same registry is the
	// reference.
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "wardprobe_icmp_rtt_seconds", Help: "h",
		Buckets: []float64{0.0005, 0.001, 0.02, 1, 5}}, []string{"target"})
	h.WithLabelValues("gateway").Observe(0.0123)
	h.WithLabelValues("gateway").Observe(7)
	s := prometheus.NewSummary(prometheus.SummaryOpts{Name: "wardprobe_test_summary_seconds", Help: "s",
		Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001}})
	s.Observe(1.5)
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_target_failures_total", Help: "c"}, []string{"target", "reason"})
	c.WithLabelValues("epr", "timeout").Add(3)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "wardprobe_wifi_signal_dbm", Help: "g",
		ConstLabels: prometheus.Labels{"ward": "Ward 7 (St Mary's)", "interface": ""}})
	g.Set(-67)
	reg.MustRegister(h, s, c, g)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var f flattener
	got := f.flatten(mfs, 1700000000000, nil)
	var lines []string
	for _, smp := range got {
		if smp.T != 1700000000000 {
			t.Errorf("timestamp %d", smp.T)
		}
		lines = append(lines, smp.Labels.String()+" "+formatFloat(smp.V))
	}
	// The reference: parse the text exposition into the same form.
	var text strings.Builder
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for _, l := range strings.Split(text.String(), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		want = append(want, textToSeries(t, l))
	}
	slices.Sort(lines)
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Fatalf("flattened:\n%s\nscrape would store:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(lines) != (5+1+2)+(2+2)+1+1 {
		t.Errorf("%d series", len(lines))
	}
}

// textToSeries turns a text exposition line `name{a="b"} v` into the form
// labels.Labels.String() prints, `{__name__="name", a="b"} v`.
func textToSeries(t *testing.T, l string) string {
	t.Helper()
	sp := strings.LastIndexByte(l, ' ')
	series, v := l[:sp], l[sp+1:]
	name, rest, hasLabels := strings.Cut(series, "{")
	out := `{__name__="` + name + `"`
	if hasLabels {
		rest = strings.TrimSuffix(rest, "}")
		// Sort the label pairs by name as labels.Labels does.
		pairs := splitPairs(rest)
		slices.Sort(pairs)
		for _, p := range pairs {
			if !strings.HasSuffix(p, `=""`) { // a scrape drops empty labels
				out += ", " + p
			}
		}
	}
	return out + "} " + v
}

// splitPairs splits `a="x",b="y, z"` at commas outside quotes.
func splitPairs(s string) []string {
	var out []string
	inQ, esc, start := false, false, 0
	for i, r := range s {
		switch {
		case esc:
			esc = false
		case r == '\\':
			esc = true
		case r == '"':
			inQ = !inQ
		case r == ',' && !inQ:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
