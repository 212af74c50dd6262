package connect

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// bindTo returns a socket control function that binds to the device
// (SO_BINDTODEVICE, CAP_NET_RAW): the test's traffic must leave through
// its adapter, or it measures nothing.
func bindTo(iface string) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, iface)
		})
		if err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("binding to %s: %w", iface, serr)
		}
		return nil
	}
}

// lookup resolves name (A) through server, bound to the adapter, and
// succeeds on NOERROR with at least one answer (as the dns probe does).
func lookup(ctx context.Context, iface string, src, server net.IP, name string) *failure {
	d := &net.Dialer{LocalAddr: &net.UDPAddr{IP: src}, Control: bindTo(iface)}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	c := &mdns.Client{Net: "udp", Dialer: d, Timeout: time.Until(d.Deadline)}
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), mdns.TypeA)
	// Retransmit once a second, as stub resolvers do, until the deadline.
	var lastErr error
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		r, _, err := c.ExchangeContext(attempt, m, net.JoinHostPort(server.String(), "53"))
		cancel()
		switch {
		case err == nil && r.Rcode == mdns.RcodeSuccess && len(r.Answer) > 0:
			return nil
		case err == nil && r.Rcode == mdns.RcodeSuccess:
			return fail(PhaseDNS, ReasonDNS, "%s answered NOERROR with no address for %s", server, name)
		case err == nil:
			return fail(PhaseDNS, ReasonDNS, "%s answered %s for %s", server, mdns.RcodeToString[r.Rcode], name)
		case isPermission(err):
			return fail(PhaseDNS, ReasonPermission, "%v (binding to the adapter needs CAP_NET_RAW)", err)
		}
		lastErr = err
		if ctx.Err() != nil {
			return fail(PhaseDNS, ReasonTimeout, "no answer from %s for %s (%v)", server, name, lastErr)
		}
	}
}

// pingGateway sends ICMP echo requests to gw, bound to the adapter, one
// every 200 ms, until one is answered or ctx ends.
func pingGateway(ctx context.Context, iface string, src, gw net.IP) *failure {
	lc := net.ListenConfig{Control: bindTo(iface)}
	network, raw := "ip4:icmp", true
	pc, err := lc.ListenPacket(ctx, network, src.String())
	if err != nil && isPermission(err) {
		network, raw = "udp4", false // an unprivileged ICMP socket, where ping_group_range allows it
		pc, err = lc.ListenPacket(ctx, network, src.String())
	}
	if err != nil {
		if isPermission(err) {
			return fail(PhaseGateway, ReasonPermission, "no ICMP socket: %v", err)
		}
		return fail(PhaseGateway, ReasonOther, "ICMP socket: %v", err)
	}
	defer pc.Close()
	id := int(rand.Uint32() & 0xffff)
	var dst net.Addr = &net.IPAddr{IP: gw}
	if !raw {
		dst = &net.UDPAddr{IP: gw}
	}
	buf := make([]byte, 1500)
	for seq := 1; ; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("wardprobe connect test")}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return fail(PhaseGateway, ReasonOther, "%v", err)
		}
		if _, err := pc.WriteTo(b, dst); err != nil && !isTransient(err) {
			if isPermission(err) {
				return fail(PhaseGateway, ReasonPermission, "%v", err)
			}
			return fail(PhaseGateway, ReasonUnreachable, "sending to %s: %v", gw, err)
		}
		next := time.Now().Add(200 * time.Millisecond)
		if dl, ok := ctx.Deadline(); ok && dl.Before(next) {
			next = dl
		}
		_ = pc.SetReadDeadline(next)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				break // next request, or the deadline
			}
			if !sameIP(from, gw) {
				continue
			}
			rm, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || rm.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			if e, ok := rm.Body.(*icmp.Echo); ok && e.Seq <= seq && (!raw || e.ID == id) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fail(PhaseGateway, ReasonUnreachable, "the gateway %s did not answer %d echo requests", gw, seq)
		}
	}
}

func sameIP(a net.Addr, ip net.IP) bool {
	switch x := a.(type) {
	case *net.IPAddr:
		return x.IP.Equal(ip)
	case *net.UDPAddr:
		return x.IP.Equal(ip)
	}
	return false
}

func isPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission)
}

// isTransient: sending failed because the neighbour is not resolved yet.
func isTransient(err error) bool {
	return errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN)
}
