package netlab

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestServices runs DNS, HTTP and TCP targets against real servers in a peer
// namespace: a dnsmasq, Go HTTP servers (fast, slow, 500, TLS with a test CA),
// and a closed port.
func TestServices(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, peerNS, probeIf, _ := pair(t, l)

	// DNS: dnsmasq authoritative for lab., so unknown names are NXDOMAIN.
	l.DNS(peerNS, "10.77.0.2", "--local=/lab/", "--address=/epr.lab/10.77.0.9")

	// HTTP servers in the peer namespace.
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "healthy") })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "EPR down", http.StatusInternalServerError)
	})
	plain := &http.Server{Handler: mux}
	go plain.Serve(l.Listen(peerNS, "10.77.0.2:8080"))
	t.Cleanup(func() { plain.Close() })
	certs := lab.NewCerts(t, 30*24*time.Hour, "10.77.0.2")
	tlsSrv := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{certs.Server}},
		ErrorLog: log.New(io.Discard, "", 0)} // the untrusted probe's handshake failures are expected
	go tlsSrv.ServeTLS(l.Listen(peerNS, "10.77.0.2:8443"), "", "")
	t.Cleanup(func() { tlsSrv.Close() })
	l.Listen(peerNS, "10.77.0.2:2222") // open TCP port (accepts via the backlog)

	cfg := location("services") + fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: dns-ok, kind: dns, server: 10.77.0.2, query: epr.lab, interval: 1s, timeout: 1s}
  - {name: dns-nx, kind: dns, server: "10.77.0.2:53", query: missing.lab, interval: 1s, timeout: 1s}
  - {name: dns-tcp, kind: dns, server: 10.77.0.2, query: epr.lab, transport: tcp, interval: 1s, timeout: 1s}
  - {name: dns-dead, kind: dns, server: 10.77.0.99, query: epr.lab, interval: 1s, timeout: 500ms}
  - {name: http-ok, kind: http, url: "http://10.77.0.2:8080/ok", interval: 1s, timeout: 1s}
  - {name: http-slow, kind: http, url: "http://10.77.0.2:8080/slow", interval: 2s, timeout: 1s}
  - {name: http-500, kind: http, url: "http://10.77.0.2:8080/fail", interval: 1s, timeout: 1s}
  - {name: http-500-expected, kind: http, url: "http://10.77.0.2:8080/fail", expect_status: [500], interval: 1s, timeout: 1s}
  - {name: https-ok, kind: http, url: "https://10.77.0.2:8443/ok", ca_file: %q, interval: 1s, timeout: 1s}
  - {name: https-untrusted, kind: http, url: "https://10.77.0.2:8443/ok", interval: 1s, timeout: 1s}
  - {name: tcp-open, kind: tcp, address: "10.77.0.2:2222", interval: 1s, timeout: 1s}
  - {name: tcp-refused, kind: tcp, address: "10.77.0.2:2323", interval: 1s, timeout: 1s}
`, probeIf, certs.CAFile)
	d := l.Wardprobe(wardprobeBin, probeNS, cfg)

	type want struct {
		target, kind string
		up           float64
		reason       string // failure reason when down
	}
	wants := []want{
		{"dns-ok", "dns", 1, ""}, {"dns-nx", "dns", 0, "dns"}, {"dns-tcp", "dns", 1, ""}, {"dns-dead", "dns", 0, "timeout"},
		{"http-ok", "http", 1, ""}, {"http-slow", "http", 0, "timeout"}, {"http-500", "http", 0, "http_status"},
		{"http-500-expected", "http", 1, ""}, {"https-ok", "http", 1, ""}, {"https-untrusted", "http", 0, "tls"},
		{"tcp-open", "tcp", 1, ""}, {"tcp-refused", "tcp", 0, "refused"},
	}
	s := d.WaitFor(t, 30*time.Second, "every target to report", func(s lab.Samples) bool {
		for _, w := range wants {
			if _, ok := s.Get("wardprobe_target_up", "target", w.target); !ok {
				return false
			}
		}
		return true
	})
	for _, w := range wants {
		up := s.Value("wardprobe_target_up", "target", w.target, "kind", w.kind)
		if up != w.up {
			t.Errorf("%s: up=%v, want %v", w.target, up, w.up)
		}
		if w.reason != "" {
			if n := s.Value("wardprobe_target_failures_total", "target", w.target, "reason", w.reason); !(n >= 1) {
				t.Errorf("%s: no failure with reason %q; failures: %v", w.target, w.reason, s.All("wardprobe_target_failures_total", "target", w.target))
			}
		}
	}
	// DNS details: rcodes and the lookup histogram.
	if n := s.Value("wardprobe_dns_responses_total", "target", "dns-nx", "rcode", "NXDOMAIN"); !(n >= 1) {
		t.Errorf("dns-nx: no NXDOMAIN counted")
	}
	if n := s.Value("wardprobe_dns_lookup_seconds_count", "target", "dns-ok"); !(n >= 1) {
		t.Errorf("dns-ok: lookup histogram empty")
	}
	// HTTP details: phases, status, certificate expiry.
	for _, phase := range []string{"connect", "tls", "first_byte", "total"} {
		if v := s.Value("wardprobe_http_duration_seconds", "target", "https-ok", "phase", phase); !(v > 0 && v < 1) {
			t.Errorf("https-ok phase %s = %v s, want in (0,1)", phase, v)
		}
	}
	if v := s.Value("wardprobe_http_status_code", "target", "http-500"); v != 500 {
		t.Errorf("http-500 status %v", v)
	}
	if v := s.Value("wardprobe_http_tls_cert_expiry_timestamp_seconds", "target", "https-ok"); v != float64(certs.NotAfter.Unix()) {
		t.Errorf("cert expiry %v, want %d", v, certs.NotAfter.Unix())
	}
	if v := s.Value("wardprobe_http_duration_seconds", "target", "http-slow", "phase", "total"); !(v >= 0.9 && v < 2) {
		t.Errorf("http-slow total %v s, want cut at the 1s timeout", v)
	}
	if v := s.Value("wardprobe_tcp_connect_seconds_count", "target", "tcp-open"); !(v >= 1) {
		t.Errorf("tcp-open: connect histogram empty")
	}
}
