package wifi

import "time"

// observation is what one poll saw of the association.
type observation struct {
	now       time.Time
	connected bool
	ssid      string
	bssid     string
	// station is whether station data came with the poll; the rest is only
	// valid when it did.
	station bool
	// stationAt is when the kernel counted connectedFor: the station
	// query's midpoint (not now, the poll's start, before other queries).
	stationAt    time.Time
	connectedFor time.Duration
	retries      uint64
	failed       uint64
	beaconLoss   uint64
}

// tracker turns successive observations into events and totals.
//
// Polling sees the association only at poll times, so events are defined in
// polls:
//   - a roam is a move to another BSS of the same SSID between two polls, or
//     across an outage that only one poll saw (a slow roam);
//   - a disconnect is an outage seen by two polls in a row, or an outage of
//     one poll that ends on the same BSS or another SSID, or a reassociation
//     between polls (the station's connected time went backwards). It is
//     counted at the latest two poll intervals after it happened;
//   - time disconnected runs from the first poll that saw the outage to the
//     first poll that sees a connection again; an outage counted as a roam
//     adds none.
//
// Before the first connection the time is counted as disconnected, without a
// disconnect event.
type tracker struct {
	seen bool
	last observation
	// down is set during an outage after a connection; downAt is its first
	// poll and downFrom what the station was connected to before it.
	down     bool
	downAt   time.Time
	downPoll int
	downFrom observation
	counted  bool

	// baseline of the driver's per-association counters
	base observation
	c    Counters
}

func (t *tracker) observe(o observation) Counters {
	prev := t.last
	first := !t.seen
	t.seen, t.last = true, o
	var dt time.Duration
	if !first && o.now.After(prev.now) {
		dt = o.now.Sub(prev.now)
	}
	switch {
	case first:
		if o.connected {
			t.rebase(o)
		} else {
			t.down, t.counted = true, true // not an event: it never was connected
		}
	case prev.connected && o.connected:
		switch {
		case o.bssid != prev.bssid:
			if o.ssid == prev.ssid {
				t.c.Roams++
			} else {
				t.c.Disconnects++ // moved to another network: the old one was lost
			}
			t.rebase(o)
		case t.reassociated(o):
			t.c.Disconnects++ // dropped and reassociated between polls
			t.rebase(o)
		default:
			t.accumulate(o)
		}
	case prev.connected && !o.connected:
		t.down, t.downAt, t.downPoll, t.downFrom, t.counted = true, o.now, 1, prev, false
	case !prev.connected && !o.connected:
		t.downPoll++
		if t.down && !t.counted && t.downPoll >= 2 {
			t.c.Disconnects++
			t.counted = true
			t.c.Disconnected += o.now.Sub(t.downAt)
		} else if t.counted {
			t.c.Disconnected += dt
		}
	case !prev.connected && o.connected:
		if t.down && !t.counted {
			if o.ssid == t.downFrom.ssid && o.bssid != t.downFrom.bssid {
				t.c.Roams++
			} else {
				t.c.Disconnects++
				t.c.Disconnected += o.now.Sub(t.downAt)
			}
		} else if t.counted {
			t.c.Disconnected += dt
		}
		t.down, t.counted = false, false
		t.rebase(o)
	}
	return t.c
}

// reassociated reports whether the station's connected time shows that it
// dropped and reassociated with the same BSS since the last poll with station
// data (the kernel counts it in whole seconds: allow 2 s of slack).
func (t *tracker) reassociated(o observation) bool {
	if !o.station || !t.base.station {
		return false
	}
	expect := t.base.connectedFor + o.stationAt.Sub(t.base.stationAt)
	return o.connectedFor < t.base.connectedFor || o.connectedFor+2*time.Second < expect
}

// rebase starts counting a new association's counters from what it has
// already accumulated.
func (t *tracker) rebase(o observation) {
	t.base = observation{station: o.station}
	t.accumulate(o)
}

// accumulate adds the growth of the driver counters since the last poll of
// the same association (a counter that went backwards was reset: its whole
// value is new).
func (t *tracker) accumulate(o observation) {
	if !o.station {
		return
	}
	grow := func(now, was uint64) uint64 {
		if now >= was {
			return now - was
		}
		return now
	}
	t.c.TxRetries += grow(o.retries, t.base.retries)
	t.c.TxFailed += grow(o.failed, t.base.failed)
	t.c.BeaconLoss += grow(o.beaconLoss, t.base.beaconLoss)
	t.base = o
}

// skip takes o as the current state without counting anything: a poll
// inside a planned outage (a connect test reconnecting the main link). The
// next counted poll starts from it, so a reconnection to another BSS is no
// roam and the outage no disconnect; an outage that outlasts the window
// adds its time disconnected from then on, but no disconnect event.
func (t *tracker) skip(o observation) Counters {
	t.seen, t.last = true, o
	t.down, t.counted = !o.connected, true
	if o.connected {
		t.rebase(o)
	}
	return t.c
}
