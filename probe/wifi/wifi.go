// Package wifi reads the state of the Wi-Fi interface under test.
package wifi

import (
	"context"
	"time"
)

// Snapshot is the state of the Wi-Fi interface under test at one moment.
type Snapshot struct {
	Time time.Time
	// Interface is the interface reported ("" when there is none).
	Interface string
	// Present is whether the interface exists.
	Present bool
	// Connected is whether it is associated with an AP of the configured SSIDs.
	Connected bool
	// Detail explains an absent or disconnected interface, for logs and the landing page.
	Detail string
}

// Poller reports a Snapshot of the Wi-Fi interface under test every interval.
type Poller struct {
	// Interface is the configured interface ("" = the first wireless one).
	Interface string
	Interval  time.Duration
	// List returns the wireless interfaces (netif.WirelessInterfaces in production).
	List func() []string
}

// Snapshot reads the current state once.
func (p *Poller) Snapshot() Snapshot {
	s := Snapshot{Time: time.Now(), Interface: p.Interface}
	ifaces := p.List()
	if s.Interface == "" && len(ifaces) > 0 {
		s.Interface = ifaces[0]
	}
	for _, name := range ifaces {
		if name == s.Interface {
			s.Present = true
		}
	}
	switch {
	case s.Interface == "":
		s.Detail = "no Wi-Fi interface on this machine"
	case !s.Present:
		s.Detail = "Wi-Fi interface " + s.Interface + " is missing"
	default:
		s.Detail = "link state not read"
	}
	return s
}

// Run calls report with a fresh Snapshot every interval until ctx ends.
func (p *Poller) Run(ctx context.Context, report func(Snapshot)) {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		report(p.Snapshot())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
