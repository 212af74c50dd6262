package icmp

import (
	"math/bits"
	"time"
)

// MaxInFlight bounds the echo requests of one target that may await their
// reply at once: a target's timeout may be at most MaxInFlight intervals
// (check-config says so), so that a target's memory is bounded whatever its
// config (interval 10ms with timeout 1h would otherwise keep 360,000 echoes
// awaiting): a ring of at most 1,024 slots of 32 bytes.
const MaxInFlight = 1000

// InFlight returns how many echoes of a target with interval and timeout
// may await their reply at once: one per interval of the timeout, plus the
// one being sent, plus one for a tick that comes late.
func InFlight(interval, timeout time.Duration) int {
	if interval <= 0 {
		return MaxInFlight + 1
	}
	n := (timeout + interval - 1) / interval
	if n > MaxInFlight {
		return MaxInFlight + 1
	}
	return int(n) + 2
}

// slot is one echo awaiting its reply.
type slot struct {
	serial uint64 // 0 when the slot is free (answered, lost or never used)
	sent   time.Time
}

// flight is the echoes of one target awaiting their reply, in send order,
// with a monotonic send time each: a reply's round-trip time is measured
// from it, never from what the payload says. Serials start at 1. It is a
// fixed ring: nothing grows with the config, the traffic or a dead target.
// It is not safe for concurrent use.
type flight struct {
	slots   []slot
	mask    uint64
	limit   uint64 // echoes that may await at once (≤ len(slots))
	timeout time.Duration
	oldest  uint64 // every serial below it is settled
	next    uint64 // the next serial to send
}

// newFlight returns a flight for at most limit echoes (1..MaxInFlight+2),
// each lost once timeout passes without its reply.
func newFlight(limit int, timeout time.Duration) *flight {
	limit = min(max(limit, 1), MaxInFlight+2)
	size := 1 << bits.Len(uint(limit-1))
	return &flight{slots: make([]slot, size), mask: uint64(size - 1), limit: uint64(limit), timeout: timeout, oldest: 1, next: 1}
}

// add records the next echo as sent at now and returns its serial. When
// limit echoes already await their replies (the ticker fell behind and
// caught up, say), the oldest is settled as lost first, and evicted is when
// it was sent (zero otherwise).
func (f *flight) add(now time.Time) (serial uint64, evicted time.Time) {
	f.skipSettled()
	if f.next-f.oldest >= f.limit {
		s := &f.slots[f.oldest&f.mask]
		s.serial, evicted = 0, s.sent
		f.oldest++
	}
	serial = f.next
	f.slots[serial&f.mask] = slot{serial: serial, sent: now}
	f.next++
	return serial, evicted
}

// cancel forgets serial, the echo just added, whose send failed.
func (f *flight) cancel(serial uint64) {
	if s := &f.slots[serial&f.mask]; s.serial == serial {
		s.serial = 0
	}
}

// answer settles serial as answered at now and returns its round-trip time.
// It reports false for a reply that is not awaited: unknown, a duplicate,
// or later than the echo's timeout (the echo is, or will be, lost).
func (f *flight) answer(serial uint64, now time.Time) (time.Duration, bool) {
	if serial < f.oldest || serial >= f.next {
		return 0, false
	}
	s := &f.slots[serial&f.mask]
	if s.serial != serial {
		return 0, false
	}
	rtt := now.Sub(s.sent)
	if rtt > f.timeout {
		return 0, false
	}
	s.serial = 0
	return rtt, true
}

// expire settles as lost every echo whose timeout has passed at now, and
// returns lost with the time each was sent appended, oldest first.
func (f *flight) expire(now time.Time, lost []time.Time) []time.Time {
	for ; f.oldest < f.next; f.oldest++ {
		s := &f.slots[f.oldest&f.mask]
		if s.serial != f.oldest {
			continue // answered
		}
		if now.Sub(s.sent) < f.timeout {
			break
		}
		s.serial = 0
		lost = append(lost, s.sent)
	}
	return lost
}

// deadline returns when the oldest echo awaiting its reply is lost, and
// false when none awaits.
func (f *flight) deadline() (time.Time, bool) {
	f.skipSettled()
	if f.oldest == f.next {
		return time.Time{}, false
	}
	return f.slots[f.oldest&f.mask].sent.Add(f.timeout), true
}

// forget drops every echo awaiting its reply without settling it (its
// socket is gone) and returns how many.
func (f *flight) forget() int {
	n := 0
	for ; f.oldest < f.next; f.oldest++ {
		if s := &f.slots[f.oldest&f.mask]; s.serial == f.oldest {
			s.serial = 0
			n++
		}
	}
	return n
}

// awaiting returns how many echoes await their reply.
func (f *flight) awaiting() int {
	n := 0
	for sn := f.oldest; sn < f.next; sn++ {
		if f.slots[sn&f.mask].serial == sn {
			n++
		}
	}
	return n
}

func (f *flight) skipSettled() {
	for f.oldest < f.next && f.slots[f.oldest&f.mask].serial != f.oldest {
		f.oldest++
	}
}
