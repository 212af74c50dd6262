package probe

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeProber counts its calls; when block is set it waits for ctx to end.
type fakeProber struct {
	name     string
	calls    atomic.Int64
	block    bool
	deadline atomic.Int64 // ns until the deadline of the last call
}

func (f *fakeProber) Probe(ctx context.Context) Result {
	f.calls.Add(1)
	if dl, ok := ctx.Deadline(); ok {
		f.deadline.Store(int64(time.Until(dl)))
	}
	if f.block {
		<-ctx.Done()
		return Fail(f.name, "fake", ReasonTimeout, "blocked")
	}
	return Result{Target: f.name, Kind: "fake", Success: true}
}

type fakeRunner struct{ runs atomic.Int64 }

func (f *fakeRunner) Run(ctx context.Context, emit Emit) {
	f.runs.Add(1)
	emit(Result{Target: "runner", Kind: "fake", Success: true})
	<-ctx.Done()
}

type sink struct {
	mu  sync.Mutex
	got map[string]int
}

func (s *sink) emit(r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[r.Target]++
}

func (s *sink) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[name]
}

func newTestScheduler() (*Scheduler, *sink) {
	k := &sink{got: map[string]int{}}
	s := NewScheduler(k.emit)
	s.Stagger = func(time.Duration) time.Duration { return 0 }
	s.Align = func(time.Duration) time.Duration { return 0 }
	s.Jitter = func(time.Duration) time.Duration { return 0 }
	return s, k
}

// waitUntil polls cond for up to 5 s (a bound on a broken test, not a speed claim).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSchedulerApply(t *testing.T) {
	s, k := newTestScheduler()
	defer s.Stop()
	ctx := context.Background()
	a, b := &fakeProber{name: "a"}, &fakeProber{name: "b"}
	r := &fakeRunner{}
	jobs := []Job{
		{Name: "a", Key: "a1", Interval: 5 * time.Millisecond, Timeout: 5 * time.Millisecond, Prober: a},
		{Name: "b", Key: "b1", Interval: 5 * time.Millisecond, Timeout: 5 * time.Millisecond, Prober: b},
		{Name: "runner", Key: "r1", Interval: time.Second, Runner: r},
	}
	started, stopped := s.Apply(ctx, jobs)
	slices.Sort(started)
	if !slices.Equal(started, []string{"a", "b", "runner"}) || len(stopped) != 0 {
		t.Fatalf("first apply: started %v stopped %v", started, stopped)
	}
	waitUntil(t, "three results from a and b", func() bool { return k.count("a") >= 3 && k.count("b") >= 3 })

	tests := []struct {
		name        string
		jobs        []Job
		wantStarted []string
		wantStopped []string
	}{
		{"unchanged keys keep running", jobs, nil, nil},
		{"changed key restarts", []Job{jobs[0], {Name: "b", Key: "b2", Interval: 5 * time.Millisecond, Timeout: time.Millisecond, Prober: b}, jobs[2]},
			[]string{"b"}, []string{"b"}},
		{"removed job stops", []Job{jobs[0], jobs[2]}, nil, []string{"b"}},
	}
	for _, tt := range tests {
		started, stopped := s.Apply(ctx, tt.jobs)
		if !slices.Equal(started, tt.wantStarted) || !slices.Equal(stopped, tt.wantStopped) {
			t.Errorf("%s: started %v stopped %v, want %v %v", tt.name, started, stopped, tt.wantStarted, tt.wantStopped)
		}
	}
	if r.runs.Load() != 1 {
		t.Errorf("runner started %d times, want once (its key never changed)", r.runs.Load())
	}
	// b is stopped and Apply waited for it: it must not run again.
	before := b.calls.Load()
	waitUntil(t, "a to keep running", func() bool { return a.calls.Load() >= 10 })
	if after := b.calls.Load(); after != before {
		t.Errorf("stopped job ran %d more times", after-before)
	}
}

func TestSchedulerStopCancelsProbeInFlight(t *testing.T) {
	s, k := newTestScheduler()
	p := &fakeProber{name: "slow", block: true}
	s.Apply(context.Background(), []Job{{Name: "slow", Key: "1", Interval: time.Hour, Timeout: time.Hour, Prober: p}})
	waitUntil(t, "the probe to start", func() bool { return p.calls.Load() == 1 })
	s.Stop() // returns only once the probe has returned
	if n := k.count("slow"); n != 0 {
		t.Errorf("a probe cut short by Stop was reported %d times; it says nothing about the target", n)
	}
}

func TestSchedulerTimeoutBoundsProbe(t *testing.T) {
	s, k := newTestScheduler()
	defer s.Stop()
	p := &fakeProber{name: "t", block: true}
	s.Apply(context.Background(), []Job{{Name: "t", Key: "1", Interval: 50 * time.Millisecond, Timeout: 20 * time.Millisecond, Prober: p}})
	waitUntil(t, "a timed-out result", func() bool { return k.count("t") >= 1 })
	if d := time.Duration(p.deadline.Load()); d <= 0 || d > 20*time.Millisecond {
		t.Errorf("probe deadline %v ahead, want within the 20ms timeout", d)
	}
}

