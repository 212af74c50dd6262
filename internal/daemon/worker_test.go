package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
)

func TestMailboxNewestWins(t *testing.T) {
	m := newMailbox()
	a, b, c := &config.Config{}, &config.Config{}, &config.Config{}
	done := make(chan struct{})
	go func() { // Apply never blocks, however many configs are not taken
		m.Apply(a)
		m.Apply(b)
		m.Apply(c)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Apply blocked")
	}
	if got := <-m.ch; got != c {
		t.Error("the mailbox did not hold the newest config")
	}
	select {
	case <-m.ch:
		t.Error("an older config was still held")
	default:
	}
}

// recorder is a job log for restartOnChange: which configs started and
// stopped, in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func TestRestartOnChange(t *testing.T) {
	// Each config's key is its file name, for the test.
	cfg := func(key string) *config.Config { return &config.Config{File: key} }
	key := func(c *config.Config) string { return c.File }
	tests := []struct {
		name    string
		configs []string // each config's key ("" is off)
		want    []string // after ctx ends
	}{
		{"same key keeps the job", []string{"a", "a", "a"}, []string{"changed", "start a", "stop a"}},
		{"new key stops the old job first", []string{"a", "b"}, []string{"changed", "start a", "stop a", "changed", "start b", "stop b"}},
		{"off stops the job and starts none", []string{"a", "", ""}, []string{"changed", "start a", "stop a", "changed"}},
		{"off from the start", []string{""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec recorder
			m := newMailbox()
			ctx, cancel := context.WithCancel(context.Background())
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				restartOnChange(ctx, m, key, func() { rec.add("changed") },
					func(ctx context.Context, c *config.Config) job {
						rec.add("start " + key(c))
						return goJob(ctx, func(ctx context.Context) {
							<-ctx.Done()
							rec.add("stop " + key(c))
						})
					})
			}()
			for _, k := range tc.configs {
				m.Apply(cfg(k))
				// Each config is taken before the next is handed over (the
				// mailbox would otherwise keep only the newest).
				deadline := time.Now().Add(5 * time.Second)
				for len(m.ch) > 0 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
			}
			time.Sleep(20 * time.Millisecond)
			cancel()
			select {
			case <-finished:
			case <-time.After(5 * time.Second):
				t.Fatal("restartOnChange did not return after its context ended")
			}
			got := rec.get()
			if len(got) != len(tc.want) {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("events %q, want %q", got, tc.want)
				}
			}
		})
	}
}

// TestRestartOnChangeTakesNewest: configs that come while a job is slow to
// stop replace the one that stopped it; no job runs for a superseded config.
func TestRestartOnChangeTakesNewest(t *testing.T) {
	var rec recorder
	m := newMailbox()
	stopping := make(chan struct{}) // closed once job "a" has begun to stop
	release := make(chan struct{})  // closed to let job "a" finish stopping
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		restartOnChange(ctx, m, func(c *config.Config) string { return c.File }, nil,
			func(ctx context.Context, c *config.Config) job {
				rec.add("start " + c.File)
				return goJob(ctx, func(ctx context.Context) {
					<-ctx.Done()
					if c.File == "a" {
						close(stopping)
						<-release
					}
					rec.add("stop " + c.File)
				})
			})
	}()
	m.Apply(&config.Config{File: "a"})
	for deadline := time.Now().Add(5 * time.Second); len(rec.get()) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	m.Apply(&config.Config{File: "b"}) // stops "a", slowly
	select {
	case <-stopping:
	case <-time.After(5 * time.Second):
		t.Fatal("job a was not stopped")
	}
	m.Apply(&config.Config{File: "c"}) // comes while "a" stops
	close(release)
	for deadline := time.Now().Add(5 * time.Second); len(rec.get()) < 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-finished
	want := []string{"start a", "stop a", "start c", "stop c"}
	got := rec.get()
	if len(got) != len(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
}
