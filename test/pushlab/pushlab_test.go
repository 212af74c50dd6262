// Package pushlab holds the remote-write lab: the real wardprobe binary in a
// namespace pushes every second to a real receiver (Debian's Prometheus, or
// VictoriaMetrics single-node) in another; the test cuts the path, kill -9s
// the probe during the outage and starts it again, restores the path, and
// reads back from the receiver that every sample the probe's queue held
// arrived exactly once with its original timestamp.
package pushlab

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/exporters/push/queue"
	"github.com/wardprobe/wardprobe/test/lab"
)

// wardprobeBin and vmBin are built once by TestMain.
var wardprobeBin, vmBin string

func TestMain(m *testing.M) {
	os.Exit(lab.RunTests(m, &wardprobeBin, func(root, _ string) (err error) {
		vmBin, err = victoriaMetrics(root)
		return err
	}))
}

// The lab probe's location (apostrophes and spaces, as NHS names have).
const (
	probeName = "pushlab-1"
	site      = "Lab Hospital"
	building  = "Block P"
	floor     = "0"
	ward      = "St Mary's Ward 4"
	storeAddr = "10.78.0.2"
)

// outageFor is how long the path is cut: many push intervals (1 s), with a
// kill -9 and a restart of the probe in the middle. PUSHLAB_OUTAGE (a Go
// duration) sets a longer one for a manual run.
func outageFor(t *testing.T) time.Duration {
	if s := os.Getenv("PUSHLAB_OUTAGE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("PUSHLAB_OUTAGE: %v", err)
		}
		return d
	}
	return 14 * time.Second
}

func probeConfig(pushURL, port, queueDir string) string {
	return fmt.Sprintf(`probe: {name: %s}
location: {site: %q, building: %q, floor: %q, ward: %q, spot: "Bay 1", x: 0.5, y: 0.5}
targets:
  - {name: store-icmp, kind: icmp, address: %s, interval: 1s}
  - {name: store-tcp, kind: tcp, address: "%s:%s", interval: 1s}
push:
  url: %s
  interval: 1s
  timeout: 2s
  queue_dir: %s
`, probeName, site, building, floor, ward, storeAddr, storeAddr, port, pushURL, queueDir)
}

// network builds the probe's namespace and the receiver's, joined by a veth pair.
func network(l *lab.Lab) (probeNS, storeNS string) {
	probeNS, storeNS = l.Netns("p"), l.Netns("s")
	l.Veth(probeNS, "10.78.0.1/24", storeNS, storeAddr+"/24")
	return probeNS, storeNS
}

// cut drops every packet between the probe and the receiver (a ward network
// that stops carrying traffic: requests hang until their timeout).
func cut(t *testing.T, l *lab.Lab, ns string) {
	t.Helper()
	rules := fmt.Sprintf(`table inet wpcut {
  chain output { type filter hook output priority 0; policy accept; ip daddr %s counter drop; }
  chain input { type filter hook input priority 0; policy accept; ip saddr %s counter drop; }
}
`, storeAddr, storeAddr)
	f := filepath.Join(t.TempDir(), "cut.nft")
	if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	l.MustRun(ns, "nft", "-f", f)
}

func restore(t *testing.T, l *lab.Lab, ns string) {
	t.Helper()
	l.MustRun(ns, "nft", "delete", "table", "inet", "wpcut")
}

// copyDir copies the queue directory as it is on disk now.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// pushing waits until the daemon's pushes reach s.
func pushing(t *testing.T, s store, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		got := s.raw(t, fmt.Sprintf(`wardprobe_build_info{probe=%q}`, probeName), time.Now().Add(-time.Minute), time.Now())
		if len(got) > 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("no pushed sample reached %s in %v", s.name(), timeout)
}

// outageResult is what an outage run measured.
type outageResult struct {
	probe               *lab.Daemon
	started             time.Time // the probe's first start
	samples, series     int
	outage, coveredSpan time.Duration
}

