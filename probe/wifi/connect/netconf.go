package connect

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// mainRouteMetric is the metric of the default route on a shared adapter
// (NetworkManager's default for Wi-Fi).
const mainRouteMetric = 600

// lease is what the test uses of a DHCP lease.
type lease struct {
	addr     *net.IPNet
	router   net.IP
	dns      []net.IP
	duration time.Duration
	raw      *nclient4.Lease
}

func fromDHCP(l *nclient4.Lease) (*lease, error) {
	ack := l.ACK
	if ack == nil || ack.YourIPAddr == nil || ack.YourIPAddr.To4() == nil || ack.YourIPAddr.IsUnspecified() {
		return nil, errors.New("the acknowledgement has no address")
	}
	mask := ack.SubnetMask()
	if mask == nil {
		mask = ack.YourIPAddr.DefaultMask()
	}
	out := &lease{addr: &net.IPNet{IP: ack.YourIPAddr.To4(), Mask: mask}, raw: l}
	if r := ack.Router(); len(r) > 0 {
		out.router = r[0].To4()
	}
	for _, d := range ack.DNS() {
		if d.To4() != nil {
			out.dns = append(out.dns, d.To4())
		}
	}
	out.duration = ack.IPAddressLeaseTime(time.Hour)
	return out, nil
}

// netConfig applies a lease to the adapter and takes it away again.
//
// On an adapter of its own (not shared) nothing leaves the adapter's own
// routing: the address has no prefix route (IFA_F_NOPREFIXROUTE), the
// subnet and default routes go to a table of their own, and a rule sends
// what is bound to the adapter (SO_BINDTODEVICE) to that table. On a shared
// adapter (the main link) the lease is applied as a DHCP client would: the
// address with its prefix route, and a default route in the main table
// with metric 600.
type netConfig struct {
	iface    string
	shared   bool
	table    int
	priority int

	link   netlink.Link
	addr   *netlink.Addr
	routes []*netlink.Route
	rule   *netlink.Rule
}

