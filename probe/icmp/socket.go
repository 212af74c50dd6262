package icmp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/wardprobe/wardprobe/probe/netif"
)

// icmpv6Filter is ICMPV6_FILTER of <linux/icmpv6.h>, at level IPPROTO_ICMPV6.
const icmpv6Filter = 1

// sockSpec says what socket to open.
type sockSpec struct {
	mode Mode
	dst  netip.Addr // with its zone, for a link-local IPv6 address
	// iface is the interface under test ("" for none): the socket is bound
	// to it, and to src.
	iface string
	src   netip.Addr // invalid for none
	// id is the echo identifier of a raw socket (a datagram socket gets
	// one from the kernel).
	id uint16
	// bindDevice binds the socket to iface (SO_BINDTODEVICE when nil; a
	// fake in tests of the fallback).
	bindDevice func(fd int, iface string) error
}

// sock is one long-lived ICMP socket connected to one target: its echoes go
// to the target, and the kernel gives it only what comes from there (a raw
// socket also filters by type and identifier, in the kernel, so that
// neither its receive buffer nor this process sees other ICMP traffic).
type sock struct {
	f       *os.File
	rc      syscall.RawConn
	v6, raw bool
	id      uint16 // echo identifier: ours (raw) or the kernel's (datagram)
	// binding is how this socket is tied to the interface under test:
	// netif.BindDevice, or netif.BindSource where the kernel refused
	// SO_BINDTODEVICE ("" without one).
	binding netif.Binding
	closed  atomic.Bool

	// The state of the one reader and the one writer, and their functions
	// for rc, made once so that a packet costs no allocation.
	rbuf, wbuf []byte
	rn         int
	rerr, werr error
	readFn     func(fd uintptr) bool
	writeFn    func(fd uintptr) bool
}

// openSock opens, binds and connects a socket as s says.
func openSock(s sockSpec) (*sock, error) {
	v6 := s.dst.Is6() && !s.dst.Is4In6()
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if v6 {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	typ := unix.SOCK_DGRAM
	if s.mode == ModeRaw {
		typ = unix.SOCK_RAW
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	k := &sock{v6: v6, raw: s.mode == ModeRaw, id: s.id}
	if err := k.setup(fd, s); err != nil {
		unix.Close(fd)
		return nil, err
	}
	k.f = os.NewFile(uintptr(fd), "icmp")
	if k.rc, err = k.f.SyscallConn(); err != nil {
		k.f.Close()
		return nil, err
	}
	k.readFn = func(fd uintptr) bool {
		k.rn, k.rerr = rawRead(int(fd), k.rbuf)
		return k.rerr != unix.EAGAIN
	}
	k.writeFn = func(fd uintptr) bool {
		_, k.werr = rawWrite(int(fd), k.wbuf)
		return k.werr != unix.EAGAIN
	}
	return k, nil
}

func (k *sock) setup(fd int, s sockSpec) error {
	if k.raw {
		if err := k.filter(fd); err != nil {
			return err
		}
	}
	if s.iface != "" {
		k.binding = netif.BindDevice
		bind := s.bindDevice
		if bind == nil {
			bind = func(fd int, iface string) error {
				return unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
			}
		}
		switch err := bind(fd, s.iface); {
		case errors.Is(err, unix.ENODEV):
			return fmt.Errorf("binding to %s: %w", s.iface, netif.ErrNoInterface)
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			// Linux before 5.7 wants CAP_NET_RAW for this; the source
			// address below still applies.
			k.binding = netif.BindSource
		case err != nil:
			return os.NewSyscallError("setsockopt SO_BINDTODEVICE", err)
		}
	}
	if s.src.IsValid() {
		if err := unix.Bind(fd, sockaddr(s.src, 0)); err != nil {
			return fmt.Errorf("binding to %s: %w", s.src, os.NewSyscallError("bind", err))
		}
	}
	if err := unix.Connect(fd, sockaddr(s.dst, 0)); err != nil {
		return os.NewSyscallError("connect", err)
	}
	if !k.raw {
		// A datagram ICMP socket's "port" is its echo identifier.
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return os.NewSyscallError("getsockname", err)
		}
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			k.id = uint16(a.Port)
		case *unix.SockaddrInet6:
			k.id = uint16(a.Port)
		}
	}
	return nil
}

