package push

import (
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardprobe/wardprobe/exporters/push/queue"
)

// flattener turns gathered metric families into samples, one per series, as
// a Prometheus scrape of the same families would store them: a counter,
// gauge or untyped metric is one series; a summary is one series per
// quantile plus _sum and _count; a histogram (classic buckets) is one
// _bucket series per upper bound with le (including "+Inf") plus _sum and
// _count. Native histogram buckets are not sent (remote write 1.0 carries
// them in a separate message type; wardprobe exposes none).
type flattener struct {
	b labels.ScratchBuilder
}

// flatten appends the samples of mfs to out. Each sample has the metric's
// own timestamp if it carries one, else now (ms).
func (f *flattener) flatten(mfs []*dto.MetricFamily, now int64, out []queue.Sample) []queue.Sample {
	for _, mf := range mfs {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			t := now
			if m.TimestampMs != nil {
				t = m.GetTimestampMs()
			}
			add := func(suffix string, v float64, extra ...string) {
				out = append(out, queue.Sample{Labels: f.labels(name+suffix, m.GetLabel(), extra...), T: t, V: v})
			}
			switch {
			case m.Counter != nil:
				add("", m.Counter.GetValue())
			case m.Gauge != nil:
				add("", m.Gauge.GetValue())
			case m.Untyped != nil:
				add("", m.Untyped.GetValue())
			case m.Summary != nil:
				s := m.Summary
				for _, q := range s.GetQuantile() {
					add("", q.GetValue(), "quantile", formatFloat(q.GetQuantile()))
				}
				add("_sum", s.GetSampleSum())
				add("_count", float64(s.GetSampleCount()))
			case m.Histogram != nil:
				h := m.Histogram
				count := float64(h.GetSampleCount())
				if h.SampleCountFloat != nil {
					count = h.GetSampleCountFloat()
				}
				inf := false
				for _, b := range h.GetBucket() {
					c := float64(b.GetCumulativeCount())
					if b.CumulativeCountFloat != nil {
						c = b.GetCumulativeCountFloat()
					}
					inf = inf || math.IsInf(b.GetUpperBound(), +1)
					add("_bucket", c, "le", formatFloat(b.GetUpperBound()))
				}
				if !inf {
					add("_bucket", count, "le", "+Inf")
				}
				add("_sum", h.GetSampleSum())
				add("_count", count)
			}
		}
	}
	return out
}

// labels builds a series' label set: __name__, the metric's labels and extra
// name/value pairs. A label with an empty value is left out, as a scrape
// stores it (an empty label is no label).
func (f *flattener) labels(name string, lps []*dto.LabelPair, extra ...string) labels.Labels {
	f.b.Reset()
	f.b.Add(model.MetricNameLabel, name)
	for _, lp := range lps {
		if lp.GetValue() != "" {
			f.b.Add(lp.GetName(), lp.GetValue())
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f.b.Add(extra[i], extra[i+1])
	}
	f.b.Sort()
	return f.b.Labels()
}

// formatFloat formats le and quantile values as the text exposition format
// does (so pushed series match scraped ones): shortest 'g' form, "+Inf".
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
