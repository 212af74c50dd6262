package wifilab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// vm is a qemu guest booted from the lab's initramfs. The host reaches the
// agent and wardprobe inside it through ports forwarded from loopback; the
// guest reaches nothing (user-mode network with restrict=on).
type vm struct {
	cmd     *exec.Cmd
	console *lab.SafeBuffer
	done    chan struct{}
	agent   string // base URL of the agent
	metrics string // URL of wardprobe's /metrics
	client  *http.Client
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// boot starts qemu with software emulation (TCG) and waits for the agent.
// A guest that does not come up within bootWait is killed and booted once
// more (an emulated boot very rarely hangs before init). qemu is killed
// when the test ends, passed or failed.
func boot(t *testing.T, vmlinuz, initrd string) *vm {
	t.Helper()
	const bootWait = 100 * time.Second
	for try := 1; ; try++ {
		v, err := start(t, vmlinuz, initrd, bootWait)
		if err == nil {
			return v
		}
		if try == 2 {
			t.Fatal(err)
		}
		t.Logf("boot %d: %v; booting again", try, err)
	}
}

// start boots qemu once and waits up to wait for the agent.
func start(t *testing.T, vmlinuz, initrd string, wait time.Duration) (*vm, error) {
	agentPort, metricsPort := freePort(t), freePort(t)
	v := &vm{console: &lab.SafeBuffer{}, done: make(chan struct{}),
		agent:   fmt.Sprintf("http://127.0.0.1:%d", agentPort),
		metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort),
		client:  &http.Client{Timeout: 10 * time.Second}}
	v.cmd = exec.Command("qemu-system-x86_64",
		"-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", "768",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet loglevel=3",
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
		"-netdev", fmt.Sprintf("user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:8000,hostfwd=tcp:127.0.0.1:%d-:9810", agentPort, metricsPort),
		"-device", "virtio-net-pci,netdev=n0")
	v.cmd.Stdout, v.cmd.Stderr = v.console, v.console
	// qemu dies with the test process even when a timeout panic skips the
	// cleanups.
	v.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := v.cmd.Start(); err != nil {
		t.Fatalf("starting qemu: %v", err)
	}
	go func() {
		_ = v.cmd.Wait()
		close(v.done)
	}()
	kill := func() {
		_ = v.cmd.Process.Kill()
		<-v.done
	}
	t.Cleanup(kill)
	deadline := time.Now().Add(wait)
	for {
		resp, err := v.client.Get(v.agent + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return v, nil
			}
		}
		select {
		case <-v.done:
			return nil, fmt.Errorf("qemu exited before the agent came up: %v\nconsole:\n%s", v.cmd.ProcessState, v.console.String())
		default:
		}
		if time.Now().After(deadline) {
			kill()
			return nil, fmt.Errorf("agent not up after %s\nconsole:\n%s", wait, v.console.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// run runs a shell script in the guest and returns its output and exit code.
func (v *vm) run(script string, timeout time.Duration) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	// busybox's sh prefers its own applets to programs in PATH; its ip has
	// no netns, so the guest's scripts use iproute2's.
	script = "ip() { /sbin/ip \"$@\"; }\n" + script
	req, err := http.NewRequestWithContext(ctx, "POST", v.agent+"/run?timeout="+timeout.String(), strings.NewReader(script))
	if err != nil {
		return "", -1, err
	}
	c := &http.Client{} // the context bounds it
	resp, err := c.Do(req)
	if err != nil {
		return "", -1, fmt.Errorf("running %q in the guest: %w", firstLine(script), err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	code, _ := strconv.Atoi(resp.Header.Get("X-Exit-Code"))
	return string(out), code, err
}

// mustRun runs a script and fails the test unless it exits 0.
func (v *vm) mustRun(t *testing.T, script string, timeout time.Duration) string {
	t.Helper()
	out, code, err := v.run(script, timeout)
	if err != nil || code != 0 {
		t.Fatalf("guest: %s: exit %d, %v\n%s", firstLine(script), code, err, out)
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// get fetches a page of wardprobe's web server in the guest.
func (v *vm) get(path string) (string, error) {
	resp, err := v.client.Get(strings.TrimSuffix(v.metrics, "/metrics") + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("%s answered %d", path, resp.StatusCode)
	}
	return string(b), err
}

// scrape fetches wardprobe's /metrics from the guest.
func (v *vm) scrape() (lab.Samples, error) {
	resp, err := v.client.Get(v.metrics)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("/metrics answered %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return lab.ParseSamples(string(b))
}

// waitFor scrapes every 100 ms until cond holds and returns the samples and
// how long it took, or fails the test after timeout.
func (v *vm) waitFor(t *testing.T, timeout time.Duration, what string, cond func(lab.Samples) bool) (lab.Samples, time.Duration) {
	t.Helper()
	start := time.Now()
	var s lab.Samples
	var err error
	for {
		s, err = v.scrape()
		if err == nil && cond(s) {
			return s, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("waited %s for %s: last error %v; last samples:\n%s", timeout, what, err, s.Grep("wardprobe_wifi"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
