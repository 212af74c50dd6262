// Package deploy holds the deployment kit; its tests check the shipped units
// and examples.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestSystemdUnits runs systemd-analyze verify on every shipped unit, with
// ExecStart pointed at a stand-in binary (the real one is installed later).
func TestSystemdUnits(t *testing.T) {
	analyze := lab.Tool(t, "systemd-analyze")
	units, _ := filepath.Glob("systemd/*.service")
	if len(units) == 0 {
		t.Fatal("no units found")
	}
	stand := filepath.Join(t.TempDir(), "wardprobe")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		text, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		copyPath := filepath.Join(t.TempDir(), filepath.Base(u))
		fixed := strings.ReplaceAll(string(text), "/usr/local/bin/wardprobe", stand)
		if err := os.WriteFile(copyPath, []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("%s: systemd-analyze verify: %v\n%s", u, err, out)
		}
	}
}
