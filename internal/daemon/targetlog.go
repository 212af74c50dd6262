package daemon

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/probe"
)

// Flap damping of the target log. A ward network that loses one packet in
// six would otherwise log an up/down pair every few seconds (19 lines a
// minute were seen at 17% loss: ~27,000 a day on a Pi's SD card).
const (
	// steadyAfter is how many results in a row a fast target (interval up
	// to fastInterval) needs before the log says it went down or up.
	steadyAfter  = 3
	fastInterval = 5 * time.Second
	// summaryEvery is the least time between two summaries of a target's
	// failures while its logged state did not change.
	summaryEvery = time.Minute
)

// targetLog logs each target's state changes once, with hysteresis, and
// at most one summary a minute of the failures in between; at debug level
// it logs every result. It is safe for concurrent use.
type targetLog struct {
	log zerolog.Logger

	mu       sync.Mutex
	interval map[string]time.Duration
	state    map[string]*targetState
}

type targetState struct {
	logged   bool // a state was logged
	up       bool // the state logged
	streak   int  // results in a row that disagree with the state logged
	results  int  // since the last line about this target
	failures int
	reasons  map[probe.Reason]int
	lastLine time.Time
}

func newTargetLog(log zerolog.Logger) *targetLog {
	return &targetLog{log: log, interval: map[string]time.Duration{}, state: map[string]*targetState{}}
}

// setIntervals records each target's interval, and forgets removed targets.
func (l *targetLog) setIntervals(iv map[string]time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.interval = iv
	for name := range l.state {
		if _, ok := iv[name]; !ok {
			delete(l.state, name)
		}
	}
}

// observe logs what r changes.
func (l *targetLog) observe(r probe.Result) {
	if ev := l.log.Debug(); ev.Enabled() {
		ev.Str("target", r.Target).Str("kind", r.Kind).Bool("success", r.Success).Str("reason", string(r.Reason)).
			Str("address", r.Addr).Str("summary", escape.Valid(r.Summary)).Stringer("duration", r.Duration).
			Str("detail", escape.Valid(r.Detail)).Msg("probe result")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state[r.Target]
	if st == nil {
		st = &targetState{reasons: map[probe.Reason]int{}}
		l.state[r.Target] = st
	}
	need := 1
	if iv := l.interval[r.Target]; iv > 0 && iv <= fastInterval {
		need = steadyAfter
	}
	st.results++
	if !r.Success {
		st.failures++
		st.reasons[r.Reason]++
	}
	if st.logged && st.up == r.Success {
		st.streak = 0
	} else {
		st.streak++
	}
	switch {
	case !st.logged || st.streak >= need:
		st.logged, st.up, st.streak = true, r.Success, 0
		if r.Success {
			l.log.Info().Str("target", r.Target).Str("kind", r.Kind).Str("address", r.Addr).Msg("target up")
		} else {
			l.log.Warn().Str("target", r.Target).Str("kind", r.Kind).Str("reason", string(r.Reason)).
				Str("detail", escape.Valid(r.Detail)).Msg("target down")
		}
		st.reset(r.Time)
	case st.failures > 0 && r.Time.Sub(st.lastLine) >= summaryEvery:
		l.log.Warn().Str("target", r.Target).Str("kind", r.Kind).Int("failed", st.failures).Int("of", st.results).
			Str("reasons", st.reasonWords()).Bool("up", st.up).
			Msg(fmt.Sprintf("target unsteady: %d of %d results failed since %s", st.failures, st.results, st.lastLine.Format(time.TimeOnly)))
		st.reset(r.Time)
	}
}

func (st *targetState) reset(now time.Time) {
	st.results, st.failures, st.lastLine = 0, 0, now
	clear(st.reasons)
}

func (st *targetState) reasonWords() string {
	var out []string
	for r, n := range st.reasons {
		out = append(out, fmt.Sprintf("%s×%d", r, n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
