package connect

import (
	"sync"
	"time"
)

// PlannedGrace extends every planned outage past its end: the Wi-Fi poller
// sees the reconnection up to one poll later, and a probe packet sent just
// before the end may still be in flight.
const PlannedGrace = 2 * time.Second

// plannedKeep is how long ended outages are remembered.
const plannedKeep = time.Hour

// Planned records the planned outages of interfaces: the windows in which
// a connect test on the main link (Config.Shared) tears the connection down
// and builds it again. The Wi-Fi tracker, the coverage judge and the ICMP
// loss accounting ask it whether a moment (Covers) or a span (Overlaps) of
// an interface was planned, and then count no disconnect, no not-spot and
// no lost packet for it. A window runs from Begin to End plus
// PlannedGrace; an open window (Begin without End yet) covers everything
// after its start. It is safe for concurrent use; a nil *Planned covers
// nothing.
type Planned struct {
	mu   sync.Mutex
	open map[string]time.Time
	done []window
}

type window struct {
	iface    string
	from, to time.Time // to includes the grace
}

// NewPlanned returns an empty record.
func NewPlanned() *Planned { return &Planned{open: map[string]time.Time{}} }

// Begin opens a planned outage of iface at t.
func (p *Planned) Begin(iface string, t time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.open[iface]; !ok {
		p.open[iface] = t
	}
}

// End closes the planned outage of iface at t.
func (p *Planned) End(iface string, t time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	from, ok := p.open[iface]
	if !ok {
		return
	}
	delete(p.open, iface)
	p.done = append(p.done, window{iface: iface, from: from, to: t.Add(PlannedGrace)})
	keep := p.done[:0]
	for _, w := range p.done {
		if t.Sub(w.to) < plannedKeep {
			keep = append(keep, w)
		}
	}
	p.done = keep
}

// Covers reports whether t falls in a planned outage of iface.
func (p *Planned) Covers(iface string, t time.Time) bool {
	return p.Overlaps(iface, t, t)
}

// Overlaps reports whether [from, to] meets a planned outage of iface.
func (p *Planned) Overlaps(iface string, from, to time.Time) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if start, ok := p.open[iface]; ok && !to.Before(start) {
		return true
	}
	for _, w := range p.done {
		if w.iface == iface && !to.Before(w.from) && !from.After(w.to) {
			return true
		}
	}
	return false
}
