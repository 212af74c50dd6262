package netlab

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// hostileConfig is issue 10's attack file: a targets list that aliases one
// anchor of 1,000 unknown keys 1,000 times (about 12 KB).
func hostileConfig() string {
	var b strings.Builder
	b.WriteString("x: &a {")
	for i := range 1000 {
		fmt.Fprintf(&b, "k%d: 1, ", i)
	}
	b.WriteString("name: n}\ntargets: [")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*a")
	}
	b.WriteString("]\n")
	return b.String()
}

// TestHostileReloadUnderMemoryCap sends the hostile file as a reload to a
// daemon held to its unit's memory limit (96 MiB): the reload is refused,
// the daemon stays up inside the cap and keeps probing.
func TestHostileReloadUnderMemoryCap(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, _, probeIf, _ := pair(t, l)
	d := l.Wardprobe(wardprobeBin, probeNS, location("hostile")+fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.77.0.2, interval: 100ms}
`, probeIf))
	peak := l.MemoryCap(d.Cmd.Process.Pid, 96<<20)
	d.WaitFor(t, 20*time.Second, "pings", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "peer") >= 5
	})
	if err := os.WriteFile(d.ConfigPath, []byte(hostileConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s := d.WaitFor(t, 20*time.Second, "the reload to be refused", func(s lab.Samples) bool {
		return s.Value("wardprobe_config_last_reload_successful") == 0
	})
	took := time.Since(start)
	n := s.Value("wardprobe_icmp_packets_sent_total", "target", "peer")
	d.WaitFor(t, 10*time.Second, "probing to go on", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "peer") >= n+10
	})
	select {
	case <-d.Done():
		t.Fatalf("wardprobe died:\n%s", d.Output.String())
	default:
	}
	log := d.Output.String()
	if !strings.Contains(log, "the file expands to more than") || !strings.Contains(log, "more errors") {
		t.Errorf("the log does not give the bounded error list")
	}
	t.Logf("hostile reload refused in %s; cgroup peak memory %.1f MiB (cap 96 MiB)", took.Round(time.Millisecond), float64(peak())/(1<<20))
}

// TestWhatHeldUpKeepsHolding re-runs two attacks the daemon withstood:
// a slowloris client on its listener is cut off by the header timeout, and
// 100 SIGHUPs in 5 s leak no goroutines and leave it probing.
func TestWhatHeldUpKeepsHolding(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, _, probeIf, _ := pair(t, l)
	d := l.Wardprobe(wardprobeBin, probeNS, location("held")+fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.77.0.2, interval: 100ms}
`, probeIf))
	before := d.WaitFor(t, 20*time.Second, "pings", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "peer") >= 5
	})

	// Slowloris: one header byte a second never completes a request.
	var conn net.Conn
	if err := lab.InNetns(probeNS, func() (err error) {
		conn, err = net.Dial("tcp", "127.0.0.1:9810")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		conn.Write([]byte("GET /metrics HTTP/1.1\r\nHost: x\r\n"))
		for i := 0; i < 30; i++ {
			time.Sleep(time.Second)
			if _, err := conn.Write([]byte("X-a: b\r\n")); err != nil {
				closed <- time.Since(start)
				return
			}
		}
		closed <- 0
	}()

	// 100 SIGHUPs in 5 s.
	for i := 0; i < 100; i++ {
		if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n := before.Value("wardprobe_icmp_packets_sent_total", "target", "peer")
	after := d.WaitFor(t, 20*time.Second, "probing to go on after the SIGHUPs", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "peer") >= n+20 && s.Value("wardprobe_config_last_reload_successful") == 1
	})
	g0, g1 := before.Value("go_goroutines"), after.Value("go_goroutines")
	if g1 > g0+10 {
		t.Errorf("goroutines grew from %v to %v over 100 reloads", g0, g1)
	}
	if took := <-closed; took == 0 || took > 15*time.Second {
		t.Errorf("a slowloris connection was still open after 30 s (closed after %s)", took)
	} else {
		t.Logf("slowloris cut off after %s; goroutines %v -> %v over 100 SIGHUPs", took.Round(100*time.Millisecond), g0, g1)
	}
}
