// Package dns is the dns target kind: it times one DNS query, as a stub
// resolver makes it, against a given server or the first server of the
// interface under test (see netif.Path.Servers), and reports the response
// code. Queries carry EDNS0 with a UDP payload size of UDPSize and are
// asked again over TCP when the UDP reply is truncated (TC).
package dns

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// UDPSize is the EDNS0 UDP payload size advertised: 1232 bytes, the value
// agreed at DNS Flag Day 2020 to avoid IP fragmentation on any path with
// an MTU of 1280 (IPv6's minimum) or more.
const UDPSize = 1232

// RecordTypes are the record types a dns target may query (record_type).
func RecordTypes() []string {
	return []string{"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SRV", "TXT", "SOA"}
}

// Spec is a dns target's own settings.
type Spec struct {
	// Server is host[:port] of the server asked (port 53 by default; an
	// IPv6 address bracketed when a port follows, fe80::1%wlan0 with a
	// zone); empty: the first DNS server of the interface under test.
	Server string `yaml:"server"`
	// Query is the name to resolve: ASCII or internationalised (sent in
	// its xn-- form, see QueryName); with record_type PTR an IP address.
	Query string `yaml:"query"`
	// RecordType is one of RecordTypes (default A).
	RecordType string `yaml:"record_type"`
	// Transport is udp (default; TCP when a reply is truncated) or tcp.
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
	} else if _, err := QueryName(s.Query, s.RecordType); err != nil {
		c.Errorf("query", "%v", err)
	}
	if s.Server != "" {
		_, err := config.HostPort(s.Server, "53")
		if c.Check("server", err) {
			c.Check("server", netif.ZoneIs(s.Server, c.Interface()))
		}
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
		New: newJob,
		Metrics: []probe.Metric{
			{Name: metricLookup, Help: "Time from sending a DNS query to its reply (whatever its response code; a truncated UDP reply's TCP retry included), in seconds.",
				Type: probe.Histogram, Buckets: probe.LatencyBuckets()},
			{Name: metricResponses, Help: "DNS replies by response code.", Type: probe.Counter, Labels: []string{"rcode"}},
			probe.BindingMetric(),
		},
	}
}

func newJob(t config.Target, env probe.Env) (probe.Job, error) {
	spec := *t.Spec.(*Spec)
	p, err := New(t.Name, spec, netif.NewPath(env.Interface), env.Log)
	if err != nil {
		return probe.Job{}, &config.FieldError{Key: "query", Err: err}
	}
	probe.NoteBinding(env, p.path)
	if env.Note != nil && strings.TrimSuffix(p.qname, ".") != strings.TrimSuffix(spec.Query, ".") {
		env.Note(zerolog.InfoLevel, fmt.Sprintf("dns target %s: query %q is asked as %s", t.Name, spec.Query, p.qname))
	}
	return probe.Job{Prober: p}, nil
}

// Prober resolves a target's query.
type Prober struct {
	name  string
	spec  Spec
	qname string
	qtype uint16
	path  *netif.Path
	log   zerolog.Logger

	mu      sync.Mutex
	servers string // the servers last logged
}

// New returns a Prober for the target name with spec, asking through path.
// It fails when spec.Query is not a valid name (see QueryName).
func New(name string, spec Spec, path *netif.Path, log zerolog.Logger) (*Prober, error) {
	qname, err := QueryName(spec.Query, spec.RecordType)
	if err != nil {
		return nil, err
	}
	return &Prober{name: name, spec: spec, qname: qname, qtype: mdns.StringToType[strings.ToUpper(spec.RecordType)],
		path: path, log: log.With().Str("target", name).Logger()}, nil
}

