package exporters

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/kinds"
	"github.com/wardprobe/wardprobe/test/lab"
)

var update = flag.Bool("update", false, "rewrite testdata/metrics.golden")

const goldenConfig = `probe: {name: rex-blockb-f2-ward7-1}
location:
  site: Royal Example Hospital
  building: Block B
  floor: "2"
  ward: Ward 7
  spot: "Bay 3, nurses' station"
  x: 0.42
  y: 0.63
standard: voice
wifi:
  interface: wlan0
  ssids: [CLINICAL]
  connect_test:
    interface: wlan1
    ssid: CLINICAL
    eap: {method: peap, identity: probe-ward7, password_file: /etc/wardprobe/eap.pass, ca_file: /etc/wardprobe/radius-ca.pem}
targets:
  - {name: gateway, kind: icmp, address: gateway, interval: 1s}
  - {name: epr, kind: http, url: "https://epr.example.org/health", interval: 30s}
  - {name: dns-primary, kind: dns, server: "10.0.0.53:53", query: epr.example.org, interval: 30s}
  - {name: pacs, kind: tcp, address: "pacs.example.org:443", interval: 30s}
throughput: {url: "http://10.20.0.9:8080"}
`

// t0 is a fixed clock for the golden file.
var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// fakeResults are the probe results the golden exporter is fed, with the
// observations each kind's prober makes.
func fakeResults() []probe.Result {
	ms := time.Millisecond
	ob := probe.Ob
	var rs []probe.Result
	socket := ob("wardprobe_icmp_socket_info", 1, "raw")
	for i, rtt := range []time.Duration{3 * ms, 4 * ms, 12 * ms, 250 * ms} {
		rs = append(rs, probe.Result{Target: "gateway", Kind: "icmp", Time: t0.Add(time.Duration(i) * time.Second),
			Success: true, Duration: rtt, Jitter: 2 * ms, HaveJitter: true, Packets: 1,
			Observations: []probe.Observation{ob("wardprobe_icmp_packets_sent_total", 1), ob("wardprobe_icmp_rtt_seconds", rtt.Seconds()),
				ob("wardprobe_icmp_jitter_seconds", 0.002), socket}})
	}
	lost := probe.Fail("gateway", "icmp", probe.ReasonTimeout, "no reply")
	lost.Time, lost.Packets, lost.Jitter = t0.Add(5*time.Second), 1, 2*ms
	lost.Observations = []probe.Observation{ob("wardprobe_icmp_packets_sent_total", 1), ob("wardprobe_icmp_packets_lost_total", 1),
		ob("wardprobe_icmp_jitter_seconds", 0.002), socket}
	rs = append(rs, lost)
	phases := []probe.Observation{ob("wardprobe_http_status_code", 200), ob("wardprobe_http_body_bytes", 512),
		ob("wardprobe_http_tls_cert_expiry_timestamp_seconds", float64(t0.Add(90*24*time.Hour).Unix()))}
	for i, name := range []string{"resolve", "connect", "tls", "first_byte", "total"} {
		phases = append(phases, ob("wardprobe_http_duration_seconds", []float64{0.002, 0.005, 0.02, 0.04, 0.07}[i], name))
	}
	rs = append(rs,
		probe.Result{Target: "epr", Kind: "http", Time: t0, Success: true, Duration: 70 * ms, Summary: "HTTP 200", Observations: phases},
		probe.Result{Target: "dns-primary", Kind: "dns", Time: t0, Success: true, Duration: 8 * ms, Summary: "NOERROR",
			Observations: []probe.Observation{ob("wardprobe_dns_lookup_seconds", 0.008), ob("wardprobe_dns_responses_total", 1, "NOERROR")}},
		probe.Result{Target: "dns-primary", Kind: "dns", Time: t0.Add(30 * time.Second), Reason: probe.ReasonDNS, Duration: 9 * ms, Summary: "NXDOMAIN",
			Observations: []probe.Observation{ob("wardprobe_dns_lookup_seconds", 0.009), ob("wardprobe_dns_responses_total", 1, "NXDOMAIN")}},
		probe.Result{Target: "pacs", Kind: "tcp", Time: t0, Reason: probe.ReasonRefused},
		probe.Result{Target: "removed-target", Kind: "icmp", Time: t0, Success: true, Packets: 1,
			Observations: []probe.Observation{ob("wardprobe_icmp_packets_sent_total", 1)}},
	)
	return rs
}

