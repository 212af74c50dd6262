package coverage

import "time"

// MaxCredit bounds the time one assessment is credited with, so that a
// stalled poller or a suspended machine does not book hours to whatever
// state it last saw.
const MaxCredit = time.Minute

// Totals are the seconds spent in each state and, per standard, meeting it
// and not.
type Totals struct {
	StateSeconds map[State]float64
	// StandardSeconds is keyed by standard, then by met.
	StandardSeconds map[string]map[bool]float64
}

// Ledger adds up the time between assessments: each interval is booked to
// the assessment that held during it (the earlier one).
type Ledger struct {
	prev    Assessment
	started bool
	t       Totals
}

// Add books the time since the previous assessment to it, and remembers a.
// Standards no longer assessed are dropped.
func (l *Ledger) Add(a Assessment) {
	if l.t.StateSeconds == nil {
		l.t = Totals{StateSeconds: map[State]float64{}, StandardSeconds: map[string]map[bool]float64{}}
		for _, s := range States() {
			l.t.StateSeconds[s] = 0
		}
	}
	if l.started && a.Time.After(l.prev.Time) {
		dt := min(a.Time.Sub(l.prev.Time), MaxCredit).Seconds()
		l.t.StateSeconds[l.prev.State] += dt
		for _, v := range l.prev.Verdicts {
			if m := l.t.StandardSeconds[v.Standard]; m != nil {
				m[v.Met] += dt
			}
		}
	}
	keep := map[string]bool{}
	for _, v := range a.Verdicts {
		keep[v.Standard] = true
		if l.t.StandardSeconds[v.Standard] == nil {
			l.t.StandardSeconds[v.Standard] = map[bool]float64{true: 0, false: 0}
		}
	}
	for name := range l.t.StandardSeconds {
		if !keep[name] {
			delete(l.t.StandardSeconds, name)
		}
	}
	l.prev, l.started = a, true
}

// Totals returns a copy of the totals.
func (l *Ledger) Totals() Totals {
	out := Totals{StateSeconds: map[State]float64{}, StandardSeconds: map[string]map[bool]float64{}}
	for k, v := range l.t.StateSeconds {
		out.StateSeconds[k] = v
	}
	for k, m := range l.t.StandardSeconds {
		out.StandardSeconds[k] = map[bool]float64{true: m[true], false: m[false]}
	}
	return out
}
