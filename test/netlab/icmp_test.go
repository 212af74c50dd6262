package netlab

import (
	"fmt"
	"io"
	"math"
	"net"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// pair builds a probe namespace and a peer namespace joined by a veth pair on
// 10.77.0.0/24 (probe .1, peer .2) and returns them with the probe's interface.
func pair(t *testing.T, l *lab.Lab) (probeNS, peerNS, probeIf, peerIf string) {
	probeNS, peerNS = l.Netns("p"), l.Netns("q")
	probeIf, peerIf = l.Veth(probeNS, "10.77.0.1/24", peerNS, "10.77.0.2/24")
	return
}

func location(name string) string {
	return fmt.Sprintf("probe: {name: %s}\nlocation: {site: Lab Hospital, building: Block L, floor: \"1\", ward: Ward Lab}\n", name)
}

func TestICMPLossMatchesInjectedRate(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, peerNS, probeIf, _ := pair(t, l)
	const lossPct = 10
	l.Loss(peerNS, "icmp type echo-request", lossPct)
	cfg := location("loss") + fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.77.0.2, interval: 10ms, timeout: 500ms}
`, probeIf)
	d := l.Wardprobe(wardprobeBin, probeNS, cfg)
	const packets = 1500
	s := d.WaitFor(t, 60*time.Second, fmt.Sprintf("%d packets", packets), func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "peer") >= packets
	})
	sent := s.Value("wardprobe_icmp_packets_sent_total", "target", "peer")
	lost := s.Value("wardprobe_icmp_packets_lost_total", "target", "peer")
	got := 100 * lost / sent
	t.Logf("injected %d%% loss: wardprobe reports %.0f of %.0f lost = %.2f%%", lossPct, lost, sent, got)
	if math.Abs(got-lossPct) > 3 {
		t.Errorf("reported loss %.2f%%, want %d%% ± 3 percentage points", got, lossPct)
	}
	timeouts := s.Value("wardprobe_target_failures_total", "target", "peer", "reason", "timeout")
	if timeouts != lost {
		t.Errorf("failures{reason=timeout} = %v, want the %v lost packets", timeouts, lost)
	}
	if n := s.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer"); n != sent-lost {
		t.Errorf("rtt histogram count %v, want answered packets %v", n, sent-lost)
	}
}

// TestICMPUnreachable pings an unused address inside the lab subnet: ARP
// fails, nothing leaves the namespace, and every packet is lost with a reason.
func TestICMPUnreachable(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, _, probeIf, _ := pair(t, l)
	cfg := location("unreach") + fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: ghost, kind: icmp, address: 10.77.0.99, interval: 50ms, timeout: 300ms}
`, probeIf)
	d := l.Wardprobe(wardprobeBin, probeNS, cfg)
	s := d.WaitFor(t, 30*time.Second, "40 packets", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "ghost") >= 40
	})
	sent := s.Value("wardprobe_icmp_packets_sent_total", "target", "ghost")
	lost := s.Value("wardprobe_icmp_packets_lost_total", "target", "ghost")
	if lost != sent {
		t.Errorf("lost %v of %v, want all", lost, sent)
	}
	var reasons float64
	for _, f := range s.All("wardprobe_target_failures_total", "target", "ghost") {
		if r := f.Labels["reason"]; r != "timeout" && r != "unreachable" {
			t.Errorf("unexpected reason %q", r)
		}
		reasons += f.Value
	}
	if reasons != lost {
		t.Errorf("failures by reason add up to %v, want %v", reasons, lost)
	}
	if s.Value("wardprobe_target_up", "target", "ghost") != 0 {
		t.Error("ghost reported up")
	}
	t.Logf("unreachable: %.0f/%.0f lost; failures %v", lost, sent, s.All("wardprobe_target_failures_total", "target", "ghost"))
}

// TestICMPThroughShapedPath measures RTT across a veth limited by HTB to
// 512 kbit/s both ways while a bulk transfer fills it: the probe still gets
// RTTs, and they show the queueing delay.
func TestICMPThroughShapedPath(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, peerNS, probeIf, peerIf := pair(t, l)
	l.HTB(probeNS, probeIf, "512kbit")
	l.HTB(peerNS, peerIf, "512kbit")
	cfg := location("htb") + fmt.Sprintf(`wifi: {interface: %s}
targets:
  - {name: peer, kind: icmp, address: 10.77.0.2, interval: 100ms, timeout: 2s}
`, probeIf)
	d := l.Wardprobe(wardprobeBin, probeNS, cfg)
	idle := d.WaitFor(t, 30*time.Second, "20 idle replies", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer") >= 20
	})
	// Fill the shaped path: the peer streams to a sink in the probe namespace.
	sink := l.Listen(probeNS, "10.77.0.1:5001")
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	var conn net.Conn
	if err := lab.InNetns(peerNS, func() (err error) {
		conn, err = net.Dial("tcp", "10.77.0.1:5001")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		buf := make([]byte, 32<<10)
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := conn.Write(buf); err != nil {
				return
			}
		}
	}()
	time.Sleep(6 * time.Second)
	loaded := d.WaitFor(t, 30*time.Second, "replies under load", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer") >= 60
	})
	meanIdle := idle.Value("wardprobe_icmp_rtt_seconds_sum", "target", "peer") / idle.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer")
	dSum := loaded.Value("wardprobe_icmp_rtt_seconds_sum", "target", "peer") - idle.Value("wardprobe_icmp_rtt_seconds_sum", "target", "peer")
	dCount := loaded.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer") - idle.Value("wardprobe_icmp_rtt_seconds_count", "target", "peer")
	meanLoaded := dSum / dCount
	t.Logf("HTB 512kbit: mean RTT idle %.2f ms, under load %.2f ms over %.0f replies", meanIdle*1000, meanLoaded*1000, dCount)
	if !(meanIdle > 0) || !(dCount >= 20) {
		t.Fatalf("no RTTs measured through the shaped path")
	}
	if meanLoaded < 2*meanIdle {
		t.Errorf("RTT under load %.2f ms is not clearly above idle %.2f ms: the shaping was not measured", meanLoaded*1000, meanIdle*1000)
	}
}
