// Package prometheus holds wardprobe's Prometheus rules and example
// configuration; its tests check them with promtool and against the
// metrics the exporter really exposes.
package prometheus

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/probe/wifi/connect"
)

const (
	recordingFile = "recording-rules.yml"
	alertFile     = "alert-rules.yml"
	configFile    = "prometheus.yml"
	goldenMetrics = "../../exporters/testdata/metrics.golden"
)

// contractAlerts are the alert names fixed by the design's contract.
func contractAlerts() []string {
	return []string{"WardProbeDown", "WardWiFiDisconnected", "WardNotSpot", "WardBelowStandard",
		"WardHighPacketLoss", "WardHighLatency", "WardDNSFailing", "WardServiceUnreachable", "WardThroughputLow"}
}

// addedAlerts are the alerts added beyond the contract (README changelog).
func addedAlerts() []string {
	return []string{"WardProbeICMPUnavailable", "WardProbeConfigReloadFailed", "WardThroughputTestsFailing",
		"WardWiFiConnectFailing", "WardWiFiConnectSlow", "WardProbeConnectTestBroken"}
}

// allAlerts are the contract's alerts and the added ones.
func allAlerts() []string { return append(contractAlerts(), addedAlerts()...) }

// linkBase is how every dashboard annotation starts: the Grafana base URL,
// read from the wardprobe:grafana_url:info rule, without a trailing slash.
const linkBase = `{{ with query "wardprobe:grafana_url:info" }}{{ . | first | label "url" | reReplaceAll "/+$" "" }}{{ end }}/d/wardprobe-`

