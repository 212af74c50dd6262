package daemon

import (
	"context"
	"encoding/json"

	"github.com/wardprobe/wardprobe/config"
)

// mailbox hands configs to a worker's own goroutine: Apply never blocks,
// and a config not yet taken is replaced by a newer one (the newest wins).
// A worker embeds it to implement part.
type mailbox struct{ ch chan *config.Config }

func newMailbox() mailbox { return mailbox{ch: make(chan *config.Config, 1)} }

// Apply implements part.
func (m mailbox) Apply(cfg *config.Config) {
	for {
		select {
		case m.ch <- cfg:
			return
		default:
		}
		select {
		case <-m.ch: // drop the older config not yet taken
		default:
		}
	}
}

// job is one running piece of a worker (a tester, a runner, a listener):
// its cancel func and a channel closed once it has stopped. The zero job is
// none.
type job struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// goJob runs fn in its own goroutine under a context derived from ctx.
func goJob(ctx context.Context, fn func(ctx context.Context)) job {
	jctx, cancel := context.WithCancel(ctx)
	j := job{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(j.done)
		fn(jctx)
	}()
	return j
}

// running reports whether the job was started and not stopped.
func (j *job) running() bool { return j.cancel != nil }

// stop cancels the job and waits until it has stopped; it does nothing
// when no job runs.
func (j *job) stop() {
	if j.cancel == nil {
		return
	}
	j.cancel()
	<-j.done
	*j = job{}
}

// restartOnChange runs one job at a time for the configs taken from m until
// ctx ends: when a config's key differs from the last one, the running job
// is stopped and waited for, changed is called, and start runs the new job
// unless the key is "" (the feature is off). A config that came while the
// job stopped replaces the one that stopped it (a job is never started for
// a config already superseded). It returns once the last job has stopped.
func restartOnChange(ctx context.Context, m mailbox, key func(*config.Config) string,
	changed func(), start func(ctx context.Context, cfg *config.Config) job) {
	var cur job
	defer cur.stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case cfg := <-m.ch:
			k := key(cfg)
			if k == last {
				continue
			}
			cur.stop()
			for newer := true; newer; {
				select {
				case c := <-m.ch:
					cfg, k = c, key(c)
				default:
					newer = false
				}
			}
			last = k
			if changed != nil {
				changed()
			}
			if k != "" {
				cur = start(ctx, cfg)
			}
		}
	}
}

// sectionKey identifies a config section and the interface it runs on: two
// configs with the same key need no restart. A section that cannot be
// encoded (none can) gets a fixed key.
func sectionKey(section any, iface string) string {
	b, err := json.Marshal(struct {
		Section any
		Iface   string
	}{section, iface})
	if err != nil {
		return "unencodable"
	}
	return string(b)
}
