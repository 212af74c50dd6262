package netlab

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/wardprobe/wardprobe/test/lab"
)

// modes are the two ICMP socket modes a lab runs wardprobe (as root) in:
// raw by default (a new namespace's ping_group_range is "1 0"), datagram
// ("unprivileged") once the namespace's ping_group_range admits root's group.
var modes = []string{"raw", "unprivileged"}

// setMode makes wardprobe, started as root in ns, use ICMP sockets of mode.
func setMode(l *lab.Lab, ns, mode string) {
	r := "1 0"
	if mode == "unprivileged" {
		r = "0 2147483647"
	}
	l.MustRun(ns, "sysctl", "-qw", "net.ipv4.ping_group_range="+r)
}

// sum adds the values of every series named name.
func sum(s lab.Samples, name string) float64 {
	var v float64
	for _, x := range s.All(name) {
		v += x.Value
	}
	return v
}

// echoResponder answers echo requests in ns itself (the kernel's own echo
// reply is turned off there) and rewrites the first 8 bytes of each reply's
// payload, the send time ping and pro-bing put there, by shift(n) for the
// n-th reply: what a peer sees of a sender whose clock steps. It returns
// how many replies it sent.
func echoResponder(t *testing.T, l *lab.Lab, ns string, v6 bool, shift func(n int64) time.Duration) *atomic.Int64 {
	t.Helper()
	network, address, proto := "ip4:icmp", "0.0.0.0", 1
	request, replyType := icmp.Type(ipv4.ICMPTypeEcho), icmp.Type(ipv4.ICMPTypeEchoReply)
	l.MustRun(ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
	if v6 {
		network, address, proto = "ip6:ipv6-icmp", "::", 58
		request, replyType = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply
		l.MustRun(ns, "sysctl", "-qw", "net.ipv6.icmp.echo_ignore_all=1")
	}
	var c *icmp.PacketConn
	if err := lab.InNetns(ns, func() (err error) {
		c, err = icmp.ListenPacket(network, address)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var n atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			k, peer, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(proto, buf[:k])
			if err != nil || m.Type != request {
				continue
			}
			echo, ok := m.Body.(*icmp.Echo)
			if !ok || len(echo.Data) < 8 {
				continue
			}
			sent := int64(binary.BigEndian.Uint64(echo.Data))
			binary.BigEndian.PutUint64(echo.Data, uint64(sent+int64(shift(n.Load()))))
			b, err := (&icmp.Message{Type: replyType, Body: echo}).Marshal(nil) // ICMPv6: the kernel sums
			if err != nil {
				continue
			}
			if _, err := c.WriteTo(b, peer); err == nil {
				n.Add(1)
			}
		}
	}()
	return &n
}

// TestICMPClockStep answers every echo with its payload's timestamp moved
// by +3 s or −3 s, as a clock stepped between send and reply would make
// it: round-trip times, loss and jitter stay those of the real path,
// because they come from a monotonic send time kept by wardprobe.
func TestICMPClockStep(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			probeNS, peerNS, probeIf, _ := pair(t, l)
			setMode(l, probeNS, mode)
			replies := echoResponder(t, l, peerNS, false, func(n int64) time.Duration {
				if n%2 == 0 {
					return 3 * time.Second
				}
				return -3 * time.Second
			})
			d := l.Wardprobe(wardprobeBin, probeNS, location("clock")+fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.77.0.2, interval: 50ms, timeout: 1s}
`, probeIf))
			s := d.WaitFor(t, 30*time.Second, "60 packets", func(s lab.Samples) bool {
				return s.Value("wardprobe_icmp_packets_sent_total", "target", "peer") >= 60
			})
			sent := s.Value("wardprobe_icmp_packets_sent_total", "target", "peer")
			lost := s.Value("wardprobe_icmp_packets_lost_total", "target", "peer")
			count := s.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer")
			fast := s.Value("wardprobe_icmp_rtt_seconds_bucket", "target", "peer", "le", "0.05")
			mean := s.Value("wardprobe_icmp_rtt_seconds_sum", "target", "peer") / count
			jitter := s.Value("wardprobe_icmp_jitter_seconds", "target", "peer")
			mode := s.All("wardprobe_icmp_socket_info")
			t.Logf("%d replies shifted ±3 s: sent %.0f lost %.0f, %.0f RTTs (%.0f under 50 ms), mean %.3f ms, jitter %.3f ms; %v",
				replies.Load(), sent, lost, count, fast, mean*1000, jitter*1000, mode)
			if replies.Load() < 60 {
				t.Fatalf("the responder answered %d echoes, want ≥ 60", replies.Load())
			}
			if lost != 0 || count != sent || fast != count {
				t.Errorf("a clock step changed the outcome: lost %.0f of %.0f, %.0f RTTs of which %.0f under 50 ms", lost, sent, count, fast)
			}
			if !(mean > 0 && mean < 0.01) || !(jitter >= 0 && jitter < 0.005) {
				t.Errorf("mean RTT %.3f ms, jitter %.3f ms: the payload's time leaked into them", mean*1000, jitter*1000)
			}
		})
	}
}

// TestICMPBoundToInterface gives the probe two ways to the same service
// address: "eth" with the default route of metric 100 and "wifi" with one
// of metric 600, as a probe with Ethernet for management has. With
// wifi.interface set, every echo leaves by the wifi veth (nftables counts
// them), and the binding is reported.
func TestICMPBoundToInterface(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, ethNS, wifiNS := l.Netns("p"), l.Netns("e"), l.Netns("w")
	ethIf, ethPeer := l.Veth(probeNS, "10.81.0.1/24", ethNS, "10.81.0.2/24")
	wifiIf, wifiPeer := l.Veth(probeNS, "10.82.0.1/24", wifiNS, "10.82.0.2/24")
	for _, p := range []struct{ ns, dev, gw string }{{ethNS, ethPeer, "10.81.0.1"}, {wifiNS, wifiPeer, "10.82.0.1"}} {
		l.MustRun(p.ns, "ip", "addr", "add", "10.99.0.1/32", "dev", "lo")
		l.MustRun(p.ns, "ip", "route", "add", "default", "via", p.gw, "dev", p.dev)
	}
	l.MustRun(probeNS, "ip", "route", "add", "default", "via", "10.81.0.2", "dev", ethIf, "metric", "100")
	l.MustRun(probeNS, "ip", "route", "add", "default", "via", "10.82.0.2", "dev", wifiIf, "metric", "600")
	nft(t, probeNS, fmt.Sprintf(`table inet wpbind {
  chain out {
    type filter hook output priority 0; policy accept;
    oifname %q icmp type echo-request counter
    oifname %q icmp type echo-request counter
  }
}
`, ethIf, wifiIf))
	d := l.Wardprobe(wardprobeBin, probeNS, location("bind")+fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: service, kind: icmp, address: 10.99.0.1, interval: 50ms, timeout: 1s}
`, wifiIf))
	s := d.WaitFor(t, 30*time.Second, "40 answered echoes", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_rtt_seconds_count", "target", "service") >= 40
	})
	counts := nftCounters(t, l, probeNS, "wpbind")
	sent := s.Value("wardprobe_icmp_packets_sent_total", "target", "service")
	t.Logf("echo requests out by %s (eth) %d, by %s (wifi) %d; wardprobe sent %.0f; binding %v",
		ethIf, counts[0], wifiIf, counts[1], sent, s.All("wardprobe_interface_binding_info"))
	if counts[0] != 0 || float64(counts[1]) < sent {
		t.Errorf("echoes by eth %d, by wifi %d (sent %.0f): they must all leave by wifi", counts[0], counts[1], sent)
	}
	if v := s.Value("wardprobe_interface_binding_info", "interface", wifiIf, "mode", "bound"); v != 1 {
		t.Errorf("wardprobe_interface_binding_info{mode=\"bound\"} = %v, want 1", v)
	}
	if lost := s.Value("wardprobe_icmp_packets_lost_total", "target", "service"); lost != 0 {
		t.Errorf("lost %.0f echoes on a lossless path", lost)
	}
}