func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(promcheck.Tool(t, "promtool"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPromtoolChecksRulesAndConfig(t *testing.T) {
	cases := [][]string{
		{"check", "rules", recordingFile, alertFile},
		{"check", "config", configFile},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if out, err := promtool(t, ".", args...); err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

func TestPromtoolUnitTests(t *testing.T) {
	tests, err := filepath.Glob("tests/*.test.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool tests in tests/: %v", err)
	}
	out, err := promtool(t, ".", append([]string{"test", "rules"}, tests...)...)
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestPromtoolUnitTestsCanFail breaks the rules in a copy and expects the
// unit tests to catch each break.
func TestPromtoolUnitTestsCanFail(t *testing.T) {
	rules, err := os.ReadFile(alertFile)
	if err != nil {
		t.Fatal(err)
	}
	// Each break is run against the test files that should catch it (all
	// of them when tests is empty).
	cases := []struct {
		name   string
		tests  []string
		mutate func(string) string
	}{
		{"no for: (one lost sample pages)", nil, func(s string) string {
			return regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAllString(s, "$1 0s")
		}},
		{"no probe-down guard (flood when a probe dies)", nil, func(s string) string {
			return strings.ReplaceAll(s, "and on (site, building, floor, ward, probe) wardprobe_build_info", "")
		}},
		{"pages demoted to tickets", nil, func(s string) string {
			return strings.ReplaceAll(s, "severity: page", "severity: ticket")
		}},
		{"relative dashboard links (not clickable from e-mail)", []string{"tests/throughput.test.yml"}, func(s string) string {
			return strings.ReplaceAll(s, strings.TrimSuffix(linkBase, "/d/wardprobe-"), "")
		}},
		{"planned reconnects page (no planned-outage guard)", []string{"tests/planned.test.yml"}, func(s string) string {
			return regexp.MustCompile(`(?m)^\s+unless on \(site, building, floor, ward, probe\) max_over_time\(wardprobe_wifi_planned_outage\[2m\]\) == 1\n`).ReplaceAllString(s, "")
		}},
		{"the probe's own connect-test faults page (no cause filter)", []string{"tests/connect.test.yml"}, func(s string) string {
			return strings.ReplaceAll(s, `probe:wardprobe_wifi_connect_failures:increase1h{cause="network"}`, `probe:wardprobe_wifi_connect_failures:increase1h`)
		}},
		{"slow connects judged by any standard, not the ward's own", []string{"tests/connect.test.yml"}, func(s string) string {
			return strings.Replace(s, "and on (site, building, floor, ward, probe, standard) wardprobe_probe_info\n            and on (site, building, floor, ward, probe) wardprobe_build_info\n        for: 30m",
				"and on (site, building, floor, ward, probe) wardprobe_build_info\n        for: 30m", 1)
		}},
		{"a missing Wi-Fi adapter pages (no no_interface guard)", []string{"tests/adapter.test.yml"}, func(s string) string {
			return regexp.MustCompile(`(?m)^\s+unless on \(site, building, floor, ward, probe, target\)\n\s+increase\(wardprobe_target_failures_total\{reason="no_interface"\}\[3m\]\) > 0\n`).ReplaceAllString(s, "")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			must(t, os.Mkdir(filepath.Join(dir, "tests"), 0o755))
			mutated := c.mutate(string(rules))
			if mutated == string(rules) {
				t.Fatal("mutation changed nothing")
			}
			must(t, os.WriteFile(filepath.Join(dir, alertFile), []byte(mutated), 0o644))
			copyFile(t, recordingFile, filepath.Join(dir, recordingFile))
			tests := c.tests
			if len(tests) == 0 {
				tests = alertTests(t)
			}
			for _, f := range tests {
				copyFile(t, f, filepath.Join(dir, f))
			}
			if out, err := promtool(t, dir, append([]string{"test", "rules"}, tests...)...); err == nil {
				t.Errorf("promtool test rules passed with the rules broken:\n%s", out)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o644))
}

func loadRules(t *testing.T) (rec, alerts promcheck.RuleFile) {
	t.Helper()
	rec, err := promcheck.LoadRules(recordingFile)
	must(t, err)
	alerts, err = promcheck.LoadRules(alertFile)
	must(t, err)
	return rec, alerts
}

// TestRulesUseRealMetrics parses every rule expression with Prometheus's
// own parser and checks each metric, label and enumerated value against
// the exporter's golden /metrics and the recording rules' outputs.
func TestRulesUseRealMetrics(t *testing.T) {
	rec, alerts := loadRules(t)
	k := promcheck.NewKnown()
	must(t, k.LoadExposition(goldenMetrics))
	k.AddDocumented()
	k.AddRecordedFrom(recordingFile, rec)
	k.AddPrometheus()
	for _, f := range []promcheck.RuleFile{rec, alerts} {
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				name := r.Record + r.Alert
				if err := promcheck.Join(g.Name+"/"+name, k.Check(r.Expr)); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

func TestAlertsFollowTheContract(t *testing.T) {
	_, alerts := loadRules(t)
	seen := map[string]bool{}
	known := map[string]bool{}
	for _, a := range allAlerts() {
		known[a] = true
	}
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("recording rule %s in %s: keep recording rules in %s", r.Record, alertFile, recordingFile)
				continue
			}
			seen[r.Alert] = true
			if sev := r.Labels["severity"]; sev != "page" && sev != "ticket" {
				t.Errorf("%s: severity %q, want page or ticket", r.Alert, sev)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if !strings.Contains(r.Annotations["runbook"], "$labels.ward") {
				t.Errorf("%s: the runbook does not name the ward", r.Alert)
			}
			d, err := time.ParseDuration(r.For)
			if err != nil || d < 2*time.Minute {
				t.Errorf("%s: for: %q; want at least 2m so one lost sample never fires", r.Alert, r.For)
			}
			if r.Alert != "WardProbeDown" && !strings.Contains(r.Expr, "wardprobe_build_info") && !strings.Contains(r.Expr, "wardprobe_probe_info") {
				t.Errorf("%s: expression is not limited to probes that are reporting (and on … wardprobe_build_info)", r.Alert)
			}
			if d := r.Annotations["dashboard"]; !strings.HasPrefix(d, linkBase) {
				t.Errorf("%s: dashboard link %q does not start with the Grafana base URL (%s…)", r.Alert, d, linkBase)
			}
		}
	}
	var missing, extra []string
	for _, a := range contractAlerts() {
		if !seen[a] {
			missing = append(missing, a)
		}
	}
	for a := range seen {
		if !known[a] {
			extra = append(extra, a)
		}
	}
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("contract alerts missing: %v; alerts neither in the contract nor in addedAlerts (add them there and to the README changelog): %v", missing, extra)
	}
}

// alertTests are the promtool test files of the alert rules.
func alertTests(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob("tests/*.test.yml")
	must(t, err)
	var out []string
	for _, f := range all {
		if f != "tests/recording.test.yml" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatal("no alert tests in tests/")
	}
	return out
}

// TestEveryAlertHasUnitTests checks that the alert tests make every alert
// fire at least once and stay silent in at least three scenarios (single
// lost sample, short blip, healthy).
func TestEveryAlertHasUnitTests(t *testing.T) {
	type testFile struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	var f testFile
	for _, name := range alertTests(t) {
		b, err := os.ReadFile(name)
		must(t, err)
		var one testFile
		must(t, yaml.Unmarshal(b, &one))
		f.Tests = append(f.Tests, one.Tests...)
	}
	fires := map[string]int{}
	silentGroups := map[string]int{}
	for _, g := range f.Tests {
		silentHere := map[string]bool{}
		firesHere := map[string]bool{}
		for _, a := range g.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firesHere[a.Alertname] = true
				fires[a.Alertname]++
			} else {
				silentHere[a.Alertname] = true
			}
		}
		for a := range silentHere {
			if !firesHere[a] {
				silentGroups[a]++
			}
		}
	}
	for _, a := range allAlerts() {
		if fires[a] == 0 {
			t.Errorf("%s: no unit test makes it fire", a)
		}
		if silentGroups[a] < 3 {
			t.Errorf("%s: %d silent scenarios, want at least 3 (single lost sample, short blip, healthy)", a, silentGroups[a])
		}
	}
}

// TestGrafanaURLIsSetInOnePlace changes the url label of
// wardprobe:grafana_url:info alone (with a trailing slash, as people write
// it) and checks a firing alert's dashboard link follows, and that no other
// rule names a Grafana host.
func TestGrafanaURLIsSetInOnePlace(t *testing.T) {
	rec, err := os.ReadFile(recordingFile)
	must(t, err)
	const shipped = "url: https://grafana.example.org\n"
	if strings.Count(string(rec), shipped) != 1 {
		t.Fatalf("%s does not set the Grafana URL exactly once (%q)", recordingFile, shipped)
	}
	alerts, err := os.ReadFile(alertFile)
	must(t, err)
	if strings.Contains(string(alerts), "grafana.example.org") {
		t.Errorf("%s names a Grafana host itself; the base URL belongs in %s only", alertFile, recordingFile)
	}

	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, recordingFile),
		[]byte(strings.Replace(string(rec), shipped, "url: https://grafana.trust.nhs.uk/\n", 1)), 0o644))
	copyFile(t, alertFile, filepath.Join(dir, alertFile))
	const test = `rule_files: [recording-rules.yml, alert-rules.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
      - series: 'wardprobe_config_last_reload_successful{site="St Mary''s", building="Block A", floor="0", ward="Ward 1", probe="p1"}'
        values: "0x60"
      - series: 'wardprobe_build_info{site="St Mary''s", building="Block A", floor="0", ward="Ward 1", probe="p1", version="1", goversion="go"}'
        values: "1x60"
    alert_rule_test:
      - eval_time: 10m
        alertname: WardProbeConfigReloadFailed
        exp_alerts:
          - exp_labels: {site: "St Mary's", building: "Block A", floor: "0", ward: "Ward 1", probe: "p1", severity: ticket}
            exp_annotations:
              dashboard: "https://grafana.trust.nhs.uk/d/wardprobe-fleet/fleet-health?var-site=St+Mary%27s&var-building=Block+A"
              summary: "wardprobe p1 (Ward 1, Block A floor 0) refused its new config"
              description: "The last config reload of probe p1 in Ward 1, Block A floor 0, St Mary's failed at least 5 minutes ago. The probe keeps measuring with the config it had before, so the change meant for it (a new target, a moved probe, a new standard) is not in force."
              runbook: "Ticket, not a page: nothing that was monitored before stopped being monitored, and the ward's network is not implicated; someone's config change did not take. 1) On the probe, ` + "`wardprobe check-config /etc/wardprobe/wardprobe.yml`" + ` prints every error as FILE:LINE: path: message. 2) Fix the file (or put the previous one back) and ` + "`systemctl reload wardprobe`" + `; the alert clears on the next good reload. 3) If a fleet roll-out pushed the file, check the other probes of Block A on the Fleet health dashboard (last reload column) before Ward 1's."
`
	must(t, os.WriteFile(filepath.Join(dir, "url.test.yml"), []byte(test), 0o644))
	if out, err := promtool(t, dir, "test", "rules", "url.test.yml"); err != nil {
		t.Fatalf("the link does not follow the url label:\n%s", out)
	}
}

