package netlab

import (
	"fmt"
	"math"
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