// outage runs the outage scenario against s and checks the samples arrived.
func outage(t *testing.T, l *lab.Lab, s store, probeNS string) outageResult {
	t.Helper()
	queueDir := t.TempDir()
	cfg := probeConfig(s.writeURL(), s.port(), queueDir)
	started := time.Now()
	d := l.Wardprobe(wardprobeBin, probeNS, cfg)
	pushing(t, s, 30*time.Second)

	cutAt := time.Now()
	cut(t, l, probeNS)
	d.WaitFor(t, 20*time.Second, "failed pushes", func(m lab.Samples) bool {
		return m.Value("wardprobe_push_send_failures_total", "reason", "timeout")+m.Value("wardprobe_push_send_failures_total", "reason", "network") > 0
	})
	time.Sleep(time.Until(cutAt.Add(outageFor(t) / 2)))
	// kill -9 mid-outage: no chance to write anything out.
	if err := d.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.Done()
	killedAt := time.Now()
	time.Sleep(time.Second)
	d = l.Wardprobe(wardprobeBin, probeNS, cfg)
	restartedAt := time.Now()
	time.Sleep(time.Until(cutAt.Add(outageFor(t))))
	m, err := d.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if sent := m.Value("wardprobe_push_samples_sent_total"); sent != 0 {
		t.Fatalf("the restarted probe sent %v samples through a cut path", sent)
	}
	// What the queue holds at the end of the outage (the first process's
	// samples and the second's): every one of these must arrive.
	snap := copyDir(t, queueDir)
	restore(t, l, probeNS)
	restoredAt := time.Now()
	d.WaitFor(t, 60*time.Second+outageFor(t)/4, "the backlog sent", func(m lab.Samples) bool {
		return m.Value("wardprobe_push_samples_pending") == 0 && m.Value("wardprobe_push_samples_sent_total") > 0
	})
	backfilled := time.Since(restoredAt)

	pending := map[string][]point{}
	var minT, maxT int64 = 1 << 62, 0
	damaged, err := queue.Scan(snap, func(smp queue.Sample, acked bool) {
		if acked {
			return
		}
		k := smp.Labels.String()
		pending[k] = append(pending[k], point{T: smp.T, V: smp.V})
		minT, maxT = min(minT, smp.T), max(maxT, smp.T)
	})
	if err != nil || damaged != 0 {
		t.Fatalf("scanning the queue: %d damaged segments, %v", damaged, err)
	}
	if len(pending) == 0 {
		t.Fatal("the queue held nothing at the end of the outage")
	}
	// The queue covers the outage: from before the cut to its end, with
	// samples of both processes around the kill.
	first, last := time.UnixMilli(minT), time.UnixMilli(maxT)
	if first.After(cutAt.Add(time.Second)) || last.Before(restoredAt.Add(-3*time.Second)) {
		t.Errorf("queued samples span %v..%v; the cut was %v..%v", first, last, cutAt, restoredAt)
	}
	before, after := false, false
	for _, p := range pending[buildInfoKey(t, pending)] {
		before = before || time.UnixMilli(p.T).Before(killedAt)
		after = after || time.UnixMilli(p.T).After(restartedAt)
	}
	if !before || !after {
		t.Errorf("queued build_info samples: before the kill %v, after the restart %v", before, after)
	}

	got := s.raw(t, fmt.Sprintf(`{probe=%q}`, probeName), time.UnixMilli(minT), time.UnixMilli(maxT))
	total := 0
	for k, want := range pending {
		lo, hi := want[0].T, want[len(want)-1].T
		var in []point
		for _, p := range got[k] {
			if p.T >= lo && p.T <= hi {
				in = append(in, p)
			}
		}
		if !slices.EqualFunc(in, want, func(a, b point) bool { return a.equalWithin(b, s.precision()) }) {
			t.Errorf("%s: %s holds %d samples over %v..%v, the queue %d:\n got  %v\n want %v", s.name(), k, len(in),
				time.UnixMilli(lo).Format(time.TimeOnly), time.UnixMilli(hi).Format(time.TimeOnly), len(want), short(in), short(want))
		}
		total += len(want)
	}
	m, err = d.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: outage of %v (kill -9 and restart in it): %d queued samples of %d series, spanning %v, arrived exactly once with their timestamps; "+
		"backfilled in %v; queue bytes written %.0f, request bytes %.0f, fsyncs %.0f; the restarted probe's %s",
		s.name(), restoredAt.Sub(cutAt).Round(100*time.Millisecond), total, len(pending), last.Sub(first).Round(time.Second),
		backfilled.Round(100*time.Millisecond), m.Value("wardprobe_push_queue_disk_bytes_written_total"),
		m.Value("wardprobe_push_request_bytes_total"), m.Value("wardprobe_push_queue_syncs_total"), peakRSS(d.Cmd.Process.Pid))
	return outageResult{probe: d, started: started, samples: total, series: len(pending), outage: restoredAt.Sub(cutAt), coveredSpan: last.Sub(first)}
}

// peakRSS reads a process's VmHWM line.
func peakRSS(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return err.Error()
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return "VmHWM unknown"
}

// buildInfoKey finds the build_info series among pending's keys.
func buildInfoKey(t *testing.T, pending map[string][]point) string {
	t.Helper()
	for k := range pending {
		if strings.Contains(k, `__name__="wardprobe_build_info"`) {
			return k
		}
	}
	t.Fatal("no wardprobe_build_info series queued")
	return ""
}

// short renders up to 6 points for messages.
func short(ps []point) string {
	var b strings.Builder
	for i, p := range ps {
		if i == 6 {
			fmt.Fprintf(&b, "... (%d more)", len(ps)-6)
			break
		}
		fmt.Fprintf(&b, "%s=%g ", time.UnixMilli(p.T).Format("15:04:05.000"), p.V)
	}
	return b.String()
}

func TestOutageBackfillPrometheus(t *testing.T) {
	l := lab.New(t)
	probeNS, storeNS := network(l)
	p := startPrometheus(t, l, storeNS, storeAddr+":9090")
	outage(t, l, p, probeNS)
}

func TestOutageBackfillVictoriaMetrics(t *testing.T) {
	l := lab.New(t)
	probeNS, storeNS := network(l)
	v := startVictoria(t, l, vmBin, storeNS, storeAddr+":8428")
	r := outage(t, l, v, probeNS)
	// The dashboards show rates of the probe's results: wait until the
	// restarted probe's targets have answered a few times, in VictoriaMetrics.
	deadline := time.Now().Add(30 * time.Second)
	for q := fmt.Sprintf(`wardprobe_icmp_rtt_seconds_count{probe=%q} >= 3 and on (probe) wardprobe_tcp_connect_seconds_count{probe=%[1]q} >= 3`, probeName); ; {
		if _, err := v.get("/internal/force_flush", nil); err != nil {
			t.Fatal(err)
		}
		if n, err := v.query(t, q); err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted probe's results did not reach VictoriaMetrics")
		}
		time.Sleep(500 * time.Millisecond)
	}
	dashboardQueries(t, v, r.started)
}
