package icmp

import (
	"sort"
	"time"
)

// Tracker does per-packet loss accounting: a packet is lost once its own
// timeout passes without a reply, not when a run ends. A reply that arrives
// after its packet was declared lost is ignored (counted as late). It is not
// safe for concurrent use.
type Tracker struct {
	timeout time.Duration
	pending map[int]time.Time // sequence → send time
	late    int
}

// NewTracker returns a Tracker with the given per-packet timeout.
func NewTracker(timeout time.Duration) *Tracker {
	return &Tracker{timeout: timeout, pending: map[int]time.Time{}}
}

// Sent records that packet seq left at t.
func (t *Tracker) Sent(seq int, at time.Time) { t.pending[seq] = at }

// Received records a reply to seq with round-trip time rtt. It reports false
// for a reply to an unknown or already-expired packet, or one slower than the
// timeout (such a packet is then lost, as it would have been had Expire run first).
func (t *Tracker) Received(seq int, rtt time.Duration) bool {
	if _, ok := t.pending[seq]; !ok {
		t.late++
		return false
	}
	if rtt > t.timeout {
		return false // left pending: Expire declares it lost
	}
	delete(t.pending, seq)
	return true
}

// Expire returns, in sequence order, the packets whose timeout has passed at
// now, and forgets them.
func (t *Tracker) Expire(now time.Time) []int {
	var lost []int
	for seq, at := range t.pending {
		if now.Sub(at) >= t.timeout {
			lost = append(lost, seq)
			delete(t.pending, seq)
		}
	}
	sort.Ints(lost)
	return lost
}

// Pending is the number of packets awaiting a reply or their timeout.
func (t *Tracker) Pending() int { return len(t.pending) }

// Late is the number of replies that came after their packet was lost.
func (t *Tracker) Late() int { return t.late }

// Jitter is an RFC 3550 style interarrival jitter estimate over round-trip
// times: J += (|D| − J)/16, where D is the difference between consecutive RTTs.
type Jitter struct {
	last time.Duration
	have bool
	j    float64 // nanoseconds
}

// Add folds a new RTT in and returns the jitter estimate.
func (j *Jitter) Add(rtt time.Duration) time.Duration {
	if j.have {
		d := float64(rtt - j.last)
		if d < 0 {
			d = -d
		}
		j.j += (d - j.j) / 16
	}
	j.last, j.have = rtt, true
	return time.Duration(j.j)
}

// Value returns the current jitter estimate.
func (j *Jitter) Value() time.Duration { return time.Duration(j.j) }
