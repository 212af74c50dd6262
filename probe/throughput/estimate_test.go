package throughput

import (
	"math"
	"testing"
	"time"
)

// series builds samples every step for total, delivering bytes per the
// rate function of time (bytes per second), integrated per step.
func series(step, total time.Duration, rate func(t time.Duration) float64, quantum int64) []sample {
	var out []sample
	var exact float64
	for t := time.Duration(0); t <= total; t += step {
		exact += rate(t) * step.Seconds()
		b := int64(exact)
		if quantum > 1 {
			b = b / quantum * quantum
		}
		out = append(out, sample{t, b})
	}
	return out
}

func TestEstimator(t *testing.T) {
	const mbps = 1e6 / 8 // bytes per second in one Mbit/s
	steady := func(r float64) func(time.Duration) float64 {
		return func(time.Duration) float64 { return r }
	}
	tests := []struct {
		name        string
		samples     []sample
		warmBytes   int64
		wantRate    float64 // bytes per second; 0: no rate
		tol         float64
		wantSettled bool
	}{
		{"steady 20 Mbit/s settles", series(10*time.Millisecond, 1200*time.Millisecond, steady(20*mbps), 0), 1 << 30, 20 * mbps, 0.005, true},
		{"slow start is skipped", series(10*time.Millisecond, 1500*time.Millisecond, func(t time.Duration) float64 {
			if t < 200*time.Millisecond {
				return 100 * mbps * t.Seconds() / 0.2 // ramp to 100
			}
			return 100 * mbps
		}, 0), 1 << 30, 100 * mbps, 0.01, true},
		{"64 KiB steps at 20 Mbit/s", series(10*time.Millisecond, 1500*time.Millisecond, steady(20*mbps), 64<<10), 1 << 30, 20 * mbps, 0.03, true},
		{"still climbing does not settle", series(10*time.Millisecond, 1200*time.Millisecond, func(t time.Duration) float64 {
			return 10 * mbps * (1 + 4*t.Seconds())
		}, 0), 1 << 30, 0, 0, false},
		{"too short to settle", series(10*time.Millisecond, 600*time.Millisecond, steady(50*mbps), 0), 1 << 30, 50 * mbps, 0.01, false},
		{"byte warm-up for a fast link", series(10*time.Millisecond, 100*time.Millisecond, steady(8000*mbps), 0), 20 << 20, 8000 * mbps, 0.01, false},
		{"nothing delivered", series(10*time.Millisecond, time.Second, steady(0), 0), 1 << 30, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEstimator(warmupTime, tc.warmBytes, minWindow, settleTime, settleTolerance)
			for _, s := range tc.samples {
				e.add(s)
			}
			if got := e.settled(); got != tc.wantSettled {
				t.Errorf("settled = %v, want %v", got, tc.wantSettled)
			}
			r, _, ok := e.rate()
			if tc.wantRate == 0 {
				if tc.name == "nothing delivered" && (ok || e.started()) {
					t.Errorf("rate %v, started %v; want none", r, e.started())
				}
				return
			}
			if !ok || math.Abs(r-tc.wantRate)/tc.wantRate > tc.tol {
				t.Errorf("rate %.0f B/s (ok %v), want %.0f ± %.1f%%", r, ok, tc.wantRate, 100*tc.tol)
			}
		})
	}
}

func TestLastProgress(t *testing.T) {
	e := newEstimator(warmupTime, 1<<30, minWindow, settleTime, settleTolerance)
	for i, b := range []int64{0, 10, 20, 20, 20} {
		e.add(sample{time.Duration(i) * time.Second, b})
	}
	if got := e.lastProgress(); got != 2*time.Second {
		t.Errorf("lastProgress = %v, want 2s", got)
	}
}

// TestRateFromFirstByte covers a link so fast that the share ran out before
// the sampler's first tick: one sample, and the rate taken from the first
// payload byte to that sample (the case CI met on loopback).
func TestRateFromFirstByte(t *testing.T) {
	tests := []struct {
		name      string
		firstAt   time.Duration // first payload byte, since the direction began; <0: none
		sampleAt  time.Duration
		delivered int64
		wantRate  float64 // bytes per second; 0: none
	}{
		{"share used in 5 ms", 1500 * time.Microsecond, 6500 * time.Microsecond, 5_000_000, 1e9},
		{"no payload byte seen", -1, 6500 * time.Microsecond, 5_000_000, 0},
		{"first byte not before the sample", 6500 * time.Microsecond, 6500 * time.Microsecond, 5_000_000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			r := &dirRun{begin: begin, est: newEstimator(warmupTime, 1<<20, minWindow, settleTime, settleTolerance),
				conns: &connSet{made: begin}}
			if tc.firstAt >= 0 {
				r.conns.firstData.Store(int64(tc.firstAt) + 1)
			}
			r.est.add(sample{tc.sampleAt, tc.delivered})
			rate, window, ok := r.rate()
			if tc.wantRate == 0 {
				if ok {
					t.Errorf("rate %.0f B/s over %v, want none", rate, window)
				}
				return
			}
			if !ok || math.Abs(rate-tc.wantRate)/tc.wantRate > 1e-6 || window != tc.sampleAt-tc.firstAt {
				t.Errorf("rate %.0f B/s over %v (ok %v), want %.0f over %v", rate, window, ok, tc.wantRate, tc.sampleAt-tc.firstAt)
			}
		})
	}
}
