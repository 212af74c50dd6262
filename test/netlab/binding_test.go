package netlab

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// icmpBound says whether probe/icmp binds its echoes, and resolves its
// names, by wifi.interface. It does not yet (the icmp rewrite of issue 9
// does it): its echoes leave by the default route, and its lookups of
// icmp-name go to the stub through net.DefaultResolver. Until then the
// ICMP counters, and the DNS packets to the stub (which only icmp sends),
// are logged, not asserted. Set it to true with that change.
const icmpBound = false

// Traffic classes counted per interface in the probe namespace.
var classes = []struct{ name, match string }{
	{"dns", "meta l4proto { tcp, udp } th dport 53"},
	{"http", "tcp dport 8080"},
	{"tcp", "tcp dport 2222"},
	{"icmp", "icmp type echo-request"},
	{"icmp6", "icmpv6 type echo-request"},
}

// countTraffic installs named nftables counters in ns, one per interface
// of devs and traffic class, on the packets leaving ns.
func countTraffic(t *testing.T, l *lab.Lab, ns string, devs map[string]string) {
	var b strings.Builder
	b.WriteString("table inet wpcount {\n")
	for name := range devs {
		for _, c := range classes {
			fmt.Fprintf(&b, "  counter %s_%s {}\n", name, c.name)
		}
	}
	b.WriteString("  chain out {\n    type filter hook output priority 0; policy accept;\n")
	for name, dev := range devs {
		for _, c := range classes {
			fmt.Fprintf(&b, "    oifname %q %s counter name %s_%s\n", dev, c.match, name, c.name)
		}
	}
	b.WriteString("  }\n}\n")
	if out, err := l.RunInput(ns, b.String(), "nft", "-f", "-"); err != nil {
		t.Fatalf("nft: %v: %s\n%s", err, out, b.String())
	}
}

