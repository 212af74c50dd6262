package throughput

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Budget is a probe's daily byte allowance for throughput tests. The day is
// the local calendar day; use resets at local midnight. A test is granted at
// most what is left of the day's budget, and tests pause while less than a
// quarter of a test's max_bytes is left. It is safe for concurrent use.
//
// A test is charged as its bytes move (see Charge). With Keep, the day's use
// is also kept in a file, written ahead of the bytes: no connection of a test
// reads or writes a byte that a durable checkpoint (written, fsync'd, renamed
// over the file, directory fsync'd) does not already charge. So a kill -9
// leaves the file charging at least every byte wardprobe had read or written,
// and at most one step (an eighth of the test's allowance, 256 KiB to 8 MiB)
// more than had moved. Only what the kernel had received for the probe but
// wardprobe not yet read, or retransmitted, can be uncharged; the sampler
// keeps a step of headroom ahead of the kernel's counts too.
//
// The file failing never means "unlimited" (fail closed):
//   - unreadable, corrupt or not a regular file at Keep: today's use is
//     unknown and counts as spent until midnight (Status: Unknown, Paused);
//   - a checkpoint that cannot be written: the test it was for does not
//     start, or the running test stops moving data at what is already charged;
//     tests stay paused until a checkpoint succeeds (each scheduled test tries).
//
// A missing file is a first start: the day starts at 0.
type Budget struct {
	mu      sync.Mutex
	limit   int64
	day     string
	used    int64 // bytes charged today for finished tests
	skipped uint64
	now     func() time.Time
	running *Charge // the test drawing on the budget now, or nil

	store       *stateFile // nil: kept in memory only
	unknownDay  string     // the day whose use could not be read: counted as spent
	storeErr    error      // the last read or write error; nil after a success
	storeErrors uint64
	checkpoints uint64
}

// BudgetStatus is a copy of a Budget's state.
type BudgetStatus struct {
	// Limit is the daily budget in bytes.
	Limit int64
	// Used is the bytes tests moved today (including the running test's
	// bytes so far).
	Used int64
	// Paused is true while tests are paused: too little is left today for a
	// test, today's use is Unknown, or the state file cannot be written.
	Paused bool
	// Skipped counts the tests not run because tests were paused.
	Skipped uint64
	// Stored is true when the day's use is kept in a state file (Keep).
	Stored bool
	// StoreError is the last error reading or writing the state file, ""
	// once a read or write succeeded since.
	StoreError string
	// StoreErrors counts failed reads and writes of the state file.
	StoreErrors uint64
	// Checkpoints counts the state file's durable writes.
	Checkpoints uint64
	// Unknown is true while today's use is unknown (the state file could not
	// be read at start) and counted as spent; it clears at midnight.
	Unknown bool
}

// NewBudget returns a Budget of limit bytes a day, kept in memory only.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, now: time.Now}
}

// Keep makes the budget keep today's use in the file at path, so that a
// restart or a crash loop does not reset it, and loads what the file holds
// for today. It never blocks on an odd file (a FIFO, a device): only regular
// files are opened. A missing file is not an error. On any other error the
// budget fails closed (today's use counts as spent, see Budget) and the
// error says why; the budget stays usable.
func (b *Budget) Keep(path string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.store = &stateFile{path: path}
	b.store.removeStale()
	b.roll()
	day, used, err := b.store.read()
	switch {
	case errors.Is(err, errNoState):
		return nil
	case err != nil:
		b.unknownDay = b.day
		b.storeFailed(err)
		return fmt.Errorf("%w; today's use is unknown and counts as spent until midnight", err)
	}
	b.storeErr = nil
	if later(day, b.day) {
		// The file is a day ahead: the clock is behind (a Raspberry Pi
		// without a real-time clock at boot). Keep charging that day.
		b.day, b.used = day, used
	} else if day == b.day {
		b.used = max(b.used, used)
	}
	return nil
}

// SetLimit changes the daily budget (on a config reload); today's use stays.
func (b *Budget) SetLimit(limit int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = limit
}

