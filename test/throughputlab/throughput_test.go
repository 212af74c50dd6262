package throughputlab

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestShapedRates: with each direction of the path shaped by HTB to a known
// rate (different, so that a swap of directions shows), the rates wardprobe
// reports are within ±10% of the shaped rates.
func TestShapedRates(t *testing.T) {
	t.Parallel()
	tests := []struct{ down, up string }{
		{"40mbit", "20mbit"},
		{"15mbit", "30mbit"},
	}
	for _, tc := range tests {
		t.Run(tc.down+"-down-"+tc.up+"-up", func(t *testing.T) {
			t.Parallel()
			p := newPath(t, tc.down, tc.up)
			rx0, tx0 := p.ifBytes(t, p.probeNS, p.probeIf)
			_, s := p.firstTest(t, p.throughputConfig(""))
			if s.Value("wardprobe_throughput_last_test_success") != 1 {
				t.Fatalf("test failed:\n%s", s.Grep("wardprobe_throughput_"))
			}
			for dir, shaped := range map[string]string{"download": tc.down, "upload": tc.up} {
				want := parseRate(t, shaped)
				got := s.Value("wardprobe_throughput_bits_per_second", "direction", dir)
				t.Logf("%s shaped %s: wardprobe reports %.2f Mbit/s (%+.1f%% of the shaped rate; TCP goodput ceiling %.2f Mbit/s)",
					dir, shaped, got/1e6, 100*(got/want-1), goodput(want)/1e6)
				if math.Abs(got/want-1) > 0.10 {
					t.Errorf("%s: %.2f Mbit/s, want %s ± 10%%", dir, got/1e6, shaped)
				}
			}
			idle := s.Value("wardprobe_throughput_latency_seconds", "phase", "idle")
			down := s.Value("wardprobe_throughput_latency_seconds", "phase", "download")
			up := s.Value("wardprobe_throughput_latency_seconds", "phase", "upload")
			t.Logf("latency idle %.2f ms, under download load %.2f ms, under upload load %.2f ms; test %.1f s, %.1f MB",
				idle*1e3, down*1e3, up*1e3, s.Value("wardprobe_throughput_last_test_duration_seconds"),
				s.Value("wardprobe_throughput_last_test_bytes")/1e6)
			if !(idle > 0 && down > idle && up > idle) {
				t.Errorf("latency under load should exceed idle latency on a shaped path (HTB queues): idle %v, download %v, upload %v", idle, down, up)
			}
			// The probe's byte counts agree with its interface's frame counters.
			// Frames carry 66 bytes of headers per 1448 of payload, plus ACKs.
			// Download frames also include what was already queued in the
			// network when the direction was stopped: it arrives after the
			// connections are reset and no TCP counter sees it (up to the
			// queue's bytes: a third of a small test on this bufferbloated
			// 15 Mbit/s path).
			rx, tx := p.ifBytes(t, p.probeNS, p.probeIf)
			// The queue in the network is the rate times the queueing delay
			// the loaded pings measured (down - idle).
			queued := s.Value("wardprobe_throughput_bits_per_second", "direction", "download") / 8 * (down - idle)
			for _, c := range []struct {
				dir          string
				frame, extra float64
			}{{"download", rx - rx0, 1.1 * queued}, {"upload", tx - tx0, 0}} {
				payload := s.Value("wardprobe_throughput_bytes_total", "direction", c.dir)
				limit := 1.15*payload + c.extra // headers, ACKs and retransmissions, and the queue
				t.Logf("%s: wardprobe counts %.0f payload bytes, the interface %.0f frame bytes (ratio %.3f; at most %.0f)",
					c.dir, payload, c.frame, c.frame/payload, limit)
				if c.frame < payload || c.frame > limit {
					t.Errorf("%s: %.0f frame bytes for %.0f payload bytes, want %.0f..%.0f", c.dir, c.frame, payload, payload, limit)
				}
			}
		})
	}
}