// isolateARP makes sure arp_ignore is at least 1 (answer ARP only for an
// address of the interface the request came in on) and arp_announce at
// least 2 (use that interface's own address in requests) on each
// interface, the kernel taking the larger of "all" and the interface's
// value. Two adapters of one machine on one subnet otherwise both answer
// for either address, and the network sends one adapter's traffic to the
// other ("ARP flux"). Where /proc/sys is read-only (systemd's
// ProtectKernelTunables) and the values are not already in force, it
// returns a warning: set them with sysctl (see docs/wifi.md).
func isolateARP(ifaces ...string) string {
	read := func(ifi, name string) int {
		b, err := os.ReadFile(filepath.Join("/proc/sys/net/ipv4/conf", ifi, name))
		if err != nil {
			return 0
		}
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return v
	}
	var missing []string
	for _, ifi := range ifaces {
		if ifi == "" || strings.ContainsAny(ifi, "/.") {
			continue
		}
		for _, want := range []struct {
			name  string
			value int
		}{{"arp_ignore", 1}, {"arp_announce", 2}} {
			if max(read("all", want.name), read(ifi, want.name)) >= want.value {
				continue
			}
			p := filepath.Join("/proc/sys/net/ipv4/conf", ifi, want.name)
			if err := os.WriteFile(p, []byte(strconv.Itoa(want.value)), 0o644); err != nil {
				missing = append(missing, fmt.Sprintf("net.ipv4.conf.%s.%s=%d", ifi, want.name, want.value))
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "cannot set " + strings.Join(missing, ", ") + " (set them with sysctl): the two adapters may answer ARP for each other"
}

// flush removes every IPv4 address of the adapter (it is owned by the
// test) and any rule a previous run left.
func (n *netConfig) flush() error {
	link, err := netlink.LinkByName(n.iface)
	if err != nil {
		return err
	}
	n.link = link
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("listing addresses of %s: %w", n.iface, err)
	}
	for i := range addrs {
		if err := netlink.AddrDel(link, &addrs[i]); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("removing %s from %s: %w", addrs[i].IPNet, n.iface, err)
		}
	}
	if !n.shared {
		r := n.ruleFor()
		for i := 0; i < 16 && netlink.RuleDel(r) == nil; i++ {
		}
	}
	return nil
}

func (n *netConfig) ruleFor() *netlink.Rule {
	r := netlink.NewRule()
	r.Family = netlink.FAMILY_V4
	r.OifName = n.iface
	r.Table = n.table
	r.Priority = n.priority
	return r
}

// apply configures the adapter with the lease.
func (n *netConfig) apply(l *lease) error {
	if n.link == nil {
		if err := n.flush(); err != nil {
			return err
		}
	}
	idx := n.link.Attrs().Index
	valid := int(l.duration / time.Second)
	a := &netlink.Addr{IPNet: l.addr, ValidLft: valid, PreferedLft: valid}
	if !n.shared {
		a.Flags = unix.IFA_F_NOPREFIXROUTE
	}
	if err := netlink.AddrReplace(n.link, a); err != nil {
		return fmt.Errorf("adding %s to %s: %w", l.addr, n.iface, err)
	}
	n.addr = a
	subnet := &net.IPNet{IP: l.addr.IP.Mask(l.addr.Mask), Mask: l.addr.Mask}
	table := n.table
	if n.shared {
		table = unix.RT_TABLE_MAIN
	} else {
		n.routes = append(n.routes, &netlink.Route{LinkIndex: idx, Dst: subnet, Src: l.addr.IP, Scope: netlink.SCOPE_LINK,
			Table: table, Protocol: unix.RTPROT_DHCP})
	}
	if l.router != nil {
		if !subnet.Contains(l.router) { // a router outside the subnet: reach it on the link
			n.routes = append(n.routes, &netlink.Route{LinkIndex: idx, Dst: &net.IPNet{IP: l.router, Mask: net.CIDRMask(32, 32)},
				Src: l.addr.IP, Scope: netlink.SCOPE_LINK, Table: table, Protocol: unix.RTPROT_DHCP})
		}
		def := &netlink.Route{LinkIndex: idx, Gw: l.router, Src: l.addr.IP, Table: table, Protocol: unix.RTPROT_DHCP,
			Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}
		if n.shared {
			def.Priority = mainRouteMetric
		}
		n.routes = append(n.routes, def)
	}
	for _, r := range n.routes {
		if err := netlink.RouteReplace(r); err != nil {
			return fmt.Errorf("adding route %s via %s on %s: %w", r.Dst, r.Gw, n.iface, err)
		}
	}
	if !n.shared {
		r := n.ruleFor()
		if err := netlink.RuleAdd(r); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("adding the rule for %s: %w", n.iface, err)
		}
		n.rule = r
	}
	return nil
}

// undo removes what apply added.
func (n *netConfig) undo() {
	if n.rule != nil {
		_ = netlink.RuleDel(n.rule)
		n.rule = nil
	}
	for _, r := range n.routes {
		_ = netlink.RouteDel(r)
	}
	n.routes = nil
	if n.addr != nil && n.link != nil {
		_ = netlink.AddrDel(n.link, n.addr)
		n.addr = nil
	}
}

// dhcpClient opens a DHCP client on the adapter (a packet socket:
// CAP_NET_RAW). The first retransmission is after 1 s, doubling, bounded by
// the context.
func dhcpClient(iface string) (*nclient4.Client, error) {
	return nclient4.New(iface, nclient4.WithTimeout(time.Second), nclient4.WithRetry(-1))
}

// hostName is sent in the DHCP requests, so that the probe is recognisable
// in the server's lease list.
func hostName() dhcpv4.Modifier {
	h, err := hostnameOf()
	if err != nil || h == "" {
		return func(*dhcpv4.DHCPv4) {}
	}
	return dhcpv4.WithOption(dhcpv4.OptHostName(h))
}

func hostnameOf() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Nodename[:]), nil
}
