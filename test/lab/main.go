package lab

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// RunTests is a TestMain body for packages that run the real binary: it
// builds wardprobe into a temporary directory and stores its path in *bin,
// lets extra build anything else there, runs the tests and removes the
// directory. It returns the exit code for os.Exit.
func RunTests(m *testing.M, bin *string, extra func(root, dir string) error) int {
	dir, err := os.MkdirTemp("", "wardprobe-lab")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := ModuleRoot()
	if err == nil {
		*bin, err = Build(root, dir)
	}
	if err == nil && extra != nil {
		err = extra(root, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// Tool returns the path of a command a test needs (Debian packages installed
// by test/deps.sh). Without it the test is skipped, or fails under CI=true:
// CI never skips.
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

// WaitOK polls url with c until it answers 200, p exits, or timeout passes.
func WaitOK(c *http.Client, url string, p *Proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case <-p.Done():
			return fmt.Errorf("exited: %v\n%s", p.Cmd.ProcessState, p.Output.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v\n%s", url, timeout, err, p.Output.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