// TestTargetFailsMidTest: a target that stalls (SIGSTOP) or disconnects
// (killed) while a test is transferring ends the test with a reason, well
// within the test's 20 s bound.
func TestTargetFailsMidTest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		signal syscall.Signal
		want   []string // acceptable reasons
	}{
		{"stalls", syscall.SIGSTOP, []string{"stalled"}},
		// A killed target's sockets send what they had queued, then FIN or RST:
		// the first error is a broken transfer (reset) or, if a worker opens
		// a new connection first, refused.
		{"disconnects", syscall.SIGKILL, []string{"reset", "refused"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPath(t, "20mbit", "20mbit")
			d := p.l.Wardprobe(wardprobeBin, p.probeNS, p.throughputConfig(""))
			// Wait until the test is transferring, then break the target.
			deadline := time.Now().Add(60 * time.Second)
			for {
				ts, err := p.target.Metrics()
				if err == nil && ts.Value("wardprobe_speedtarget_active_streams") > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no transfer started within 60s; target metrics error %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			broke := time.Now()
			if err := p.target.Cmd.Process.Signal(tc.signal); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.target.Cmd.Process.Signal(syscall.SIGCONT) })
			s := d.WaitFor(t, 40*time.Second, "the test to end", func(s lab.Samples) bool {
				return s.Value("wardprobe_throughput_tests_total") >= 1
			})
			var reasons []string
			for _, x := range s.All("wardprobe_throughput_failures_total") {
				if x.Value > 0 {
					reasons = append(reasons, x.Labels["reason"])
				}
			}
			dur := s.Value("wardprobe_throughput_last_test_duration_seconds")
			ended := time.Unix(0, int64(s.Value("wardprobe_throughput_last_test_timestamp_seconds")*1e9))
			t.Logf("target %s: test failed with %v after %.1f s, %.1f s after the target broke",
				tc.signal, reasons, dur, ended.Sub(broke).Seconds())
			if s.Value("wardprobe_throughput_last_test_success") != 0 || len(reasons) != 1 || !slices.Contains(tc.want, reasons[0]) {
				t.Errorf("failure reasons %v, want one of %v\n%s", reasons, tc.want, s.Grep("wardprobe_throughput_"))
			}
			if dur > 20 {
				t.Errorf("the test took %.1f s, over its 20 s timeout", dur)
			}
		})
	}
}

