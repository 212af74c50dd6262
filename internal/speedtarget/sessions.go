package speedtarget

import (
	"sync"
	"time"
)

// Rejection reasons, the "reason" label of wardprobe_speedtarget_rejected_total.
const (
	RejectMaxTests   = "max_tests"   // as many clients as allowed are already testing
	RejectMaxStreams = "max_streams" // this client already has as many transfers as allowed
	RejectTooLarge   = "too_large"   // the request body or payload is over the limit
	RejectBadRequest = "bad_request" // a malformed payload request
)

// sessions admits transfers: a client (one remote address) is testing while
// it has a transfer in flight or had one within grace, and at most maxTests
// clients test at once, each with at most maxStreams transfers in flight.
// The map never holds more than maxTests entries.
type sessions struct {
	mu         sync.Mutex
	m          map[string]*session
	maxTests   int
	maxStreams int
	grace      time.Duration
}

type session struct {
	streams int
	last    time.Time // when the last transfer ended (or began)
}

func newSessions(maxTests, maxStreams int, grace time.Duration) *sessions {
	return &sessions{m: map[string]*session{}, maxTests: maxTests, maxStreams: maxStreams, grace: grace}
}

// prune forgets idle sessions older than grace. The caller holds mu.
func (ss *sessions) prune(now time.Time) {
	for k, s := range ss.m {
		if s.streams == 0 && now.Sub(s.last) > ss.grace {
			delete(ss.m, k)
		}
	}
}

// acquire admits one transfer for client, or returns the reason it is refused.
func (ss *sessions) acquire(client string, now time.Time) (ok bool, reason string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.prune(now)
	s, exists := ss.m[client]
	switch {
	case exists && s.streams >= ss.maxStreams:
		return false, RejectMaxStreams
	case !exists && len(ss.m) >= ss.maxTests:
		return false, RejectMaxTests
	case !exists:
		s = &session{}
		ss.m[client] = s
	}
	s.streams++
	s.last = now
	return true, ""
}

// release ends one transfer of client.
func (ss *sessions) release(client string, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[client]; ok {
		s.streams--
		s.last = now
	}
}

// counts returns the clients testing and the transfers in flight.
func (ss *sessions) counts(now time.Time) (tests, streams int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.prune(now)
	for _, s := range ss.m {
		streams += s.streams
	}
	return len(ss.m), streams
}
