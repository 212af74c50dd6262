package probe

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Job is one target as the Scheduler runs it: either a Prober run every
// Interval, or a Runner that paces itself.
type Job struct {
	// Key identifies the job's whole configuration: on Apply a job whose Key
	// is unchanged keeps running untouched.
	Key      string
	Name     string
	Interval time.Duration
	// Timeout bounds one Probe call.
	Timeout time.Duration
	Prober  Prober
	Runner  Runner
	// Grid starts a Runner on the Scheduler's grid (see Scheduler) rather
	// than staggered. A Runner that sends together with others also waits
	// behind them on the probe's own link, so only one whose messages are
	// small asks for it.
	Grid bool
}

// Scheduler runs jobs, each on its own goroutine and interval. Probers
// start staggered and wait with a small random jitter, so that their
// requests (DNS, HTTP, TCP) do not go out in lock-step. Runners that ask
// for it (Job.Grid: ICMP echo streams of small echoes) start on one grid
// instead: those that share an interval send together, so that one wake-up
// of the process sends all their echoes and their replies come back
// together (more than halving the footprint bench's CPU when scraped every
// 15 s); the grid's phase is random per Scheduler, so that a fleet of
// probes does not send in step. Other Runners start staggered. It is safe
// for concurrent use.
type Scheduler struct {
	emit Emit
	// Stagger returns the delay before a job's first run, but a Runner's on
	// the grid (default: uniform in [0, min(interval, 10s))).
	Stagger func(interval time.Duration) time.Duration
	// Align returns the delay before the first run of a Runner on the grid
	// (default: until the Scheduler's next grid instant for interval; see
	// NewScheduler).
	Align func(interval time.Duration) time.Duration
	// Jitter returns the offset added to each wait (default: uniform in ±5% of
	// the interval, at most ±500ms).
	Jitter func(interval time.Duration) time.Duration

	mu      sync.Mutex
	running map[string]*running
}

type running struct {
	key    string
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns a Scheduler that reports every result to emit. A
// Runner on the grid starts at the next instant origin + k·step, with
// origin a random instant within the last day and step its interval, or
// 10 s for a longer one (its first echo waits no longer than a stagger):
// Runners of one interval up to 10 s start together, and those of
// intervals that divide each other (1 s and 5 s, say) share every instant
// of the longer. A longer interval starts on a 10 s instant, so it sends
// with the shorter ones, but not always with another of its own interval.
func NewScheduler(emit Emit) *Scheduler {
	origin := time.Now().Add(-rand.N(24 * time.Hour))
	return &Scheduler{
		emit:    emit,
		Stagger: DefaultStagger,
		Align: func(interval time.Duration) time.Duration {
			return untilGrid(origin, time.Now(), min(interval, 10*time.Second))
		},
		Jitter:  DefaultJitter,
		running: map[string]*running{},
	}
}

// untilGrid is how long from now to the next instant origin + k·interval
// (0 when now is one; origin must not be after now).
func untilGrid(origin, now time.Time, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	if off := now.Sub(origin) % interval; off > 0 {
		return interval - off
	}
	return 0
}

// DefaultStagger spreads first runs uniformly over [0, min(interval, 10s)).
func DefaultStagger(interval time.Duration) time.Duration {
	span := min(interval, 10*time.Second)
	if span <= 0 {
		return 0
	}
	return rand.N(span)
}

// DefaultJitter is uniform in ±5% of interval, at most ±500ms.
func DefaultJitter(interval time.Duration) time.Duration {
	span := min(interval/20, 500*time.Millisecond)
	if span <= 0 {
		return 0
	}
	return rand.N(2*span) - span
}

// Apply makes the running set equal to jobs: jobs whose Name and Key are
// unchanged keep running, removed or changed ones are stopped (and waited
// for), new ones are started under ctx. It returns the names started and stopped.
func (s *Scheduler) Apply(ctx context.Context, jobs []Job) (started, stopped []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := make(map[string]Job, len(jobs))
	for _, j := range jobs {
		want[j.Name] = j
	}
	for name, r := range s.running {
		if j, ok := want[name]; ok && j.Key == r.key {
			continue
		}
		r.cancel()
		<-r.done
		delete(s.running, name)
		stopped = append(stopped, name)
	}
	for _, j := range jobs {
		if _, ok := s.running[j.Name]; ok {
			continue
		}
		jctx, cancel := context.WithCancel(ctx)
		r := &running{key: j.Key, cancel: cancel, done: make(chan struct{})}
		s.running[j.Name] = r
		go func() {
			defer close(r.done)
			s.run(jctx, j)
		}()
		started = append(started, j.Name)
	}
	return started, stopped
}

// Stop stops every job and waits for them to return.
func (s *Scheduler) Stop() {
	s.Apply(context.Background(), nil)
}

func (s *Scheduler) run(ctx context.Context, j Job) {
	wait := s.Stagger
	if j.Runner != nil && j.Grid {
		wait = s.Align
	}
	if !Sleep(ctx, wait(j.Interval)) {
		return
	}
	if j.Runner != nil {
		j.Runner.Run(ctx, s.emit)
		return
	}
	next := time.Now()
	for {
		pctx, cancel := context.WithTimeout(ctx, j.Timeout)
		res := j.Prober.Probe(pctx)
		cancel()
		if ctx.Err() != nil {
			return // stopped mid-probe: the result says nothing about the target
		}
		s.emit(res)
		next = next.Add(j.Interval)
		wait := time.Until(next) + s.Jitter(j.Interval)
		if wait < 0 {
			// The probe overran; start again from now rather than bursting.
			next, wait = time.Now(), 0
		}
		if !Sleep(ctx, wait) {
			return
		}
	}
}

// Sleep waits for d or until ctx ends; it reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
