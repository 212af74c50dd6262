package throughput

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	const max = 100
	day1 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	type step struct {
		at        time.Time
		spend     int64 // spent after a grant
		wantGrant int64 // 0: paused
	}
	tests := []struct {
		name        string
		limit       int64
		steps       []step
		wantUsed    int64
		wantPaused  bool
		wantSkipped uint64
	}{
		{"grants max while plenty is left", 1000, []step{{day1, 80, max}, {day1, 80, max}}, 160, false, 0},
		{"grants what is left", 250, []step{{day1, 100, max}, {day1, 100, max}, {day1, 0, 50}}, 200, false, 0},
		{"pauses under a quarter of max", 220, []step{{day1, 100, max}, {day1, 100, max}, {day1, 0, 0}, {day1, 0, 0}}, 200, true, 2},
		{"midnight resets", 200, []step{{day1, 200, max}, {day1.Add(15*time.Hour + time.Minute), 10, max}}, 10, false, 0},
		{"overshoot counts", 100, []step{{day1, 130, max}, {day1, 0, 0}}, 130, true, 1},
		{"a clock stepped back a day keeps the later day", 200, []step{{day1, 200, max}, {day1.Add(-2 * time.Hour), 0, 0}}, 200, true, 1},
		{"a clock stepped back further is a correction", 200, []step{{day1, 200, max}, {day1.Add(-49 * time.Hour), 10, max}}, 10, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.limit)
			var now time.Time
			b.now = func() time.Time { return now }
			for i, st := range tc.steps {
				now = st.at
				ch, ok := b.Begin(max)
				if (st.wantGrant == 0) == ok || (ok && ch.Allowance() != st.wantGrant) {
					t.Fatalf("step %d: Begin = %v, %v; want %d", i, ch, ok, st.wantGrant)
				}
				if ok {
					ch.End(st.spend)
				}
			}
			s := b.Status(max)
			if s.Used != tc.wantUsed || s.Paused != tc.wantPaused || s.Skipped != tc.wantSkipped || s.Limit != tc.limit {
				t.Errorf("status %+v, want used %d paused %v skipped %d", s, tc.wantUsed, tc.wantPaused, tc.wantSkipped)
			}
		})
	}
}

// readState returns what the state file at path holds.
func readState(t *testing.T, path string) stateRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r stateRecord
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v: %q", path, err, data)
	}
	return r
}

func clock(at time.Time) func() time.Time { return func() time.Time { return at } }

func TestBudgetKept(t *testing.T) {
	path := t.TempDir() + "/budget.json"
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)

	b := NewBudget(1000)
	b.now = clock(day)
	if err := b.Keep(path); err != nil {
		t.Fatal(err)
	}
	ch, ok := b.Begin(500)
	if !ok {
		t.Fatal("no grant")
	}
	ch.End(700)
	if st := b.Status(1); st.StoreError != "" {
		t.Fatal(st.StoreError)
	}
	if got := readState(t, path); got.Used != 700 || got.Day != "2026-03-02" {
		t.Fatalf("state %+v, want 700 bytes on 2026-03-02", got)
	}
	tests := []struct {
		name     string
		at       time.Time
		wantUsed int64
	}{
		{"restart the same day keeps the use", day.Add(time.Hour), 700},
		{"restart the next day starts afresh", day.Add(24 * time.Hour), 0},
		{"restart with the clock a day behind keeps the use", day.Add(-12 * time.Hour), 700},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewBudget(1000)
			r.now = clock(tc.at)
			if err := r.Keep(path); err != nil {
				t.Fatal(err)
			}
			if s := r.Status(100); s.Used != tc.wantUsed || s.Unknown || s.StoreError != "" || !s.Stored {
				t.Errorf("after a restart: %+v; want used %d", s, tc.wantUsed)
			}
		})
	}
	if err := NewBudget(1).Keep(t.TempDir() + "/missing.json"); err != nil {
		t.Errorf("a missing file: %v", err)
	}
}

