package promcheck

import (
	"testing"

	"github.com/wardprobe/wardprobe/test/lab"
)

// Tool returns the path of a command-line tool a test needs (promtool,
// amtool, prometheus, prometheus-alertmanager: Debian's prometheus and
// prometheus-alertmanager packages, installed by test/deps.sh). Without it
// the test is skipped, or fails under CI=true: CI never skips.
func Tool(t testing.TB, name string) string {
	t.Helper()
	return lab.Tool(t, name)
}
