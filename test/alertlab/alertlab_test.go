// Package alertlab is the end-to-end test of wardprobe's Prometheus rules:
// a real Prometheus (Debian's) scrapes a real wardprobe in a namespace lab
// with the shipped scrape config and rules, faults are injected into the
// lab network, and the alerts are read back from Prometheus's API. It also
// runs every dashboard query against that Prometheus and syncs the floor
// plan from wardprobe_probe_info.
package alertlab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/dashboards"
	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/test/lab"
)

// wardprobeBin is the binary under test, built once by TestMain.
var wardprobeBin string

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, &wardprobeBin, nil))
}

// The lab's location, as in the probe's config and its targets entry.
const (
	site     = "Lab Hospital"
	building = "Block L"
	floor    = "1"
	ward     = "Ward Lab"
	probe    = "alertlab-1"
	posX     = 0.3
	posY     = 0.7
)

// shortFor is the `for:` every alert gets in the lab's copy of the rules;
// the expressions and windows are the shipped ones.
const shortFor = "5s"

// deployDir is deploy/prometheus from the module root.
func deployDir(t *testing.T) string {
	t.Helper()
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, "deploy", "prometheus")
}

// prometheusConfig writes the lab's Prometheus config into dir: the shipped
// prometheus.yml with 1 s scrapes and evaluations, the targets file pointing
// at the lab's wardprobe, the shipped recording rules and the shipped alert
// rules with every `for:` shortened to shortFor.
func prometheusConfig(t *testing.T, dir string) string {
	t.Helper()
	src := deployDir(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alerts := regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAll(read("alert-rules.yml"), []byte("${1} "+shortFor))
	rec := write("recording-rules.yml", read("recording-rules.yml"))
	al := write("alert-rules.yml", alerts)
	targets := []map[string]any{{
		"targets": []string{"127.0.0.1"}, // the shipped relabelling adds :9810
		"labels":  map[string]string{"probe": probe, "site": site, "building": building, "floor": floor, "ward": ward},
	}}
	tb, err := yaml.Marshal(targets)
	if err != nil {
		t.Fatal(err)
	}
	tf := write("wardprobe-targets.yml", tb)

	var cfg map[string]any
	if err := yaml.Unmarshal(read("prometheus.yml"), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"}
	cfg["rule_files"] = []string{rec, al}
	delete(cfg, "alerting")
	jobs := cfg["scrape_configs"].([]any)
	if len(jobs) != 1 {
		t.Fatalf("prometheus.yml has %d scrape jobs, the lab expects 1", len(jobs))
	}
	job := jobs[0].(map[string]any)
	if job["job_name"] != "wardprobe" || job["honor_labels"] != true {
		t.Fatalf("prometheus.yml: job %v honor_labels %v", job["job_name"], job["honor_labels"])
	}
	job["scrape_interval"], job["scrape_timeout"] = "1s", "900ms"
	job["file_sd_configs"] = []any{map[string]any{"files": []string{tf}, "refresh_interval": "1s"}}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return write("prometheus.yml", b)
}

// promAPI talks to the lab's Prometheus.
type promAPI struct {
	c    *http.Client
	base string
}

func (p promAPI) get(t *testing.T, path string, q url.Values, v any) error {
	t.Helper()
	u := p.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	resp, err := p.c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s: %s: %.300s", path, resp.Status, b)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

type alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"`
	Value  string            `json:"value"`
}

func (a alert) String() string {
	return fmt.Sprintf("%s{target=%q} %s", a.Labels["alertname"], a.Labels["target"], a.State)
}

func (p promAPI) alerts(t *testing.T) []alert {
	t.Helper()
	var d struct {
		Alerts []alert `json:"alerts"`
	}
	if err := p.get(t, "/api/v1/alerts", nil, &d); err != nil {
		t.Fatalf("reading alerts: %v", err)
	}
	return d.Alerts
}

// firing returns the firing alerts as "Name" or "Name/target".
func firing(as []alert) map[string]alert {
	out := map[string]alert{}
	for _, a := range as {
		if a.State != "firing" {
			continue
		}
		k := a.Labels["alertname"]
		if tg := a.Labels["target"]; tg != "" {
			k += "/" + tg
		}
		out[k] = a
	}
	return out
}

func names(m map[string]alert) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// waitAlerts polls Prometheus's alerts until cond holds or timeout passes.
func (p promAPI) waitAlerts(t *testing.T, timeout time.Duration, what string, cond func(map[string]alert) bool) map[string]alert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f := firing(p.alerts(t))
		if cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; firing: %v", timeout, what, names(f))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestInjectedFaultsFireTheRightAlerts(t *testing.T) {
	promBin := promcheck.Tool(t, "prometheus")
	l := lab.New(t)
	start := time.Now()
	probeNS, peerNS := l.Netns("p"), l.Netns("q")
	probeIf, peerIf := l.Veth(probeNS, "10.78.0.1/24", peerNS, "10.78.0.2/24")

	// A healthy TCP service on the peer.
	ln := l.Listen(peerNS, "10.78.0.2:8080")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()

	// 10.78.0.99 is an unused address in the lab's subnet: nothing answers
	// there (ARP fails) and nothing leaves the namespaces.
	cfg := fmt.Sprintf(`probe: {name: %s}
location: {site: %s, building: %s, floor: "%s", ward: %s, spot: "Lab bench", x: %v, y: %v}
wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.78.0.2, interval: 200ms, timeout: 500ms}
  - {name: ghost, kind: icmp, address: 10.78.0.99, interval: 200ms, timeout: 500ms}
  - {name: peer-svc, kind: tcp, address: "10.78.0.2:8080", interval: 1s, timeout: 500ms}
  - {name: ghost-svc, kind: tcp, address: "10.78.0.99:443", interval: 1s, timeout: 500ms}
  - {name: ghost-dns, kind: dns, server: 10.78.0.99, query: epr.lab, interval: 1s, timeout: 500ms}
`, probe, site, building, floor, ward, posX, posY, probeIf)
	d := l.Wardprobe(wardprobeBin, probeNS, cfg)

	dir := t.TempDir()
	promCfg := prometheusConfig(t, dir)
	prom := l.Start(probeNS, promBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:9090", "--log.level=warn")
	api := promAPI{c: lab.Client(probeNS), base: "http://127.0.0.1:9090"}
	if err := lab.WaitOK(api.c, api.base+"/-/ready", prom, 30*time.Second); err != nil {
		t.Fatalf("prometheus: %v", err)
	}

	// 1. Faults present from the start: an unreachable ICMP target, TCP
	// service and DNS server; and the probe's "Wi-Fi" interface is a veth,
	// which is no Wi-Fi adapter at all.
	want := []string{"WardHighPacketLoss/ghost", "WardServiceUnreachable/ghost-svc", "WardDNSFailing/ghost-dns", "WardWiFiDisconnected"}
	f := api.waitAlerts(t, 60*time.Second, fmt.Sprint(want), func(f map[string]alert) bool {
		for _, w := range want {
			if _, ok := f[w]; !ok {
				return false
			}
		}
		return true
	})
	t.Logf("%5.1fs: firing %v (WardWiFiDisconnected severity %s)", time.Since(start).Seconds(), names(f), f["WardWiFiDisconnected"].Labels["severity"])
	// nl80211 does not know the veth: to wardprobe the Wi-Fi adapter is
	// missing, which is the ticket form of WardWiFiDisconnected, not a page.
	if sev := f["WardWiFiDisconnected"].Labels["severity"]; sev != "ticket" {
		t.Errorf("WardWiFiDisconnected severity %q for a probe without a Wi-Fi adapter, want ticket", sev)
	}
	for _, bad := range []string{"WardProbeDown", "WardHighPacketLoss/peer", "WardServiceUnreachable/peer-svc"} {
		if _, ok := f[bad]; ok {
			t.Errorf("%s fires for a healthy target or probe", bad)
		}
	}
	a := f["WardHighPacketLoss/ghost"]
	for k, v := range map[string]string{"severity": "page", "site": site, "building": building, "floor": floor, "ward": ward, "probe": probe, "instance": probe, "job": "wardprobe"} {
		if a.Labels[k] != v {
			t.Errorf("WardHighPacketLoss label %s=%q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if a.Value != "1e+00" && a.Value != "1" {
		t.Errorf("WardHighPacketLoss value %s, want 1 (every ping lost)", a.Value)
	}

	checkRulesHealthy(t, api)
	checkDashboardQueries(t, api)
	checkFloorPlanSync(t, api)

	// 2. Inject a fault: the peer loses its address, so the healthy target
	// stops answering.
	l.MustRun(peerNS, "ip", "addr", "del", "10.78.0.2/24", "dev", peerIf)
	injected := time.Now()
	api.waitAlerts(t, 60*time.Second, "WardHighPacketLoss/peer", func(f map[string]alert) bool {
		_, ok := f["WardHighPacketLoss/peer"]
		return ok
	})
	t.Logf("%5.1fs: peer address removed; WardHighPacketLoss/peer firing %.1fs later", time.Since(start).Seconds(), time.Since(injected).Seconds())

	// 3. The probe dies: WardProbeDown fires and the ward alerts go, rather
	// than a flood from the last samples in the rules' windows.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	f = api.waitAlerts(t, 60*time.Second, "WardProbeDown alone", func(f map[string]alert) bool {
		_, down := f["WardProbeDown"]
		return down && len(f) == 1
	})
	t.Logf("%5.1fs: probe stopped; %.1fs later only %v fires", time.Since(start).Seconds(), time.Since(stopped).Seconds(), names(f))
	if pd := f["WardProbeDown"]; pd.Labels["severity"] != "ticket" || pd.Labels["ward"] != ward || pd.Labels["probe"] != probe {
		t.Errorf("WardProbeDown labels %v: want severity ticket and the probe's location", pd.Labels)
	}
	for _, a := range api.alerts(t) {
		if a.Labels["alertname"] != "WardProbeDown" && a.State == "pending" {
			t.Errorf("%v still pending after the probe died", a)
		}
	}
	t.Logf("whole lab took %.1fs", time.Since(start).Seconds())
}

// checkRulesHealthy fails on any rule Prometheus could not evaluate.
func checkRulesHealthy(t *testing.T, api promAPI) {
	t.Helper()
	var d struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := api.get(t, "/api/v1/rules", nil, &d); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range d.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("rule %s/%s fails to evaluate: %s", g.Name, r.Name, r.LastError)
			}
		}
	}
	if n == 0 {
		t.Error("Prometheus loaded no rules")
	}
}