// nft loads an nftables ruleset into ns.
func nft(t *testing.T, ns, rules string) {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v: %s", ns, err, out)
	}
}

// nftCounters returns the packet counts of table's counters, in rule order.
func nftCounters(t *testing.T, l *lab.Lab, ns, table string) []int {
	t.Helper()
	out := l.MustRun(ns, "nft", "list", "table", "inet", table)
	var counts []int
	for _, m := range regexp.MustCompile(`counter packets (\d+)`).FindAllStringSubmatch(out, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		counts = append(counts, n)
	}
	if len(counts) == 0 {
		t.Fatalf("no counters in %s", out)
	}
	return counts
}

// TestICMPv6 pings over IPv6 in both socket modes, bound to the interface
// under test: a global address, the peer's link-local address with the
// interface as its zone, and a name that has only an AAAA record.
func TestICMPv6(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			probeNS, peerNS := l.Netns("p"), l.Netns("q")
			for _, ns := range []string{probeNS, peerNS} {
				// No duplicate address detection: addresses are usable at once.
				l.MustRun(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
			}
			probeIf, peerIf := l.Veth(probeNS, "10.77.0.1/24", peerNS, "10.77.0.2/24")
			l.MustRun(probeNS, "ip", "-6", "addr", "add", "fd00:77::1/64", "dev", probeIf, "nodad")
			l.MustRun(peerNS, "ip", "-6", "addr", "add", "fd00:77::2/64", "dev", peerIf, "nodad")
			setMode(l, probeNS, mode)
			linkLocal := waitLinkLocal(t, l, peerNS, peerIf)
			l.DNS(peerNS, "10.77.0.2", "--address=/v6only.lab/fd00:77::2")
			l.Resolver(probeNS, "10.77.0.2")
			d := l.Wardprobe(wardprobeBin, probeNS, location("v6")+fmt.Sprintf(`wifi: {interface: %[1]s}
targets:
  - {name: global, kind: icmp, address: "fd00:77::2", interval: 100ms, timeout: 1s}
  - {name: linklocal, kind: icmp, address: "%[2]s%%%[1]s", interval: 100ms, timeout: 1s}
  - {name: aaaa, kind: icmp, address: v6only.lab, interval: 100ms, timeout: 1s}
`, probeIf, linkLocal))
			names := []string{"global", "linklocal", "aaaa"}
			s := d.WaitFor(t, 30*time.Second, "20 answered echoes each", func(s lab.Samples) bool {
				for _, n := range names {
					if !(s.Value("wardprobe_icmp_rtt_seconds_count", "target", n) >= 20) {
						return false
					}
				}
				return true
			})
			for _, n := range names {
				if lost := s.Value("wardprobe_icmp_packets_lost_total", "target", n); lost != 0 {
					t.Errorf("%s: lost %.0f echoes on a lossless path", n, lost)
				}
			}
			if v := s.Value("wardprobe_icmp_socket_info", "mode", mode); v != 1 {
				t.Errorf("socket_info{mode=%q} = %v; %v", mode, v, s.All("wardprobe_icmp_socket_info"))
			}
			if v := s.Value("wardprobe_interface_binding_info", "interface", probeIf, "mode", "bound"); v != 1 {
				t.Errorf("binding info %v, want bound to %s", s.All("wardprobe_interface_binding_info"), probeIf)
			}
			t.Logf("%s: %s", mode, s.Grep("wardprobe_icmp_packets"))
		})
	}
}

