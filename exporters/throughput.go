package exporters

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe/throughput"
)

// throughputCollector exports throughput tests: counters on client_golang's
// types, the last test and the budget as const metrics of their state. It
// exports nothing while throughput tests are not configured.
type throughputCollector struct {
	tests                     prometheus.Counter
	failures, bytes, capped   *prometheus.CounterVec
	info, bps, lastSuccess    *prometheus.Desc
	latency, lastOK, lastTime *prometheus.Desc
	lastDur, lastBytes        *prometheus.Desc
	budget, budgetUsed        *prometheus.Desc
	budgetPaused, skipped     *prometheus.Desc
	storeError, storeErrors   *prometheus.Desc
	checkpoints, useUnknown   *prometheus.Desc
	stored                    *prometheus.Desc

	mu         sync.Mutex
	cfg        *config.Throughput
	last, ok   throughput.Result
	haveLast   bool
	haveOK     bool
	status     throughput.BudgetStatus
	haveBudget bool
}

func newThroughputCollector() *throughputCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &throughputCollector{
		tests: prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_throughput_tests_total", Help: "Throughput tests run."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_throughput_failures_total",
			Help: "Failed throughput tests by reason."}, []string{"reason"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_throughput_bytes_total",
			Help: "Bytes moved by throughput tests: received by the probe (download) and sent by it (upload), TCP payload with retransmissions."},
			[]string{"direction"}),
		capped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_throughput_capped_total",
			Help: "Test directions ended by the byte allowance (max_bytes or what was left of the daily budget) before their rate settled."},
			[]string{"direction"}),
		info:         d("wardprobe_throughput_info", "The throughput test mode (onprem or ookla) and server (a URL without credentials, or speedtest.net ids); always 1.", "mode", "server"),
		bps:          d("wardprobe_throughput_bits_per_second", "Throughput measured by the last successful test, in bits per second (TCP payload).", "direction"),
		lastSuccess:  d("wardprobe_throughput_last_success_timestamp_seconds", "When the last successful throughput test ended, in seconds since the Unix epoch."),
		latency:      d("wardprobe_throughput_latency_seconds", "Median HTTP round trip to the throughput server in the last successful test, idle and while loaded (phase idle, download, upload); loaded minus idle is the bufferbloat.", "phase"),
		lastOK:       d("wardprobe_throughput_last_test_success", "Whether the last throughput test succeeded (1) or failed (0)."),
		lastTime:     d("wardprobe_throughput_last_test_timestamp_seconds", "When the last throughput test ended, in seconds since the Unix epoch."),
		lastDur:      d("wardprobe_throughput_last_test_duration_seconds", "How long the last throughput test took, in seconds."),
		lastBytes:    d("wardprobe_throughput_last_test_bytes", "Bytes the last throughput test moved, both directions."),
		budget:       d("wardprobe_throughput_budget_bytes", "The daily byte budget of throughput tests."),
		budgetUsed:   d("wardprobe_throughput_budget_used_bytes", "Bytes throughput tests moved today (local time)."),
		budgetPaused: d("wardprobe_throughput_budget_paused", "Whether throughput tests are paused (1) because today's budget is used up."),
		skipped:      d("wardprobe_throughput_budget_skipped_total", "Throughput tests skipped because tests were paused (budget used up, use unknown, or the state file not writable)."),
		storeError:   d("wardprobe_throughput_budget_store_error", "1 while the last read or write of the throughput budget's state file failed (tests are paused until a write succeeds)."),
		storeErrors:  d("wardprobe_throughput_budget_store_errors_total", "Failed reads and writes of the throughput budget's state file."),
		checkpoints:  d("wardprobe_throughput_budget_checkpoints_total", "Durable (fsync'd, renamed) writes of the throughput budget's state file, each charging bytes ahead of the transfer."),
		useUnknown:   d("wardprobe_throughput_budget_use_unknown", "1 while today's use is unknown (the state file could not be read at start) and counted as spent; clears at midnight."),
		stored:       d("wardprobe_throughput_budget_stored", "1 when the budget is kept in a state file ($STATE_DIRECTORY), 0 when in memory only."),
	}
}

// directionNames are the "direction" label values.
func directionNames() [2]string { return [2]string{"download", "upload"} }

func (c *throughputCollector) apply(cfg *config.Throughput) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg = cfg
	if cfg != nil {
		for _, dir := range directionNames() {
			c.bytes.WithLabelValues(dir)
			c.capped.WithLabelValues(dir)
		}
	}
}