func goldenServer(t *testing.T) (*Server, *Exporter) {
	t.Helper()
	cfg, err := kinds.Parse("golden.yml", []byte(goldenConfig))
	if err != nil {
		t.Fatal(err)
	}
	e := New("test", kinds.All(), cfg, t0)
	for _, r := range fakeResults() {
		e.Observe(r)
	}
	feedThroughput(e) // exporters/throughput_test.go
	feedWiFi(e)       // exporters/golden_wifi_test.go
	feedConnect(e)    // exporters/connect_test.go
	s := NewServer(e, ServerOptions{Reload: func() error { return nil }, EnableLifecycle: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Redact: &secret.Redactor{}})
	return s, e
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// wardprobeOnly keeps the wardprobe_ families (Go and process metrics vary by
// machine) and pins the Go version.
func wardprobeOnly(text string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if strings.HasPrefix(name, "wardprobe_") {
			out = append(out, line)
		}
	}
	s := strings.Join(out, "\n") + "\n"
	return strings.ReplaceAll(s, `goversion="`+runtime.Version()+`"`, `goversion="GOVERSION"`)
}

func TestMetricsGolden(t *testing.T) {
	s, _ := goldenServer(t)
	got := wardprobeOnly(scrape(t, s.Handler()))
	path := filepath.Join("testdata", "metrics.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./exporters -run Golden -update)", err)
	}
	if got != string(want) {
		t.Errorf("/metrics differs from %s (rerun with -update if intended):\n%s", path, diff(string(want), got))
	}
}

