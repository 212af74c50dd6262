package lab

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Build compiles the wardprobe command as a static binary into dir and
// returns its path. root is the module root.
func Build(root, dir string) (string, error) {
	bin := filepath.Join(dir, "wardprobe")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=lab", "-o", bin, "./cmd/wardprobe")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building wardprobe: %v: %s", err, out)
	}
	return bin, nil
}

// ModuleRoot finds the module root above the calling test's directory.
func ModuleRoot() (string, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", file)
		}
		dir = parent
	}
}

// Daemon is a real wardprobe process running in a namespace, listening on
// 127.0.0.1:9810 inside it.
type Daemon struct {
	*Proc
	NS         string
	ConfigPath string
	URL        string
}

// Wardprobe writes configYAML to a file and starts bin with it in ns.
func (l *Lab) Wardprobe(bin, ns, configYAML string, args ...string) *Daemon {
	l.t.Helper()
	path := filepath.Join(l.t.TempDir(), "wardprobe.yml")
	if err := os.WriteFile(path, []byte(configYAML), 0o600); err != nil {
		l.t.Fatal(err)
	}
	d := l.WardprobeArgs(ns, "http://127.0.0.1:9810",
		append([]string{bin, "run", "--config", path, "--web.listen-address", "127.0.0.1:9810", "--log.level", "debug"}, args...)...)
	d.ConfigPath = path
	return d
}

// WardprobeArgs starts wardprobe in ns with exactly the command line cmd and
// waits until it answers at url.
func (l *Lab) WardprobeArgs(ns, url string, cmd ...string) *Daemon {
	l.t.Helper()
	d := &Daemon{Proc: l.Start(ns, cmd...), NS: ns, URL: url}
	if err := d.WaitReady(20 * time.Second); err != nil {
		l.t.Fatalf("wardprobe did not come up: %v", err)
	}
	return d
}

// WaitReady polls /-/ready until it answers or timeout passes.
func (d *Daemon) WaitReady(timeout time.Duration) error {
	return WaitOK(Client(d.NS), d.URL+"/-/ready", d.Proc, timeout)
}

// Get fetches path from the daemon and returns status and body.
func (d *Daemon) Get(path string) (int, string, error) {
	resp, err := Client(d.NS).Get(d.URL + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, string(b), err
}

// Metrics scrapes /metrics.
func (d *Daemon) Metrics() (Samples, error) {
	code, body, err := d.Get("/metrics")
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("/metrics answered %d", code)
	}
	return ParseSamples(body)
}

// WaitFor scrapes until cond holds or timeout passes, and returns the last samples.
func (d *Daemon) WaitFor(t testing.TB, timeout time.Duration, what string, cond func(Samples) bool) Samples {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var s Samples
	var err error
	for {
		s, err = d.Metrics()
		if err == nil && cond(s) {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting %s for %s: last error %v; last samples:\n%s", timeout, what, err, s.Grep("wardprobe_"))
			return s
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Sample is one series and its value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples are the series of one scrape, flattened as in the text format
// (histograms give _bucket, _sum and _count series).
type Samples []Sample

// ParseSamples parses the Prometheus text format.
func ParseSamples(text string) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	var out Samples
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			add := func(n string, v float64, extra ...string) {
				l := labels
				if len(extra) == 2 {
					l = map[string]string{}
					for k, v := range labels {
						l[k] = v
					}
					l[extra[0]] = extra[1]
				}
				out = append(out, Sample{Name: n, Labels: l, Value: v})
			}
			switch {
			case m.Gauge != nil:
				add(name, m.GetGauge().GetValue())
			case m.Counter != nil:
				add(name, m.GetCounter().GetValue())
			case m.Untyped != nil:
				add(name, m.GetUntyped().GetValue())
			case m.Histogram != nil:
				h := m.GetHistogram()
				add(name+"_count", float64(h.GetSampleCount()))
				add(name+"_sum", h.GetSampleSum())
				for _, b := range h.GetBucket() {
					add(name+"_bucket", float64(b.GetCumulativeCount()), "le", fmt.Sprint(b.GetUpperBound()))
				}
				add(name+"_bucket", float64(h.GetSampleCount()), "le", "+Inf")
			case m.Summary != nil:
				add(name+"_count", float64(m.GetSummary().GetSampleCount()))
				add(name+"_sum", m.GetSummary().GetSampleSum())
			}
		}
	}
	return out, nil
}

// Get returns the value of the first series named name whose labels include
// every pair in match ("key", "value", ...), and whether there was one.
func (s Samples) Get(name string, match ...string) (float64, bool) {
	for _, x := range s {
		if x.Name != name || !x.matches(match) {
			continue
		}
		return x.Value, true
	}
	return math.NaN(), false
}

// Value is Get returning NaN when absent.
func (s Samples) Value(name string, match ...string) float64 {
	v, _ := s.Get(name, match...)
	return v
}

// All returns every series named name matching match.
func (s Samples) All(name string, match ...string) Samples {
	var out Samples
	for _, x := range s {
		if x.Name == name && x.matches(match) {
			out = append(out, x)
		}
	}
	return out
}

func (x Sample) matches(match []string) bool {
	for i := 0; i+1 < len(match); i += 2 {
		if x.Labels[match[i]] != match[i+1] {
			return false
		}
	}
	return true
}

// Grep renders the series whose name starts with prefix, sorted, for messages.
func (s Samples) Grep(prefix string) string {
	var lines []string
	for _, x := range s {
		if !strings.HasPrefix(x.Name, prefix) {
			continue
		}
		var ls []string
		for k, v := range x.Labels {
			if k == "site" || k == "building" || k == "floor" || k == "ward" || k == "probe" {
				continue
			}
			ls = append(ls, fmt.Sprintf("%s=%q", k, v))
		}
		sort.Strings(ls)
		lines = append(lines, fmt.Sprintf("%s{%s} %g", x.Name, strings.Join(ls, ","), x.Value))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
