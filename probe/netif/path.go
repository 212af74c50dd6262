package netif

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Path is the way out of this machine that probes measure: the interface
// under test (wifi.interface), how sockets are tied to it, and the DNS
// servers its lookups ask. Every kind and the throughput client dial and
// resolve through one, so that connections and the lookups they make leave
// by the interface. The zero interface ("") follows the routing table and
// the system resolver's servers (with a local stub's upstream servers in
// place of the stub; see Servers). A Path is safe for concurrent use; a
// job keeps one for its life, so that its servers are cached (ServersTTL).
type Path struct {
	iface   string
	binding Binding
	bindErr error
	src     sources
	next    atomic.Uint32 // round robin over servers that replace a stub
	res     *net.Resolver

	mu        sync.Mutex
	servers   ServerSet
	serversAt time.Time
	serversOK bool
}

// ServersTTL is how long a Path keeps the servers it found before looking
// again: as long as Go's resolver keeps /etc/resolv.conf.
const ServersTTL = 5 * time.Second

// NewPath returns the Path through iface ("" for the routing table),
// detecting how sockets can be tied to it (DetectBinding).
func NewPath(iface string) *Path {
	p := &Path{iface: iface, src: systemSources()}
	if iface != "" {
		p.binding, p.bindErr = DetectBinding()
	}
	p.res = &net.Resolver{PreferGo: true, Dial: p.dialServer}
	return p
}

// Resolver returns the resolver of NewPath(iface): its queries leave by
// iface and ask iface's servers (see Path.Servers).
func Resolver(iface string) *net.Resolver { return NewPath(iface).Resolver() }

// Interface returns the interface under test ("" for none).
func (p *Path) Interface() string { return p.iface }

// Binding returns how sockets are tied to the interface, and when that is
// BindSource, the kernel's refusal of SO_BINDTODEVICE. It is "" when there
// is no interface under test.
func (p *Path) Binding() (Binding, error) { return p.binding, p.bindErr }

// Resolver returns the Path's resolver: Go's own (never the C library's),
// whose every query goes to one of Servers over a socket of Dialer.
func (p *Path) Resolver() *net.Resolver { return p.res }

// Dialer returns a dialer of connections by the interface: each socket tied
// to it as Binding says (bound to the device, or to the interface's address
// of the destination's family; see SourceFor), names resolved by Resolver.
// With no interface it is a plain dialer with the Path's resolver. It fails
// with ErrNoInterface when the interface is missing or down; a dial fails
// with ErrNoInterface when it has gone since, and with ErrNoAddress when it
// has no address of the destination's family (source binding only).
func (p *Path) Dialer() (*net.Dialer, error) {
	d, err := p.rawDialer()
	if err != nil {
		return nil, err
	}
	d.Resolver = p.res
	return d, nil
}

// rawDialer is Dialer without a resolver: for IP addresses only.
func (p *Path) rawDialer() (*net.Dialer, error) {
	d := &net.Dialer{}
	if p.iface == "" {
		return d, nil
	}
	if _, err := Up(p.iface); err != nil {
		return nil, err
	}
	d.Control = control(p.iface, p.binding)
	return d, nil
}

// dialServer is the resolver's Dial: Go's resolver names a server of
// /etc/resolv.conf; when that is not one of the Path's servers (it is a
// local stub, or the interface has servers of its own) one of the Path's
// servers is asked instead, in turn, so that Go's retries reach each.
func (p *Path) dialServer(ctx context.Context, network, address string) (net.Conn, error) {
	set, err := p.Servers(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(set.Servers, address) {
		address = set.Servers[int(p.next.Add(1)-1)%len(set.Servers)]
	}
	d, err := p.rawDialer()
	if err != nil {
		return nil, err
	}
	return d.DialContext(ctx, network, address)
}
