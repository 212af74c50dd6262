// Package surveytest holds fakes of the survey's Scanner and Pinger for the
// tests of the capture, the web server and the page: the narrowest layer
// (the radio and the ICMP socket) is replaced, everything above it is real.
package surveytest

import (
	"context"
	"sync"
	"time"

	"github.com/wardprobe/wardprobe/internal/survey"
)

// Scanner returns what its Heard function says (called once per scan, with
// the scan's number from 0), the Link, and the Noise map.
type Scanner struct {
	mu       sync.Mutex
	Heard    func(scan int) []survey.Heard
	LinkTo   *survey.Link
	NoiseDBM map[int]float64
	// Delay is how long each scan takes.
	Delay time.Duration
	n     int
}

// SetHeard changes what the next scans hear.
func (s *Scanner) SetHeard(f func(scan int) []survey.Heard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Heard = f
}

// Scan implements survey.Scanner.
func (s *Scanner) Scan(ctx context.Context) ([]survey.Heard, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(s.Delay):
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n++
	return s.Heard(n), nil
}

// Cached implements survey.Scanner.
func (s *Scanner) Cached(context.Context) ([]survey.Heard, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Heard(0), nil
}

// Link implements survey.Scanner.
func (s *Scanner) Link(context.Context) (survey.Link, bool, error) {
	if s.LinkTo == nil {
		return survey.Link{}, false, nil
	}
	return *s.LinkTo, true, nil
}

// Noise implements survey.Scanner.
func (s *Scanner) Noise(context.Context) (map[int]float64, error) { return s.NoiseDBM, nil }

// Pinger answers every packet after RTT, reporting progress as it goes.
type Pinger struct {
	RTT time.Duration
	// Lose is how many of each burst's packets go unanswered.
	Lose int
}

// Burst implements survey.Pinger.
func (p *Pinger) Burst(ctx context.Context, _ survey.PingTarget, count int, interval, _ time.Duration, progress func(int)) (survey.Burst, error) {
	b := survey.Burst{Address: "192.0.2.1", Sent: count}
	for i := range count {
		select {
		case <-ctx.Done():
			return survey.Burst{}, ctx.Err()
		case <-time.After(interval):
		}
		if i >= p.Lose {
			b.RTTs = append(b.RTTs, p.RTT)
		}
		if progress != nil {
			progress(i + 1)
		}
	}
	return b, nil
}
