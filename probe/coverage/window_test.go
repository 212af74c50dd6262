package coverage

import (
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/probe"
)

func ping(target string, at time.Time, ok bool, rtt, jitter time.Duration) probe.Result {
	r := probe.Result{Target: target, Kind: "icmp", Time: at, Success: ok, Packets: 1, Duration: rtt, Jitter: jitter}
	if !ok {
		r.Reason, r.Duration = probe.ReasonTimeout, 0
	}
	return r
}

func TestWindow(t *testing.T) {
	ms := time.Millisecond
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	for _, tc := range []struct {
		name     string
		results  []probe.Result
		at       time.Time
		packets  int
		lost     int
		rtt      time.Duration
		jitter   time.Duration
		unusable string
	}{
		{name: "empty", at: sec(0)},
		{name: "loss, mean RTT and the largest latest jitter", at: sec(10), results: []probe.Result{
			ping("gw", sec(1), true, 2*ms, 1*ms), ping("gw", sec(2), false, 0, 1*ms), ping("gw", sec(3), true, 4*ms, 2*ms),
			ping("epr", sec(3), true, 12*ms, 9*ms), ping("epr", sec(4), true, 6*ms, 7*ms),
		}, packets: 5, lost: 1, rtt: 6 * ms, jitter: 7 * ms},
		{name: "packets older than the span are gone", at: sec(70), results: []probe.Result{
			ping("gw", sec(1), false, 0, 0), ping("gw", sec(9), false, 0, 0), ping("gw", sec(10), true, 3*ms, 1*ms), ping("gw", sec(11), true, 5*ms, 1*ms),
		}, packets: 2, rtt: 4 * ms, jitter: ms},
		{name: "every ICMP target lost its last 3: unusable", at: sec(10), results: []probe.Result{
			ping("gw", sec(1), true, 2*ms, ms), ping("gw", sec(2), false, 0, ms), ping("gw", sec(3), false, 0, ms), ping("gw", sec(4), false, 0, ms),
			ping("epr", sec(1), false, 0, 0), ping("epr", sec(2), false, 0, 0), ping("epr", sec(3), false, 0, 0),
		}, packets: 7, lost: 6, rtt: 2 * ms, jitter: ms, unusable: "the network does not answer"},
		{name: "2 lost in a row is not yet unusable", at: sec(10), results: []probe.Result{
			ping("gw", sec(1), true, 2*ms, ms), ping("gw", sec(2), false, 0, ms), ping("gw", sec(3), false, 0, ms),
		}, packets: 3, lost: 2, rtt: 2 * ms, jitter: ms},
		{name: "one target still answering keeps the network usable", at: sec(10), results: []probe.Result{
			ping("gw", sec(1), false, 0, 0), ping("gw", sec(2), false, 0, 0), ping("gw", sec(3), false, 0, 0),
			ping("epr", sec(3), true, 8*ms, 2*ms),
		}, packets: 4, lost: 3, rtt: 8 * ms, jitter: 2 * ms},
		{name: "an answer ends a losing streak", at: sec(10), results: []probe.Result{
			ping("gw", sec(1), false, 0, 0), ping("gw", sec(2), false, 0, 0), ping("gw", sec(3), false, 0, 0), ping("gw", sec(4), true, 3*ms, ms),
		}, packets: 4, lost: 3, rtt: 3 * ms, jitter: ms},
		{name: "no address on the interface: unusable", at: sec(10), results: []probe.Result{
			{Target: "dns", Kind: "dns", Time: sec(2), Reason: probe.ReasonNoAddress, Detail: "wlan0 has no IPv4 address"},
		}, unusable: "no usable network on the interface (dns: wlan0 has no IPv4 address)"},
		{name: "a later success clears it", at: sec(10), results: []probe.Result{
			{Target: "dns", Kind: "dns", Time: sec(2), Reason: probe.ReasonNoAddress, Detail: "no address"},
			{Target: "dns", Kind: "dns", Time: sec(3), Success: true},
		}},
		{name: "a stale no-address result is forgotten", at: sec(100), results: []probe.Result{
			{Target: "dns", Kind: "dns", Time: sec(2), Reason: probe.ReasonNoInterface, Detail: "missing"},
		}},
		{name: "an ICMP result without a packet is not a packet", at: sec(10), results: []probe.Result{
			{Target: "gw", Kind: "icmp", Time: sec(1), Reason: probe.ReasonPermission},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWindow(0)
			for _, r := range tc.results {
				w.Observe(r)
			}
			n := w.Stats(tc.at)
			if n.Packets != tc.packets || n.Lost != tc.lost || n.RTT != tc.rtt || n.Jitter != tc.jitter {
				t.Errorf("got packets %d lost %d rtt %s jitter %s, want %d %d %s %s", n.Packets, n.Lost, n.RTT, n.Jitter,
					tc.packets, tc.lost, tc.rtt, tc.jitter)
			}
			if (tc.unusable == "") != (n.Unusable == "") || !strings.Contains(n.Unusable, tc.unusable) {
				t.Errorf("unusable %q, want %q", n.Unusable, tc.unusable)
			}
		})
	}
}

func TestWindowBounded(t *testing.T) {
	w := NewWindow(time.Hour)
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for i := range 3 * maxPackets {
		w.Observe(ping("gw", t0.Add(time.Duration(i)*time.Millisecond), true, time.Millisecond, 0))
	}
	if n := w.Stats(t0.Add(time.Minute)); n.Packets != maxPackets {
		t.Errorf("window holds %d packets, want at most %d", n.Packets, maxPackets)
	}
}

func TestLedger(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	as := func(at time.Duration, st State, voice bool, data ...bool) Assessment {
		a := Assessment{Time: t0.Add(at), State: st, Verdicts: []Verdict{{Standard: "voice", Met: voice}}}
		if len(data) > 0 {
			a.Verdicts = append(a.Verdicts, Verdict{Standard: "data", Met: data[0]})
		}
		return a
	}
	var l Ledger
	l.Add(as(0, Disconnected, false, false))
	l.Add(as(10*time.Second, Good, true, true))      // 10 s disconnected, voice false, data false
	l.Add(as(15*time.Second, Degraded, false, true)) // 5 s good, both met
	l.Add(as(17*time.Second, Degraded, false, true)) // 2 s degraded
	l.Add(as(10*time.Minute, NotSpot, false))        // a stall: capped at MaxCredit; data dropped
	l.Add(as(10*time.Minute, NotSpot, false))        // no time passed
	got := l.Totals()
	wantStates := map[State]float64{Good: 5, Degraded: 2 + MaxCredit.Seconds(), NotSpot: 0, Disconnected: 10}
	for s, v := range wantStates {
		if got.StateSeconds[s] != v {
			t.Errorf("%s seconds %v, want %v", s, got.StateSeconds[s], v)
		}
	}
	if v := got.StandardSeconds["voice"]; v[true] != 5 || v[false] != 10+2+MaxCredit.Seconds() {
		t.Errorf("voice seconds %v", v)
	}
	if _, ok := got.StandardSeconds["data"]; ok {
		t.Errorf("a standard no longer assessed is still counted: %v", got.StandardSeconds)
	}
	// Totals is a copy.
	got.StateSeconds[Good] = 1e9
	if l.Totals().StateSeconds[Good] != 5 {
		t.Error("Totals shares its maps")
	}
}
