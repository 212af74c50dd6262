package dns

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

func TestQueryName(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		q, rtype, want, err string
	}{
		{"epr.example.org", "A", "epr.example.org.", ""},
		{"EPR.Example.org.", "A", "EPR.Example.org.", ""},
		{"_dmarc.nhs.uk", "TXT", "_dmarc.nhs.uk.", ""},
		{"café.lab", "A", "xn--caf-dma.lab.", ""},
		{"ÇAFÉ.lab", "A", "xn--af-3iak.lab.", ""}, // mapped to lower case first: çafé
		{"bücher.example", "AAAA", "xn--bcher-kva.example.", ""},
		{"10.0.0.53", "PTR", "53.0.0.10.in-addr.arpa.", ""},
		{".", "NS", ".", ""},
		{long + ".lab", "A", long + ".lab.", ""},
		{"epr example.org", "A", "", "holds ' '"},
		{"epr..example.org", "A", "", "empty label"},
		{".example.org", "A", "", "empty label"},
		{"", "A", "", "empty"},
		{long + "a.lab", "A", "", "at most 63"},
		{strings.Repeat(long+".", 4) + "lab", "A", "", "at most 253"},
		{"epr/x.org", "A", "", "holds '/'"},
		{"a\x00b.org", "A", "", "holds"},
	}
	for _, tt := range tests {
		got, err := QueryName(tt.q, tt.rtype)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("QueryName(%q) = %q, %v; want error with %q", tt.q, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("QueryName(%q) = %q, %v; want %q", tt.q, got, err, tt.want)
		}
	}
}

// server is a DNS server on loopback (UDP and TCP on one port) whose
// handler the test gives; it records how each query came.
type server struct {
	addr string
	mu   sync.Mutex
	seen []query
}

type query struct {
	name, transport string
	udpSize         uint16 // EDNS0 payload size, 0 without EDNS0
}

func (s *server) queries() []query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]query(nil), s.seen...)
}

// serve starts a server on host (127.0.0.1 or ::1). answer builds the
// reply; replies too big for the client's UDP size are truncated (TC), as
// a real server does.
func serve(t *testing.T, host string, answer func(q mdns.Question, m *mdns.Msg)) *server {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	ln, err := net.Listen("tcp", net.JoinHostPort(host, itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: net.JoinHostPort(host, itoa(port))}
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		q := query{name: r.Question[0].Name, transport: w.RemoteAddr().Network()}
		size := 512
		if opt := r.IsEdns0(); opt != nil {
			q.udpSize = opt.UDPSize()
			size = int(opt.UDPSize())
		}
		s.mu.Lock()
		s.seen = append(s.seen, q)
		s.mu.Unlock()
		m := new(mdns.Msg)
		m.SetReply(r)
		answer(r.Question[0], m)
		if q.transport == "udp" {
			m.Truncate(size)
		}
		_ = w.WriteMsg(m)
	})
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

func txt(name string, size int) mdns.RR {
	var parts []string
	for size > 0 {
		n := min(size, 255)
		parts = append(parts, strings.Repeat("x", n))
		size -= n
	}
	return &mdns.TXT{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 60}, Txt: parts}
}

