package promcheck

import (
	"os"
	"os/exec"
	"testing"
)

// Tool returns the path of a command-line tool a test needs (promtool,
// amtool, prometheus, prometheus-alertmanager: Debian's prometheus and
// prometheus-alertmanager packages, installed by test/deps.sh). Without it
// the test is skipped, or fails under CI=true: CI never skips.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (run test/deps.sh): %v", name, err)
	}
	t.Skipf("%s is not installed (run test/deps.sh)", name)
	return ""
}
