package speedtarget

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the target's own metrics (wardprobe_speedtarget_*).
type metrics struct {
	requests  *prometheus.CounterVec // endpoint, code
	rejected  *prometheus.CounterVec // reason
	aborted   *prometheus.CounterVec // endpoint
	limits    *prometheus.CounterVec // reason
	sent      prometheus.Counter
	received  prometheus.Counter
	pings     prometheus.Counter
	pingConns *prometheus.CounterVec // outcome: accepted, refused
}

func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_requests_total",
			Help: "HTTP requests answered, by endpoint (latency, download, upload, other) and status code.",
		}, []string{"endpoint", "code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_rejected_total",
			Help: "Transfers refused, by reason (max_tests, max_streams, too_large, cooldown: the client's last test was ended by a limit).",
		}, []string{"reason"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_transfers_aborted_total",
			Help: "Transfers that ended before their last byte, by endpoint (download, upload): the client went away, a read or write stalled for the stall timeout, or a limit cut it off.",
		}, []string{"endpoint"}),
		limits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_transfer_limits_total",
			Help: "Transfers cut off by a limit, ending their client's test, by reason (too_slow: under the minimum rate over the rate window; transfer_time: over the longest transfer; test_time: the client's test passed the longest test).",
		}, []string{"reason"}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_sent_bytes_total",
			Help: "Payload bytes written to download clients.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_received_bytes_total",
			Help: "Payload bytes read from upload clients.",
		}),
		pings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_pings_total",
			Help: "TCP PING commands answered with PONG.",
		}),
		pingConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_ping_connections_total",
			Help: "TCP PING-protocol connections, by outcome (accepted; refused: the most PING connections allowed were open).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.requests, m.rejected, m.aborted, m.limits, m.sent, m.received, m.pings, m.pingConns)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wardprobe_speedtarget_active_tests",
			Help: "Clients testing now (a transfer in flight, or one ended within the session grace, 5 s by default), each holding one of max_tests slots.",
		}, func() float64 { t, _ := s.sessions.counts(time.Now()); return float64(t) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wardprobe_speedtarget_active_streams",
			Help: "Download and upload transfers in flight.",
		}, func() float64 { _, n := s.sessions.counts(time.Now()); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wardprobe_speedtarget_open_ping_connections",
			Help: "TCP PING-protocol connections open now.",
		}, func() float64 { s.pingMu.Lock(); defer s.pingMu.Unlock(); return float64(s.pingConns) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wardprobe_speedtarget_max_tests",
			Help: "The configured bound on clients testing at once.",
		}, func() float64 { return float64(s.opts.MaxTests) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "wardprobe_speedtarget_build_info",
			Help:        "The target's wardprobe version and Go version; always 1.",
			ConstLabels: prometheus.Labels{"version": s.opts.Version, "goversion": runtime.Version()},
		}, func() float64 { return 1 }),
	)
	for _, r := range []string{RejectMaxTests, RejectMaxStreams, RejectTooLarge, RejectCooldown} {
		m.rejected.WithLabelValues(r)
	}
	for _, r := range []string{LimitTooSlow, LimitTransferTime, LimitTestTime} {
		m.limits.WithLabelValues(r)
	}
	for _, e := range []string{"download", "upload"} {
		m.aborted.WithLabelValues(e)
	}
	return m
}
