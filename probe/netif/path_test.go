package netif

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/wardprobe/wardprobe/test/lab"
)

func TestSourceFor(t *testing.T) {
	tests := []struct {
		iface, dst, want string
		err              error
	}{
		{"lo", "127.0.0.9", "127.0.0.1", nil},
		{"lo", "::1", "::1", nil},
		{"nosuchif0", "10.0.0.1", "", ErrNoInterface},
	}
	for _, tt := range tests {
		ip, err := SourceFor(tt.iface, net.ParseIP(tt.dst))
		if !errors.Is(err, tt.err) || tt.err == nil && ip.String() != tt.want {
			t.Errorf("SourceFor(%s, %s) = %v, %v; want %s, %v", tt.iface, tt.dst, ip, err, tt.want, tt.err)
		}
	}
}

func TestZones(t *testing.T) {
	tests := []struct {
		host, iface, zone string
		is, check         error
	}{
		{"10.0.0.1", "wlan0", "", nil, nil},
		{"[fe80::1%lo]:443", "lo", "lo", nil, nil},
		{"fe80::1%lo", "", "lo", nil, nil},
		{"fe80::1%eth0", "wlan0", "eth0", errors.New("zone"), errors.New("zone")},
		{"[fe80::1%nosuchif0]:53", "", "nosuchif0", nil, ErrNoInterface},
	}
	for _, tt := range tests {
		if z := Zone(tt.host); z != tt.zone {
			t.Errorf("Zone(%q) = %q, want %q", tt.host, z, tt.zone)
		}
		if err := ZoneIs(tt.host, tt.iface); (err == nil) != (tt.is == nil) {
			t.Errorf("ZoneIs(%q, %q) = %v, want error %v", tt.host, tt.iface, err, tt.is)
		}
		err := CheckZone(tt.host, tt.iface)
		if (err == nil) != (tt.check == nil) || errors.Is(tt.check, ErrNoInterface) && !errors.Is(err, ErrNoInterface) {
			t.Errorf("CheckZone(%q, %q) = %v, want %v", tt.host, tt.iface, err, tt.check)
		}
	}
}

