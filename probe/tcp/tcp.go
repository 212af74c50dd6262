// Package tcp is the tcp target kind: it times TCP connection set-up to a
// host:port, name resolution included when the host is a name.
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
	// address ([fe80::1%wlan0]:443).
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
	c.Check("address", err)
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
			return probe.Job{Prober: &Prober{name: t.Name, addr: t.Spec.(*Spec).Address, iface: env.Interface}}, nil
		},
		Metrics: []probe.Metric{{Name: metricConnect, Help: "Time to set up a TCP connection (name resolution included), in seconds.",
			Type: probe.Histogram, Buckets: probe.LatencyBuckets()}},
	}
}

// Prober connects to a target's address and closes the connection at once.
type Prober struct {
	name, addr, iface string
}

// Probe implements probe.Prober; Duration is the connect time.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	d, err := netif.Dialer(p.iface, "tcp")
	if err != nil {
		return probe.Fail(p.name, "tcp", probe.Classify(err), err.Error())
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", p.addr)
	took := time.Since(start)
	if err != nil {
		r := probe.Fail(p.name, "tcp", probe.Classify(err), err.Error())
		r.Duration = took
		return r
	}
	addr := c.RemoteAddr().String()
	c.Close()
	return probe.Result{Target: p.name, Kind: "tcp", Time: time.Now(), Success: true, Duration: took, Addr: addr,
		Observations: []probe.Observation{probe.Ob(metricConnect, took.Seconds())}}
}
