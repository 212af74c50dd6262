package netif

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNoServer means no DNS server is known for the path: the system
// resolver is only a local stub and no upstream server of it could be found.
var ErrNoServer = errors.New("no DNS server known")

// ServerSet is the DNS servers a Path's lookups ask, and where they were
// found.
type ServerSet struct {
	// Servers are host:port ("10.0.0.53:53", "[fe80::1%wlan0]:53"), in the
	// order they are asked; never empty.
	Servers []string
	// Source says where they were found, for logs: "/etc/resolv.conf",
	// "systemd-resolved (link wlan0)", ...
	Source string
}

// String renders the set for logs: "10.0.0.53:53 (from /etc/resolv.conf)".
func (s ServerSet) String() string {
	return strings.Join(s.Servers, ", ") + " (from " + s.Source + ")"
}

// sources are where servers are looked for.
type sources struct {
	// resolvConf is the system resolver's configuration.
	resolvConf string
	// uplinks are files that list a local stub's upstream servers, all
	// interfaces together (tried in order when the stub's per-link servers
	// cannot be had).
	uplinks []string
	// resolved asks systemd-resolved for the servers of every link
	// (ifindex 0: its global servers).
	resolved func(ctx context.Context) ([]linkServer, error)
}

// systemSources are this machine's: /etc/resolv.conf; systemd-resolved over
// D-Bus; the upstream lists systemd-resolved and NetworkManager keep beside
// their stubs, both documented for use as /etc/resolv.conf
// (systemd-resolved.service(8), NetworkManager.conf(5)).
func systemSources() sources {
	return sources{
		resolvConf: "/etc/resolv.conf",
		uplinks:    []string{"/run/systemd/resolve/resolv.conf", "/run/NetworkManager/no-stub-resolv.conf"},
		resolved:   resolvedServers,
	}
}

// linkServer is one DNS server systemd-resolved knows.
type linkServer struct {
	ifindex int // 0: global
	addr    net.IP
	port    int // 0: 53
}

// Servers returns the DNS servers the Path's lookups ask, looked up at most
// every ServersTTL:
//   - with an interface under test, the servers systemd-resolved holds for
//     that link (from DHCP, NetworkManager, networkd or resolvectl), asked
//     over D-Bus (org.freedesktop.resolve1, Manager property DNSEx);
//   - otherwise the nameservers of /etc/resolv.conf that are not loopback
//     addresses (a loopback nameserver is a local stub: 127.0.0.53 of
//     systemd-resolved, 127.0.1.1 of NetworkManager's dnsmasq, ...);
//   - when it has none: systemd-resolved's servers of every link and its
//     global ones (D-Bus), then the upstream servers listed in
//     /run/systemd/resolve/resolv.conf or /run/NetworkManager/no-stub-resolv.conf.
//
// A stub is never asked itself: it would time its own cache, and a socket
// bound to the interface cannot reach it. It fails with ErrNoServer when
// none of these has a server.
func (p *Path) Servers(ctx context.Context) (ServerSet, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.serversOK && time.Since(p.serversAt) < ServersTTL {
		return p.servers, nil
	}
	set, err := p.src.find(ctx, p.iface)
	if err != nil {
		return ServerSet{}, err
	}
	p.servers, p.serversAt, p.serversOK = set, time.Now(), true
	return set, nil
}

func (s sources) find(ctx context.Context, iface string) (ServerSet, error) {
	ifindex := 0
	if iface != "" {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return ServerSet{}, fmt.Errorf("%s: %w", iface, ErrNoInterface)
		}
		ifindex = ifi.Index
	}
	var links []linkServer
	var busErr error
	asked := false
	ask := func() {
		if !asked && s.resolved != nil {
			asked = true
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			links, busErr = s.resolved(ctx)
		}
	}
	if ifindex != 0 {
		ask()
		if set := fromResolved(links, ifindex, iface); len(set) > 0 {
			return ServerSet{Servers: set, Source: "systemd-resolved (link " + iface + ")"}, nil
		}
	}
	conf, confErr := readNameservers(s.resolvConf)
	if len(conf) > 0 && !allLoopback(conf) {
		return ServerSet{Servers: conf, Source: s.resolvConf}, nil
	}
	ask()
	if set := fromResolved(links, -1, iface); len(set) > 0 {
		return ServerSet{Servers: set, Source: "systemd-resolved (all links; none for " + orAll(iface) + ")"}, nil
	}
	for _, f := range s.uplinks {
		if up, _ := readNameservers(f); len(up) > 0 && !allLoopback(up) {
			return ServerSet{Servers: dropLoopback(up), Source: f}, nil
		}
	}
	why := []string{}
	switch {
	case confErr != nil:
		why = append(why, confErr.Error())
	case len(conf) == 0:
		why = append(why, s.resolvConf+" lists no nameserver")
	default:
		why = append(why, s.resolvConf+" lists only a local stub ("+strings.Join(conf, ", ")+")")
	}
	if busErr != nil {
		why = append(why, "systemd-resolved: "+busErr.Error())
	}
	return ServerSet{}, fmt.Errorf("%w for %s: %s, and no upstream server list was found", ErrNoServer, orAll(iface), strings.Join(why, "; "))
}

func orAll(iface string) string {
	if iface == "" {
		return "this machine"
	}
	return iface
}

// fromResolved returns the servers of links as host:port: those of link
// ifindex, or with ifindex -1 every link's, global ones first. Link-local
// IPv6 servers get their link's name as zone.
func fromResolved(links []linkServer, ifindex int, iface string) []string {
	var out []string
	add := func(ls linkServer) {
		host := ls.addr.String()
		if ls.addr.To4() == nil && ls.addr.IsLinkLocalUnicast() {
			zone := iface
			if ls.ifindex != ifindex || zone == "" {
				ifi, err := net.InterfaceByIndex(ls.ifindex)
				if err != nil {
					return
				}
				zone = ifi.Name
			}
			host += "%" + zone
		}
		port := ls.port
		if port == 0 {
			port = 53
		}
		if hp := net.JoinHostPort(host, strconv.Itoa(port)); !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	for _, ls := range links {
		if ls.ifindex == ifindex || ifindex == -1 && ls.ifindex == 0 {
			add(ls)
		}
	}
	if ifindex == -1 {
		for _, ls := range links {
			if ls.ifindex != 0 {
				add(ls)
			}
		}
	}
	return out
}

// readNameservers returns the nameservers of a resolv.conf file as
// host:port (port 53).
func readNameservers(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseNameservers(io.LimitReader(f, 1<<20)), nil
}

// parseNameservers parses the nameserver lines of resolv.conf(5) text;
// lines that are not an IP address (with an optional IPv6 zone) are
// skipped, as the C library skips them.
func parseNameservers(r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		ip, _, _ := strings.Cut(f[1], "%")
		if net.ParseIP(ip) == nil {
			continue
		}
		if hp := net.JoinHostPort(f[1], "53"); !slices.Contains(out, hp) {
			out = append(out, hp)
		}
	}
	return out
}

func isLoopback(hostport string) bool {
	host, _, _ := net.SplitHostPort(hostport)
	host, _, _ = strings.Cut(host, "%")
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func allLoopback(list []string) bool {
	for _, s := range list {
		if !isLoopback(s) {
			return false
		}
	}
	return true
}

func dropLoopback(list []string) []string {
	var out []string
	for _, s := range list {
		if !isLoopback(s) {
			out = append(out, s)
		}
	}
	return out
}
