// Package alertmanager holds wardprobe's example Alertmanager configuration;
// its tests check it with amtool and with a real Alertmanager.
package alertmanager

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/test/lab"
)

const configFile = "alertmanager.yml"

func amtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(promcheck.Tool(t, "amtool"), args...).CombinedOutput()
	return string(out), err
}

func TestAmtoolCheckConfig(t *testing.T) {
	if out, err := amtool(t, "check-config", configFile); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
}

// TestAmtoolRejectsBrokenConfig shows check-config can fail.
func TestAmtoolRejectsBrokenConfig(t *testing.T) {
	b, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(b, []byte("receiver: oncall"), []byte("receiver: on-call"), 1)
	p := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(p, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := amtool(t, "check-config", p); err == nil {
		t.Errorf("amtool accepted a route to an undefined receiver:\n%s", out)
	}
}

// TestOnlyPagesHoldBackPages: every inhibit rule has a page as its source
// or holds back tickets only, so no ticket ever silences a page.
func TestOnlyPagesHoldBackPages(t *testing.T) {
	if err := checkInhibitSeverities(readConfig(t, configFile)); err != nil {
		t.Error(err)
	}
	// The check can fail: the rule that let the "adapter missing" ticket
	// hold back pages.
	bad := map[string]any{"inhibit_rules": []any{map[string]any{
		"source_matchers": []any{`alertname="WardWiFiDisconnected"`},
		"target_matchers": []any{`alertname=~"WardServiceUnreachable|WardDNSFailing"`},
		"equal":           []any{"probe"},
	}}}
	if err := checkInhibitSeverities(bad); err == nil {
		t.Error("a rule with any-severity source and page targets passed")
	}
}

// checkInhibitSeverities returns an error for every inhibit rule whose
// source may be a ticket while its targets may be pages.
func checkInhibitSeverities(cfg map[string]any) error {
	rules, _ := cfg["inhibit_rules"].([]any)
	if len(rules) == 0 {
		return fmt.Errorf("no inhibit rules")
	}
	var errs []string
	for i, r := range rules {
		m, _ := r.(map[string]any)
		has := func(key, matcher string) bool {
			list, _ := m[key].([]any)
			for _, x := range list {
				if strings.ReplaceAll(fmt.Sprint(x), " ", "") == matcher {
					return true
				}
			}
			return false
		}
		if !has("source_matchers", `severity="page"`) && !has("target_matchers", `severity="ticket"`) {
			errs = append(errs, fmt.Sprintf("inhibit_rules[%d]: a source that may be a ticket holds back targets that may be pages: %v", i, m))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func readConfig(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRouting(t *testing.T) {
	cases := []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=WardWiFiDisconnected", "severity=page", "site=RXH", "building=Block B", "floor=2", "ward=Ward 7"}, "oncall"},
		{[]string{"alertname=WardBelowStandard", "severity=ticket", "building=Block B", "floor=2"}, "estates-email"},
		{[]string{"alertname=WardProbeDown", "severity=ticket"}, "estates-email"},
		{[]string{"alertname=WardProbeICMPUnavailable", "severity=ticket"}, "estates-email"},
		{[]string{"alertname=WardProbeConfigReloadFailed", "severity=ticket"}, "estates-email"},
		{[]string{"alertname=WardThroughputTestsFailing", "severity=ticket"}, "estates-email"},
		{[]string{"alertname=WardWiFiConnectFailing", "severity=page", "building=Block B", "floor=2"}, "oncall"},
		{[]string{"alertname=WardWiFiConnectSlow", "severity=ticket"}, "estates-email"},
		{[]string{"alertname=WardProbeConnectTestBroken", "severity=ticket"}, "estates-email"},
		{[]string{"alertname=SomethingElse"}, "estates-email"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.labels, ","), func(t *testing.T) {
			args := append([]string{"config", "routes", "test", "--config.file=" + configFile}, c.labels...)
			out, err := amtool(t, args...)
			if err != nil {
				t.Fatalf("amtool: %v\n%s", err, out)
			}
			if got := lastLine(out); got != c.want {
				t.Errorf("routed to %q, want %q", got, c.want)
			}
		})
	}
}

func lastLine(s string) string {
	var last string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Warning:") {
			last = l
		}
	}
	return last
}

// testConfig is the example config with every receiver's integrations
// removed, so that a real Alertmanager can run it and notify nobody.
func testConfig(t *testing.T) []byte {
	t.Helper()
	cfg := readConfig(t, configFile)
	recv, _ := cfg["receivers"].([]any)
	if len(recv) == 0 {
		t.Fatal("no receivers")
	}
	for i, r := range recv {
		recv[i] = map[string]any{"name": r.(map[string]any)["name"]}
	}
	delete(cfg, "global")
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type alert struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State       string   `json:"state"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status,omitempty"`
}

func loc(probe, ward, floor string) map[string]string {
	return map[string]string{"site": "Royal Example Hospital", "building": "Block B", "floor": floor, "ward": ward, "probe": probe}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestInhibitionAndGrouping runs the real Alertmanager on the example config
// (receivers emptied) in a network namespace, posts alerts and reads back
// which are inhibited and how they are grouped.
func TestInhibitionAndGrouping(t *testing.T) {
	bin := promcheck.Tool(t, "prometheus-alertmanager") // Debian's name for it
	l := lab.New(t)
	ns := l.Netns("am")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, testConfig(t), 0o600); err != nil {
		t.Fatal(err)
	}
	am := l.Start(ns, bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:9093", "--cluster.listen-address=", "--log.level=warn")
	c := lab.Client(ns)
	base := "http://127.0.0.1:9093"
	if err := lab.WaitOK(c, base+"/-/ready", am, 20*time.Second); err != nil {
		t.Fatalf("alertmanager: %v", err)
	}

	p1 := loc("rex-blockb-f2-ward7-1", "Ward 7", "2")
	p2 := loc("rex-blockb-f2-ward8-1", "Ward 8", "2")
	p3 := loc("rex-blockb-f3-ward9-1", "Ward 9", "3")
	p4 := loc("rex-blockb-f3-ward10-1", "Ward 10", "3")
	p5 := loc("rex-blockb-f4-ward11-1", "Ward 11", "4")
	posted := []map[string]string{
		with(p1, "alertname", "WardProbeDown", "severity", "ticket"),
		with(p1, "alertname", "WardHighPacketLoss", "severity", "page", "target", "gateway"),
		with(p1, "alertname", "WardProbeConfigReloadFailed", "severity", "ticket"),
		with(p2, "alertname", "WardHighPacketLoss", "severity", "page", "target", "gateway"),
		with(p2, "alertname", "WardDNSFailing", "severity", "page", "target", "dns-primary"),
		with(p3, "alertname", "WardWiFiDisconnected", "severity", "page"),
		with(p3, "alertname", "WardServiceUnreachable", "severity", "page", "target", "epr"),
		with(p3, "alertname", "WardNotSpot", "severity", "page", "state", "notspot"),
		with(p3, "alertname", "WardWiFiConnectFailing", "severity", "page"),
		with(p4, "alertname", "WardNotSpot", "severity", "page", "state", "notspot"),
		with(p4, "alertname", "WardBelowStandard", "severity", "ticket", "standard", "voice"),
		with(p4, "alertname", "WardWiFiConnectSlow", "severity", "ticket", "standard", "nhs", "check", "connect"),
		with(p4, "alertname", "WardServiceUnreachable", "severity", "page", "target", "epr"),
		// p5's Wi-Fi adapter is missing (the ticket form of
		// WardWiFiDisconnected): it explains its tickets, not its pages.
		with(p5, "alertname", "WardWiFiDisconnected", "severity", "ticket", "interface", "wlan0"),
		with(p5, "alertname", "WardServiceUnreachable", "severity", "page", "target", "epr"),
		with(p5, "alertname", "WardThroughputTestsFailing", "severity", "ticket"),
		// A connect test failing for the network's reasons pages even when
		// the probe's main adapter is missing (a ticket holds back no page).
		with(p5, "alertname", "WardWiFiConnectFailing", "severity", "page"),
	}
	var body []map[string]any
	for _, a := range posted {
		body = append(body, map[string]any{"labels": a, "annotations": map[string]string{"summary": "test"},
			"startsAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)})
	}
	b, _ := json.Marshal(body)
	resp, err := c.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting alerts: %s", resp.Status)
	}

	// Which alerts end up inhibited (alertname/probe).
	want := map[string]bool{
		"WardProbeConfigReloadFailed/rex-blockb-f2-ward7-1": true, // its probe is down (a ticket holds back a ticket)
		"WardServiceUnreachable/rex-blockb-f3-ward9-1":      true, // Wi-Fi disconnected (a page) explains it
		"WardNotSpot/rex-blockb-f3-ward9-1":                 true, // Wi-Fi disconnected explains it
		"WardWiFiConnectFailing/rex-blockb-f3-ward9-1":      true, // the same APs, RADIUS and DHCP
		"WardBelowStandard/rex-blockb-f3-ward10-1":          true, // the not-spot explains it
		"WardWiFiConnectSlow/rex-blockb-f3-ward10-1":        true, // the not-spot explains a slow join
		"WardThroughputTestsFailing/rex-blockb-f4-ward11-1": true, // the missing adapter (a ticket) explains a ticket
		// Not inhibited: WardHighPacketLoss of the down probe and
		// WardServiceUnreachable of the probe without its adapter: pages,
		// and their sources are tickets.
	}
	var got map[string]bool
	deadline := time.Now().Add(15 * time.Second)
	for {
		var alerts []alert
		getJSON(t, c, base+"/api/v2/alerts", &alerts)
		got = map[string]bool{}
		for _, a := range alerts {
			if len(a.Status.InhibitedBy) > 0 {
				got[a.Labels["alertname"]+"/"+a.Labels["probe"]] = true
			}
		}
		if len(alerts) == len(posted) && fmt.Sprint(got) == fmt.Sprint(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("inhibited alerts:\n got %v\nwant %v", keys(got), keys(want))
	}

	// Grouping: one group per receiver and floor.
	var groups []struct {
		Labels   map[string]string `json:"labels"`
		Receiver struct {
			Name string `json:"name"`
		} `json:"receiver"`
		Alerts []alert `json:"alerts"`
	}
	getJSON(t, c, base+"/api/v2/alerts/groups", &groups)
	var seen []string
	for _, g := range groups {
		var names []string
		for _, a := range g.Alerts {
			names = append(names, a.Labels["alertname"])
		}
		sort.Strings(names)
		seen = append(seen, fmt.Sprintf("%s %s/%s: %d", g.Receiver.Name, g.Labels["building"], g.Labels["floor"], len(g.Alerts)))
		if len(g.Labels) != 3 || g.Labels["site"] == "" || g.Labels["building"] == "" || g.Labels["floor"] == "" {
			t.Errorf("group labels %v: want exactly site, building, floor", g.Labels)
		}
	}
	sort.Strings(seen)
	wantGroups := []string{
		"estates-email Block B/2: 2", // WardProbeDown, WardProbeConfigReloadFailed
		"estates-email Block B/3: 2", // WardBelowStandard, WardWiFiConnectSlow
		"estates-email Block B/4: 2", // the missing adapter, WardThroughputTestsFailing
		"oncall Block B/2: 3",        // two losses and the DNS failure, two wards, one page
		"oncall Block B/3: 6",
		"oncall Block B/4: 2",
	}
	if fmt.Sprint(seen) != fmt.Sprint(wantGroups) {
		t.Errorf("groups:\n got %v\nwant %v", seen, wantGroups)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v: %s", url, resp.Status, err, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}