// readCounters returns the packets of every named counter of countTraffic.
func readCounters(t *testing.T, l *lab.Lab, ns string) map[string]float64 {
	out := l.MustRun(ns, "nft", "-j", "list", "counters", "table", "inet", "wpcount")
	var doc struct {
		Nftables []struct {
			Counter *struct {
				Name    string  `json:"name"`
				Packets float64 `json:"packets"`
			} `json:"counter"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft counters: %v: %s", err, out)
	}
	got := map[string]float64{}
	for _, x := range doc.Nftables {
		if x.Counter != nil {
			got[x.Counter.Name] = x.Counter.Packets
		}
	}
	return got
}

func writeConfig(t *testing.T, text string) string {
	p := t.TempDir() + "/wardprobe.yml"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// peer makes a namespace behind the probe's interface (probe side .1/::1,
// peer .2/::2 of subnet) whose loopback holds the service address
// 10.99.0.9 and fd99::9: a dnsmasq, an HTTP server on :8080 and a TCP port
// 2222. Both peers hold the same addresses; what tells them apart is the
// interface a packet leaves the probe by. answer is the address its DNS
// gives epr.lab.
func peer(t *testing.T, l *lab.Lab, probeNS, short string, subnet int, answer string) (probeIf, probeLL string) {
	ns := l.Netns(short)
	probeIf, peerIf := l.Veth(probeNS, fmt.Sprintf("10.%d.0.1/24", subnet), ns, fmt.Sprintf("10.%d.0.2/24", subnet))
	for _, c := range [][]string{
		{probeNS, "ip", "-6", "addr", "add", fmt.Sprintf("fd%d::1/64", subnet), "dev", probeIf, "nodad"},
		{probeNS, "ip", "-6", "addr", "add", fmt.Sprintf("fe80::%d:1/64", subnet), "dev", probeIf, "nodad"},
		{ns, "ip", "-6", "addr", "add", fmt.Sprintf("fd%d::2/64", subnet), "dev", peerIf, "nodad"},
		{ns, "ip", "-6", "addr", "add", fmt.Sprintf("fe80::%d:2/64", subnet), "dev", peerIf, "nodad"},
		{ns, "ip", "addr", "add", "10.99.0.9/32", "dev", "lo"},
		{ns, "ip", "-6", "addr", "add", "fd99::9/128", "dev", "lo"},
		{ns, "ip", "route", "add", "default", "via", fmt.Sprintf("10.%d.0.1", subnet)},
		{ns, "ip", "-6", "route", "add", "default", "via", fmt.Sprintf("fd%d::1", subnet)},
	} {
		l.MustRun(c[0], c[1:]...)
	}
	l.DNS(ns, "10.99.0.9", "--listen-address=fd99::9", "--interface="+peerIf, "--local=/lab/",
		"--address=/epr.lab/"+answer, "--address=/epr.lab/fd99::9", "--host-record=v6only.lab,fd99::9")
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, short) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(l.Listen(ns, ":8080"))
	t.Cleanup(func() { srv.Close() })
	l.Listen(ns, ":2222")
	return probeIf, fmt.Sprintf("fe80::%d:2", subnet)
}

// TestEveryProbeLeavesByTheInterfaceUnderTest: a probe namespace with an
// "ethernet" interface (default route, metric 100) and a "wifi" one
// (default route, metric 600), the same service addresses behind both, and
// a resolv.conf naming only a local stub (127.0.0.53, where nothing
// listens). systemd-resolved's per-link servers come over D-Bus. Every
// kind's packets, name lookups included, over IPv4 and IPv6, must leave by
// the wifi interface and none by the ethernet one.
func TestEveryProbeLeavesByTheInterfaceUnderTest(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	lab.Tool(t, "nft")
	probeNS := l.Netns("p")
	ethIf, _ := peer(t, l, probeNS, "e", 60, "10.99.0.9")
	wifiIf, wifiLL := peer(t, l, probeNS, "w", 70, "10.99.0.9")
	for _, c := range [][]string{
		{"ip", "route", "add", "default", "via", "10.60.0.2", "metric", "100"},
		{"ip", "route", "add", "default", "via", "10.70.0.2", "metric", "600"},
		{"ip", "-6", "route", "add", "default", "via", "fd60::2", "metric", "100"},
		{"ip", "-6", "route", "add", "default", "via", "fd70::2", "metric", "600"},
	} {
		l.MustRun(probeNS, c...)
	}
	l.Resolver(probeNS, "127.0.0.53")
	bus := lab.Bus(t)
	index := func(dev string) int32 {
		var i int32
		if err := lab.InNetns(probeNS, func() error {
			ifi, err := net.InterfaceByName(dev)
			if err == nil {
				i = int32(ifi.Index)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return i
	}
	lab.Resolved(t, bus, []lab.ResolvedServer{
		{Ifindex: index(ethIf), Family: 2, Addr: net.ParseIP("10.99.0.9").To4()},
		{Ifindex: index(wifiIf), Family: 2, Addr: net.ParseIP("10.99.0.9").To4()},
	})
	countTraffic(t, l, probeNS, map[string]string{"eth": ethIf, "wifi": wifiIf, "lo": "lo"})

	cfg := location("binding") + fmt.Sprintf(`wifi: {interface: %[1]s}
targets:
  - {name: dns-link, kind: dns, query: epr.lab, interval: 1s, timeout: 1s}
  - {name: dns-v6, kind: dns, server: "fd99::9", query: v6only.lab, record_type: AAAA, interval: 1s, timeout: 1s}
  - {name: dns-ll, kind: dns, server: "%[2]s%%%[1]s", query: epr.lab, interval: 1s, timeout: 1s}
  - {name: http-name, kind: http, url: "http://epr.lab:8080/ok", interval: 1s, timeout: 1s}
  - {name: http-v6only-name, kind: http, url: "http://v6only.lab:8080/ok", interval: 1s, timeout: 1s}
  - {name: http-v6, kind: http, url: "http://[fd99::9]:8080/ok", interval: 1s, timeout: 1s}
  - {name: tcp-name, kind: tcp, address: "epr.lab:2222", interval: 1s, timeout: 1s}
  - {name: tcp-v4, kind: tcp, address: "10.99.0.9:2222", interval: 1s, timeout: 1s}
  - {name: tcp-ll, kind: tcp, address: "[%[2]s%%%[1]s]:2222", interval: 1s, timeout: 1s}
  - {name: icmp-v4, kind: icmp, address: 10.99.0.9, interval: 200ms, timeout: 500ms}
  - {name: icmp-name, kind: icmp, address: epr.lab, interval: 200ms, timeout: 500ms}
  - {name: icmp-v6, kind: icmp, address: "fd99::9", interval: 200ms, timeout: 500ms}
`, wifiIf, wifiLL)
	d := l.WardprobeArgs(probeNS, "http://127.0.0.1:9810", "env", "DBUS_SYSTEM_BUS_ADDRESS="+bus,
		wardprobeBin, "run", "--config", writeConfig(t, cfg), "--web.listen-address", "127.0.0.1:9810", "--log.level", "debug")
	nonICMP := []string{"dns-link", "dns-v6", "dns-ll", "http-name", "http-v6only-name", "http-v6", "tcp-name", "tcp-v4", "tcp-ll"}
	s := d.WaitFor(t, 30*time.Second, "every dns, http and tcp target up twice", func(s lab.Samples) bool {
		for _, n := range nonICMP {
			if s.Value("wardprobe_target_up", "target", n) != 1 || s.Value("wardprobe_target_probes_total", "target", n) < 2 {
				return false
			}
		}
		return true
	})
	got := readCounters(t, l, probeNS)
	t.Logf("packets leaving the probe namespace, by interface and kind:")
	for _, dev := range []string{"wifi", "eth", "lo"} {
		var row []string
		for _, c := range classes {
			row = append(row, fmt.Sprintf("%s %.0f", c.name, got[dev+"_"+c.name]))
		}
		t.Logf("  %-4s  %s", dev, strings.Join(row, "  "))
	}
	for _, c := range []string{"dns", "http", "tcp"} {
		if got["wifi_"+c] == 0 {
			t.Errorf("no %s packet left by the wifi interface", c)
		}
		if got["eth_"+c] != 0 {
			t.Errorf("%.0f %s packets left by the ethernet interface", got["eth_"+c], c)
		}
	}
	if icmpBound && got["lo_dns"] != 0 {
		t.Errorf("%.0f DNS packets went to the local stub", got["lo_dns"])
	}
	for _, c := range []string{"icmp", "icmp6"} {
		if icmpBound && (got["eth_"+c] != 0 || got["wifi_"+c] == 0) {
			t.Errorf("ICMP: %.0f %s packets by ethernet, %.0f by wifi", got["eth_"+c], c, got["wifi_"+c])
		}
	}
	for _, n := range []string{"icmp-v4", "icmp-name", "icmp-v6"} {
		t.Logf("%s: up %v, sent %v, lost %v, failures %v", n, s.Value("wardprobe_target_up", "target", n),
			s.Value("wardprobe_icmp_packets_sent_total", "target", n), s.Value("wardprobe_icmp_packets_lost_total", "target", n),
			s.All("wardprobe_target_failures_total", "target", n).Grep("wardprobe_"))
	}
	if v := s.Value("wardprobe_interface_binding_info", "interface", wifiIf, "mode", "bound"); v != 1 {
		t.Errorf("wardprobe_interface_binding_info{interface=%s,mode=bound} = %v; binding series:\n%s", wifiIf, v, s.All("wardprobe_interface_binding_info").Grep(""))
	}
	log := d.Output.String()
	for _, want := range []string{"bound to " + wifiIf + " (SO_BINDTODEVICE)", "systemd-resolved (link " + wifiIf + ")"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	if _, page, err := d.Get("/"); err != nil || !strings.Contains(page, "NOERROR, 1 answer") || !strings.Contains(page, "10.99.0.9:53") {
		t.Errorf("the landing page does not name the DNS server measured: %v", err)
	}
}
