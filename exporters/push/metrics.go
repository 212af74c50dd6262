package push

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a sample is dropped (wardprobe_push_samples_dropped_total{reason}).
var dropReasons = []string{
	"out_of_order",    // the receiver: older than its newest sample of the series
	"too_old",         // the receiver: outside its time window
	"duplicate",       // the receiver: another value at the same timestamp
	"rejected",        // the receiver refused them for another reason (400, 409, 413, 422)
	"max_queue_bytes", // the queue was full
	"max_queue_age",   // older than max_queue_age
	"queue_error",     // the queue could not be written (disk full, I/O error)
}

// Reasons a send attempt fails (wardprobe_push_send_failures_total{reason}).
var failureReasons = []string{
	"network",                                          // no connection, or it broke (retried)
	"timeout",                                          // no answer within the timeout (retried)
	"http_5xx",                                         // a server error (retried)
	"http_429",                                         // rate limited (retried, honouring Retry-After)
	"http_4xx",                                         // 401, 403, 404, ...: misconfigured, retried until fixed
	"out_of_order", "too_old", "duplicate", "rejected", // refused for good: split or dropped
}

// metrics are the Pusher's own series.
type metrics struct {
	queued, sent, syncs, requestBytes prometheus.Counter
	dropped, failures                 *prometheus.CounterVec
	lastSuccess                       prometheus.Gauge

	// Counters of queues used before a queue_dir change.
	mu                       sync.Mutex
	baseWritten, baseCorrupt int64
}

func newMetrics() *metrics {
	m := &metrics{
		queued: prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_push_samples_queued_total",
			Help: "Samples written to the push queue."}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_push_samples_sent_total",
			Help: "Samples the remote-write receiver accepted."}),
		syncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_push_queue_syncs_total",
			Help: "fsyncs of the push queue (one per push interval)."}),
		requestBytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_push_request_bytes_total",
			Help: "Compressed remote-write request bytes sent, retries included."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_push_samples_dropped_total",
			Help: "Samples dropped without being sent, by reason."}, []string{"reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wardprobe_push_send_failures_total",
			Help: "Remote-write requests that failed, by reason."}, []string{"reason"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wardprobe_push_last_success_timestamp_seconds",
			Help: "When the receiver last accepted a request (Unix time)."}),
	}
	for _, r := range dropReasons {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range failureReasons {
		m.failures.WithLabelValues(r)
	}
	return m
}

var (
	pendingDesc = prometheus.NewDesc("wardprobe_push_samples_pending",
		"Samples queued and not yet accepted by the receiver.", nil, nil)
	oldestDesc = prometheus.NewDesc("wardprobe_push_oldest_pending_age_seconds",
		"Age of the oldest pending sample (0 when none is pending).", nil, nil)
	queueBytesDesc = prometheus.NewDesc("wardprobe_push_queue_bytes",
		"Size of the push queue's files.", nil, nil)
	writtenDesc = prometheus.NewDesc("wardprobe_push_queue_disk_bytes_written_total",
		"Bytes written to the push queue's files.", nil, nil)
	segmentsDesc = prometheus.NewDesc("wardprobe_push_queue_segments",
		"Segment files in the push queue.", nil, nil)
	corruptDesc = prometheus.NewDesc("wardprobe_push_queue_corruptions_total",
		"Corrupted records or torn writes found in the push queue (the rest of that segment is dropped).", nil, nil)
)

// addBase adds a closed queue's counters to the totals.
func (m *metrics) addBase(written, corrupt int64) {
	m.mu.Lock()
	m.baseWritten += written
	m.baseCorrupt += corrupt
	m.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (p *Pusher) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(p, ch)
}

// Collect implements prometheus.Collector.
func (p *Pusher) Collect(ch chan<- prometheus.Metric) {
	m := p.m
	p.mu.Lock()
	st := p.q.Stats()
	p.mu.Unlock()
	m.mu.Lock()
	st.Written += m.baseWritten
	st.Corruptions += m.baseCorrupt
	m.mu.Unlock()
	age := 0.0
	if st.Pending > 0 {
		age = max(time.Since(time.UnixMilli(st.OldestPending)).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(queueBytesDesc, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(writtenDesc, prometheus.CounterValue, float64(st.Written))
	ch <- prometheus.MustNewConstMetric(segmentsDesc, prometheus.GaugeValue, float64(st.Segments))
	ch <- prometheus.MustNewConstMetric(corruptDesc, prometheus.CounterValue, float64(st.Corruptions))
	m.queued.Collect(ch)
	m.sent.Collect(ch)
	m.syncs.Collect(ch)
	m.requestBytes.Collect(ch)
	m.dropped.Collect(ch)
	m.failures.Collect(ch)
	m.lastSuccess.Collect(ch)
}
