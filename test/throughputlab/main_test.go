// Package throughputlab holds the throughput lab tests and benchmark: the
// real wardprobe binary measuring through HTB-shaped veth paths against the
// real `wardprobe target`, both in network namespaces each test makes.
package throughputlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// Binaries under test, built once by TestMain.
var (
	wardprobeBin   string
	stockClientBin string
	tputClientBin  string
)

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, &wardprobeBin, func(root, dir string) error {
		stockClientBin = filepath.Join(dir, "stockclient")
		tputClientBin = filepath.Join(dir, "tputclient")
		for bin, pkg := range map[string]string{stockClientBin: "./test/throughputlab/stockclient", tputClientBin: "./test/throughputlab/tputclient"} {
			cmd := exec.Command("go", "build", "-o", bin, pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("building %s: %v: %s", pkg, err, out)
			}
		}
		return nil
	}))
}

// Addresses of the lab path.
const (
	probeAddr  = "10.79.0.1"
	targetAddr = "10.79.0.2"
	targetURL  = "http://" + targetAddr + ":8080"
)

// path is a probe namespace and a target namespace joined by a veth pair,
// shaped by HTB in each direction, with `wardprobe target` running.
type path struct {
	l                 *lab.Lab
	probeNS, targetNS string
	probeIf, targetIf string
	target            *lab.Daemon
}

// newPath builds a path; down and up are tc rates ("40mbit"), "" for unshaped.
// targetArgs are extra flags for `wardprobe target`.
func newPath(tb testing.TB, down, up string, targetArgs ...string) *path {
	tb.Helper()
	l := lab.New(tb)
	p := &path{l: l, probeNS: l.Netns("p"), targetNS: l.Netns("t")}
	p.probeIf, p.targetIf = l.Veth(p.probeNS, probeAddr+"/24", p.targetNS, targetAddr+"/24")
	if down != "" {
		l.HTB(p.targetNS, p.targetIf, down) // download: target → probe
	}
	if up != "" {
		l.HTB(p.probeNS, p.probeIf, up)
	}
	cmd := append([]string{wardprobeBin, "target", "--listen", targetAddr + ":8080", "--log.level", "debug"}, targetArgs...)
	p.target = l.WardprobeArgs(p.targetNS, targetURL, cmd...)
	return p
}

// throughputConfig is a probe config testing against the path's target from
// the probe's veth (standing in for the Wi-Fi interface).
func (p *path) throughputConfig(extra string) string {
	return fmt.Sprintf(`probe: {name: tp-lab}
location: {site: Lab Hospital, building: Block L, floor: "1", ward: Ward Lab}
wifi: {interface: %s}
throughput:
  url: %s
  interval: 1m
  timeout: 20s
%s`, p.probeIf, targetURL, extra)
}

// firstTest starts wardprobe with cfg and waits for its first throughput test.
func (p *path) firstTest(tb testing.TB, cfg string) (*lab.Daemon, lab.Samples) {
	tb.Helper()
	d := p.l.Wardprobe(wardprobeBin, p.probeNS, cfg)
	s := d.WaitFor(tb, 90*time.Second, "a throughput test", func(s lab.Samples) bool {
		return s.Value("wardprobe_throughput_tests_total") >= 1
	})
	return d, s
}

// ifBytes returns the bytes dev in ns has received and sent (Ethernet
// frames, as the kernel counts them): what actually crossed the "air".
func (p *path) ifBytes(tb testing.TB, ns, dev string) (rx, tx float64) {
	tb.Helper()
	read := func(what string) float64 {
		out := p.l.MustRun(ns, "cat", "/sys/class/net/"+dev+"/statistics/"+what)
		v, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			tb.Fatalf("%s of %s: %q", what, dev, out)
		}
		return v
	}
	return read("rx_bytes"), read("tx_bytes")
}

// parseRate parses a tc rate ("40mbit") to bits per second.
func parseRate(tb testing.TB, r string) float64 {
	tb.Helper()
	n, err := strconv.ParseFloat(strings.TrimSuffix(r, "mbit"), 64)
	if err != nil {
		tb.Fatalf("rate %q", r)
	}
	return n * 1e6
}

// goodput is the TCP payload rate an HTB rate allows: HTB counts Ethernet
// frames (1514 bytes for 1448 bytes of payload with TCP timestamps).
func goodput(bitsPerSecond float64) float64 { return bitsPerSecond * 1448 / 1514 }
