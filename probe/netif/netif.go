// Package netif answers questions about this machine's interfaces and routes:
// the address a probe should be sourced from, and the current default gateway.
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
	"syscall"
)

// Errors that map to probe reasons.
var (
	// ErrNoInterface means the named interface does not exist or is down.
	ErrNoInterface = errors.New("interface missing or down")
	// ErrNoAddress means the interface has no IPv4 address.
	ErrNoAddress = errors.New("interface has no IPv4 address")
	// ErrNoGateway means there is no IPv4 default route.
	ErrNoGateway = errors.New("no IPv4 default gateway")
)

// SourceAddr returns the first IPv4 address of the interface name.
func SourceAddr(name string) (net.IP, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, ErrNoInterface)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("%s is down: %w", name, ErrNoInterface)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNoAddress)
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

// Dialer returns a net.Dialer for probes of the interface under test over
// network ("tcp" or "udp"): sourced from its address and, where the process
// may, bound to the device (SO_BINDTODEVICE) so that traffic leaves through it
// whatever the routes say. With iface empty it is a plain dialer following
// the routing table.
func Dialer(iface, network string) (*net.Dialer, error) {
	d := &net.Dialer{}
	if iface == "" {
		return d, nil
	}
	ip, err := SourceAddr(iface)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(network, "udp") {
		d.LocalAddr = &net.UDPAddr{IP: ip}
	} else {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	d.Control = func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) {
			// Best effort: it needs CAP_NET_RAW; the source address applies without it.
			_ = syscall.SetsockoptString(int(fd), syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, iface)
		})
	}
	return d, nil
}
