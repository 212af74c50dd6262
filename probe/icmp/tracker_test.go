package icmp

import (
	"slices"
	"testing"
	"time"
)

func TestTrackerLossAccounting(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	type step struct {
		op      string // send, recv, expire
		seq     int
		at      time.Duration // since t0 (send/expire)
		rtt     time.Duration // recv
		wantOK  bool          // recv
		wantExp []int         // expire
	}
	tests := []struct {
		name        string
		steps       []step
		wantPending int
		wantLate    int
	}{
		{"answered in time", []step{
			{op: "send", seq: 0, at: 0},
			{op: "recv", seq: 0, rtt: 5 * ms, wantOK: true},
			{op: "expire", at: 2000 * ms},
		}, 0, 0},
		{"lost exactly at its timeout, not before", []step{
			{op: "send", seq: 0, at: 0},
			{op: "expire", at: 999 * ms},
			{op: "expire", at: 1000 * ms, wantExp: []int{0}},
		}, 0, 0},
		{"each packet has its own timeout", []step{
			{op: "send", seq: 0, at: 0},
			{op: "send", seq: 1, at: 500 * ms},
			{op: "send", seq: 2, at: 900 * ms},
			{op: "recv", seq: 1, rtt: 10 * ms, wantOK: true},
			{op: "expire", at: 1200 * ms, wantExp: []int{0}},
			{op: "expire", at: 1900 * ms, wantExp: []int{2}},
		}, 0, 0},
		{"late reply after loss is ignored", []step{
			{op: "send", seq: 7, at: 0},
			{op: "expire", at: 1000 * ms, wantExp: []int{7}},
			{op: "recv", seq: 7, rtt: 1100 * ms, wantOK: false},
		}, 0, 1},
		{"reply slower than timeout counts as lost even before expiry runs", []step{
			{op: "send", seq: 1, at: 0},
			{op: "recv", seq: 1, rtt: 1001 * ms, wantOK: false},
			{op: "expire", at: 1001 * ms, wantExp: []int{1}},
		}, 0, 0},
		{"duplicate reply is late", []step{
			{op: "send", seq: 3, at: 0},
			{op: "recv", seq: 3, rtt: ms, wantOK: true},
			{op: "recv", seq: 3, rtt: 2 * ms, wantOK: false},
		}, 0, 1},
		{"still pending", []step{
			{op: "send", seq: 0, at: 0},
			{op: "send", seq: 1, at: 100 * ms},
		}, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(time.Second)
			for i, s := range tt.steps {
				switch s.op {
				case "send":
					tr.Sent(s.seq, t0.Add(s.at))
				case "recv":
					if ok := tr.Received(s.seq, s.rtt); ok != s.wantOK {
						t.Errorf("step %d: Received(%d) = %v, want %v", i, s.seq, ok, s.wantOK)
					}
				case "expire":
					if got := tr.Expire(t0.Add(s.at)); !slices.Equal(got, s.wantExp) {
						t.Errorf("step %d: Expire = %v, want %v", i, got, s.wantExp)
					}
				}
			}
			if tr.Pending() != tt.wantPending || tr.Late() != tt.wantLate {
				t.Errorf("pending %d late %d, want %d %d", tr.Pending(), tr.Late(), tt.wantPending, tt.wantLate)
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
