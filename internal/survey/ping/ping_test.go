package ping

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/survey"
)

func TestTrackerUsesItsOwnClock(t *testing.T) {
	tr := newTracker(100 * time.Millisecond)
	t0 := time.Now()
	tr.send(0, t0)
	tr.send(1, t0.Add(10*time.Millisecond))
	tr.send(2, t0.Add(20*time.Millisecond))
	tr.recv(1, t0.Add(25*time.Millisecond))  // 15 ms
	tr.recv(0, t0.Add(30*time.Millisecond))  // 30 ms, out of order
	tr.recv(0, t0.Add(31*time.Millisecond))  // duplicate: ignored
	tr.recv(2, t0.Add(200*time.Millisecond)) // after its timeout: lost
	tr.recv(7, t0.Add(40*time.Millisecond))  // never sent
	if n := tr.known(t0.Add(50 * time.Millisecond)); n != 2 {
		t.Errorf("known at 50 ms: %d, want 2", n)
	}
	if n := tr.known(t0.Add(121 * time.Millisecond)); n != 3 {
		t.Errorf("known at 121 ms: %d, want 3 (packet 2 timed out)", n)
	}
	sent, rtts := tr.result()
	if sent != 3 || len(rtts) != 2 || rtts[0] != 30*time.Millisecond || rtts[1] != 15*time.Millisecond {
		t.Errorf("sent %d rtts %v, want 3 and [30ms 15ms] in send order", sent, rtts)
	}
}

// TestBurstToLoopback pings 127.0.0.1 for real.
func TestBurstToLoopback(t *testing.T) {
	var p Pinger
	var last int
	b, err := p.Burst(context.Background(), survey.PingTarget{Name: "lo", Address: "127.0.0.1"}, 5, 20*time.Millisecond, time.Second,
		func(n int) { last = n })
	if err != nil {
		if strings.Contains(err.Error(), "no ICMP socket") && os.Getenv("CI") == "" {
			t.Skipf("no ICMP socket here: %v", err)
		}
		t.Fatal(err)
	}
	if b.Sent != 5 || len(b.RTTs) != 5 || b.Address != "127.0.0.1" {
		t.Fatalf("burst %+v", b)
	}
	for _, r := range b.RTTs {
		if r <= 0 || r > 500*time.Millisecond {
			t.Errorf("loopback RTT %s", r)
		}
	}
	if last != 5 {
		t.Errorf("last progress %d, want 5", last)
	}
}

func TestBurstErrors(t *testing.T) {
	p := Pinger{Interface: "wpnonexistent0"}
	if _, err := p.Burst(context.Background(), survey.PingTarget{Address: "gateway"}, 3, time.Millisecond, time.Second, nil); err == nil {
		t.Error("a missing interface was not an error")
	}
	var q Pinger
	if _, err := q.Burst(context.Background(), survey.PingTarget{Address: "127.0.0.1"}, 0, time.Millisecond, time.Second, nil); err == nil {
		t.Error("an empty burst was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Burst(ctx, survey.PingTarget{Address: "127.0.0.1"}, 3, 10*time.Millisecond, time.Second, nil); err == nil {
		t.Error("a cancelled burst reported a result")
	}
}