// waitLinkLocal returns the link-local address of dev in ns once it is usable.
func waitLinkLocal(t *testing.T, l *lab.Lab, ns, dev string) string {
	t.Helper()
	re := regexp.MustCompile(`inet6 (fe80::[0-9a-f:]+)/64 scope link`)
	for range 50 {
		out := l.MustRun(ns, "ip", "-6", "addr", "show", "dev", dev)
		if m := re.FindStringSubmatch(out); m != nil && !strings.Contains(out, "tentative") {
			return m[1]
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no usable link-local address on %s in %s", dev, ns)
	return ""
}

// TestICMPBoundedInFlight: a timeout of thousands of intervals is refused at
// its line, and pinging a dead host every 10 ms keeps one socket and bounded
// memory (it used to grow to thousands of sockets and 100 MB in 30 s).
func TestICMPBoundedInFlight(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, _, probeIf, _ := pair(t, l)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("targets:\n  - {name: dead, kind: icmp, address: 10.77.0.99, interval: 10ms,\n     timeout: 1h}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(wardprobeBin, "check-config", bad)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), bad+":3: targets[0].timeout:") ||
		!strings.Contains(stderr.String(), "at most 1000 echo requests") {
		t.Errorf("check-config of interval 10ms, timeout 1h: %v\n%s", err, stderr.String())
	}
	d := l.Wardprobe(wardprobeBin, probeNS, location("bounded")+fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: dead, kind: icmp, address: 10.77.0.99, interval: 10ms, timeout: 10s}
`, probeIf))
	time.Sleep(6 * time.Second) // 600 echoes awaiting their 10 s timeout
	sockets := 0
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.Cmd.Process.Pid))
	for _, fd := range fds {
		if target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", d.Cmd.Process.Pid, fd.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			sockets++
		}
	}
	s, err := d.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	heap := s.Value("go_memstats_heap_inuse_bytes")
	t.Logf("after 6 s of echoes every 10 ms to a dead host: %d sockets, heap in use %.1f MiB, %d fds", sockets, heap/(1<<20), len(fds))
	// The daemon's own: the listener, a scrape, netlink; one for the target.
	if sockets > 8 || !(heap < 16<<20) {
		t.Errorf("%d sockets, heap %.1f MiB: echoes in flight are not bounded", sockets, heap/(1<<20))
	}
}

// TestICMPPermissionFixedOnFirstReload runs wardprobe as an unprivileged
// user (no CAP_NET_RAW) where ping_group_range admits nobody: ICMP fails
// with reason permission. Once the range is widened, one SIGHUP is enough
// for echoes to flow.
func TestICMPPermissionFixedOnFirstReload(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, _, probeIf, _ := pair(t, l)
	l.MustRun(probeNS, "sysctl", "-qw", "net.ipv4.ping_group_range=1 0")
	// A directory the unprivileged user can read: the binary and the config.
	dir, err := os.MkdirTemp("", "wardprobe-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "wardprobe")
	if err := copyFile(wardprobeBin, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "wardprobe.yml")
	if err := os.WriteFile(cfg, []byte(location("perm")+fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.77.0.2, interval: 100ms, timeout: 1s}
`, probeIf)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	p := l.StartAs(probeNS, nobody, nobody, bin, "run", "--config", cfg, "--web.listen-address", "127.0.0.1:9810", "--log.level", "debug")
	d := &lab.Daemon{Proc: p, NS: probeNS, URL: "http://127.0.0.1:9810", ConfigPath: cfg}
	if err := d.WaitReady(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if !regexp.MustCompile(`(?m)^Uid:\s+65534\s`).Match(status) || !regexp.MustCompile(`(?m)^CapEff:\s+0+$`).Match(status) {
		t.Fatalf("wardprobe does not run unprivileged:\n%s", status)
	}
	d.WaitFor(t, 20*time.Second, "reason permission", func(s lab.Samples) bool {
		return s.Value("wardprobe_target_failures_total", "target", "peer", "reason", "permission") >= 2 &&
			s.Value("wardprobe_icmp_socket_info", "mode", "unavailable") == 1
	})
	l.MustRun(probeNS, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s := d.WaitFor(t, 20*time.Second, "echoes after one reload", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer") >= 10
	})
	if v := s.Value("wardprobe_icmp_socket_info", "mode", "unprivileged"); v != 1 {
		t.Errorf("socket_info %v, want mode unprivileged", s.All("wardprobe_icmp_socket_info"))
	}
	if n := strings.Count(p.Output.String(), "config reloaded"); n != 1 {
		t.Errorf("%d reloads logged, want exactly one", n)
	}
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, mode)
}

// TestICMP500Targets pings 500 addresses once a second each for ~20 s on a
// lossless veth, in both socket modes: no echo may be reported lost (raw
// mode was reported losing ~1% with an echo and a raw socket per packet:
// every such socket got a copy of every reply until its filter was set).
func TestICMP500Targets(t *testing.T) {
	t.Parallel()
	const targets = 500
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			l := lab.New(t)
			probeNS, peerNS := l.Netns("p"), l.Netns("q")
			probeIf, peerIf := l.Veth(probeNS, "10.78.0.1/16", peerNS, "10.78.0.2/16")
			var batch, cfg strings.Builder
			cfg.WriteString(location("many") + fmt.Sprintf("wifi: {interface: %s}\ntargets:\n", probeIf))
			for i := range targets {
				a := fmt.Sprintf("10.78.%d.%d", 1+i/250, 1+i%250)
				fmt.Fprintf(&batch, "addr add %s/16 dev %s\n", a, peerIf)
				fmt.Fprintf(&cfg, "  - {name: t%d, kind: icmp, address: %s, interval: 1s}\n", i, a)
			}
			ipBatch(t, peerNS, batch.String())
			setMode(l, probeNS, mode)
			path := filepath.Join(t.TempDir(), "wardprobe.yml")
			if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			// Info level: debug would log a line per echo.
			d := l.WardprobeArgs(probeNS, "http://127.0.0.1:9810", wardprobeBin, "run", "--config", path,
				"--web.listen-address", "127.0.0.1:9810", "--log.level", "info")
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			<-ctx.Done()
			s := d.WaitFor(t, 20*time.Second, "20 s of echoes", func(s lab.Samples) bool {
				return sum(s, "wardprobe_icmp_packets_sent_total") >= 17*targets
			})
			sent, lost := sum(s, "wardprobe_icmp_packets_sent_total"), sum(s, "wardprobe_icmp_packets_lost_total")
			t.Logf("%s: %d targets for %s: sent %.0f, lost %.0f; %v", mode, targets, time.Since(start).Round(time.Second),
				sent, lost, s.All("wardprobe_icmp_socket_info"))
			if v := s.Value("wardprobe_icmp_socket_info", "mode", mode); v != 1 {
				t.Errorf("socket mode %v, want %s", s.All("wardprobe_icmp_socket_info"), mode)
			}
			if lost != 0 {
				t.Errorf("%.0f of %.0f echoes reported lost on a lossless link", lost, sent)
			}
		})
	}
}

// ipBatch runs `ip -batch -` in ns with commands on its input.
func ipBatch(t *testing.T, ns, commands string) {
	t.Helper()
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(commands)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -batch in %s: %v: %s", ns, err, out)
	}
}
