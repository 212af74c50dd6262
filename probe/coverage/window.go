package coverage

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wardprobe/wardprobe/probe"
)

// Window defaults.
const (
	// DefaultSpan is how far back the network window looks.
	DefaultSpan = time.Minute
	// UnreachableAfter is how many packets in a row every ICMP target must
	// lose for the network to count as unusable.
	UnreachableAfter = 3
	// maxPackets bounds the window's memory whatever the probe rates.
	maxPackets = 10000
)

type packet struct {
	at   time.Time
	lost bool
	rtt  time.Duration
}

type targetState struct {
	at     time.Time // last result
	icmp   bool
	jitter time.Duration
	hasJit bool
	streak int          // ICMP packets lost in a row
	local  probe.Reason // no_address / no_interface on the last result, else ""
	detail string
}

// Window keeps the recent results of the network probes: ICMP packets for
// loss, round-trip time and jitter, and every target's latest result to tell
// an unusable network. It is safe for concurrent use.
type Window struct {
	span time.Duration

	mu      sync.Mutex
	packets []packet
	targets map[string]*targetState
}

// NewWindow returns a Window over the last span (DefaultSpan when 0).
func NewWindow(span time.Duration) *Window {
	if span <= 0 {
		span = DefaultSpan
	}
	return &Window{span: span, targets: map[string]*targetState{}}
}

// Observe folds in one probe result.
func (w *Window) Observe(r probe.Result) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ts := w.targets[r.Target]
	if ts == nil {
		ts = &targetState{}
		w.targets[r.Target] = ts
	}
	ts.at = r.Time
	ts.local, ts.detail = "", ""
	if !r.Success && (r.Reason == probe.ReasonNoAddress || r.Reason == probe.ReasonNoInterface) {
		ts.local, ts.detail = r.Reason, r.Detail
	}
	if r.Packets == 0 { // not a packet of a kind that counts for coverage
		return
	}
	ts.icmp = true
	if r.Success {
		ts.streak = 0
	} else {
		ts.streak++
	}
	ts.jitter, ts.hasJit = r.Jitter, ts.hasJit || r.Success
	w.packets = append(w.packets, packet{at: r.Time, lost: !r.Success, rtt: r.Duration})
	if len(w.packets) > maxPackets {
		w.packets = append(w.packets[:0], w.packets[len(w.packets)-maxPackets:]...)
	}
}

// Stats summarises the window at now.
func (w *Window) Stats(now time.Time) Network {
	w.mu.Lock()
	defer w.mu.Unlock()
	from := now.Add(-w.span)
	i := sort.Search(len(w.packets), func(i int) bool { return !w.packets[i].at.Before(from) })
	if i > 0 {
		w.packets = append(w.packets[:0], w.packets[i:]...)
	}
	var n Network
	var sum time.Duration
	for _, p := range w.packets {
		n.Packets++
		if p.lost {
			n.Lost++
			continue
		}
		n.Answered++
		sum += p.rtt
	}
	if n.Answered > 0 {
		n.RTT = sum / time.Duration(n.Answered)
	}
	icmp, silent := 0, 0
	var local []string
	names := make([]string, 0, len(w.targets))
	for name := range w.targets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ts := w.targets[name]
		if ts.at.Before(from) {
			continue // stale
		}
		if ts.local != "" {
			local = append(local, fmt.Sprintf("%s: %s", name, ts.detail))
		}
		if ts.icmp {
			icmp++
			if ts.streak >= UnreachableAfter {
				silent++
			}
			if ts.hasJit && (!n.HaveJitter || ts.jitter > n.Jitter) {
				n.Jitter, n.HaveJitter = ts.jitter, true
			}
		}
	}
	switch {
	case len(local) > 0:
		n.Unusable = "no usable network on the interface (" + strings.Join(local, "; ") + ")"
	case icmp > 0 && silent == icmp:
		n.Unusable = fmt.Sprintf("the network does not answer: every ICMP target lost its last %d packets or more", UnreachableAfter)
	}
	return n
}