// checkDashboardQueries runs every query of every checked-in dashboard,
// with the lab's location for the variables, against the real Prometheus:
// it must execute (a parse check cannot see, e.g., many-to-many matches).
func checkDashboardQueries(t *testing.T, api promAPI) {
	t.Helper()
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "dashboards", dashboards.JSONDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	vars := map[string]string{"site": site, "building": building, "floor": floor, "ward": ward, "probe": probe, "target": ".*", "datasource": "x"}
	total, withData := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var raw any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		for _, e := range exprs(raw) {
			q := promcheck.Substitute(e, vars)
			var res struct {
				Result []json.RawMessage `json:"result"`
			}
			total++
			if err := api.get(t, "/api/v1/query", url.Values{"query": {q}}, &res); err != nil {
				t.Errorf("%s: %v\n  query: %s", filepath.Base(f), err, q)
				continue
			}
			if len(res.Result) > 0 {
				withData++
			}
		}
	}
	t.Logf("dashboard queries: %d run against Prometheus, %d returned data", total, withData)
}

// exprs returns every "expr" string in a dashboard's JSON.
func exprs(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, exprs(e)...)
		}
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				out = append(out, s)
				continue
			}
			out = append(out, exprs(e)...)
		}
	}
	return out
}

// checkFloorPlanSync reads probe positions back from wardprobe_probe_info
// in Prometheus, as `go run ./dashboards/gen -sync` does, and checks the
// floor plan places the lab's probe where its config says.
func checkFloorPlanSync(t *testing.T, api promAPI) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := dashboards.ProbeInfoFromPrometheus(ctx, api.c, api.base)
	if err != nil {
		t.Fatal(err)
	}
	if len(info) != 1 || info[0].Probe != probe || info[0].X == nil || *info[0].X != posX || *info[0].Y != posY {
		t.Fatalf("probe positions from Prometheus: %+v", info)
	}
	inv := dashboards.Inventory{Floors: []dashboards.Floor{{Site: site, Building: building, Floor: floor, Image: "/public/img/wardprobe/lab.svg"}}}
	if notes := inv.Sync(info); len(notes) != 0 {
		t.Errorf("sync notes: %v", notes)
	}
	files, err := dashboards.Render(inv)
	if err != nil {
		t.Fatal(err)
	}
	js := string(files["floor-plan.json"])
	// The marker is centred on x,y: left 30 - 1.5 %, top 70 - 2.5 %.
	for _, want := range []string{`"name": "alertlab-1"`, `"left": 28.5`, `"top": 67.5`, `"field": "alertlab-1 coverage"`} {
		if !strings.Contains(js, want) {
			t.Errorf("floor plan from Prometheus lacks %s", want)
		}
	}
}