// server returns the server to ask: the configured one, or the first of the
// path's (logged when they change).
func (p *Prober) server(ctx context.Context) (string, error) {
	if p.spec.Server != "" {
		if err := netif.CheckZone(p.spec.Server, p.path.Interface()); err != nil {
			return "", err
		}
		return config.HostPort(p.spec.Server, "53")
	}
	set, err := p.path.Servers(ctx)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	if s := set.String(); s != p.servers {
		p.servers = s
		p.log.Info().Strs("servers", set.Servers).Str("source", set.Source).Str("asking", set.Servers[0]).Msg("DNS servers")
	}
	p.mu.Unlock()
	return set.Servers[0], nil
}

// Probe implements probe.Prober: Duration is the lookup time, Addr the
// server asked (the landing page shows it), Summary the response code and
// the number of answers. A reply other
// than NOERROR with at least one answer fails with reason "dns".
func (p *Prober) Probe(ctx context.Context) probe.Result {
	fail := func(reason probe.Reason, detail string) probe.Result {
		r := probe.Fail(p.name, "dns", reason, detail)
		r.Observations = probe.BindingObservations(p.path)
		return r
	}
	server, err := p.server(ctx)
	if err != nil {
		reason := probe.Classify(err)
		if reason == probe.ReasonOther {
			reason = probe.ReasonDNS
		}
		return fail(reason, err.Error())
	}
	d, err := p.path.Dialer()
	if err != nil {
		r := fail(probe.Classify(err), err.Error())
		r.Addr = server
		return r
	}
	m := new(mdns.Msg)
	m.SetQuestion(p.qname, p.qtype)
	m.RecursionDesired = true
	m.SetEdns0(UDPSize, false)
	start := time.Now()
	in, overTCP, err := exchange(ctx, d, p.spec.Transport, m, server)
	took := time.Since(start)
	if err != nil {
		reason := probe.Classify(err)
		if reason == probe.ReasonOther {
			reason = probe.ReasonProtocol // a reply that did not parse
		}
		r := fail(reason, err.Error())
		r.Duration, r.Addr = took, server
		return r
	}
	rcode := RcodeName(in.Rcode)
	r := probe.Result{Target: p.name, Kind: "dns", Time: time.Now(), Duration: took, Addr: server,
		Summary:      rcode + ", " + plural(len(in.Answer), "answer"),
		Observations: append(probe.BindingObservations(p.path), probe.Ob(metricLookup, took.Seconds()), probe.Ob(metricResponses, 1, rcode))}
	if overTCP {
		r.Summary += " (TCP after a truncated UDP reply)"
	}
	switch {
	case in.Rcode != mdns.RcodeSuccess:
		r.Reason, r.Detail = probe.ReasonDNS, "rcode "+rcode+" from "+server
	case len(in.Answer) == 0:
		r.Reason, r.Detail = probe.ReasonDNS, "no answer records from "+server
	default:
		r.Success = true
	}
	return r
}

// exchange asks server over transport (udp or tcp) with dialer d, and asks
// again over TCP when a UDP reply is truncated, as RFC 7766 section 5 has a
// stub do. overTCP tells that the retry happened.
func exchange(ctx context.Context, d *net.Dialer, transport string, m *mdns.Msg, server string) (in *mdns.Msg, overTCP bool, err error) {
	c := &mdns.Client{Net: transport, Dialer: d, UDPSize: UDPSize}
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(dl)
	}
	in, _, err = c.ExchangeContext(ctx, m, server)
	if transport != "udp" || in == nil || !in.Truncated {
		return in, false, err
	}
	c.Net = "tcp"
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(dl)
	}
	in, _, err = c.ExchangeContext(ctx, m, server)
	return in, true, err
}

// RcodeName returns the name of a response code (NOERROR, NXDOMAIN,
// SERVFAIL, ...; extended codes from EDNS0 included), or "other" for a code
// with no name: the rcode label's values are a bounded set.
func RcodeName(rcode int) string {
	if n, ok := mdns.RcodeToString[rcode]; ok {
		return n
	}
	return "other"
}

// plural returns "1 answer", "2 answers".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