// TestBudgetOddState: a state file that cannot be read is never a hang and
// never "unlimited": Keep returns at once with an error naming the file,
// today counts as spent (tests paused, Unknown set), until midnight.
func TestBudgetOddState(t *testing.T) {
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	tests := []struct {
		name string
		make func(t *testing.T, path string)
	}{
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"not json", writeFile("\x00\x01garbage")},
		{"truncated", writeFile(`{"day":"2026-03-02","used_by`)},
		{"empty", writeFile("")},
		{"unknown field", writeFile(`{"day":"2026-03-02","used_bytes":5,"unlimited":true}`)},
		{"negative", writeFile(`{"day":"2026-03-02","used_bytes":-5}`)},
		{"bad day", writeFile(`{"day":"yesterday","used_bytes":5}`)},
		{"too big", writeFile(`{"day":"2026-03-02","used_bytes":5}` + strings.Repeat(" ", 5000))},
		{"symlink to a fifo", func(t *testing.T, path string) {
			fifo := path + ".fifo"
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(fifo, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "budget.json")
			tc.make(t, path)
			b := NewBudget(1 << 30)
			b.now = clock(day)
			errc := make(chan error, 1)
			go func() { errc <- b.Keep(path) }()
			var err error
			select {
			case err = <-errc:
			case <-time.After(5 * time.Second):
				t.Fatal("Keep hangs")
			}
			t.Logf("Keep: %v", err)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("Keep error %v; want one naming %s", err, path)
			}
			s := b.Status(100 << 20)
			if !s.Unknown || !s.Paused || s.StoreError == "" || s.StoreErrors != 1 {
				t.Errorf("status %+v; want unknown, paused, with the error", s)
			}
			if _, ok := b.Begin(100 << 20); ok {
				t.Error("a test was granted while today's use is unknown")
			}
			b.now = clock(day.Add(24 * time.Hour))
			if _, ok := b.Begin(100 << 20); tc.name != "directory" && !ok {
				t.Errorf("no test the next day: %+v", b.Status(100<<20))
			}
		})
	}
}

func writeFile(content string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChargeWritesAhead: while a test moves bytes, the state file charges
// every byte reserved before the reservation returns, at most a step (and
// the piece in hand) more; at the end it charges what moved.
func TestChargeWritesAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "budget.json")
	b := NewBudget(1 << 30)
	if err := b.Keep(path); err != nil {
		t.Fatal(err)
	}
	ch0, _ := b.Begin(1 << 20)
	ch0.End(12345) // an earlier test
	before := b.Status(1).Checkpoints
	const allowance = 16 << 20
	ch, ok := b.Begin(allowance)
	if !ok {
		t.Fatal("no grant")
	}
	step := stepFor(allowance)
	abort := make(chan struct{})
	var moved int64
	for moved < allowance {
		k := ch.reserve(100_000, abort, nil)
		if k <= 0 {
			t.Fatalf("reserve gave %d after %d bytes", k, moved)
		}
		moved += k
		got := readState(t, path).Used - 12345
		if got < moved || got > moved+step+100_000 {
			t.Fatalf("after %d bytes reserved the file charges %d; want %d..%d", moved, got, moved, moved+step+100_000)
		}
	}
	if s := b.Status(allowance); s.Used != 12345+moved {
		t.Errorf("status used %d during the test, want %d", s.Used, 12345+moved)
	}
	ch.End(moved + 777) // the kernel counted a little more
	if got := readState(t, path).Used; got != 12345+moved+777 {
		t.Errorf("after the test the file charges %d, want %d", got, 12345+moved+777)
	}
	s := b.Status(allowance)
	n := s.Checkpoints - before // this test's, not the earlier one's
	t.Logf("%d checkpoints for %d bytes in steps of %d", n, moved, step)
	// A checkpoint is asked for when less than half a step is left, for a
	// step ahead: about two a step, plus the first and the last of the test.
	if lo, hi := uint64(2+allowance/step), uint64(4+2*allowance/step); n < lo || n > hi {
		t.Errorf("%d checkpoints, want %d..%d", n, lo, hi)
	}
}

// TestChargeUnwritable: when a checkpoint cannot be written, no test starts
// (or a running one can move no more than is charged), tests pause with the
// error, and they resume once a checkpoint succeeds.
func TestChargeUnwritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "budget.json")
	b := NewBudget(1 << 30)
	if err := b.Keep(path); err != nil {
		t.Fatal(err)
	}
	ch, ok := b.Begin(8 << 20)
	if !ok {
		t.Fatal("no grant")
	}
	if err := os.RemoveAll(dir); err != nil { // the state directory goes away mid-test
		t.Fatal(err)
	}
	var moved int64
	for range 1000 {
		k := ch.reserve(64<<10, nil, nil)
		if k == 0 {
			break
		}
		moved += k
	}
	if !ch.isFailed() || moved > stepFor(8<<20) {
		t.Errorf("moved %d bytes past a failed checkpoint (failed %v); want at most the first step %d", moved, ch.isFailed(), stepFor(8<<20))
	}
	ch.End(moved)
	s := b.Status(8 << 20)
	if !s.Paused || s.StoreError == "" || s.StoreErrors == 0 {
		t.Errorf("status %+v; want paused with the error", s)
	}
	if _, ok := b.Begin(8 << 20); ok {
		t.Error("a test started although its charge cannot be written")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ch, ok = b.Begin(8 << 20)
	if !ok {
		t.Fatalf("no test once the state can be written again: %+v", b.Status(8<<20))
	}
	ch.End(0)
	if s := b.Status(8 << 20); s.Paused || s.StoreError != "" || s.Used != moved {
		t.Errorf("status %+v; want running again, used %d", s, moved)
	}
}