// roll resets use when the day changed. The day never goes back by one
// day (a clock stepped back keeps charging the later day); a bigger step
// back is taken as a correction of a wrong date. The caller holds mu.
func (b *Budget) roll() {
	day := b.now().Format(time.DateOnly)
	if day == b.day || later(b.day, day) {
		return
	}
	b.day, b.used = day, 0
}

// later reports whether day a is one day after day b (YYYY-MM-DD).
func later(a, b string) bool {
	ta, err1 := time.Parse(time.DateOnly, a)
	tb, err2 := time.Parse(time.DateOnly, b)
	return err1 == nil && err2 == nil && ta.After(tb) && ta.Sub(tb) <= 25*time.Hour
}

// minTest is the least budget worth starting a test with.
func minTest(maxBytes int64) int64 { return max(maxBytes/4, 1) }

// stepFor is how far a test's durable charge runs ahead of its bytes.
func stepFor(allowance int64) int64 { return min(max(allowance/8, 256<<10), 8<<20) }

// Begin starts a test of at most maxBytes (less when less is left today)
// and returns its Charge; the caller must call Charge.End. ok is false (and
// the test counts as skipped) while tests are paused, or when the first
// checkpoint cannot be written.
func (b *Budget) Begin(maxBytes int64) (ch *Charge, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	left := b.limit - b.used
	if b.running != nil || b.day == b.unknownDay || left < minTest(maxBytes) {
		b.skipped++
		return nil, false
	}
	allowance := min(maxBytes, left)
	ch = newCharge(allowance, b)
	if b.store != nil {
		if err := b.checkpoint(b.used + ch.step); err != nil {
			b.skipped++
			return nil, false
		}
		ch.covered.Store(ch.step)
		go ch.extendLoop()
	} else {
		close(ch.stopped) // nothing to write: no extendLoop
	}
	b.running = ch
	return ch, true
}

// checkpoint writes today's charge to the state file. The caller holds mu.
func (b *Budget) checkpoint(charged int64) error {
	if err := b.store.write(b.day, charged); err != nil {
		b.storeFailed(err)
		return err
	}
	b.storeErr = nil
	b.checkpoints++
	return nil
}

func (b *Budget) storeFailed(err error) {
	b.storeErr = err
	b.storeErrors++
}

// extend writes a checkpoint charging cover bytes for ch beyond the day's
// use before it (a test running past midnight charges the new day). It
// reports whether it was written.
func (b *Budget) extend(ch *Charge, cover int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running != ch {
		return false
	}
	b.roll()
	base := ch.base
	if b.day != ch.day {
		base = b.used
	}
	return b.checkpoint(base+cover) == nil
}

// end settles ch at moved bytes.
func (b *Budget) end(ch *Charge, moved int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running != ch {
		return
	}
	b.running = nil
	b.roll()
	b.used += moved // charged to today, even when the test began yesterday
	if b.store != nil {
		_ = b.checkpoint(b.used) // on failure the file keeps charging more (base+cover)
	}
}

// Status returns the budget's state for tests of maxBytes.
func (b *Budget) Status(maxBytes int64) BudgetStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	used := b.used
	if b.running != nil && b.running.day == b.day {
		used += b.running.moved.Load()
	}
	s := BudgetStatus{Limit: b.limit, Used: used, Skipped: b.skipped, Stored: b.store != nil,
		StoreErrors: b.storeErrors, Checkpoints: b.checkpoints, Unknown: b.day == b.unknownDay}
	if b.storeErr != nil {
		s.StoreError = b.storeErr.Error()
	}
	s.Paused = b.limit-used < minTest(maxBytes) || s.Unknown || b.storeErr != nil
	return s
}

// Charge is one test's draw on the budget. Every connection of the test
// reserves its bytes from it before reading or writing them; with a state
// file, a reservation beyond what the last checkpoint charges waits for the
// next checkpoint, which is written ahead (a step beyond the bytes moved)
// by one goroutine, so that transfers normally never wait.
type Charge struct {
	b         *Budget // nil: not drawn on a budget (no cap, no file)
	allowance int64
	step      int64
	day       string
	base      int64 // the day's use when the test began

	moved   atomic.Int64 // bytes reserved by the test's connections (read or written)
	kernel  atomic.Int64 // the most the kernel's counters showed (sent + received)
	covered atomic.Int64 // bytes beyond base the last checkpoint charges
	failed  atomic.Bool  // a checkpoint failed: nothing more may move

	kick    chan struct{} // asks for a checkpoint ahead
	done    chan struct{} // closed by End
	stopped chan struct{} // closed when extendLoop returns
	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) when covered or failed changes
}