func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	seen := map[string]bool{}
	for _, l := range wl {
		seen[l] = true
	}
	for _, l := range gl {
		if !seen[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	seen = map[string]bool{}
	for _, l := range gl {
		seen[l] = true
	}
	for _, l := range wl {
		if !seen[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	return b.String()
}

// TestMetricsPromtool runs promtool check metrics over the whole scrape.
func TestMetricsPromtool(t *testing.T) {
	s, _ := goldenServer(t)
	promtoolCheck(t, scrape(t, s.Handler()))
}

// promtoolCheck runs promtool check metrics over a scrape. The contract
// names some metrics in bits per second, which promtool's lint would have in
// bytes: that advice, for exactly those names, is accepted (exit code 3).
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	cmd := exec.Command(lab.Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if other := unexpectedLint(out.String()); err != nil && (cmd.ProcessState.ExitCode() != 3 || len(other) > 0) {
		t.Errorf("promtool check metrics: %v\n%s", err, strings.Join(other, "\n"))
	}
}

func TestEveryWardprobeSeriesHasLocationLabels(t *testing.T) {
	s, _ := goldenServer(t)
	text := scrape(t, s.Handler())
	re := regexp.MustCompile(`^[a-z_]+\{`)
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !re.MatchString(line) {
			t.Errorf("series without labels: %s", line)
			continue
		}
		for _, l := range LocationLabelNames() {
			if !strings.Contains(line, l+`="`) {
				t.Errorf("series lacks %s: %s", l, line)
			}
		}
	}
}

func TestReloadKeepsCountersOfUnchangedTargets(t *testing.T) {
	_, e := goldenServer(t)
	cfg, err := kinds.Parse("new.yml", []byte(strings.Replace(goldenConfig,
		`  - {name: pacs, kind: tcp, address: "pacs.example.org:443", interval: 30s}`,
		`  - {name: pacs, kind: icmp, address: "pacs.example.org", interval: 5s}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.Apply(cfg)
	byName := map[string]TargetStatus{}
	for _, st := range e.Targets() {
		byName[st.Name] = st
	}
	if g := byName["gateway"]; g.PacketsSent != 5 || g.PacketsLost != 1 {
		t.Errorf("gateway counters after reload: sent %d lost %d, want 5 1", g.PacketsSent, g.PacketsLost)
	}
	if p := byName["pacs"]; p.Kind != "icmp" || p.Probes != 0 {
		t.Errorf("pacs changed kind, its state must start afresh: %+v", p)
	}
	if _, ok := byName["removed-target"]; ok {
		t.Error("a result for an unconfigured target created state")
	}
}

func TestWebEndpoints(t *testing.T) {
	s, _ := goldenServer(t)
	calls := 0
	s.opts.Reload = func() error { calls++; return nil }
	tests := []struct {
		method, path string
		want         int
		contains     string
	}{
		{"GET", "/", 200, "Ward 7"},
		{"GET", "/", 200, "Bay 3, nurses&#39; station"},
		{"GET", "/-/healthy", 200, "Healthy"},
		{"GET", "/-/reload", 405, "POST"},
		{"POST", "/-/reload", 200, "reloaded"},
		{"GET", "/nope", 404, ""},
		{"DELETE", "/", 405, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
		if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.contains) {
			t.Errorf("%s %s: %d, want %d containing %q:\n%.300s", tt.method, tt.path, rec.Code, tt.want, tt.contains, rec.Body.String())
		}
	}
	if calls != 1 {
		t.Errorf("reload called %d times, want 1", calls)
	}
}

// TestLandingPageShowsEverySection renders the landing page of the golden
// exporter: location, Wi-Fi and coverage in words, targets, throughput.
func TestLandingPageShowsEverySection(t *testing.T) {
	s, _ := goldenServer(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	for _, want := range []string{
		"Royal Example Hospital", "Block B", "Ward 7", // location
		"CLINICAL", "good", // Wi-Fi and coverage in words
		"gateway", "refused — the service refused the connection", // targets
		"This spot is NOT OK", "pacs (tcp): down: the service refused the connection", // the verdict and what fails
		"95.0 Mbit/s down", "latency idle", "last test failed: stalled", // throughput
	} {
		if !strings.Contains(page, want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
}

// TestGatherAndLint lints every metric family with client_golang's own
// linter, and gathers through a pedantic registry, which checks that every
// collected metric matches a described one.
func TestGatherAndLint(t *testing.T) {
	_, e := goldenServer(t)
	problems, err := testutil.GatherAndLint(e.Gatherer())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		// The contract names throughput in bits per second; the linter would have bytes.
		if strings.HasSuffix(p.Metric, "_bits_per_second") && strings.Contains(p.Text, "base unit") {
			continue
		}
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(e.wifiC); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(e.tpC); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("pedantic gather: %v", err)
	}
}

// TestLabelValuesFromOutsideAreSafe feeds label values that are not UTF-8
// (a Latin-1 SSID, a host name) through every path that makes labels: no
// panic at start or at scrape, and the values come out escaped.
func TestLabelValuesFromOutsideAreSafe(t *testing.T) {
	cfg, err := kinds.Parse("t.yml", []byte("probe: {name: p}\ntargets: [{name: dns, kind: dns, query: x}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Probe.Name = "host\xff" // as a host name could be
	e := New("test", kinds.All(), cfg, t0)
	e.Observe(probe.Result{Target: "dns", Kind: "dns", Time: t0, Observations: []probe.Observation{
		probe.Ob("wardprobe_dns_responses_total", 1, "NO\xe9ERROR")}})
	w := goldenWiFi()
	w.Link.SSID = "Caf\xe9"
	w.Neighbors[1].SSID = "Caf\xe9"
	e.SetWiFi(w)
	mfs, err := e.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				text.WriteString(l.GetValue() + "\n")
			}
		}
	}
	for _, want := range []string{`host\xff`, `NO\xe9ERROR`, `Caf\xe9`} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("no label value %q", want)
		}
	}
}

// TestReloadEndpointOffByDefault: without --web.enable-lifecycle nobody on
// the ward network can reload the config over HTTP.
func TestReloadEndpointOffByDefault(t *testing.T) {
	_, e := goldenServer(t)
	calls := 0
	s := NewServer(e, ServerOptions{Reload: func() error { calls++; return nil },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Redact: &secret.Redactor{}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/-/reload", nil))
	if rec.Code != 403 || calls != 0 || !strings.Contains(rec.Body.String(), "--web.enable-lifecycle") {
		t.Errorf("POST /-/reload without the flag: %d, %d reloads: %s", rec.Code, calls, rec.Body)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func e2eRedactor() *secret.Redactor { return &secret.Redactor{} }

func TestAddLabels(t *testing.T) {
	pair := func(n, v string) *dto.LabelPair { return &dto.LabelPair{Name: &n, Value: &v} }
	loc := []*dto.LabelPair{pair("building", "B"), pair("site", "S")}
	tests := []struct {
		name string
		own  []*dto.LabelPair
		want string
	}{
		{"none of its own", nil, "building=B site=S"},
		{"interleaved", []*dto.LabelPair{pair("a", "1"), pair("kind", "icmp"), pair("target", "gw")}, "a=1 building=B kind=icmp site=S target=gw"},
		{"a label named like a location label gives way", []*dto.LabelPair{pair("site", "mine")}, "building=B site=S"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mfs := []*dto.MetricFamily{{Metric: []*dto.Metric{{Label: tt.own}}}}
			addLabels(mfs, loc)
			var got []string
			for _, l := range mfs[0].Metric[0].Label {
				got = append(got, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("labels %q, want %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// countingCollector makes one const gauge per Collect, its value the count.
type countingCollector struct {
	desc *prometheus.Desc
	n    float64
}

func (c *countingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *countingCollector) Collect(ch chan<- prometheus.Metric) {
	c.n++
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, c.n)
}

func TestCachedCollector(t *testing.T) {
	inner := &countingCollector{desc: prometheus.NewDesc("x", "x", nil, nil)}
	cc := &cachedCollector{c: inner, ttl: 50 * time.Millisecond}
	reg := prometheus.NewRegistry()
	reg.MustRegister(cc)
	value := func() float64 {
		mfs, err := reg.Gather()
		if err != nil || len(mfs) != 1 {
			t.Fatalf("gather: %v %v", mfs, err)
		}
		return mfs[0].Metric[0].GetGauge().GetValue()
	}
	if a, b := value(), value(); a != 1 || b != 1 {
		t.Errorf("within the ttl: %v then %v, want the first collection twice", a, b)
	}
	time.Sleep(60 * time.Millisecond)
	if v := value(); v != 2 {
		t.Errorf("after the ttl: %v, want a fresh collection (2)", v)
	}
}
