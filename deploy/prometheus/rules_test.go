// Package prometheus holds wardprobe's Prometheus rules and example
// configuration; its tests check them with promtool and against the
// metrics the exporter really exposes.
package prometheus

import (
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
	cases := []struct {
		name   string
		mutate func(string) string
	}{
		{"no for: (one lost sample pages)", func(s string) string {
			return regexp.MustCompile(`(?m)^(\s+for:) \S+$`).ReplaceAllString(s, "$1 0s")
		}},
		{"no probe-down guard (flood when a probe dies)", func(s string) string {
			return strings.ReplaceAll(s, "and on (site, building, floor, ward, probe) wardprobe_build_info", "")
		}},
		{"pages demoted to tickets", func(s string) string {
			return strings.ReplaceAll(s, "severity: page", "severity: ticket")
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
			copyFile(t, "tests/alerts.test.yml", filepath.Join(dir, "tests", "alerts.test.yml"))
			if out, err := promtool(t, dir, "test", "rules", "tests/alerts.test.yml"); err == nil {
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
		}
	}
	var missing, extra []string
	for _, a := range contractAlerts() {
		if !seen[a] {
			missing = append(missing, a)
		}
		delete(seen, a)
	}
	for a := range seen {
		extra = append(extra, a)
	}
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("alerts missing from the contract list: %v; not in the contract: %v", missing, extra)
	}
}

// TestEveryAlertHasUnitTests checks that tests/alerts.test.yml makes every
// alert fire at least once and stay silent in at least three scenarios
// (single lost sample, short blip, healthy).
func TestEveryAlertHasUnitTests(t *testing.T) {
	b, err := os.ReadFile("tests/alerts.test.yml")
	must(t, err)
	var f struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	must(t, yaml.Unmarshal(b, &f))
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
	for _, a := range contractAlerts() {
		if fires[a] == 0 {
			t.Errorf("%s: no unit test makes it fire", a)
		}
		if silentGroups[a] < 3 {
			t.Errorf("%s: %d silent scenarios, want at least 3 (single lost sample, short blip, healthy)", a, silentGroups[a])
		}
	}
}