// TestBudgetStopsTests: once a test has used today's budget, tests pause
// (and the metric says so) and the next scheduled test is skipped; the
// target's own counters confirm the bytes stayed within the budget.
func TestBudgetStopsTests(t *testing.T) {
	t.Parallel()
	const budget = 4 << 20
	p := newPath(t, "40mbit", "40mbit")
	rx0, tx0 := p.ifBytes(t, p.probeNS, p.probeIf)
	// Run as systemd would (StateDirectory=), so that the day's use is kept.
	stateDir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "wardprobe.yml")
	if err := os.WriteFile(cfgPath, []byte(p.throughputConfig("  max_bytes: 4MiB\n  daily_budget: 4MiB\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *lab.Daemon {
		return p.l.WardprobeArgs(p.probeNS, "http://127.0.0.1:9810", "env", "STATE_DIRECTORY="+stateDir,
			wardprobeBin, "run", "--config", cfgPath, "--web.listen-address", "127.0.0.1:9810")
	}
	d := start()
	s := d.WaitFor(t, 90*time.Second, "a throughput test", func(s lab.Samples) bool {
		return s.Value("wardprobe_throughput_tests_total") >= 1
	})
	t.Logf("first test: success %v, %.2f MB, capped download %v upload %v, budget used %.2f MB of %.2f MB, paused %v",
		s.Value("wardprobe_throughput_last_test_success"), s.Value("wardprobe_throughput_last_test_bytes")/1e6,
		s.Value("wardprobe_throughput_capped_total", "direction", "download"), s.Value("wardprobe_throughput_capped_total", "direction", "upload"),
		s.Value("wardprobe_throughput_budget_used_bytes")/1e6, float64(budget)/1e6, s.Value("wardprobe_throughput_budget_paused"))
	if s.Value("wardprobe_throughput_last_test_success") != 1 {
		t.Errorf("the first test should succeed within its allowance:\n%s", s.Grep("wardprobe_throughput_"))
	}
	// A test moves about its allowance (a little more: what is in flight
	// when a direction stops). Tests pause once less than a quarter of
	// max_bytes is left: after the first test, or after a second one that is
	// granted only what was left.
	s = d.WaitFor(t, 150*time.Second, "tests to pause", func(s lab.Samples) bool {
		return s.Value("wardprobe_throughput_budget_paused") == 1
	})
	ran := s.Value("wardprobe_throughput_tests_total")
	t.Logf("paused after %.0f test(s), %.2f MB used", ran, s.Value("wardprobe_throughput_budget_used_bytes")/1e6)
	// The next test is due 1m ± 10% later: it must be skipped.
	s = d.WaitFor(t, 80*time.Second, "the next test to be skipped", func(s lab.Samples) bool {
		return s.Value("wardprobe_throughput_budget_skipped_total") >= 1
	})
	if n := s.Value("wardprobe_throughput_tests_total"); n != ran || n > 2 {
		t.Errorf("%v tests ran; want the %v before the pause, at most 2", n, ran)
	}
	used := s.Value("wardprobe_throughput_budget_used_bytes")
	rx, tx := p.ifBytes(t, p.probeNS, p.probeIf)
	frames := rx - rx0 + tx - tx0
	t.Logf("budget %d bytes: wardprobe counts %.0f payload bytes used; the probe's interface moved %.0f frame bytes", budget, used, frames)
	// What is in flight when a direction is stopped may come on top (a few
	// hundred KB at this rate), and frames carry headers: allow 15% and 10%.
	if used > budget*1.15 || frames > budget*1.15*1.10 {
		t.Errorf("used %.0f payload bytes (%.0f frame bytes) of a %d byte budget", used, frames, budget)
	}
	// A restart the same day keeps the count: tests stay paused.
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	d = start()
	s = d.WaitFor(t, 10*time.Second, "the budget status after a restart", func(s lab.Samples) bool {
		_, ok := s.Get("wardprobe_throughput_budget_used_bytes")
		return ok
	})
	if got := s.Value("wardprobe_throughput_budget_used_bytes"); got != used || s.Value("wardprobe_throughput_budget_paused") != 1 {
		t.Errorf("after a restart: used %v (want %v), paused %v (want 1)", got, used, s.Value("wardprobe_throughput_budget_paused"))
	}
}

// TestStockSpeedtestClient: an unmodified speedtest-go client (not
// wardprobe's wrapper) completes a test against the target: TCP PING, HTTP
// ping, download and upload, with the library's defaults.
func TestStockSpeedtestClient(t *testing.T) {
	t.Parallel()
	const rate = "50mbit"
	p := newPath(t, rate, rate)
	out, err := p.l.Run(p.probeNS, stockClientBin, "-url", targetURL)
	if err != nil {
		t.Fatalf("stock speedtest-go client failed: %v\n%s", err, out)
	}
	var r struct {
		LatencySeconds  float64 `json:"latency_seconds"`
		HTTPPingSeconds float64 `json:"http_ping_seconds"`
		DownloadBytesPS float64 `json:"download_bytes_per_second"`
		UploadBytesPS   float64 `json:"upload_bytes_per_second"`
		DownloadBytes   int64   `json:"download_bytes"`
		UploadBytes     int64   `json:"upload_bytes"`
		TotalSeconds    float64 `json:"total_seconds"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &r); err != nil {
		t.Fatalf("stock client output %q: %v", out, err)
	}
	shaped := parseRate(t, rate)
	t.Logf("stock speedtest-go on %s: TCP ping %.2f ms, HTTP ping %.2f ms, download %.2f Mbit/s (%d bytes), upload %.2f Mbit/s (%d bytes), %.1f s",
		rate, r.LatencySeconds*1e3, r.HTTPPingSeconds*1e3, r.DownloadBytesPS*8/1e6, r.DownloadBytes, r.UploadBytesPS*8/1e6, r.UploadBytes, r.TotalSeconds)
	if r.LatencySeconds <= 0 || r.HTTPPingSeconds <= 0 {
		t.Errorf("latencies %v, %v: want positive", r.LatencySeconds, r.HTTPPingSeconds)
	}
	// speedtest-go's own estimator is its business; the target must let it
	// move data at about the path's rate in both directions.
	for name, v := range map[string]float64{"download": r.DownloadBytesPS * 8, "upload": r.UploadBytesPS * 8} {
		if v < shaped*0.5 || v > shaped*1.1 {
			t.Errorf("%s %.2f Mbit/s on a %s path", name, v/1e6, rate)
		}
	}
	ts, err := p.target.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if ts.Value("wardprobe_speedtarget_pings_total") < 10 {
		t.Errorf("the target answered %v TCP PINGs; want the stock client's ping test", ts.Value("wardprobe_speedtarget_pings_total"))
	}
}
