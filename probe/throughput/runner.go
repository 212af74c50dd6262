package throughput

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/wardprobe/wardprobe/probe"
)

// Runner runs tests at an interval with jitter, never two at once, within
// a daily byte budget.
type Runner struct {
	client   *Client
	budget   *Budget
	interval time.Duration
	maxBytes int64
	// Stagger returns the delay before the first test; Jitter the offset
	// added to each interval; Backoff the wait after the target was busy.
	Stagger func(interval time.Duration) time.Duration
	Jitter  func(interval time.Duration) time.Duration
	Backoff func(interval time.Duration) time.Duration
}

// NewRunner returns a Runner testing with cfg every interval, each test
// moving at most maxBytes, drawing on budget.
func NewRunner(cfg Config, interval time.Duration, maxBytes int64, budget *Budget) (*Runner, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Runner{client: c, budget: budget, interval: interval, maxBytes: maxBytes,
		Stagger: DefaultStagger, Jitter: DefaultJitter, Backoff: DefaultBackoff}, nil
}

// DefaultStagger spreads first tests uniformly over [0, min(interval, 10s)).
func DefaultStagger(interval time.Duration) time.Duration {
	return rand.N(max(min(interval, 10*time.Second), 1))
}

// DefaultJitter is uniform in ±10% of the interval, so that a fleet of
// probes drifts apart rather than testing a target in lock-step.
func DefaultJitter(interval time.Duration) time.Duration {
	span := max(interval/10, 1)
	return rand.N(2*span) - span
}

// DefaultBackoff waits uniformly 1 to 5 minutes (at most the interval)
// after a busy target before trying again.
func DefaultBackoff(interval time.Duration) time.Duration {
	return min(interval, time.Minute+rand.N(4*time.Minute))
}

// statusEvery is how often the budget's status is reported between tests.
const statusEvery = 30 * time.Second

// Run tests until ctx ends. It reports each test's result to emit and the
// budget's status to status (after each test and at least every 30 s).
func (r *Runner) Run(ctx context.Context, emit func(Result), status func(BudgetStatus)) {
	wait := r.Stagger(r.interval)
	for {
		until := time.Now().Add(wait)
		for {
			status(r.budget.Status(r.maxBytes))
			left := time.Until(until)
			if left <= 0 {
				break
			}
			if !probe.Sleep(ctx, min(left, statusEvery)) {
				return
			}
		}
		wait = r.interval + r.Jitter(r.interval)
		ch, ok := r.budget.Begin(r.maxBytes)
		if !ok {
			continue
		}
		res := r.client.TestCharged(ctx, ch)
		ch.End(res.Bytes())
		if ctx.Err() != nil {
			status(r.budget.Status(r.maxBytes))
			return // stopped mid-test: the result says nothing about the network
		}
		emit(res)
		if res.Reason == ReasonBusy {
			wait = r.Backoff(r.interval)
		}
	}
}
