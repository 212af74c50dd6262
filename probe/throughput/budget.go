package throughput

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Budget is a probe's daily byte allowance for throughput tests. The day is
// the local calendar day; use resets at local midnight. A test is granted at
// most what is left of the day's budget, and tests pause while less than a
// quarter of a test's max_bytes is left. It is safe for concurrent use.
type Budget struct {
	mu      sync.Mutex
	limit   int64
	day     string
	used    int64
	skipped uint64
	now     func() time.Time
	// store is the file today's use is kept in across restarts ("" for none).
	store    string
	storeErr error
}

// budgetFile is what a Budget keeps on disk.
type budgetFile struct {
	Day  string `json:"day"`
	Used int64  `json:"used_bytes"`
}

// Keep makes the budget keep today's use in path, so that a restart (or a
// crash loop) does not reset it; it loads what path holds for today. A
// missing file is not an error.
func (b *Budget) Keep(path string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.store = path
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the throughput budget: %w", err)
	}
	var f budgetFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("reading the throughput budget %s: %w", path, err)
	}
	b.roll()
	if f.Day == b.day && f.Used > b.used {
		b.used = f.Used
	}
	return nil
}

// save writes today's use to the store. The caller holds mu.
func (b *Budget) save() {
	if b.store == "" {
		return
	}
	data, _ := json.Marshal(budgetFile{Day: b.day, Used: b.used})
	tmp := filepath.Join(filepath.Dir(b.store), "."+filepath.Base(b.store)+".tmp")
	err := os.WriteFile(tmp, data, 0o600)
	if err == nil {
		err = os.Rename(tmp, b.store)
	}
	b.storeErr = err
}

// StoreError returns the last error keeping the budget on disk (nil if none).
func (b *Budget) StoreError() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.storeErr
}

// BudgetStatus is a copy of a Budget's state.
type BudgetStatus struct {
	// Limit is the daily budget in bytes.
	Limit int64
	// Used is the bytes tests moved today.
	Used int64
	// Paused is true while too little is left today for a test.
	Paused bool
	// Skipped counts the tests not run because the budget was exhausted.
	Skipped uint64
}

// NewBudget returns a Budget of limit bytes a day.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, now: time.Now}
}

// SetLimit changes the daily budget (on a config reload); today's use stays.
func (b *Budget) SetLimit(limit int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = limit
}

// roll resets use when the day changed. The caller holds mu.
func (b *Budget) roll() {
	day := b.now().Format(time.DateOnly)
	if day != b.day {
		b.day, b.used = day, 0
	}
}

// minTest is the least budget worth starting a test with.
func minTest(maxBytes int64) int64 { return max(maxBytes/4, 1) }

// Grant returns the bytes a test may move now: maxBytes, or less when less
// is left today. ok is false (and the test counts as skipped) while paused.
func (b *Budget) Grant(maxBytes int64) (allowance int64, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	left := b.limit - b.used
	if left < minTest(maxBytes) {
		b.skipped++
		return 0, false
	}
	return min(maxBytes, left), true
}

// Spend records n bytes moved by a test.
func (b *Budget) Spend(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	b.used += n
	b.save()
}

// Status returns the budget's state for tests of maxBytes.
func (b *Budget) Status(maxBytes int64) BudgetStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.roll()
	return BudgetStatus{Limit: b.limit, Used: b.used, Paused: b.limit-b.used < minTest(maxBytes), Skipped: b.skipped}
}
