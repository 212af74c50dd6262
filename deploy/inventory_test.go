package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/test/lab"
)

// TestInventoryEndToEnd runs the real binary's `wardprobe inventory` on the
// example inventory, checks every generated config with the real
// `wardprobe check-config --syntax-only` (the CA and credential files it
// names live on the probes, where the Ansible role checks again in full), and the generated file_sd files with promtool
// through the example Prometheus config (deploy/prometheus/prometheus.yml
// reads file_sd/*.json beside it).
func TestInventoryEndToEnd(t *testing.T) {
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := lab.Build(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "fleet")
	if b, err := exec.Command(bin, "inventory", "inventory/example.yml", "--out", out).CombinedOutput(); err != nil {
		t.Fatalf("wardprobe inventory: %v\n%s", err, b)
	}
	configs, _ := filepath.Glob(filepath.Join(out, "probes", "*", "wardprobe.yml"))
	if len(configs) != 4 {
		t.Fatalf("%d configs generated, want 4", len(configs))
	}
	for _, c := range configs {
		if b, err := exec.Command(bin, "check-config", "--syntax-only", c).CombinedOutput(); err != nil {
			t.Errorf("wardprobe check-config %s: %v\n%s", c, err, b)
		}
	}
	// The example Prometheus config with the generated file_sd beside it.
	prom := filepath.Join(t.TempDir(), "prometheus")
	copyDir(t, "prometheus", prom)
	copyDir(t, filepath.Join(out, "file_sd"), filepath.Join(prom, "file_sd"))
	promtool := promcheck.Tool(t, "promtool")
	check := func() (string, error) {
		cmd := exec.Command(promtool, "check", "config", "prometheus.yml")
		cmd.Dir = prom
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	got, err := check()
	if err != nil {
		t.Fatalf("promtool check config with the generated file_sd: %v\n%s", err, got)
	}
	// promtool does read them: a broken one fails the check.
	if err := os.WriteFile(filepath.Join(prom, "file_sd", "broken.json"), []byte(`[{"targets": ["a:1"], "labels": {"0bad": "x"}}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := check(); err == nil {
		t.Errorf("promtool accepted a file_sd file with an invalid label name:\n%s", got)
	}
	// A bad inventory: the real binary prints every error and exits 1.
	bad := filepath.Join(t.TempDir(), "bad.yml")
	if err := os.WriteFile(bad, []byte("sites:\n  - name: A\n    buildngs: []\n  - nme: B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "inventory", bad)
	b, err := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("exit %v for a bad inventory, want 1", err)
	}
	want := []string{bad + ":2: sites[0].buildings: is required", bad + ":3: sites[0].buildngs: unknown key", bad + ":4: sites[1].nme: unknown key", bad + ":4: sites[1].name: is required"}
	for _, w := range want {
		if !strings.Contains(string(b), w) {
			t.Errorf("output lacks %q:\n%s", w, b)
		}
	}
}

// copyDir copies the regular files of src into dst (not recursive).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
