// Package tcp times TCP connection set-up to a host:port.
package tcp

import (
	"context"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// Prober connects to a target's address and closes the connection at once.
type Prober struct {
	target config.Target
	iface  string
	addr   string
}

// New returns a Prober for t, sourced from iface when set.
func New(t config.Target, iface string) *Prober {
	return &Prober{target: t, iface: iface, addr: t.Address}
}

// Probe implements probe.Prober; Duration is the connect time in seconds.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	d, err := netif.Dialer(p.iface, "tcp")
	if err != nil {
		return probe.Fail(p.target.Name, config.KindTCP, probe.Classify(err), err.Error())
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", p.addr)
	took := time.Since(start)
	if err != nil {
		r := probe.Fail(p.target.Name, config.KindTCP, probe.Classify(err), err.Error())
		r.Duration = took
		return r
	}
	addr := c.RemoteAddr().String()
	c.Close()
	return probe.Result{Target: p.target.Name, Kind: config.KindTCP, Time: time.Now(), Success: true, Duration: took, Addr: addr}
}