func TestParseNameservers(t *testing.T) {
	got := parseNameservers(strings.NewReader("# comment\nnameserver 127.0.0.53\nnameserver fe80::1%wlan0\n" +
		"nameserver 2001:db8::53\nnameserver not-an-ip\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"))
	want := []string{"127.0.0.53:53", "[fe80::1%wlan0]:53", "[2001:db8::53]:53"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDetectBinding(t *testing.T) {
	b, err := DetectBinding()
	// Linux 5.7+ lets any process bind a fresh socket to a device.
	if b != BindDevice || err != nil {
		t.Errorf("DetectBinding() = %s, %v; want bound", b, err)
	}
}

func write(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServerSources walks the order in which Servers looks for the
// servers of an interface.
func TestServerSources(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	stub := write(t, "nameserver 127.0.0.53\noptions edns0\n")
	plain := write(t, "nameserver 192.0.2.53\nnameserver 2001:db8::53\n")
	uplink := write(t, "nameserver 192.0.2.1\nnameserver 192.0.2.2\n")
	busDown := func(context.Context) ([]linkServer, error) { return nil, errors.New("no system bus") }
	links := func(context.Context) ([]linkServer, error) {
		return []linkServer{
			{ifindex: 0, addr: net.ParseIP("198.51.100.1")},
			{ifindex: 999, addr: net.ParseIP("198.51.100.9").To4()},
			{ifindex: lo.Index, addr: net.ParseIP("192.0.2.77").To4(), port: 5353},
			{ifindex: lo.Index, addr: net.ParseIP("fe80::53")},
		}, nil
	}
	tests := []struct {
		name, iface string
		src         sources
		want        []string
		source      string
		err         error
	}{
		{"plain resolv.conf", "", sources{resolvConf: plain, resolved: busDown}, []string{"192.0.2.53:53", "[2001:db8::53]:53"}, plain, nil},
		{"the link's servers first", "lo", sources{resolvConf: plain, resolved: links},
			[]string{"192.0.2.77:5353", "[fe80::53%lo]:53"}, "systemd-resolved (link lo)", nil},
		{"stub, no interface: every link's", "", sources{resolvConf: stub, resolved: links},
			[]string{"198.51.100.1:53", "198.51.100.9:53", "192.0.2.77:5353", "[fe80::53%lo]:53"}, "systemd-resolved (all links", nil},
		{"stub, no bus: upstream list", "lo", sources{resolvConf: stub, uplinks: []string{"/nonexistent", uplink}, resolved: busDown},
			[]string{"192.0.2.1:53", "192.0.2.2:53"}, uplink, nil},
		{"stub only", "lo", sources{resolvConf: stub, uplinks: []string{stub}, resolved: busDown}, nil, "", ErrNoServer},
		{"missing interface", "nosuchif0", sources{resolvConf: plain}, nil, "", ErrNoInterface},
	}
	for _, tt := range tests {
		set, err := tt.src.find(context.Background(), tt.iface)
		if !errors.Is(err, tt.err) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.err)
			continue
		}
		if err != nil {
			if tt.err == ErrNoServer && (!strings.Contains(err.Error(), "local stub (127.0.0.53:53)") || !strings.Contains(err.Error(), "no system bus")) {
				t.Errorf("%s: error %q does not say why", tt.name, err)
			}
			continue
		}
		if !slices.Equal(set.Servers, tt.want) || !strings.HasPrefix(set.Source, tt.source) {
			t.Errorf("%s: %v, want %q from %s", tt.name, set, tt.want, tt.source)
		}
	}
}

// TestResolvedOverDBus reads the servers from a resolve1 service on a real
// (private) D-Bus system bus.
func TestResolvedOverDBus(t *testing.T) {
	addr := lab.Bus(t)
	lab.Resolved(t, addr, []lab.ResolvedServer{
		{Ifindex: 0, Family: 2, Addr: []byte{192, 0, 2, 1}},
		{Ifindex: 3, Family: 10, Addr: net.ParseIP("2001:db8::53"), Port: 5353, Name: "dns.example"},
		{Ifindex: 3, Family: 2, Addr: []byte{1, 2, 3}}, // bad length: skipped
	})
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", addr)
	got, err := resolvedServers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ifindex != 0 || !got[0].addr.Equal(net.IPv4(192, 0, 2, 1)) ||
		got[1].ifindex != 3 || !got[1].addr.Equal(net.ParseIP("2001:db8::53")) || got[1].port != 5353 {
		t.Errorf("got %+v", got)
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "none"))
	if _, err := resolvedServers(context.Background()); err == nil {
		t.Error("no error without a bus")
	}
}

// TestPathResolvesAndDialsByInterface looks a name up and connects through
// a Path bound to lo, behind a "stub" resolv.conf: the lookup goes to the
// link's server (a DNS server on loopback), never to the stub.
func TestPathResolvesAndDialsByInterface(t *testing.T) {
	lo, _ := net.InterfaceByName("lo")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	queries := make(chan string, 10)
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		queries <- r.Question[0].Name
		m := new(mdns.Msg)
		m.SetReply(r)
		if r.Question[0].Qtype == mdns.TypeA {
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 1)})
		}
		_ = w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	p := NewPath("lo")
	p.src = sources{resolvConf: write(t, "nameserver 127.0.0.53\n"), resolved: func(context.Context) ([]linkServer, error) {
		return []linkServer{{ifindex: lo.Index, addr: net.IPv4(127, 0, 0, 1).To4(), port: port}}, nil
	}}
	if b, err := p.Binding(); b != BindDevice {
		t.Fatalf("binding %s (%v)", b, err)
	}
	d, err := p.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("svc.lab.", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
	if err != nil {
		t.Fatalf("dialling by name through lo: %v", err)
	}
	c.Close()
	select {
	case q := <-queries:
		if q != "svc.lab." {
			t.Errorf("server asked %q", q)
		}
	default:
		t.Error("the link's DNS server was never asked")
	}
}
