package throughputlab

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestTargetUnitCommandLine starts the binary with the exact flags of the
// shipped systemd unit (listening on loopback instead of :8080) and checks
// that the target serves with the limits the unit sets.
func TestTargetUnitCommandLine(t *testing.T) {
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "deploy/systemd/wardprobe-target.service"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// ExecStart with the unit's Environment= expanded as systemd does
	// (${VAR} as one word, $VAR split on white space).
	var exec1 string
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec1 = rest
		}
		if rest, ok := strings.CutPrefix(line, "Environment="); ok {
			k, v, _ := strings.Cut(strings.Trim(rest, `"`), "=")
			env[k] = v
		}
	}
	var args []string
	for _, w := range strings.Fields(exec1) {
		switch {
		case strings.HasPrefix(w, "$") && !strings.HasPrefix(w, "${"):
			args = append(args, strings.Fields(env[w[1:]])...)
		default:
			args = append(args, os.Expand(w, func(k string) string { return env[k] }))
		}
	}
	if len(args) < 2 || args[0] != "/usr/bin/wardprobe" || args[1] != "target" {
		t.Fatalf("ExecStart %q: want /usr/bin/wardprobe target ...", args)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for i, a := range args {
		if strings.HasPrefix(a, "--listen=") {
			args[i] = "--listen=" + addr
		}
	}
	cmd := exec.Command(wardprobeBin, args[1:]...)
	var out lab.SafeBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("target output:\n%s", out.String())
		}
	})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	var body string
	for range 100 {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err == nil {
			var sb strings.Builder
			_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
			resp.Body.Close()
			body = sb.String()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s, err := lab.ParseSamples(body)
	if err != nil {
		t.Fatalf("target metrics: %v\n%s", err, body)
	}
	if v := s.Value("wardprobe_speedtarget_max_tests"); v != 4 {
		t.Errorf("max_tests %v, want the unit's 4", v)
	}
}
