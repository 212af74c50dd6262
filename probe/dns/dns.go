// Package dns is the dns target kind: it times one DNS query against a
// given server, or the first server of the system resolver
// (/etc/resolv.conf), and reports its response code.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// ResolvConf is where the system resolver's servers are read from.
const ResolvConf = "/etc/resolv.conf"

// RecordTypes are the record types a dns target may query.
func RecordTypes() []string {
	return []string{"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "SOA"}
}

// Spec is a dns target's own settings.
type Spec struct {
	// Server is host[:port] of the server asked; empty: the system resolver.
	Server string `yaml:"server"`
	// Query is the name to resolve.
	Query string `yaml:"query"`
	// RecordType is one of RecordTypes (default A).
	RecordType string `yaml:"record_type"`
	// Transport is udp (default) or tcp.
	Transport string `yaml:"transport"`
}

// Default implements config.Spec.
func (s *Spec) Default() {
	if s.RecordType == "" {
		s.RecordType = "A"
	}
	if s.Transport == "" {
		s.Transport = "udp"
	}
}

// Validate implements config.Spec.
func (s *Spec) Validate(c *config.Checker) {
	if s.Query == "" {
		c.Errorf("query", "is required (the name to resolve)")
	}
	if s.Server != "" {
		_, err := config.HostPort(s.Server, "53")
		c.Check("server", err)
	}
	if !slices.Contains(RecordTypes(), strings.ToUpper(s.RecordType)) {
		c.Errorf("record_type", "unknown record type %q (%s)", s.RecordType, strings.Join(RecordTypes(), ", "))
	}
	if s.Transport != "udp" && s.Transport != "tcp" {
		c.Errorf("transport", "%q is not udp or tcp", s.Transport)
	}
}

// Metric names.
const (
	metricLookup    = "wardprobe_dns_lookup_seconds"
	metricResponses = "wardprobe_dns_responses_total"
)

// Kind returns the dns kind.
func Kind() probe.Kind {
	return probe.Kind{
		Kind: config.Kind{
			Name: "dns", NewSpec: func() config.Spec { return &Spec{} },
			DefaultInterval: 30 * time.Second, MinInterval: time.Second, DefaultTimeout: probe.TimeoutUpTo(10 * time.Second),
		},
		New: func(t config.Target, env probe.Env) (probe.Job, error) {
			return probe.Job{Prober: New(t.Name, *t.Spec.(*Spec), env.Interface)}, nil
		},
		Metrics: []probe.Metric{
			{Name: metricLookup, Help: "Time from sending a DNS query to its reply (whatever its response code), in seconds.",
				Type: probe.Histogram, Buckets: probe.LatencyBuckets()},
			{Name: metricResponses, Help: "DNS replies by response code.", Type: probe.Counter, Labels: []string{"rcode"}},
		},
	}
}

// Prober resolves a target's query.
type Prober struct {
	name  string
	spec  Spec
	iface string
	qtype uint16
}

// New returns a Prober for the target name with spec, bound to iface when set.
func New(name string, spec Spec, iface string) *Prober {
	return &Prober{name: name, spec: spec, iface: iface, qtype: mdns.StringToType[strings.ToUpper(spec.RecordType)]}
}

func (p *Prober) server() (string, error) {
	if p.spec.Server != "" {
		return config.HostPort(p.spec.Server, "53")
	}
	cc, err := mdns.ClientConfigFromFile(ResolvConf)
	if err != nil {
		return "", fmt.Errorf("system resolver: %w", err)
	}
	if len(cc.Servers) == 0 {
		return "", errors.New("system resolver: no nameserver in " + ResolvConf)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// Probe implements probe.Prober: Duration is the lookup time, Summary the
// response code. A reply other than NOERROR with at least one answer fails
// with reason "dns".
func (p *Prober) Probe(ctx context.Context) probe.Result {
	server, err := p.server()
	if err != nil {
		return probe.Fail(p.name, "dns", probe.ReasonDNS, err.Error())
	}
	d, err := netif.Dialer(p.iface, p.spec.Transport)
	if err != nil {
		return probe.Fail(p.name, "dns", probe.Classify(err), err.Error())
	}
	c := &mdns.Client{Net: p.spec.Transport, Dialer: d}
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(dl)
	}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(p.spec.Query), p.qtype)
	m.RecursionDesired = true
	start := time.Now()
	in, _, err := c.ExchangeContext(ctx, m, server)
	took := time.Since(start)
	if err != nil {
		reason := probe.Classify(err)
		if reason == probe.ReasonOther {
			reason = probe.ReasonProtocol // a reply that did not parse
		}
		r := probe.Fail(p.name, "dns", reason, err.Error())
		r.Duration, r.Addr = took, server
		return r
	}
	rcode := mdns.RcodeToString[in.Rcode]
	if rcode == "" {
		rcode = "other"
	}
	r := probe.Result{Target: p.name, Kind: "dns", Time: time.Now(), Duration: took, Addr: server, Summary: rcode,
		Observations: []probe.Observation{probe.Ob(metricLookup, took.Seconds()), probe.Ob(metricResponses, 1, rcode)}}
	switch {
	case in.Rcode != mdns.RcodeSuccess:
		r.Reason, r.Detail = probe.ReasonDNS, "rcode "+rcode
	case len(in.Answer) == 0:
		r.Reason, r.Detail = probe.ReasonDNS, "no answer records"
	default:
		r.Success = true
	}
	return r
}
