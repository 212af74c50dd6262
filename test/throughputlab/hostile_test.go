package throughputlab

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// Bounds the target documents for slow clients (wardprobe target's defaults,
// docs/throughput.md): a transfer moving less than --min-rate over
// --rate-window (5 s) is cut off at the next check (every 250 ms).
const (
	rateWindow = 5 * time.Second
	// slotBound: while every slot is held by slow clients, a new client is
	// admitted within this of their first transfer.
	slotBound = rateWindow + 500*time.Millisecond
)

// dialFrom opens a TCP connection to addr from src inside ns.
func dialFrom(ns, src, addr string) (net.Conn, error) {
	var c net.Conn
	err := lab.InNetns(ns, func() (err error) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err = d.Dial("tcp", addr)
		return err
	})
	return c, err
}

// drip is the attack from issue 10: a 30 MB upload whose body is sent one
// byte every 10 s. It repeats (as soon as the target lets it) until stop is
// closed.
func drip(ns, src string, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		c, err := dialFrom(ns, src, targetAddr+":8080")
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		func() {
			defer c.Close()
			if _, err := fmt.Fprintf(c, "POST /speedtest/upload.php HTTP/1.1\r\nHost: t\r\nContent-Length: 30000000\r\n\r\n"); err != nil {
				return
			}
			// A refusal (503) is answered at once: read it, try again soon.
			for {
				if _, err := c.Write([]byte{'x'}); err != nil {
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 512)
				if n, err := c.Read(buf); n > 0 || !isTimeout(err) {
					time.Sleep(200 * time.Millisecond)
					return
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSlowClientsCannotPinTarget: four clients each dripping one byte every
// 10 s into a 30 MB upload (issue 10's attack) take every test slot of the
// real `wardprobe target` (default flags); they are cut off after the rate
// window and refused for a while, so a fifth client retrying is admitted
// within slotBound, and a real wardprobe test then succeeds while the
// attackers keep trying.
func TestSlowClientsCannotPinTarget(t *testing.T) {
	t.Parallel()
	p := newPath(t, "50mbit", "50mbit")
	attackers := []string{"10.79.0.11", "10.79.0.12", "10.79.0.13", "10.79.0.14"}
	for _, a := range attackers {
		p.l.MustRun(p.probeNS, "ip", "addr", "add", a+"/24", "dev", p.probeIf)
	}
	stop := make(chan struct{})
	done := make(chan struct{}, len(attackers))
	for _, a := range attackers {
		go func() {
			defer func() { done <- struct{}{} }()
			drip(p.probeNS, a, stop)
		}()
	}
	defer func() {
		close(stop)
		for range attackers {
			<-done
		}
	}()
	// Wait until the attackers hold every slot.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts, err := p.target.Metrics()
		if err == nil && ts.Value("wardprobe_speedtarget_active_tests") == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the attackers did not take the 4 slots: %v\n%s", err, ts.Grep("wardprobe_speedtarget_"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	pinned := time.Now()
	// A fifth client asks for a download every 200 ms until admitted.
	client := lab.Client(p.probeNS)
	var admitted time.Duration
	refused := 0
	for {
		resp, err := client.Get(targetURL + "/speedtest/random350x350.jpg")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				admitted = time.Since(pinned)
				break
			}
			refused++
		}
		if time.Since(pinned) > 30*time.Second {
			t.Fatalf("a fifth client was refused for 30 s (%d times) while four drip attackers held the slots", refused)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("slots pinned by 4 drip attackers; a fifth client was refused %d times, then admitted %.2f s later (bound %v + a 0.2 s retry)",
		refused, admitted.Seconds(), slotBound)
	if admitted > slotBound+200*time.Millisecond {
		t.Errorf("admitted after %v, want within %v", admitted, slotBound+200*time.Millisecond)
	}
	// A real probe now tests successfully while the attackers keep trying.
	_, s := p.firstTest(t, p.throughputConfig(""))
	ts, err := p.target.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wardprobe's test: success %v, %.1f / %.1f Mbit/s; target: transfer_limits_total{too_slow} %v, rejected_total{cooldown} %v",
		s.Value("wardprobe_throughput_last_test_success"),
		s.Value("wardprobe_throughput_bits_per_second", "direction", "download")/1e6,
		s.Value("wardprobe_throughput_bits_per_second", "direction", "upload")/1e6,
		ts.Value("wardprobe_speedtarget_transfer_limits_total", "reason", "too_slow"),
		ts.Value("wardprobe_speedtarget_rejected_total", "reason", "cooldown"))
	if s.Value("wardprobe_throughput_last_test_success") != 1 {
		t.Errorf("wardprobe's test failed under the attack:\n%s", s.Grep("wardprobe_throughput_"))
	}
	if v := ts.Value("wardprobe_speedtarget_transfer_limits_total", "reason", "too_slow"); v < 4 {
		t.Errorf("transfer_limits_total{reason=too_slow} = %v, want ≥ 4", v)
	}
}

// stateRecord is the budget state file's content.
type stateRecord struct {
	Day  string `json:"day"`
	Used int64  `json:"used_bytes"`
}

func readState(t *testing.T, path string) stateRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r stateRecord
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v: %q", path, err, data)
	}
	return r
}

// TestBudgetSurvivesKill9: a probe killed with -9 in the middle of its
// test, three times in a row (a crash loop), has had every byte it moved
// charged to the day's budget in its state file, and at most one step
// (8 MiB at the default max_bytes) more per crash; after a restart the
// daemon reports what the file says. The path is fast enough (200 Mbit/s)
// for a test to go through several steps before it is killed.
func TestBudgetSurvivesKill9(t *testing.T) {
	t.Parallel()
	const (
		kills = 3
		step  = 8 << 20 // stepFor(100 MiB)
	)
	p := newPath(t, "200mbit", "200mbit")
	stateDir := t.TempDir()
	statePath := filepath.Join(stateDir, "throughput-budget.json")
	cfgPath := filepath.Join(t.TempDir(), "wardprobe.yml")
	if err := os.WriteFile(cfgPath, []byte(p.throughputConfig("")), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *lab.Daemon {
		return p.l.WardprobeArgs(p.probeNS, "http://127.0.0.1:9810", "env", "STATE_DIRECTORY="+stateDir,
			wardprobeBin, "run", "--config", cfgPath, "--web.listen-address", "127.0.0.1:9810")
	}
	rx0, tx0 := p.ifBytes(t, p.probeNS, p.probeIf)
	for i := range kills {
		d := start()
		// Wait until the test is transferring, let it run a second (mid-download), kill it.
		deadline := time.Now().Add(60 * time.Second)
		for {
			ts, err := p.target.Metrics()
			if err == nil && ts.Value("wardprobe_speedtarget_active_streams") > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: no transfer within 60 s", i+1)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300*time.Millisecond + time.Duration(i)*400*time.Millisecond) // a different moment each time
		if err := d.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-d.Done()
		time.Sleep(time.Second) // what was in flight arrives (or is reset)
		rx, tx := p.ifBytes(t, p.probeNS, p.probeIf)
		frames := rx - rx0 + tx - tx0
		charged := readState(t, statePath).Used
		// Frames carry 66 bytes of headers per 1448 of payload, plus ACKs:
		// payload is at least frames/1.10.
		t.Logf("after kill -9 #%d: the interface moved %.0f frame bytes (≥ %.0f payload), the state file charges %d (%+.0f)",
			i+1, frames, frames/1.10, charged, float64(charged)-frames/1.10)
		if float64(charged) < frames/1.10 {
			t.Errorf("kill %d: %d bytes charged, less than the %.0f payload bytes moved", i+1, charged, frames/1.10)
		}
		if float64(charged) > frames+float64((i+1)*step) {
			t.Errorf("kill %d: %d bytes charged, more than %.0f moved plus a step per crash", i+1, charged, frames)
		}
	}
	// A restart reports what the file charges.
	want := readState(t, statePath).Used
	d := start()
	s := d.WaitFor(t, 15*time.Second, "the budget status", func(s lab.Samples) bool {
		_, ok := s.Get("wardprobe_throughput_budget_used_bytes")
		return ok
	})
	if got := s.Value("wardprobe_throughput_budget_used_bytes"); int64(got) < want {
		t.Errorf("after the crash loop the daemon reports %v bytes used, the state file %d", got, want)
	}
}

// TestOddStateFile: a state file that is a FIFO (or a directory, or
// corrupt) neither hangs start-up nor SIGTERM, and never lifts the budget:
// tests are paused.
func TestOddStateFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(path string) error
	}{
		{"fifo", func(path string) error { return syscall.Mkfifo(path, 0o600) }},
		{"directory", func(path string) error { return os.Mkdir(path, 0o700) }},
		{"corrupt", func(path string) error { return os.WriteFile(path, []byte(`{"day":"2026-03-02","used_by`), 0o600) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			ns := l.Netns("s")
			stateDir := t.TempDir()
			if err := tc.make(filepath.Join(stateDir, "throughput-budget.json")); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(t.TempDir(), "wardprobe.yml")
			cfg := "probe: {name: odd-state}\nthroughput:\n  url: http://10.79.9.9:8080\n  interval: 1m\n"
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			d := l.WardprobeArgs(ns, "http://127.0.0.1:9810", "env", "STATE_DIRECTORY="+stateDir,
				wardprobeBin, "run", "--config", cfgPath, "--web.listen-address", "127.0.0.1:9810")
			s := d.WaitFor(t, 15*time.Second, "the budget status", func(s lab.Samples) bool {
				_, ok := s.Get("wardprobe_throughput_budget_paused")
				return ok
			})
			if s.Value("wardprobe_throughput_budget_paused") != 1 {
				t.Errorf("with a %s as the state file tests are not paused:\n%s", tc.name, s.Grep("wardprobe_throughput_budget"))
			}
			if !strings.Contains(d.Output.String(), "throughput-budget.json") {
				t.Errorf("no log line names the state file:\n%s", d.Output.String())
			}
			began := time.Now()
			if err := d.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-d.Done():
				t.Logf("%s: stopped %v after SIGTERM", tc.name, time.Since(began).Round(time.Millisecond))
			case <-time.After(4 * time.Second):
				t.Fatalf("SIGTERM did not stop wardprobe within 4 s with a %s as the state file", tc.name)
			}
		})
	}
}
