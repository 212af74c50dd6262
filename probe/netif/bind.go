package netif

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// Binding is how the sockets of probes are tied to the interface under
// test: the value of the "mode" label of wardprobe_interface_binding_info.
type Binding string

// Bindings.
const (
	// BindDevice: every socket is bound to the interface (SO_BINDTODEVICE),
	// so its packets leave by the interface whatever the routing table
	// says. Linux allows it to any process since 5.7 for a socket not yet
	// bound to a device, and only with CAP_NET_RAW before.
	BindDevice Binding = "bound"
	// BindSource: the kernel refused SO_BINDTODEVICE (a kernel older than
	// 5.7 without CAP_NET_RAW, or a seccomp filter). Sockets are only bound
	// to the interface's address: packets follow the routing table, and
	// where it routes a destination through another interface they leave
	// by that one, with the interface's source address.
	BindSource Binding = "source_address_only"
)

// DetectBinding tries SO_BINDTODEVICE on a fresh socket (to the loopback
// interface, which always exists) and returns BindDevice when the kernel
// allows it, or BindSource with the kernel's refusal.
func DetectBinding() (Binding, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return BindSource, fmt.Errorf("opening a test socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptString(fd, syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, "lo"); err != nil {
		return BindSource, fmt.Errorf("SO_BINDTODEVICE refused: %w", err)
	}
	return BindDevice, nil
}

// control returns the net.Dialer Control function that ties each socket,
// about to connect to address over network ("tcp4", "udp6", ...), to
// iface.
func control(iface string, binding Binding) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) { err = bindSocket(int(fd), iface, binding, network, address) }); cerr != nil {
			return cerr
		}
		return err
	}
}

func bindSocket(fd int, iface string, binding Binding, network, address string) error {
	if binding == BindDevice {
		err := syscall.SetsockoptString(fd, syscall.SOL_SOCKET, syscall.SO_BINDTODEVICE, iface)
		if errors.Is(err, syscall.ENODEV) {
			return fmt.Errorf("binding to %s: %w", iface, ErrNoInterface)
		}
		if err != nil {
			return fmt.Errorf("binding to %s: %w", iface, err)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("dialling %q: %w", address, err)
	}
	host, _, _ = strings.Cut(host, "%")
	dst := net.ParseIP(host)
	if dst == nil {
		return fmt.Errorf("dialling %q: not an IP address", address)
	}
	if strings.HasSuffix(network, "4") {
		dst = dst.To4()
	}
	src, err := SourceFor(iface, dst)
	if err != nil {
		return err
	}
	var sa syscall.Sockaddr
	if v4 := src.To4(); v4 != nil {
		sa4 := &syscall.SockaddrInet4{}
		copy(sa4.Addr[:], v4)
		sa = sa4
	} else {
		sa6 := &syscall.SockaddrInet6{}
		copy(sa6.Addr[:], src.To16())
		if src.IsLinkLocalUnicast() {
			ifi, err := Up(iface)
			if err != nil {
				return err
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	}
	if err := syscall.Bind(fd, sa); err != nil {
		return fmt.Errorf("binding to %s's address %s: %w", iface, src, err)
	}
	return nil
}
