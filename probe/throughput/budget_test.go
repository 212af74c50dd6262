package throughput

import (
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.limit)
			var now time.Time
			b.now = func() time.Time { return now }
			for i, st := range tc.steps {
				now = st.at
				got, ok := b.Grant(max)
				if (st.wantGrant == 0) == ok || got != st.wantGrant {
					t.Fatalf("step %d: Grant = %d, %v; want %d", i, got, ok, st.wantGrant)
				}
				if ok {
					b.Spend(st.spend)
				}
			}
			s := b.Status(max)
			if s.Used != tc.wantUsed || s.Paused != tc.wantPaused || s.Skipped != tc.wantSkipped || s.Limit != tc.limit {
				t.Errorf("status %+v, want used %d paused %v skipped %d", s, tc.wantUsed, tc.wantPaused, tc.wantSkipped)
			}
		})
	}
}

func TestBudgetKept(t *testing.T) {
	path := t.TempDir() + "/budget.json"
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)
	clock := func(at time.Time) func() time.Time { return func() time.Time { return at } }

	b := NewBudget(1000)
	b.now = clock(day)
	if err := b.Keep(path); err != nil {
		t.Fatal(err)
	}
	b.Spend(700)
	if err := b.StoreError(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		at       time.Time
		wantUsed int64
	}{
		{"restart the same day keeps the use", day.Add(time.Hour), 700},
		{"restart the next day starts afresh", day.Add(24 * time.Hour), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewBudget(1000)
			r.now = clock(tc.at)
			if err := r.Keep(path); err != nil {
				t.Fatal(err)
			}
			if got := r.Status(100).Used; got != tc.wantUsed {
				t.Errorf("used %d after a restart, want %d", got, tc.wantUsed)
			}
		})
	}
	if err := NewBudget(1).Keep(t.TempDir() + "/missing.json"); err != nil {
		t.Errorf("a missing file: %v", err)
	}
}
