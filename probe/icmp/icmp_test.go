package icmp

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/probe"
)

func TestJudgeLossAccounting(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		a           attempt
		wantOK      bool
		wantReason  probe.Reason
		wantPackets int
	}{
		{"answered", attempt{sent: true, got: true, rtt: 5 * ms}, true, "", 1},
		{"answered exactly at the timeout", attempt{sent: true, got: true, rtt: time.Second}, true, "", 1},
		{"reply slower than its timeout is lost", attempt{sent: true, got: true, rtt: time.Second + ms}, false, probe.ReasonTimeout, 1},
		{"no reply within the timeout", attempt{sent: true}, false, probe.ReasonTimeout, 1},
		{"send failed: lost with the send error's reason", attempt{sendErr: &net.OpError{Op: "sendto", Err: syscall.EHOSTUNREACH}}, false, probe.ReasonUnreachable, 1},
		{"socket could not be opened: no packet", attempt{runErr: &net.OpError{Op: "listen", Err: syscall.EPERM}}, false, probe.ReasonPermission, 0},
		{"run error after a send is still a timeout", attempt{sent: true, runErr: errors.New("read: closed")}, false, probe.ReasonTimeout, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Config{Target: "gw", Timeout: time.Second}, zerolog.Nop())
			r := p.judge(tt.a, "10.0.0.1")
			if r.Success != tt.wantOK || r.Reason != tt.wantReason || r.Packets != tt.wantPackets {
				t.Errorf("got success=%v reason=%q packets=%d, want %v %q %d", r.Success, r.Reason, r.Packets, tt.wantOK, tt.wantReason, tt.wantPackets)
			}
			if r.Target != "gw" || r.Kind != "icmp" || r.Addr != "10.0.0.1" {
				t.Errorf("identity: %+v", r)
			}
		})
	}
}

func TestJitterRFC3550(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		rtts []time.Duration
		want time.Duration
	}{
		{"one sample has no jitter", []time.Duration{10 * ms}, 0},
		{"steady RTT has no jitter", []time.Duration{10 * ms, 10 * ms, 10 * ms}, 0},
		// D=16ms: J = 0 + (16-0)/16 = 1ms
		{"one step of 16ms", []time.Duration{10 * ms, 26 * ms}, ms},
		// D=16: J=1; D=16: J = 1 + (16-1)/16 = 1.9375ms
		{"alternating", []time.Duration{10 * ms, 26 * ms, 10 * ms}, 1937500 * time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j Jitter
			var got time.Duration
			for _, r := range tt.rtts {
				got = j.Add(r)
			}
			if got != tt.want || j.Value() != tt.want {
				t.Errorf("jitter %v (value %v), want %v", got, j.Value(), tt.want)
			}
		})
	}
}

func TestJitterConvergesToMeanDifference(t *testing.T) {
	var j Jitter
	for i := range 2000 {
		r := 20 * time.Millisecond
		if i%2 == 1 {
			r = 30 * time.Millisecond // |D| is always 10ms
		}
		j.Add(r)
	}
	if d := j.Value() - 10*time.Millisecond; d > 10*time.Microsecond || d < -10*time.Microsecond {
		t.Errorf("jitter %v, want ≈10ms", j.Value())
	}
}
