// Package dns times one DNS query against a given server, or the first
// server of the system resolver (/etc/resolv.conf), and reports its rcode.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// ResolvConf is where the system resolver's servers are read from.
const ResolvConf = "/etc/resolv.conf"

// Prober resolves a target's query.
type Prober struct {
	target config.Target
	iface  string
	qtype  uint16
}

// New returns a Prober for t, sourced from iface when set.
func New(t config.Target, iface string) *Prober {
	return &Prober{target: t, iface: iface, qtype: mdns.StringToType[strings.ToUpper(t.RecordType)]}
}

func (p *Prober) server() (string, error) {
	if p.target.Server != "" {
		return config.HostPort(p.target.Server, "53")
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

// Probe implements probe.Prober: Duration is the lookup time, Rcode the
// response code. A reply other than NOERROR with at least one answer fails
// with reason "dns".
func (p *Prober) Probe(ctx context.Context) probe.Result {
	name := p.target.Name
	server, err := p.server()
	if err != nil {
		return probe.Fail(name, config.KindDNS, probe.ReasonDNS, err.Error())
	}
	d, err := netif.Dialer(p.iface, p.target.Transport)
	if err != nil {
		return probe.Fail(name, config.KindDNS, probe.Classify(err), err.Error())
	}
	c := &mdns.Client{Net: p.target.Transport, Dialer: d}
	if dl, ok := ctx.Deadline(); ok {
		c.Timeout = time.Until(dl)
	}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(p.target.Query), p.qtype)
	m.RecursionDesired = true
	start := time.Now()
	in, _, err := c.ExchangeContext(ctx, m, server)
	took := time.Since(start)
	if err != nil {
		reason := probe.Classify(err)
		if reason == probe.ReasonOther {
			reason = probe.ReasonProtocol // a reply that did not parse
		}
		r := probe.Fail(name, config.KindDNS, reason, err.Error())
		r.Duration, r.Addr = took, server
		return r
	}
	r := probe.Result{Target: name, Kind: config.KindDNS, Time: time.Now(), Duration: took, Addr: server,
		Rcode: mdns.RcodeToString[in.Rcode]}
	if r.Rcode == "" {
		r.Rcode = "other"
	}
	switch {
	case in.Id != m.Id:
		r.Reason, r.Detail = probe.ReasonProtocol, "reply id does not match the query"
	case in.Rcode != mdns.RcodeSuccess:
		r.Reason, r.Detail = probe.ReasonDNS, "rcode "+r.Rcode
	case len(in.Answer) == 0:
		r.Reason, r.Detail = probe.ReasonDNS, "no answer records"
	default:
		r.Success = true
	}
	return r
}