// newCharge returns a Charge on b (nil: none). Without a state file the
// caller closes ch.stopped; with one it runs ch.extendLoop.
func newCharge(allowance int64, b *Budget) *Charge {
	ch := &Charge{b: b, allowance: allowance, step: stepFor(allowance), kick: make(chan struct{}, 1),
		done: make(chan struct{}), stopped: make(chan struct{}), changed: make(chan struct{})}
	ch.covered.Store(math.MaxInt64)
	if b != nil {
		ch.day, ch.base = b.day, b.used
	}
	return ch
}

// Unmetered returns a Charge of allowance bytes drawn on no budget.
func Unmetered(allowance int64) *Charge {
	ch := newCharge(allowance, nil)
	close(ch.stopped)
	return ch
}

// Allowance returns the bytes the test may move.
func (ch *Charge) Allowance() int64 { return ch.allowance }

// Moved returns the bytes the test's connections have read or written.
func (ch *Charge) Moved() int64 { return ch.moved.Load() }

// End settles the charge at the bytes the test moved (the kernel's counts,
// both directions). It is idempotent.
func (ch *Charge) End(moved int64) {
	select {
	case <-ch.done:
		return
	default:
	}
	close(ch.done)
	<-ch.stopped
	if ch.b != nil {
		ch.b.end(ch, moved)
	}
}

// reserve takes up to n bytes from what the checkpoints charge, waiting for
// a checkpoint when none is left; it returns 0 when a checkpoint failed or
// when abort or gone is closed first.
func (ch *Charge) reserve(n int64, abort, gone <-chan struct{}) int64 {
	for {
		m, cov := ch.moved.Load(), ch.covered.Load()
		if left := cov - m; left > 0 {
			k := min(n, left)
			if !ch.moved.CompareAndSwap(m, m+k) {
				continue
			}
			if cov-(m+k) < ch.step/2 {
				ch.ask()
			}
			return k
		}
		if ch.failed.Load() {
			return 0
		}
		ch.mu.Lock()
		wait := ch.changed
		ch.mu.Unlock()
		ch.ask()
		if ch.covered.Load() > ch.moved.Load() || ch.failed.Load() {
			continue
		}
		select {
		case <-wait:
		case <-abort:
			return 0
		case <-gone:
			return 0
		}
	}
}

// giveBack returns reserved bytes that did not move.
func (ch *Charge) giveBack(n int64) {
	if n > 0 {
		ch.moved.Add(-n)
	}
}

// observe records the kernel's count of the test's bytes so far, so that
// checkpoints keep ahead of it too.
func (ch *Charge) observe(kernel int64) {
	for {
		k := ch.kernel.Load()
		if kernel <= k || ch.kernel.CompareAndSwap(k, kernel) {
			break
		}
	}
	if ch.covered.Load()-kernel < ch.step/2 {
		ch.ask()
	}
}

// isFailed reports whether a checkpoint failed (the test must stop).
func (ch *Charge) isFailed() bool { return ch.failed.Load() }

func (ch *Charge) ask() {
	if ch.b == nil {
		return
	}
	select {
	case ch.kick <- struct{}{}:
	default:
	}
}

// extendLoop writes checkpoints ahead of the bytes until End.
func (ch *Charge) extendLoop() {
	defer close(ch.stopped)
	for {
		select {
		case <-ch.done:
			return
		case <-ch.kick:
		}
		cover := max(ch.moved.Load(), ch.kernel.Load()) + ch.step
		if cover <= ch.covered.Load() {
			continue
		}
		ok := ch.b.extend(ch, cover)
		ch.mu.Lock()
		if ok {
			ch.covered.Store(cover)
		} else {
			ch.failed.Store(true)
		}
		close(ch.changed)
		ch.changed = make(chan struct{})
		ch.mu.Unlock()
		if !ok {
			return
		}
	}
}
