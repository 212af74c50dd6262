package exporters

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/throughput"
)

type throughputDescs struct {
	info, bps, bytes, lastSuccess, latency                  *prometheus.Desc
	tests, failures, lastOK, lastTime, lastDur, lastBytes   *prometheus.Desc
	capped, budget, budgetUsed, budgetPaused, budgetSkipped *prometheus.Desc
}

func newThroughputDescs() *throughputDescs {
	return &throughputDescs{
		info:        desc("wardprobe_throughput_info", "The throughput test mode (onprem or ookla) and server (a URL without credentials, or speedtest.net ids); always 1.", "mode", "server"),
		bps:         desc("wardprobe_throughput_bits_per_second", "Throughput measured by the last successful test, in bits per second (TCP payload).", "direction"),
		bytes:       desc("wardprobe_throughput_bytes_total", "Bytes moved by throughput tests: received by the probe (download) and sent by it (upload), TCP payload with retransmissions.", "direction"),
		lastSuccess: desc("wardprobe_throughput_last_success_timestamp_seconds", "When the last successful throughput test ended, in seconds since the Unix epoch."),
		latency:     desc("wardprobe_throughput_latency_seconds", "Median HTTP round trip to the throughput server in the last successful test, idle and while loaded (phase idle, download, upload); loaded minus idle is the bufferbloat.", "phase"),

		tests:     desc("wardprobe_throughput_tests_total", "Throughput tests run."),
		failures:  desc("wardprobe_throughput_failures_total", "Failed throughput tests by reason.", "reason"),
		lastOK:    desc("wardprobe_throughput_last_test_success", "Whether the last throughput test succeeded (1) or failed (0)."),
		lastTime:  desc("wardprobe_throughput_last_test_timestamp_seconds", "When the last throughput test ended, in seconds since the Unix epoch."),
		lastDur:   desc("wardprobe_throughput_last_test_duration_seconds", "How long the last throughput test took, in seconds."),
		lastBytes: desc("wardprobe_throughput_last_test_bytes", "Bytes the last throughput test moved, both directions."),
		capped:    desc("wardprobe_throughput_capped_total", "Test directions ended by the byte allowance (max_bytes or what was left of the daily budget) before their rate settled.", "direction"),

		budget:        desc("wardprobe_throughput_budget_bytes", "The daily byte budget of throughput tests."),
		budgetUsed:    desc("wardprobe_throughput_budget_used_bytes", "Bytes throughput tests moved today (local time)."),
		budgetPaused:  desc("wardprobe_throughput_budget_paused", "Whether throughput tests are paused (1) because today's budget is used up."),
		budgetSkipped: desc("wardprobe_throughput_budget_skipped_total", "Throughput tests skipped because the daily budget was used up."),
	}
}

// throughputState is what the exporter knows of throughput tests.
type throughputState struct {
	d          *throughputDescs
	last, ok   throughput.Result
	haveLast   bool
	haveOK     bool
	tests      uint64
	failures   map[probe.Reason]uint64
	bytes      [2]uint64 // download, upload
	capped     [2]uint64
	budget     throughput.BudgetStatus
	haveBudget bool
}

// directionNames are the "direction" label values, in the order of the
// counters' arrays.
func directionNames() [2]string { return [2]string{"download", "upload"} }

// ObserveThroughput folds in the result of one throughput test.
func (e *Exporter) ObserveThroughput(r throughput.Result) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &e.tp
	s.last, s.haveLast = r, true
	s.tests++
	if r.Success {
		s.ok, s.haveOK = r, true
	} else {
		if s.failures == nil {
			s.failures = map[probe.Reason]uint64{}
		}
		s.failures[r.Reason]++
	}
	s.bytes[0] += uint64(max(r.ReceivedBytes, 0))
	s.bytes[1] += uint64(max(r.SentBytes, 0))
	for i, d := range []throughput.Direction{r.Download, r.Upload} {
		if d.Capped {
			s.capped[i]++
		}
	}
}

// SetThroughputBudget records the state of the daily byte budget.
func (e *Exporter) SetThroughputBudget(b throughput.BudgetStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tp.budget, e.tp.haveBudget = b, true
}

// LastThroughput returns the last throughput result, if any.
func (e *Exporter) LastThroughput() (throughput.Result, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tp.last, e.tp.haveLast
}

func throughputServer(tp *config.Throughput) string {
	if tp.Mode == throughput.ModeOnPrem {
		return throughput.Redact(tp.URL)
	}
	if len(tp.ServerIDs) == 0 {
		return "speedtest.net:nearest"
	}
	return "speedtest.net:" + strings.Join(tp.ServerIDs, ",")
}

// collectThroughput emits the throughput series; nothing when throughput
// tests are not configured. The caller holds e.mu.
func (e *Exporter) collectThroughput(gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	tp := e.cfg.Throughput
	if tp == nil {
		return
	}
	s := &e.tp
	if s.d == nil {
		s.d = newThroughputDescs()
	}
	d, directions := s.d, directionNames()
	gauge(d.info, 1, tp.Mode, throughputServer(tp))
	counter(d.tests, s.tests)
	for reason, n := range s.failures {
		counter(d.failures, n, string(reason))
	}
	for i, dir := range directions {
		counter(d.bytes, s.bytes[i], dir)
		counter(d.capped, s.capped[i], dir)
	}
	if s.haveLast {
		r := s.last
		gauge(d.lastOK, boolf(r.Success))
		end := r.Start.Add(r.Duration)
		gauge(d.lastTime, float64(end.UnixMilli())/1000)
		gauge(d.lastDur, r.Duration.Seconds())
		gauge(d.lastBytes, float64(r.Bytes()))
	}
	if s.haveOK {
		r := s.ok
		gauge(d.lastSuccess, float64(r.Start.Add(r.Duration).UnixMilli())/1000)
		gauge(d.latency, r.IdleLatency.Seconds(), "idle")
		for i, dd := range []throughput.Direction{r.Download, r.Upload} {
			gauge(d.bps, dd.BitsPerSecond, directions[i])
			if dd.Latency > 0 {
				gauge(d.latency, dd.Latency.Seconds(), directions[i])
			}
		}
	}
	if s.haveBudget {
		b := s.budget
		gauge(d.budget, float64(b.Limit))
		gauge(d.budgetUsed, float64(b.Used))
		gauge(d.budgetPaused, boolf(b.Paused))
		counter(d.budgetSkipped, b.Skipped)
	}
}