// Describe implements prometheus.Collector.
func (c *throughputCollector) Describe(ch chan<- *prometheus.Desc) {
	c.tests.Describe(ch)
	c.failures.Describe(ch)
	c.bytes.Describe(ch)
	c.capped.Describe(ch)
	for _, d := range []*prometheus.Desc{c.info, c.bps, c.lastSuccess, c.latency, c.lastOK, c.lastTime, c.lastDur,
		c.lastBytes, c.budget, c.budgetUsed, c.budgetPaused, c.skipped, c.storeError, c.storeErrors, c.checkpoints, c.useUnknown, c.stored} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *throughputCollector) Collect(out chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tp := c.cfg
	if tp == nil {
		return
	}
	ch := constMetrics(out)
	ch.gauge(c.info, 1, tp.Mode, throughputServer(tp))
	c.tests.Collect(out)
	c.failures.Collect(out)
	c.bytes.Collect(out)
	c.capped.Collect(out)
	directions := directionNames()
	if c.haveLast {
		r := c.last
		ch.gauge(c.lastOK, boolf(r.Success))
		ch.gauge(c.lastTime, float64(r.Start.Add(r.Duration).UnixMilli())/1000)
		ch.gauge(c.lastDur, r.Duration.Seconds())
		ch.gauge(c.lastBytes, float64(r.Bytes()))
	}
	if c.haveOK {
		r := c.ok
		ch.gauge(c.lastSuccess, float64(r.Start.Add(r.Duration).UnixMilli())/1000)
		ch.gauge(c.latency, r.IdleLatency.Seconds(), "idle")
		for i, dd := range []throughput.Direction{r.Download, r.Upload} {
			ch.gauge(c.bps, dd.BitsPerSecond, directions[i])
			if dd.Latency > 0 {
				ch.gauge(c.latency, dd.Latency.Seconds(), directions[i])
			}
		}
	}
	if c.haveBudget {
		b := c.status
		ch.gauge(c.budget, float64(b.Limit))
		ch.gauge(c.budgetUsed, float64(b.Used))
		ch.gauge(c.budgetPaused, boolf(b.Paused))
		ch.counter(c.skipped, float64(b.Skipped))
		ch.gauge(c.storeError, boolf(b.StoreError != ""))
		ch.counter(c.storeErrors, float64(b.StoreErrors))
		ch.counter(c.checkpoints, float64(b.Checkpoints))
		ch.gauge(c.useUnknown, boolf(b.Unknown))
		ch.gauge(c.stored, boolf(b.Stored))
	}
}

// ObserveThroughput folds in the result of one throughput test.
func (e *Exporter) ObserveThroughput(r throughput.Result) {
	c := e.tpC
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last, c.haveLast = r, true
	c.tests.Inc()
	if r.Success {
		c.ok, c.haveOK = r, true
	} else {
		c.failures.WithLabelValues(string(r.Reason)).Inc()
	}
	dirs := directionNames()
	c.bytes.WithLabelValues(dirs[0]).Add(float64(max(r.ReceivedBytes, 0)))
	c.bytes.WithLabelValues(dirs[1]).Add(float64(max(r.SentBytes, 0)))
	for i, d := range []throughput.Direction{r.Download, r.Upload} {
		if d.Capped {
			c.capped.WithLabelValues(dirs[i]).Inc()
		}
	}
}

// SetThroughputBudget records the state of the daily byte budget.
func (e *Exporter) SetThroughputBudget(b throughput.BudgetStatus) {
	c := e.tpC
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status, c.haveBudget = b, true
}

// throughputView is what the landing page shows of throughput tests.
type throughputView struct {
	Cfg          *config.Throughput
	Last, LastOK *throughput.Result
	Budget       throughput.BudgetStatus
}

func (e *Exporter) throughputView() throughputView {
	c := e.tpC
	c.mu.Lock()
	defer c.mu.Unlock()
	v := throughputView{Cfg: c.cfg, Budget: c.status}
	if c.haveLast {
		r := c.last
		v.Last = &r
	}
	if c.haveOK {
		r := c.ok
		v.LastOK = &r
	}
	return v
}

func throughputServer(tp *config.Throughput) string {
	if tp.Mode == throughput.ModeOnPrem {
		return secret.StripURL(tp.URL)
	}
	if len(tp.ServerIDs) == 0 {
		return "speedtest.net:nearest"
	}
	return "speedtest.net:" + strings.Join(tp.ServerIDs, ",")
}
