// Package alertlab is the end-to-end test of wardprobe's Prometheus rules
// and Grafana dashboards: a real Prometheus (Debian's) scrapes real
// wardprobes in a namespace lab with the shipped scrape config and rules,
// faults are injected into the lab network, and the alerts are read back
// from Prometheus's API. A second probe stands in a ward whose names hold
// everything NHS names do (', ", &, commas, non-ASCII): every query of every
// dashboard, its variables substituted as Grafana does, must return data
// for it, and its alerts' dashboard links must carry the names intact.
package alertlab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// The second probe's location: site, building and ward each hold ', ", &,
// a comma and non-ASCII letters, and regex metacharacters besides.
const (
	oddSite     = `St Mary's "Hospital" & Co, Tŷ Newydd`
	oddBuilding = `Children's "Tŵr" & Wing, Block C (2.0)`
	oddFloor    = `0 [ground]`
	oddWard     = `King's Ward, Children's "Dewi" & Côr (A+B)`
	oddProbe    = "stmarys-kings-1"
	oddSpot     = "Bay 2, by the nurses' station"
	oddX, oddY  = 0.25, 0.4
	// deadProbe is listed in the targets file at the odd ward but never
	// answers: a probe unplugged there.
	deadProbe = "stmarys-kings-2"
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

// scrapeTarget is one entry of the lab's file_sd targets file.
type scrapeTarget struct {
	addr                               string
	probe, site, building, floor, ward string
}

// prometheusConfig writes the lab's Prometheus config into dir: the shipped
// prometheus.yml with 1 s scrapes and evaluations, the targets file listing
// targets, the shipped recording rules with every group evaluated each
// second (the compliance group's 5m would leave the lab without compliance
// series) and the shipped alert rules with every `for:` shortened to shortFor.
func prometheusConfig(t *testing.T, dir string, targets []scrapeTarget) string {
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
	recording := regexp.MustCompile(`(?m)^(\s+interval:) \S+$`).ReplaceAll(read("recording-rules.yml"), []byte("${1} 1s"))
	rec := write("recording-rules.yml", recording)
	al := write("alert-rules.yml", alerts)
	var entries []map[string]any
	for _, x := range targets {
		entries = append(entries, map[string]any{
			"targets": []string{x.addr},
			"labels":  map[string]string{"probe": x.probe, "site": x.site, "building": x.building, "floor": x.floor, "ward": x.ward},
		})
	}
	tb, err := yaml.Marshal(entries)
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

func (p promAPI) get(path string, q url.Values, v any) error {
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

// series returns the number of series an instant query returns now.
func (p promAPI) series(expr string) (int, error) {
	var res struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {expr}}, &res); err != nil {
		return 0, err
	}
	return len(res.Result), nil
}

// waitSeries polls an instant query until it returns a series.
func (p promAPI) waitSeries(t *testing.T, timeout time.Duration, expr string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n, err := p.series(expr)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %d series, %v", timeout, expr, n, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	Value       string            `json:"value"`
}

func (a alert) String() string {
	return fmt.Sprintf("%s{target=%q} %s", a.Labels["alertname"], a.Labels["target"], a.State)
}

func (p promAPI) alerts(t *testing.T) []alert {
	t.Helper()
	var d struct {
		Alerts []alert `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", nil, &d); err != nil {
		t.Fatalf("reading alerts: %v", err)
	}
	return d.Alerts
}

// firing returns the firing alerts of probe pr as "Name" or "Name/target".
func firing(as []alert, pr string) map[string]alert {
	out := map[string]alert{}
	for _, a := range as {
		if a.State != "firing" || a.Labels["probe"] != pr {
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

// waitAlerts polls Prometheus's alerts of probe pr until cond holds or
// timeout passes.
func (p promAPI) waitAlerts(t *testing.T, timeout time.Duration, pr, what string, cond func(map[string]alert) bool) map[string]alert {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f := firing(p.alerts(t), pr)
		if cond(f) {
			return f
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s at %s; firing: %v", timeout, what, pr, names(f))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// hasAll reports whether every name in want is firing.
func hasAll(want ...string) func(map[string]alert) bool {
	return func(f map[string]alert) bool {
		for _, w := range want {
			if _, ok := f[w]; !ok {
				return false
			}
		}
		return true
	}
}

// oddConfig is the second probe's config: every kind of target against the
// peer (and an unreachable one, so that its ward has alerts), a DNS server
// the probe's own firewall refuses (failures of reason permission, the
// Fleet dashboard's probe-side errors) and throughput tests.
func oddConfig(t *testing.T, iface string) string {
	t.Helper()
	cfg := map[string]any{
		"probe":    map[string]any{"name": oddProbe},
		"location": map[string]any{"site": oddSite, "building": oddBuilding, "floor": oddFloor, "ward": oddWard, "spot": oddSpot, "x": oddX, "y": oddY},
		"wifi":     map[string]any{"interface": iface},
		"targets": []any{
			map[string]any{"name": "gateway", "kind": "icmp", "address": "10.78.0.2", "interval": "200ms", "timeout": "500ms"},
			map[string]any{"name": "ghost", "kind": "icmp", "address": "10.78.0.99", "interval": "200ms", "timeout": "500ms"},
			map[string]any{"name": "dns", "kind": "dns", "server": "10.78.0.2:53", "query": "epr.lab", "interval": "1s", "timeout": "500ms"},
			map[string]any{"name": "epr", "kind": "http", "url": "http://10.78.0.2:8081/health", "interval": "1s", "timeout": "500ms"},
			map[string]any{"name": "pacs", "kind": "tcp", "address": "10.78.0.2:8080", "interval": "1s", "timeout": "500ms"},
			map[string]any{"name": "blocked", "kind": "dns", "server": "10.78.0.2:5353", "query": "epr.lab", "interval": "1s", "timeout": "500ms"},
		},
		"throughput": map[string]any{"url": "http://10.78.0.2:8082", "interval": "1m", "timeout": "20s", "max_bytes": "16MiB", "daily_budget": "1GiB"},
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// peerServices starts, on the peer, what the probes' targets need: a TCP
// service (8080), a web server (8081), a DNS server and a throughput target
// (8082); and in the probes' namespace a firewall rule dropping UDP to port
// 5353 as it leaves, which fails the send with EPERM (reason permission).
func peerServices(t *testing.T, l *lab.Lab, probeNS, peerNS string) {
	t.Helper()
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
	web := l.Listen(peerNS, "10.78.0.2:8081")
	go func() {
		_ = http.Serve(web, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") }))
	}()
	l.DNS(peerNS, "10.78.0.2", "--address=/epr.lab/10.78.0.2")
	l.WardprobeArgs(peerNS, "http://10.78.0.2:8082", wardprobeBin, "target", "--listen", "10.78.0.2:8082")
	cmd := exec.Command("ip", "netns", "exec", probeNS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(`table inet wpalert {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 10.78.0.2 udp dport 5353 drop
  }
}
`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v: %s", probeNS, err, out)
	}
}

func TestInjectedFaultsFireTheRightAlerts(t *testing.T) {
	promBin := promcheck.Tool(t, "prometheus")
	lab.Tool(t, "nft")
	lab.Tool(t, "dnsmasq")
	l := lab.New(t)
	start := time.Now()
	probeNS, peerNS := l.Netns("p"), l.Netns("q")
	probeIf, peerIf := l.Veth(probeNS, "10.78.0.1/24", peerNS, "10.78.0.2/24")
	peerServices(t, l, probeNS, peerNS)

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

	oddPath := filepath.Join(t.TempDir(), "odd.yml")
	if err := os.WriteFile(oddPath, []byte(oddConfig(t, probeIf)), 0o600); err != nil {
		t.Fatal(err)
	}
	odd := l.WardprobeArgs(probeNS, "http://127.0.0.1:9811",
		wardprobeBin, "run", "--config", oddPath, "--web.listen-address", "127.0.0.1:9811", "--log.level", "debug")

	dir := t.TempDir()
	promCfg := prometheusConfig(t, dir, []scrapeTarget{
		{"127.0.0.1", probe, site, building, floor, ward}, // the shipped relabelling adds :9810
		{"127.0.0.1:9811", oddProbe, oddSite, oddBuilding, oddFloor, oddWard},
		{"127.0.0.1:9899", deadProbe, oddSite, oddBuilding, oddFloor, oddWard},
	})
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
	f := api.waitAlerts(t, 60*time.Second, probe, fmt.Sprint(want), hasAll(want...))
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

	// The odd ward: its alerts, a throughput result and the recorded
	// compliance series, before its dashboards are queried.
	oddAlerts := api.waitAlerts(t, 60*time.Second, oddProbe, "WardHighPacketLoss/ghost", hasAll("WardHighPacketLoss/ghost"))
	checkLinks(t, oddAlerts["WardHighPacketLoss/ghost"], "/d/wardprobe-ward/ward-detail", map[string]string{"site": oddSite, "building": oddBuilding, "floor": oddFloor, "ward": oddWard})
	api.waitAlerts(t, 30*time.Second, deadProbe, "WardProbeDown", hasAll("WardProbeDown"))
	api.waitSeries(t, 60*time.Second, fmt.Sprintf(`wardprobe_throughput_bits_per_second{probe=%q}`, oddProbe))
	api.waitSeries(t, 30*time.Second, fmt.Sprintf(`ward:wardprobe_standard_met:ratio_30d{ward=%q}`, oddWard))
	api.waitSeries(t, 30*time.Second, fmt.Sprintf(`probe:wardprobe_coverage_seconds:rate1h{probe=%q}`, oddProbe))
	t.Logf("%5.1fs: the odd ward's probe reports, alerts and has a throughput result", time.Since(start).Seconds())

	checkRulesHealthy(t, api)
	checkDashboards(t, api)
	checkFloorPlanSync(t, api)

	// A bad config given to the odd probe: it keeps its running config and
	// WardProbeConfigReloadFailed fires, linking to the Fleet dashboard.
	if err := os.WriteFile(oddPath, []byte("probe: {name: [not, a, name]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := odd.Cmd.Process.Signal(unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	reload := api.waitAlerts(t, 30*time.Second, oddProbe, "WardProbeConfigReloadFailed", hasAll("WardProbeConfigReloadFailed"))
	checkLinks(t, reload["WardProbeConfigReloadFailed"], "/d/wardprobe-fleet/fleet-health", map[string]string{"site": oddSite, "building": oddBuilding})
	t.Logf("%5.1fs: bad config refused; WardProbeConfigReloadFailed fires", time.Since(start).Seconds())

	// 2. Inject a fault: the peer loses its address, so the healthy target
	// stops answering.
	l.MustRun(peerNS, "ip", "addr", "del", "10.78.0.2/24", "dev", peerIf)
	injected := time.Now()
	api.waitAlerts(t, 60*time.Second, probe, "WardHighPacketLoss/peer", hasAll("WardHighPacketLoss/peer"))
	t.Logf("%5.1fs: peer address removed; WardHighPacketLoss/peer firing %.1fs later", time.Since(start).Seconds(), time.Since(injected).Seconds())

	// 3. The probe dies: WardProbeDown fires and the ward alerts go, rather
	// than a flood from the last samples in the rules' windows.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	f = api.waitAlerts(t, 60*time.Second, probe, "WardProbeDown alone", func(f map[string]alert) bool {
		_, down := f["WardProbeDown"]
		return down && len(f) == 1
	})
	t.Logf("%5.1fs: probe stopped; %.1fs later only %v fires", time.Since(start).Seconds(), time.Since(stopped).Seconds(), names(f))
	if pd := f["WardProbeDown"]; pd.Labels["severity"] != "ticket" || pd.Labels["ward"] != ward || pd.Labels["probe"] != probe {
		t.Errorf("WardProbeDown labels %v: want severity ticket and the probe's location", pd.Labels)
	}
	for _, a := range api.alerts(t) {
		if a.Labels["probe"] == probe && a.Labels["alertname"] != "WardProbeDown" && a.State == "pending" {
			t.Errorf("%v still pending after the probe died", a)
		}
	}
	t.Logf("whole lab took %.1fs", time.Since(start).Seconds())
}

// checkLinks checks an alert's dashboard annotation is an absolute URL on
// the Grafana base of the shipped rules, to path, whose var-… parameters
// decode to exactly the location names in vars.
func checkLinks(t *testing.T, a alert, path string, vars map[string]string) {
	t.Helper()
	raw := a.Annotations["dashboard"]
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host != "grafana.example.org" || u.Path != path {
		t.Errorf("%s: dashboard link %q is not an absolute link to %s on the configured Grafana (%v)", a.Labels["alertname"], raw, path, err)
		return
	}
	for k, v := range vars {
		if got := u.Query().Get("var-" + k); got != v {
			t.Errorf("%s: link's var-%s = %q, want %q (link %s)", a.Labels["alertname"], k, got, v, raw)
		}
	}
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
	if err := api.get("/api/v1/rules", nil, &d); err != nil {
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

// checkFloorPlanSync reads probe positions back from wardprobe_probe_info
// in Prometheus, as `go run ./dashboards/gen -sync` does, checks the floor
// plan places each probe where its config says, and runs the queries of
// that floor plan, Canvas panels included, for the odd ward.
func checkFloorPlanSync(t *testing.T, api promAPI) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := dashboards.ProbeInfoFromPrometheus(ctx, api.c, api.base)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string][2]float64{}
	for _, p := range info {
		if p.X != nil && p.Y != nil {
			pos[p.Probe] = [2]float64{*p.X, *p.Y}
		}
	}
	if len(info) != 2 || pos[probe] != [2]float64{posX, posY} || pos[oddProbe] != [2]float64{oddX, oddY} {
		t.Fatalf("probe positions from Prometheus: %+v", info)
	}
	inv := dashboards.Inventory{Floors: []dashboards.Floor{
		{Site: site, Building: building, Floor: floor, Image: "/public/img/wardprobe/lab.svg"},
		{Site: oddSite, Building: oddBuilding, Floor: oddFloor, Image: "/public/img/wardprobe/odd.svg"},
	}}
	if notes := inv.Sync(info); len(notes) != 0 {
		t.Errorf("sync notes: %v", notes)
	}
	files, err := dashboards.Render(inv)
	if err != nil {
		t.Fatal(err)
	}
	js := string(files["floor-plan.json"])
	// The markers are centred on x,y: left 30 - 1.5 %, top 70 - 2.5 %, and
	// left 25 - 1.5 %, top 40 - 2.5 %.
	for _, want := range []string{`"name": "alertlab-1"`, `"left": 28.5`, `"top": 67.5`, `"field": "alertlab-1 coverage"`,
		`"name": "stmarys-kings-1"`, `"left": 23.5`, `"top": 37.5`} {
		if !strings.Contains(js, want) {
			t.Errorf("floor plan from Prometheus lacks %s", want)
		}
	}
	checkDashboard(t, api, "floor-plan.json (synced)", files["floor-plan.json"])
}
