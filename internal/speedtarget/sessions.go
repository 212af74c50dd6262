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
	RejectCooldown   = "cooldown"    // this client's last test was ended by a limit, and it must wait
)

// Limit reasons, the "reason" label of wardprobe_speedtarget_transfer_limits_total:
// why a transfer was cut off and its client's test ended.
const (
	LimitTooSlow      = "too_slow"      // it moved less than MinRate over RateWindow
	LimitTransferTime = "transfer_time" // it ran longer than MaxTransferTime
	LimitTestTime     = "test_time"     // its client's test ran longer than MaxTestTime
)

// sessions admits transfers. A client (one remote address) is testing while
// it has a transfer in flight or had one within grace, and at most maxTests
// clients test at once, each with at most maxStreams transfers in flight.
//
// A test lasts at most maxTest from its first transfer. When it passes that,
// or when one of its transfers breaks a limit (see transfer), the test is
// ended: its transfers are cut off, its slot is free at once, and the client
// is refused for cooldown — so a client cannot hold a slot by starting a new
// transfer as soon as one is cut off.
//
// The map holds at most maxTests testing clients plus maxCooling ending ones.
type sessions struct {
	mu         sync.Mutex
	m          map[string]*session
	maxTests   int
	maxStreams int
	grace      time.Duration
	maxTest    time.Duration
	cooldown   time.Duration
	maxCooling int
}

type session struct {
	streams int
	start   time.Time // the test's first transfer
	last    time.Time // when the last transfer ended (or began)
	// ended is when the test was ended by a limit (zero while it runs), and
	// why; the client is refused until ended+cooldown.
	ended     time.Time
	endReason string
}

func newSessions(maxTests, maxStreams int, grace, maxTest, cooldown time.Duration) *sessions {
	return &sessions{m: map[string]*session{}, maxTests: maxTests, maxStreams: maxStreams, grace: grace,
		maxTest: maxTest, cooldown: cooldown, maxCooling: 16 * maxTests}
}

// prune forgets idle sessions older than grace and ended ones whose cooldown
// passed. It returns the number of clients testing. The caller holds mu.
func (ss *sessions) prune(now time.Time) (testing int) {
	var oldest string
	cooling := 0
	for k, s := range ss.m {
		switch {
		case s.streams > 0 && s.ended.IsZero():
			testing++
		case s.streams > 0:
		case s.ended.IsZero() && now.Sub(s.last) > ss.grace, !s.ended.IsZero() && now.Sub(s.ended) > ss.cooldown:
			delete(ss.m, k)
		case s.ended.IsZero():
			testing++
		default:
			cooling++
			if oldest == "" || s.ended.Before(ss.m[oldest].ended) {
				oldest = k
			}
		}
	}
	if cooling > ss.maxCooling {
		delete(ss.m, oldest) // its cooldown is forgotten early; the map stays bounded
	}
	return testing
}

// acquire admits one transfer for client, or returns the reason it is
// refused. The session it returns is client's while the transfer runs.
func (ss *sessions) acquire(client string, now time.Time) (s *session, reason string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	testing := ss.prune(now)
	s, exists := ss.m[client]
	if exists && s.ended.IsZero() && now.Sub(s.start) >= ss.maxTest {
		ss.end(s, now, LimitTestTime)
	}
	switch {
	case exists && !s.ended.IsZero():
		return nil, RejectCooldown
	case exists && s.streams >= ss.maxStreams:
		return nil, RejectMaxStreams
	case !exists && testing >= ss.maxTests:
		return nil, RejectMaxTests
	case !exists:
		s = &session{start: now}
		ss.m[client] = s
	}
	s.streams++
	s.last = now
	return s, ""
}

// release ends one transfer of s.
func (ss *sessions) release(s *session, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s.streams--
	s.last = now
}

// end ends s's test for reason. The caller holds mu.
func (ss *sessions) end(s *session, now time.Time, reason string) {
	if s.ended.IsZero() {
		s.ended, s.endReason = now, reason
	}
}

// check returns why s's test has ended ("" while it runs), ending it first
// if it has run for maxTest.
func (ss *sessions) check(s *session, now time.Time) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s.ended.IsZero() && now.Sub(s.start) >= ss.maxTest {
		ss.end(s, now, LimitTestTime)
	}
	return s.endReason
}

// endTest ends s's test for reason (a transfer of it broke a limit).
func (ss *sessions) endTest(s *session, now time.Time, reason string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.end(s, now, reason)
}

// counts returns the clients testing and the transfers in flight.
func (ss *sessions) counts(now time.Time) (tests, streams int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	tests = ss.prune(now)
	for _, s := range ss.m {
		streams += s.streams
	}
	return tests, streams
}
