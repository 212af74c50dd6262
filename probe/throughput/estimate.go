package throughput

import (
	"math"
	"time"
)

// sample is a direction's delivered-byte counter at one moment: bytes the
// kernel received (download) or had acknowledged by the target (upload),
// summed over the direction's connections.
type sample struct {
	t time.Duration // since the direction began
	b int64
}

// estimator turns a direction's samples into a rate. It skips the warm-up
// (TCP slow start, the queue filling) and fits a least-squares line to the
// delivered bytes after it; the direction may stop once the fitted rate has
// settled. It is not safe for concurrent use.
type estimator struct {
	// warmup and warmBytes end the warm-up: whichever comes first of warmup
	// after the first byte, or warmBytes delivered.
	warmup    time.Duration
	warmBytes int64
	// minWindow is the shortest measurement window that may count as settled.
	minWindow time.Duration
	// settle and tolerance: settled when the rate fitted without the last
	// settle differs from the whole window's by at most tolerance (a fraction).
	settle    time.Duration
	tolerance float64

	s     []sample
	first int // index of the first sample with bytes, -1 before
	warm  int // index where the measurement window begins, -1 before
}

func newEstimator(warmup time.Duration, warmBytes int64, minWindow, settle time.Duration, tolerance float64) *estimator {
	return &estimator{warmup: warmup, warmBytes: warmBytes, minWindow: minWindow, settle: settle,
		tolerance: tolerance, first: -1, warm: -1}
}

// add records a sample; samples come in time order.
func (e *estimator) add(s sample) {
	e.s = append(e.s, s)
	i := len(e.s) - 1
	if e.first < 0 && s.b > 0 {
		e.first = i
	}
	if e.first >= 0 && e.warm < 0 {
		if s.t-e.s[e.first].t >= e.warmup || s.b >= e.warmBytes {
			e.warm = i
		}
	}
}

// started reports whether any byte was delivered.
func (e *estimator) started() bool { return e.first >= 0 }

// window returns the samples of the measurement window.
func (e *estimator) window() []sample {
	if e.warm < 0 {
		return nil
	}
	return e.s[e.warm:]
}

// slope fits bytes = a + r·t by least squares and returns r in bytes per
// second; ok is false with fewer than two distinct times.
func slope(ss []sample) (r float64, ok bool) {
	if len(ss) < 2 {
		return 0, false
	}
	t0, b0 := ss[0].t.Seconds(), float64(ss[0].b)
	var st, sb float64
	for _, s := range ss {
		st += s.t.Seconds() - t0
		sb += float64(s.b) - b0
	}
	n := float64(len(ss))
	mt, mb := st/n, sb/n
	var num, den float64
	for _, s := range ss {
		dt := s.t.Seconds() - t0 - mt
		num += dt * (float64(s.b) - b0 - mb)
		den += dt * dt
	}
	if den <= 0 {
		return 0, false
	}
	return num / den, true
}

// rate returns the delivery rate over the measurement window in bytes per
// second, and the window's length. When the direction stopped before the
// warm-up ended (a fast link used up its allowance), the window starts at the
// first byte instead.
func (e *estimator) rate() (bytesPerSecond float64, window time.Duration, ok bool) {
	w := e.window()
	if len(w) < 2 && e.first >= 0 {
		w = e.s[e.first:]
	}
	r, ok := slope(w)
	if !ok || r < 0 {
		return 0, 0, false
	}
	return r, w[len(w)-1].t - w[0].t, true
}

// settled reports whether the window is long enough and its rate stable.
func (e *estimator) settled() bool {
	w := e.window()
	if len(w) < 3 || w[len(w)-1].t-w[0].t < e.minWindow {
		return false
	}
	cut := len(w)
	for cut > 0 && w[cut-1].t > w[len(w)-1].t-e.settle {
		cut--
	}
	all, ok1 := slope(w)
	early, ok2 := slope(w[:cut])
	if !ok1 || !ok2 || all <= 0 {
		return false
	}
	return math.Abs(all-early) <= e.tolerance*all
}

// lastProgress returns when the counter last grew (the first sample's time
// when it never did).
func (e *estimator) lastProgress() time.Duration {
	for i := len(e.s) - 1; i > 0; i-- {
		if e.s[i].b > e.s[i-1].b {
			return e.s[i].t
		}
	}
	if len(e.s) == 0 {
		return 0
	}
	return e.s[0].t
}
