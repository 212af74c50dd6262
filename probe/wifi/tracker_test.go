package wifi

import (
	"testing"
	"time"
)

// step is one poll in a tracker sequence: what it saw, a second after the
// previous one unless gap says otherwise.
type step struct {
	conn                            bool
	ssid                            string
	bssid                           string
	gap                             time.Duration
	st                              bool // station data came
	connFor, retries, failed, bloss int
}

func up(bssid string) step { return step{conn: true, ssid: "CLINICAL", bssid: bssid} }
func down() step           { return step{} }

func (s step) station(connFor, retries, failed, bloss int) step {
	s.st, s.connFor, s.retries, s.failed, s.bloss = true, connFor, retries, failed, bloss
	return s
}

func (s step) after(d time.Duration) step { s.gap = d; return s }

func TestTracker(t *testing.T) {
	const A, B = "aa:00:00:00:00:01", "bb:00:00:00:00:02"
	other := step{conn: true, ssid: "GUEST", bssid: B}
	for _, tc := range []struct {
		name  string
		steps []step
		want  Counters
	}{
		{name: "steady connection", steps: []step{up(A), up(A), up(A)}},
		{name: "starting disconnected is not a disconnect, but its time counts",
			steps: []step{down(), down(), down(), up(A)},
			want:  Counters{Disconnected: 3 * time.Second}},
		{name: "roam between polls", steps: []step{up(A), up(B), up(B), up(A)},
			want: Counters{Roams: 2}},
		{name: "roam with an outage seen by one poll (slow roam)", steps: []step{up(A), down(), up(B)},
			want: Counters{Roams: 1}},
		{name: "outage seen by two polls is a disconnect, counted at the second",
			steps: []step{up(A), down(), down()},
			want:  Counters{Disconnects: 1, Disconnected: time.Second}},
		{name: "long outage accrues time until the reconnection",
			steps: []step{up(A), down(), down(), down(), down(), up(A)},
			want:  Counters{Disconnects: 1, Disconnected: 4 * time.Second}},
		{name: "outage of two polls ending on another BSS is a disconnect, not a roam",
			steps: []step{up(A), down(), down(), up(B)},
			want:  Counters{Disconnects: 1, Disconnected: 2 * time.Second}},
		{name: "one-poll outage back on the same BSS is a disconnect",
			steps: []step{up(A), down(), up(A)},
			want:  Counters{Disconnects: 1, Disconnected: time.Second}},
		{name: "one-poll outage ending on another SSID is a disconnect",
			steps: []step{up(A), down(), other},
			want:  Counters{Disconnects: 1, Disconnected: time.Second}},
		{name: "direct move to another SSID is a disconnect", steps: []step{up(A), other},
			want: Counters{Disconnects: 1}},
		{name: "reassociation between polls: connected time went back",
			steps: []step{up(A).station(100, 0, 0, 0), up(A).station(0, 0, 0, 0)},
			want:  Counters{Disconnects: 1}},
		{name: "reassociation between polls: connected time grew less than the clock",
			steps: []step{up(A).station(100, 0, 0, 0), up(A).station(3, 0, 0, 0).after(10 * time.Second)},
			want:  Counters{Disconnects: 1}},
		{name: "connected time that keeps up is no event",
			steps: []step{up(A).station(100, 0, 0, 0), up(A).station(101, 0, 0, 0), up(A).station(112, 0, 0, 0).after(11 * time.Second)}},
		{name: "a poll without station data is no event",
			steps: []step{up(A).station(100, 0, 0, 0), up(A), up(A).station(102, 0, 0, 0)}},
		{name: "driver counters add up across associations",
			steps: []step{
				up(A).station(10, 5, 1, 0), // 5 retries before we looked: counted
				up(A).station(11, 8, 1, 2),
				up(B).station(0, 3, 0, 0), // roam: a new station entry, its counters start again
				up(B).station(1, 4, 2, 1),
			},
			want: Counters{Roams: 1, TxRetries: 5 + 3 + 3 + 1, TxFailed: 1 + 2, BeaconLoss: 2 + 1}},
		{name: "a counter going backwards restarts",
			steps: []step{up(A).station(10, 50, 0, 0), up(A).station(11, 7, 0, 0)},
			want:  Counters{TxRetries: 50 + 7}},
		{name: "several events",
			steps: []step{down(), up(A), up(B), down(), down(), down(), up(B), down(), up(A), up(A)},
			want:  Counters{Roams: 2, Disconnects: 1, Disconnected: time.Second + 3*time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr tracker
			now := start()
			var got Counters
			for i, s := range tc.steps {
				gap := s.gap
				if gap == 0 {
					gap = time.Second
				}
				if i > 0 {
					now = now.Add(gap)
				}
				got = tr.observe(observation{now: now, connected: s.conn, ssid: s.ssid, bssid: s.bssid, station: s.st,
					stationAt: now, connectedFor: time.Duration(s.connFor) * time.Second,
					retries: uint64(s.retries), failed: uint64(s.failed), beaconLoss: uint64(s.bloss)})
			}
			if got != tc.want {
				t.Errorf("counters\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestDisconnectCountedWithinTwoPolls checks the counter's latency: an outage
// that starts just after a poll is counted by the second poll after it.
func TestDisconnectCountedWithinTwoPolls(t *testing.T) {
	var tr tracker
	now := start()
	tr.observe(observation{now: now, connected: true, ssid: "S", bssid: "A"})
	event := now.Add(time.Millisecond)
	var counted time.Time
	for i := 1; i <= 5 && counted.IsZero(); i++ {
		now = now.Add(time.Second)
		if tr.observe(observation{now: now}).Disconnects == 1 {
			counted = now
		}
	}
	if d := counted.Sub(event); counted.IsZero() || d > 2*time.Second {
		t.Errorf("disconnect counted %s after it happened, want <= 2 s", d)
	}
}

func TestTrackerSkipsPlannedOutages(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(1000+int64(s), 0) }
	var tr tracker
	tr.observe(observation{now: at(0), connected: true, ssid: "W", bssid: "a"})
	tr.observe(observation{now: at(1), connected: true, ssid: "W", bssid: "a"})
	// A connect test on the main link: down for three polls, back on another AP.
	for s := 2; s <= 4; s++ {
		tr.skip(observation{now: at(s)})
	}
	tr.skip(observation{now: at(5), connected: true, ssid: "W", bssid: "b"})
	c := tr.observe(observation{now: at(6), connected: true, ssid: "W", bssid: "b"})
	if c.Disconnects != 0 || c.Roams != 0 || c.Disconnected != 0 {
		t.Errorf("a planned outage counted: %+v", c)
	}
	// An outage that outlasts the window adds time, not an event.
	tr.skip(observation{now: at(7)})
	tr.observe(observation{now: at(8)})
	c = tr.observe(observation{now: at(10)})
	if c.Disconnects != 0 || c.Disconnected != 3*time.Second {
		t.Errorf("after the window: %+v, want 3 s disconnected and no disconnect", c)
	}
}
