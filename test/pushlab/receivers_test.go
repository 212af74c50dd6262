package pushlab

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/wardprobe/wardprobe/test/lab"
)

// vmVersion is the VictoriaMetrics single-node release the lab builds.
const vmVersion = "v1.151.0"

// victoriaMetrics returns the path of a victoria-metrics binary built from
// the module proxy with `go install`, cached in the module's gitignored
// .cache/ so a run reuses the last one's (a fresh clone builds it once, in
// about a minute).
func victoriaMetrics(root string) (string, error) {
	dir := filepath.Join(root, ".cache", "victoria-metrics-"+vmVersion)
	bin := filepath.Join(dir, "victoria-metrics")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	cmd := exec.Command("go", "install", "github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@"+vmVersion)
	cmd.Dir = os.TempDir() // outside this module: its go.mod is not involved
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building victoria-metrics %s: %v: %s", vmVersion, err, out)
	}
	return bin, nil
}

// point is one raw sample read back from a store.
type point struct {
	T int64 // ms
	V float64
}

// equalWithin reports whether p and o have the same timestamp and values
// equal to within rel (relative).
func (p point) equalWithin(o point, rel float64) bool {
	if p.T != o.T {
		return false
	}
	if p.V == o.V || math.IsNaN(p.V) && math.IsNaN(o.V) {
		return true
	}
	return math.Abs(p.V-o.V) <= rel*math.Max(math.Abs(p.V), math.Abs(o.V))
}

// store is a remote-write receiver the lab reads back from.
type store interface {
	name() string
	// writeURL is the remote-write URL as the probe sees it.
	writeURL() string
	// raw returns every raw sample of the series matching selector between
	// start and end (inclusive), by series (labels.Labels.String()),
	// duplicates included where the store keeps them.
	raw(t *testing.T, selector string, start, end time.Time) map[string][]point
	// query runs an instant PromQL query and returns the number of results.
	query(t *testing.T, q string) (int, error)
	// precision is the relative error the store's float storage allows.
	precision() float64
	// port is the store's TCP port (the lab probe's tcp target).
	port() string
}

// api is an HTTP JSON API reached inside a namespace.
type api struct {
	c    *http.Client
	base string
}

func (a api) get(path string, q url.Values) ([]byte, error) {
	resp, err := a.c.Get(a.base + path + "?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %d: %.300s", path, resp.StatusCode, b)
	}
	return b, nil
}

// queryResult is the part of a Prometheus API query answer the lab reads.
type queryResult struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
	Error string `json:"error"`
}

func (a api) instant(q string, at time.Time) (queryResult, error) {
	var r queryResult
	v := url.Values{"query": {q}}
	if !at.IsZero() {
		v.Set("time", secs(at))
	}
	b, err := a.get("/api/v1/query", v)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, err
	}
	if r.Status != "success" {
		return r, fmt.Errorf("query %s: %s", q, r.Error)
	}
	return r, nil
}

// prometheus is Debian's Prometheus with the remote-write receiver on.
type prometheus struct {
	api
	addr string
}

func (p *prometheus) name() string       { return "Prometheus" }
func (p *prometheus) precision() float64 { return 0 } // float64 as written
func (p *prometheus) port() string       { return "9090" }
func (p *prometheus) writeURL() string   { return "http://" + p.addr + "/api/v1/write" }

// startPrometheus runs Prometheus in ns on addr with the remote-write
// receiver and an out-of-order window (as the README tells a receiving
// Prometheus to run).
func startPrometheus(t *testing.T, l *lab.Lab, ns, addr string) *prometheus {
	t.Helper()
	bin := lab.Tool(t, "prometheus")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("storage:\n  tsdb:\n    out_of_order_time_window: 1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := l.Start(ns, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--log.level=warn")
	c := lab.Client(ns)
	if err := lab.WaitOK(c, "http://"+addr+"/-/ready", p, 60*time.Second); err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	return &prometheus{api: api{c: c, base: "http://" + addr}, addr: addr}
}

// raw reads raw samples with a range-vector selector, which Prometheus
// answers with every stored sample in the range.
func (p *prometheus) raw(t *testing.T, selector string, start, end time.Time) map[string][]point {
	t.Helper()
	rng := end.Sub(start).Milliseconds() + 1
	r, err := p.instant(fmt.Sprintf("%s[%dms]", selector, rng), end)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	for _, s := range r.Data.Result {
		k := labels.FromMap(s.Metric).String()
		for _, v := range s.Values {
			ts, _ := v[0].(float64)
			val, _ := strconv.ParseFloat(fmt.Sprint(v[1]), 64)
			out[k] = append(out[k], point{T: int64(math.Round(ts * 1000)), V: val})
		}
	}
	return out
}

func (p *prometheus) query(t *testing.T, q string) (int, error) {
	r, err := p.instant(q, time.Time{})
	return len(r.Data.Result), err
}

// victoria is VictoriaMetrics single-node.
type victoria struct {
	api
	addr string
}

func (v *victoria) name() string { return "VictoriaMetrics" }

// precision: VictoriaMetrics stores a value as a decimal mantissa and
// exponent, which may change its last binary digit or two.
func (v *victoria) precision() float64 { return 1e-12 }
func (v *victoria) port() string       { return "8428" }
func (v *victoria) writeURL() string   { return "http://" + v.addr + "/api/v1/write" }

// startVictoria runs VictoriaMetrics in ns on addr. Queries see the newest
// samples at once (-search.latencyOffset=0; the default hides the last 30 s)
// and no deduplication is configured, so /api/v1/export shows any sample
// stored twice.
func startVictoria(t *testing.T, l *lab.Lab, bin, ns, addr string) *victoria {
	t.Helper()
	p := l.Start(ns, bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr, "-search.latencyOffset=0s",
		"-loggerLevel=WARN", "-retentionPeriod=1y")
	c := lab.Client(ns)
	if err := lab.WaitOK(c, "http://"+addr+"/health", p, 60*time.Second); err != nil {
		t.Fatalf("victoria-metrics: %v", err)
	}
	return &victoria{api: api{c: c, base: "http://" + addr}, addr: addr}
}

// raw reads raw samples with /api/v1/export (JSON lines of series with
// their values and timestamps), after asking VictoriaMetrics to make recent
// ingestion searchable.
func (v *victoria) raw(t *testing.T, selector string, start, end time.Time) map[string][]point {
	t.Helper()
	if _, err := v.get("/internal/force_flush", nil); err != nil {
		t.Fatal(err)
	}
	b, err := v.get("/api/v1/export", url.Values{"match[]": {selector},
		"start": {secs(start)}, "end": {secs(end)}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]point{}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	for dec.More() {
		var s struct {
			Metric     map[string]string `json:"metric"`
			Values     []any             `json:"values"`
			Timestamps []int64           `json:"timestamps"`
		}
		if err := dec.Decode(&s); err != nil {
			t.Fatal(err)
		}
		k := labels.FromMap(s.Metric).String()
		for i, ts := range s.Timestamps {
			val, _ := strconv.ParseFloat(fmt.Sprint(s.Values[i]), 64)
			out[k] = append(out[k], point{T: ts, V: val})
		}
	}
	return out
}

func (v *victoria) query(t *testing.T, q string) (int, error) {
	r, err := v.instant(q, time.Time{})
	return len(r.Data.Result), err
}

// secs formats t as Unix seconds with milliseconds.
func secs(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