// filter makes the kernel drop, for this raw socket, every ICMP message
// but an echo reply with our identifier: ICMP_FILTER (before the packet is
// copied for the socket) and a socket filter (BPF) on the identifier.
func (k *sock) filter(fd int) error {
	var prog []bpf.Instruction
	if k.v6 {
		var f unix.ICMPv6Filter
		for i := range f.Data {
			f.Data[i] = ^uint32(0) // a set bit blocks the type
		}
		f.Data[typeEchoReply6>>5] &^= 1 << (typeEchoReply6 & 31)
		if err := unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, icmpv6Filter, &f); err != nil {
			return os.NewSyscallError("setsockopt ICMPV6_FILTER", err)
		}
		prog = []bpf.Instruction{ // an ICMPv6 raw socket reads no IP header
			bpf.LoadAbsolute{Off: 0, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: typeEchoReply6, SkipFalse: 3},
			bpf.LoadAbsolute{Off: 4, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(k.id), SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		}
	} else {
		if err := unix.SetsockoptInt(fd, unix.SOL_RAW, unix.ICMP_FILTER, ^(1 << typeEchoReply4)); err != nil {
			return os.NewSyscallError("setsockopt ICMP_FILTER", err)
		}
		prog = []bpf.Instruction{ // after the IPv4 header
			bpf.LoadMemShift{Off: 0},
			bpf.LoadIndirect{Off: 0, Size: 1},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: typeEchoReply4, SkipFalse: 3},
			bpf.LoadIndirect{Off: 4, Size: 2},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(k.id), SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("socket filter: %w", err)
	}
	ins := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		ins[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}); err != nil {
		return os.NewSyscallError("setsockopt SO_ATTACH_FILTER", err)
	}
	return nil
}

// sockaddr converts an address (with its zone) to a unix.Sockaddr.
func sockaddr(a netip.Addr, port int) unix.Sockaddr {
	if a.Is4() || a.Is4In6() {
		return &unix.SockaddrInet4{Port: port, Addr: a.Unmap().As4()}
	}
	sa := &unix.SockaddrInet6{Port: port, Addr: a.As16()}
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa
}

// send writes one message to the connected target. The socket is
// nonblocking, so the write system call is made without telling the
// scheduler (a raw system call): it cannot block, and a scheduler told of it
// hands the goroutine's processor to another thread while the kernel
// (over veth or loopback) processes the whole round trip in the call.
func (k *sock) send(b []byte) error {
	k.wbuf = b
	if cerr := k.rc.Write(k.writeFn); cerr != nil {
		return cerr
	}
	if k.werr != nil {
		return os.NewSyscallError("send", k.werr)
	}
	return nil
}

// recv reads one message into b, waiting in the runtime's poller (no
// deadline, no polling), and returns the ICMP message in it.
func (k *sock) recv(b []byte) ([]byte, error) {
	k.rbuf = b
	if cerr := k.rc.Read(k.readFn); cerr != nil {
		if k.closed.Load() {
			return nil, errClosed
		}
		return nil, cerr
	}
	if k.rerr != nil {
		return nil, os.NewSyscallError("recv", k.rerr)
	}
	msg := b[:k.rn]
	if k.raw && !k.v6 {
		msg = stripIPv4(msg)
	}
	return msg, nil
}

// close closes the socket; a recv waiting on it returns errClosed.
func (k *sock) close() error {
	k.closed.Store(true)
	return k.f.Close()
}

// errClosed is what recv returns once the socket is closed.
var errClosed = errors.New("socket closed")

// rawWrite is write(2) as a raw system call (see send).
func rawWrite(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawRead is read(2) as a raw system call: the socket is nonblocking.
func rawRead(fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
