package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/internal/inventory"
	"github.com/wardprobe/wardprobe/test/lab"
)

// centralLayout lays the central stack's Prometheus config out as
// deploy/central/install.sh does under /etc/prometheus: prometheus.yml,
// wardprobe/ with the rules and wardprobe/file_sd/ with the example
// inventory's targets. It returns the directory.
func centralLayout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, "central/prometheus.yml", filepath.Join(dir, "prometheus.yml"))
	copyFile(t, "prometheus/recording-rules.yml", filepath.Join(dir, "wardprobe", "recording-rules.yml"))
	copyFile(t, "prometheus/alert-rules.yml", filepath.Join(dir, "wardprobe", "alert-rules.yml"))
	est, err := inventory.Load("inventory/example.yml")
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := est.Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if strings.HasPrefix(name, "file_sd/") {
			p := filepath.Join(dir, "wardprobe", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// defaultArgs reads ARGS="..." from a Debian /etc/default file.
func defaultArgs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ARGS="); ok {
			return strings.Fields(strings.Trim(v, `"`))
		}
	}
	t.Fatalf("%s: no ARGS=", path)
	return nil
}

func TestCentralPromtool(t *testing.T) {
	dir := centralLayout(t)
	cmd := exec.Command(promcheck.Tool(t, "promtool"), "check", "config", "prometheus.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check config (central): %v\n%s", err, out)
	}
}

// TestCentralStackRuns starts Debian's Prometheus and Alertmanager with the
// central stack's configs and /etc/default flags, in a network namespace of
// their own (loopback only: the probes' addresses in the file_sd are
// unreachable there, nothing leaves). Prometheus must load every rule,
// discover every probe from the file_sd with its location labels, accept
// remote write, and find the Alertmanager.
func TestCentralStackRuns(t *testing.T) {
	prometheus := lab.Tool(t, "prometheus")
	alertmanager := lab.Tool(t, "prometheus-alertmanager")
	l := lab.New(t)
	ns := l.Netns("central")
	dir := centralLayout(t)
	promArgs := append([]string{prometheus, "--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data")}, defaultArgs(t, "central/default/prometheus")...)
	for i, a := range promArgs {
		if strings.HasPrefix(a, "--web.listen-address=") {
			promArgs[i] = "--web.listen-address=127.0.0.1:9090" // the same port, on the namespace's loopback
		}
	}
	amArgs := append([]string{alertmanager, "--config.file=alertmanager/alertmanager.yml",
		"--storage.path=" + filepath.Join(dir, "am")}, defaultArgs(t, "central/default/prometheus-alertmanager")...)
	am := l.Start(ns, amArgs...)
	prom := l.Start(ns, promArgs...)
	c := lab.Client(ns)
	if err := lab.WaitOK(c, "http://127.0.0.1:9093/-/ready", am, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := lab.WaitOK(c, "http://127.0.0.1:9090/-/ready", prom, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := c.Get("http://127.0.0.1:9090" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	// Every rule of both files loaded, none unhealthy.
	var rules struct {
		Data struct {
			Groups []struct {
				File  string `json:"file"`
				Rules []struct {
					Name   string `json:"name"`
					Health string `json:"health"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	get("/api/v1/rules", &rules)
	want := promRuleCount(t, "prometheus/recording-rules.yml") + promRuleCount(t, "prometheus/alert-rules.yml")
	got := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			got++
			if r.Health == "err" {
				t.Errorf("rule %s in %s is unhealthy", r.Name, g.File)
			}
		}
	}
	if got != want || want == 0 {
		t.Errorf("Prometheus loaded %d rules, the files have %d", got, want)
	}
	// Every probe of the inventory is a target with its location.
	deadline := time.Now().Add(20 * time.Second)
	var targets struct {
		Data struct {
			Active []struct {
				Labels map[string]string `json:"labels"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	probes := map[string]string{}
	for time.Now().Before(deadline) {
		get("/api/v1/targets", &targets)
		probes = map[string]string{}
		for _, a := range targets.Data.Active {
			if a.Labels["job"] == "wardprobe" {
				probes[a.Labels["instance"]] = fmt.Sprintf("%s/%s/%s/%s", a.Labels["site"], a.Labels["building"], a.Labels["floor"], a.Labels["ward"])
			}
		}
		if len(probes) == 4 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if probes["rex-blockb-f2-ward8-1"] != "Royal Example Hospital/Block B/2/Ward 8" || probes["ech-main-fg-miu-1"] != "Example Community Hospital/Main/G/Minor Injuries" || len(probes) != 4 {
		t.Errorf("wardprobe targets from file_sd: %v", probes)
	}
	// The remote-write receiver is on (a probe with push: writes here):
	// an empty body is refused as a bad request, not as a missing endpoint.
	resp, err := c.Post("http://127.0.0.1:9090/api/v1/write", "application/x-protobuf", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("POST /api/v1/write: %s, want 400 (receiver on, body invalid)", resp.Status)
	}
	// Prometheus found the Alertmanager.
	var ams struct {
		Data struct {
			Active []struct {
				URL string `json:"url"`
			} `json:"activeAlertmanagers"`
		} `json:"data"`
	}
	for time.Now().Before(deadline) {
		get("/api/v1/alertmanagers", &ams)
		if len(ams.Data.Active) == 1 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(ams.Data.Active) != 1 || !strings.Contains(ams.Data.Active[0].URL, "localhost:9093") {
		t.Errorf("active Alertmanagers: %+v", ams.Data.Active)
	}
}

// promRuleCount counts the rules in a rule file (lines starting a rule).
func promRuleCount(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		s := strings.TrimSpace(line)
		if strings.HasPrefix(s, "- record:") || strings.HasPrefix(s, "- alert:") {
			n++
		}
	}
	return n
}