func probeOnce(t *testing.T, spec Spec, iface string) probe.Result {
	t.Helper()
	spec.Default()
	p, err := New("t", spec, netif.NewPath(iface), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return p.Probe(ctx)
}

// TestStubResolverBehaviour: EDNS0 with UDPSize, a TXT answer over 512
// bytes in one UDP reply, one over UDPSize asked again over TCP, an
// internationalised name sent as xn--, AAAA from an IPv6 server, and a
// socket bound to the interface (lo).
func TestStubResolverBehaviour(t *testing.T) {
	s := serve(t, "127.0.0.1", func(q mdns.Question, m *mdns.Msg) {
		switch q.Name {
		case "medium.lab.":
			m.Answer = append(m.Answer, txt(q.Name, 900))
		case "big.lab.":
			m.Answer = append(m.Answer, txt(q.Name, 3000))
		case "xn--caf-dma.lab.":
			m.Answer = append(m.Answer, &mdns.A{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 60}, A: net.IPv4(10, 0, 0, 9)})
		default:
			m.Rcode = mdns.RcodeNameError
		}
	})
	tests := []struct {
		name       string
		spec       Spec
		iface      string
		ok         bool
		transports string
		summary    string
	}{
		{"TXT of 900 bytes fits EDNS0", Spec{Server: s.addr, Query: "medium.lab", RecordType: "TXT"}, "", true, "udp", "NOERROR, 1 answer"},
		{"TXT of 3000 bytes: TC, then TCP", Spec{Server: s.addr, Query: "big.lab", RecordType: "TXT"}, "", true, "udp tcp", "TCP after a truncated UDP reply"},
		{"IDN", Spec{Server: s.addr, Query: "café.lab"}, "lo", true, "udp", "NOERROR"},
		{"tcp transport", Spec{Server: s.addr, Query: "big.lab", RecordType: "TXT", Transport: "tcp"}, "lo", true, "tcp", "NOERROR"},
		{"NXDOMAIN", Spec{Server: s.addr, Query: "nope.lab"}, "", false, "udp", "NXDOMAIN"},
	}
	for _, tt := range tests {
		before := len(s.queries())
		r := probeOnce(t, tt.spec, tt.iface)
		if r.Success != tt.ok || !strings.Contains(r.Summary, tt.summary) {
			t.Errorf("%s: success %v (%s: %s), summary %q; want %v, %q", tt.name, r.Success, r.Reason, r.Detail, r.Summary, tt.ok, tt.summary)
		}
		var got []string
		for _, q := range s.queries()[before:] {
			got = append(got, q.transport)
			if q.udpSize != UDPSize {
				t.Errorf("%s: EDNS0 UDP size %d, want %d", tt.name, q.udpSize, UDPSize)
			}
		}
		if strings.Join(got, " ") != tt.transports {
			t.Errorf("%s: queries over %v, want %s", tt.name, got, tt.transports)
		}
		if r.Addr != s.addr {
			t.Errorf("%s: Addr %q, want the server %s", tt.name, r.Addr, s.addr)
		}
	}
	idn := false
	for _, q := range s.queries() {
		idn = idn || q.name == "xn--caf-dma.lab."
		if !isASCII(q.name) {
			t.Errorf("a name went out raw: %q", q.name)
		}
	}
	if !idn {
		t.Error("café.lab was never asked as xn--caf-dma.lab.")
	}

	v6 := serve(t, "::1", func(q mdns.Question, m *mdns.Msg) {
		if q.Qtype == mdns.TypeAAAA {
			m.Answer = append(m.Answer, &mdns.AAAA{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeAAAA, Class: mdns.ClassINET, Ttl: 60}, AAAA: net.ParseIP("2001:db8::9")})
		}
	})
	for _, iface := range []string{"", "lo"} {
		r := probeOnce(t, Spec{Server: v6.addr, Query: "v6only.lab", RecordType: "AAAA"}, iface)
		if !r.Success {
			t.Errorf("AAAA from %s (iface %q): %s %s", v6.addr, iface, r.Reason, r.Detail)
		}
		r = probeOnce(t, Spec{Server: v6.addr, Query: "v6only.lab", RecordType: "A"}, iface)
		if r.Success || r.Reason != probe.ReasonDNS || r.Detail != "no answer records from "+v6.addr {
			t.Errorf("A of an AAAA-only name: %v %s %q", r.Success, r.Reason, r.Detail)
		}
	}
}

// TestBadReplies: replies that are garbage, or carry a response code with
// no name, give bounded reasons and labels, never a panic.
func TestBadReplies(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := append([]byte(nil), buf[:n]...)
			switch {
			case strings.Contains(string(q), "garbage"):
				// The query's ID, then a header claiming records that are not there.
				_, _ = pc.WriteTo(append(q[:2:2], 0x81, 0x80, 0, 1, 0, 9, 0, 0, 0, 0, 0xff, 0xfe), addr)
			default:
				m := new(mdns.Msg)
				if m.Unpack(q) == nil {
					m.Response, m.Rcode = true, 15 // unassigned (IANA DNS RCODEs)
					b, _ := m.Pack()
					_, _ = pc.WriteTo(b, addr)
				}
			}
		}
	}()
	r := probeOnce(t, Spec{Server: pc.LocalAddr().String(), Query: "garbage.lab"}, "")
	if r.Success || r.Reason != probe.ReasonProtocol {
		t.Errorf("garbage reply: %v %s %q, want reason protocol", r.Success, r.Reason, r.Detail)
	}
	r = probeOnce(t, Spec{Server: pc.LocalAddr().String(), Query: "odd.lab"}, "")
	var rcode []string
	for _, ob := range r.Observations {
		if ob.Metric == metricResponses {
			rcode = ob.Labels
		}
	}
	if r.Success || len(rcode) != 1 || rcode[0] != "other" {
		t.Errorf("unassigned rcode: %v, rcode label %v; want failure with rcode other", r.Success, rcode)
	}
}