// TestConnectFailureCauses checks the recording rule that splits failed
// connect tests into the probe's own faults (WardProbeConnectTestBroken, a
// ticket) and the network's (WardWiFiConnectFailing, a page): every reason
// the connect test can give is classified, and the rule names exactly the
// probe's own. A reason added to probe/wifi/connect fails this test until
// it is classified here and in the rule.
func TestConnectFailureCauses(t *testing.T) {
	probeSide := map[connect.Reason]bool{
		connect.ReasonNoInterface: true, connect.ReasonSupplicant: true, connect.ReasonCredentials: true,
		connect.ReasonPermission: true, connect.ReasonOther: true,
	}
	networkSide := map[connect.Reason]bool{
		connect.ReasonTimeout: true, connect.ReasonNoAP: true, connect.ReasonRejected: true, connect.ReasonWrongKey: true,
		connect.ReasonCertificate: true, connect.ReasonDisconnected: true, connect.ReasonNoLease: true, connect.ReasonDNS: true,
		connect.ReasonNoServer: true, connect.ReasonNoGateway: true, connect.ReasonUnreachable: true,
	}
	for _, r := range connect.Reasons() {
		if probeSide[r] == networkSide[r] {
			t.Errorf("connect failure reason %q is not classified as the probe's own or the network's", r)
		}
	}
	if n := len(probeSide) + len(networkSide); n != len(connect.Reasons()) {
		t.Errorf("%d reasons classified, the connect test has %d", n, len(connect.Reasons()))
	}
	rec, _ := loadRules(t)
	re := regexp.MustCompile(`"cause", "probe", "reason", "([^"]+)"`)
	var expr string
	for _, g := range rec.Groups {
		for _, r := range g.Rules {
			if r.Record == "probe:wardprobe_wifi_connect_failures:increase1h" {
				expr = r.Expr
			}
		}
	}
	m := re.FindStringSubmatch(expr)
	if m == nil {
		t.Fatalf("probe:wardprobe_wifi_connect_failures:increase1h does not mark the probe's own reasons:\n%s", expr)
	}
	got := map[connect.Reason]bool{}
	for _, r := range strings.Split(m[1], "|") {
		got[connect.Reason(r)] = true
	}
	if fmt.Sprint(got) != fmt.Sprint(probeSide) {
		t.Errorf("the rule marks %v as the probe's own, want %v", got, probeSide)
	}
}
