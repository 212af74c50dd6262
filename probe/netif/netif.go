// Package netif ties probes to the interface under test (wifi.interface):
// the one Dialer and the one Resolver every kind and the throughput client
// use, so that connections and the name lookups they make leave by that
// interface; how sockets are tied to it (Binding); the DNS servers of that
// interface when the system resolver is a local stub (Servers); its
// addresses and its default gateway.
package netif

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// Errors that map to probe reasons.
var (
	// ErrNoInterface means the named interface does not exist or is down.
	ErrNoInterface = errors.New("interface missing or down")
	// ErrNoAddress means the interface has no address of the family needed.
	ErrNoAddress = errors.New("interface has no usable address")
	// ErrNoGateway means there is no IPv4 default route.
	ErrNoGateway = errors.New("no IPv4 default gateway")
)

// Up returns the interface name when it exists and is up, and an error
// wrapping ErrNoInterface otherwise.
func Up(name string) (*net.Interface, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoInterface)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("%s is down: %w", name, ErrNoInterface)
	}
	return ifi, nil
}

// SourceAddr returns the first IPv4 address of the interface name.
func SourceAddr(name string) (net.IP, error) {
	return SourceFor(name, net.IPv4zero)
}

// SourceFor returns the address of the interface name that a packet to dst
// should come from: an IPv4 address for an IPv4 dst; for an IPv6 dst a
// global address, or a link-local one when dst is link-local or the
// interface has no other. It fails with ErrNoInterface when the interface
// is missing or down, and ErrNoAddress when it has no such address.
func SourceFor(name string, dst net.IP) (net.IP, error) {
	ifi, err := Up(name)
	if err != nil {
		return nil, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", name, err)
	}
	v4 := dst.To4() != nil
	var linkLocal net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		switch ip := ipn.IP; {
		case v4 && ip.To4() != nil:
			return ip.To4(), nil
		case v4 || ip.To4() != nil:
		case ip.IsLinkLocalUnicast():
			if linkLocal == nil {
				linkLocal = ip
			}
		case !dst.IsLinkLocalUnicast():
			return ip, nil
		}
	}
	if linkLocal != nil {
		return linkLocal, nil
	}
	family := "IPv6"
	if v4 {
		family = "IPv4"
	}
	return nil, fmt.Errorf("%s has no %s address: %w", name, family, ErrNoAddress)
}

// Zone returns the zone of an IPv6 address written host%zone, bracketed or
// not, with or without a port; "" when there is none.
func Zone(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	_, zone, _ := strings.Cut(strings.Trim(host, "[]"), "%")
	return zone
}

// ZoneIs checks that the zone of host, if it has one, is iface (when set):
// the part of CheckZone a config can be checked for before the interface
// exists.
func ZoneIs(host, iface string) error {
	if zone := Zone(host); zone != "" && iface != "" && zone != iface {
		return fmt.Errorf("zone %%%s is not the interface under test (wifi.interface %s)", zone, iface)
	}
	return nil
}

// CheckZone checks the zone of an IPv6 address written host%zone (host
// may be bracketed, with a port): the zone must name an existing interface
// and, when iface is set, be iface itself, since every probe is bound to
// it. A host without a zone passes.
func CheckZone(host, iface string) error {
	if err := ZoneIs(host, iface); err != nil {
		return err
	}
	zone := Zone(host)
	if zone == "" {
		return nil
	}
	if _, err := net.InterfaceByName(zone); err != nil {
		return fmt.Errorf("zone %%%s: %w", zone, ErrNoInterface)
	}
	return nil
}

// DefaultGateway returns the IPv4 default gateway from /proc/net/route: the
// one through iface when iface is set, otherwise the one with the lowest metric.
func DefaultGateway(iface string) (net.IP, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	defer f.Close()
	return ParseDefaultGateway(f, iface)
}

// ParseDefaultGateway finds the default gateway in the text of /proc/net/route.
func ParseDefaultGateway(r io.Reader, iface string) (net.IP, error) {
	const rtfUp, rtfGateway = 0x1, 0x2
	var best net.IP
	bestMetric := int64(-1)
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		if iface != "" && f[0] != iface {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		gw, err2 := strconv.ParseUint(f[2], 16, 32)
		flags, err3 := strconv.ParseUint(f[3], 16, 32)
		metric, err4 := strconv.ParseInt(f[6], 10, 64)
		mask, err5 := strconv.ParseUint(f[7], 16, 32)
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			continue
		}
		if dst != 0 || mask != 0 || flags&rtfUp == 0 || flags&rtfGateway == 0 {
			continue
		}
		if bestMetric >= 0 && metric >= bestMetric {
			continue
		}
		ip := make(net.IP, 4)
		binary.LittleEndian.PutUint32(ip, uint32(gw))
		best, bestMetric = ip, metric
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	if best == nil {
		if iface != "" {
			return nil, fmt.Errorf("via %s: %w", iface, ErrNoGateway)
		}
		return nil, ErrNoGateway
	}
	return best, nil
}