func TestSchedulerStaggerDelaysFirstRun(t *testing.T) {
	s, _ := newTestScheduler()
	var asked atomic.Int64
	s.Stagger = func(iv time.Duration) time.Duration { asked.Store(int64(iv)); return time.Hour }
	p := &fakeProber{name: "x"}
	s.Apply(context.Background(), []Job{{Name: "x", Key: "1", Interval: 30 * time.Second, Timeout: time.Second, Prober: p}})
	waitUntil(t, "stagger to be asked", func() bool { return asked.Load() != 0 })
	s.Stop()
	if p.calls.Load() != 0 || time.Duration(asked.Load()) != 30*time.Second {
		t.Errorf("calls %d, stagger asked for %v", p.calls.Load(), time.Duration(asked.Load()))
	}
}

// startRunner records when its Run began.
type startRunner struct{ at chan time.Time }

func (r startRunner) Run(ctx context.Context, _ Emit) {
	r.at <- time.Now()
	<-ctx.Done()
}

// Runners of one interval added at different times start on one grid.
func TestSchedulerAlignsRunners(t *testing.T) {
	s := NewScheduler(func(Result) {})
	s.Stagger = func(time.Duration) time.Duration { return 0 }
	defer s.Stop()
	// A start is late by the timer's slack and the scheduler's delay, never
	// early: tolerance is room for that on a loaded machine.
	const iv, tolerance = time.Second, 150 * time.Millisecond
	a, b := startRunner{make(chan time.Time, 1)}, startRunner{make(chan time.Time, 1)}
	jobs := []Job{{Name: "a", Key: "1", Interval: iv, Runner: a, Grid: true}}
	s.Apply(context.Background(), jobs)
	ta := <-a.at
	time.Sleep(iv / 3)
	added := time.Now()
	s.Apply(context.Background(), append(jobs, Job{Name: "b", Key: "1", Interval: iv, Runner: b, Grid: true}))
	tb := <-b.at
	if want := iv - added.Sub(ta)%iv; tb.Sub(added) < want-tolerance {
		t.Errorf("b started %v after it was added, want about %v (a's next grid instant)", tb.Sub(added), want)
	}
	if off := tb.Sub(ta) % iv; off > tolerance && off < iv-tolerance {
		t.Errorf("b started %v after a grid instant of a (%v apart), want on a's grid", off, tb.Sub(ta))
	}
}

// A Runner not on the grid starts staggered, as a Prober does.
func TestSchedulerStaggersRunnersOffGrid(t *testing.T) {
	s := NewScheduler(func(Result) {})
	s.Align = func(time.Duration) time.Duration { return time.Hour }
	s.Stagger = func(time.Duration) time.Duration { return 0 }
	defer s.Stop()
	r := startRunner{make(chan time.Time, 1)}
	s.Apply(context.Background(), []Job{{Name: "r", Key: "1", Interval: time.Second, Runner: r}})
	select {
	case <-r.at:
	case <-time.After(5 * time.Second):
		t.Fatal("a Runner off the grid waited for the grid")
	}
}

func TestUntilGrid(t *testing.T) {
	origin := time.Unix(1000, 0)
	tests := []struct {
		now      time.Duration // after origin
		interval time.Duration
		want     time.Duration
	}{
		{0, time.Second, 0},
		{250 * time.Millisecond, time.Second, 750 * time.Millisecond},
		{time.Second, time.Second, 0},
		{10*time.Second + time.Millisecond, 10 * time.Second, 10*time.Second - time.Millisecond},
		{3 * time.Second, 0, 0},
	}
	for _, tt := range tests {
		if got := untilGrid(origin, origin.Add(tt.now), tt.interval); got != tt.want {
			t.Errorf("untilGrid(origin+%v, %v) = %v, want %v", tt.now, tt.interval, got, tt.want)
		}
	}
}

// Each Scheduler draws its own phase: two probes started together do not
// send in step.
func TestSchedulerPhaseIsRandom(t *testing.T) {
	a, b := NewScheduler(func(Result) {}), NewScheduler(func(Result) {})
	da, db := a.Align(10*time.Second), b.Align(10*time.Second)
	if d := da - db; d > -10*time.Microsecond && d < 10*time.Microsecond {
		t.Errorf("two schedulers wait %v and %v for a 10 s grid: the same phase", da, db)
	}
	// A longer interval starts on the 10 s grid: no longer wait than a
	// Prober's stagger, and on the instants of every shorter Runner.
	if d := a.Align(time.Hour); d > 10*time.Second {
		t.Errorf("an hourly Runner waits %v to start, want at most 10s", d)
	}
}

func TestDefaultStaggerAndJitterBounds(t *testing.T) {
	tests := []struct {
		interval, maxStagger, maxJitter time.Duration
	}{
		{10 * time.Millisecond, 10 * time.Millisecond, 500 * time.Microsecond},
		{time.Second, time.Second, 50 * time.Millisecond},
		{30 * time.Second, 10 * time.Second, 500 * time.Millisecond},
		{time.Hour, 10 * time.Second, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		var sawNeg, sawPos bool
		for range 2000 {
			if st := DefaultStagger(tt.interval); st < 0 || st >= tt.maxStagger {
				t.Fatalf("interval %v: stagger %v outside [0,%v)", tt.interval, st, tt.maxStagger)
			}
			j := DefaultJitter(tt.interval)
			if j < -tt.maxJitter || j >= tt.maxJitter {
				t.Fatalf("interval %v: jitter %v outside ±%v", tt.interval, j, tt.maxJitter)
			}
			sawNeg, sawPos = sawNeg || j < 0, sawPos || j > 0
		}
		if !sawNeg || !sawPos {
			t.Errorf("interval %v: jitter never went both ways", tt.interval)
		}
	}
}
