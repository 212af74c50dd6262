package throughputlab

import (
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// benchRow is one path of the accuracy benchmark.
type benchRow struct {
	path       string
	shaped     float64 // bits per second, 0 unshaped
	wp, ip     [2]float64
	wpPayload  [2]float64 // wardprobe's own byte counts (download, upload)
	ipPayload  [2]float64 // iperf3's (bytes sent by the sender)
	wpFrames   [2]float64 // frame bytes on the probe's interface during each tool's run
	ipFrames   [2]float64
	wpDuration float64
	wpSettled  [2]bool
}

// iperf3Result is the part of iperf3's JSON output the benchmark reads.
type iperf3Result struct {
	End struct {
		SumSent struct {
			Bytes float64 `json:"bytes"`
		} `json:"sum_sent"`
		SumReceived struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
	} `json:"end"`
	Error string `json:"error"`
}

// BenchmarkThroughputAccuracy compares, on HTB-shaped paths at 20, 100 and
// 400 Mbit/s and unshaped, the rates wardprobe reports (its default test
// settings) with those of iperf3's default 10 s test, and the bytes each
// used, and prints the table. Goal: within ±5% of the shaped rate, using at
// most a third of iperf3's bytes.
func BenchmarkThroughputAccuracy(b *testing.B) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		b.Fatal("iperf3 missing: make bench installs Debian's iperf3 package")
	}
	var rows []benchRow
	for _, rate := range []string{"20mbit", "100mbit", "400mbit", ""} {
		rows = append(rows, benchPath(b, rate))
	}
	// Printed, not logged: the testing package trims benchmark logs to 10 lines.
	fmt.Print("\nThroughput accuracy and footprint: wardprobe (default test settings) vs iperf3 (default 10 s test)\n" + benchTable(rows))
	worstErr, worstBytes := 0.0, 0.0
	for _, r := range rows {
		for i := range 2 {
			if r.shaped > 0 {
				worstErr = math.Max(worstErr, math.Abs(r.wp[i]/r.shaped-1))
			}
			worstBytes = math.Max(worstBytes, r.wpFrames[i]/r.ipFrames[i])
		}
	}
	b.ReportMetric(100*worstErr, "worst-shaped-error-%")
	b.ReportMetric(worstBytes, "worst-bytes-vs-iperf3")
}

func benchPath(b *testing.B, rate string) benchRow {
	b.Helper()
	row := benchRow{path: rate}
	if rate == "" {
		row.path = "unshaped"
	} else {
		row.shaped = parseRate(b, rate)
	}
	{
		p := newPath(b, rate, rate)
		rx0, tx0 := p.ifBytes(b, p.probeNS, p.probeIf)
		d, s := p.firstTest(b, p.throughputConfig(""))
		if err := d.Stop(); err != nil {
			b.Fatal(err)
		}
		rx1, tx1 := p.ifBytes(b, p.probeNS, p.probeIf)
		if s.Value("wardprobe_throughput_last_test_success") != 1 {
			b.Fatalf("wardprobe's test failed:\n%s\n%s", s.Grep("wardprobe_throughput_"), d.Output.String())
		}
		for i, dir := range []string{"download", "upload"} {
			row.wp[i] = s.Value("wardprobe_throughput_bits_per_second", "direction", dir)
			row.wpPayload[i] = s.Value("wardprobe_throughput_bytes_total", "direction", dir)
			row.wpSettled[i] = s.Value("wardprobe_throughput_capped_total", "direction", dir) == 0
		}
		row.wpFrames = [2]float64{rx1 - rx0, tx1 - tx0}
		row.wpDuration = s.Value("wardprobe_throughput_last_test_duration_seconds")

		p.l.Start(p.targetNS, "iperf3", "-s", "-B", targetAddr)
		for i, reverse := range []bool{true, false} { // download (-R), then upload
			rx0, tx0 := p.ifBytes(b, p.probeNS, p.probeIf)
			res := runIperf3(b, p, reverse)
			rx1, tx1 := p.ifBytes(b, p.probeNS, p.probeIf)
			row.ip[i] = res.End.SumReceived.BitsPerSecond
			row.ipPayload[i] = res.End.SumSent.Bytes
			if reverse {
				row.ipFrames[i] = rx1 - rx0
			} else {
				row.ipFrames[i] = tx1 - tx0
			}
		}
	}
	return row
}

// runIperf3 runs iperf3's default 10 s test from the probe namespace,
// retrying while the server is still starting.
func runIperf3(b *testing.B, p *path, reverse bool) iperf3Result {
	b.Helper()
	args := []string{"iperf3", "-c", targetAddr, "-J"}
	if reverse {
		args = append(args, "-R")
	}
	var last string
	for range 20 {
		out, err := p.l.Run(p.probeNS, args...)
		var res iperf3Result
		if jerr := json.Unmarshal([]byte(out), &res); jerr == nil && err == nil && res.Error == "" {
			return res
		}
		last = fmt.Sprintf("%v: %s", err, out)
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatalf("iperf3 %v: %s", args, last)
	return iperf3Result{}
}

func benchTable(rows []benchRow) string {
	var sb strings.Builder
	mbit := func(v float64) string { return fmt.Sprintf("%8.2f", v/1e6) }
	errPct := func(v, shaped float64) string {
		if shaped == 0 {
			return "      "
		}
		return fmt.Sprintf("%+5.1f%%", 100*(v/shaped-1))
	}
	mb := func(v float64) string { return fmt.Sprintf("%8.1f", v/1e6) }
	fmt.Fprintf(&sb, "%-9s %-9s | %-17s %-17s | %-8s %-8s %-8s %-8s | %-7s | %s\n",
		"path", "direction", "wardprobe Mbit/s", "iperf3 Mbit/s", "wp MB", "wp wire", "ip3 MB", "ip3 wire", "wire/ip3", "wardprobe test")
	for _, r := range rows {
		for i, dir := range []string{"download", "upload"} {
			note := "settled"
			if !r.wpSettled[i] {
				note = "capped by max_bytes"
			}
			if i == 0 {
				note = fmt.Sprintf("%.1f s, %s", r.wpDuration, note)
			}
			fmt.Fprintf(&sb, "%-9s %-9s | %s %s  %s %s  | %s %s %s %s | %7.3f | %s\n",
				r.path, dir, mbit(r.wp[i]), errPct(r.wp[i], r.shaped), mbit(r.ip[i]), errPct(r.ip[i], r.shaped),
				mb(r.wpPayload[i]), mb(r.wpFrames[i]), mb(r.ipPayload[i]), mb(r.ipFrames[i]), r.wpFrames[i]/r.ipFrames[i], note)
		}
	}
	sb.WriteString("Mbit/s: TCP payload rate (±% of the HTB rate, which counts Ethernet frames: the TCP goodput ceiling is 4.4% below it).\n")
	sb.WriteString("MB: payload bytes by each tool's count; wire: frame bytes on the probe's interface during the run; wire/ip3: wardprobe's wire bytes over iperf3's.\n")
	return sb.String()
}
