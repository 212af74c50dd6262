// Package tcp is the tcp target kind: it times TCP connection set-up to a
// host:port by the interface under test, name resolution included when the
// host is a name.
package tcp

import (
	"context"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// Spec is a tcp target's own settings.
type Spec struct {
	// Address is host:port; the host may be a name, an IPv4 or an IPv6
	// address, bracketed ([2001:db8::1]:443), with a zone for a link-local
	// one ([fe80::1%wlan0]:443; the zone must be wifi.interface when set).
	Address string `yaml:"address"`
}

// Default implements config.Spec.
func (s *Spec) Default() {}

// Validate implements config.Spec.
func (s *Spec) Validate(c *config.Checker) {
	if s.Address == "" {
		c.Errorf("address", "is required (host:port)")
		return
	}
	_, err := config.HostPort(s.Address, "")
	if c.Check("address", err) {
		c.Check("address", netif.ZoneIs(s.Address, c.Interface()))
	}
}

// metricConnect is the connect-time histogram.
const metricConnect = "wardprobe_tcp_connect_seconds"

// Kind returns the tcp kind.
func Kind() probe.Kind {
	return probe.Kind{
		Kind: config.Kind{
			Name: "tcp", NewSpec: func() config.Spec { return &Spec{} },
			DefaultInterval: 30 * time.Second, MinInterval: time.Second, DefaultTimeout: probe.TimeoutUpTo(10 * time.Second),
		},
		New: func(t config.Target, env probe.Env) (probe.Job, error) {
			addr := t.Spec.(*Spec).Address
			p := &Prober{name: t.Name, addr: addr, path: netif.NewPath(env.Interface)}
			probe.NoteBinding(env, p.path)
			return probe.Job{Prober: p}, nil
		},
		Metrics: []probe.Metric{{Name: metricConnect, Help: "Time to set up a TCP connection (name resolution included), in seconds.",
			Type: probe.Histogram, Buckets: probe.LatencyBuckets()}, probe.BindingMetric()},
	}
}

// Prober connects to a target's address and closes the connection at once.
type Prober struct {
	name, addr string
	path       *netif.Path
}

// Probe implements probe.Prober; Duration is the connect time, Addr the
// address connected to.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	fail := func(err error) probe.Result {
		r := probe.Fail(p.name, "tcp", probe.Classify(err), err.Error())
		r.Observations = probe.BindingObservations(p.path)
		return r
	}
	if err := netif.CheckZone(p.addr, p.path.Interface()); err != nil {
		return fail(err)
	}
	d, err := p.path.Dialer()
	if err != nil {
		return fail(err)
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", p.addr)
	took := time.Since(start)
	if err != nil {
		r := fail(err)
		r.Duration = took
		return r
	}
	addr := c.RemoteAddr().String()
	c.Close()
	return probe.Result{Target: p.name, Kind: "tcp", Time: time.Now(), Success: true, Duration: took, Addr: addr,
		Summary:      "connected to " + addr,
		Observations: append(probe.BindingObservations(p.path), probe.Ob(metricConnect, took.Seconds()))}
}
