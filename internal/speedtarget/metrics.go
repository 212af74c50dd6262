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
			Help: "Transfers refused, by reason (max_tests, max_streams, too_large).",
		}, []string{"reason"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wardprobe_speedtarget_transfers_aborted_total",
			Help: "Transfers cut off before their end (client went away, or no progress within the stall timeout), by endpoint.",
		}, []string{"endpoint"}),
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
			Help: "TCP PING-protocol connections, by outcome (accepted, refused when max_ping_connections were open).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(m.requests, m.rejected, m.aborted, m.sent, m.received, m.pings, m.pingConns)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wardprobe_speedtarget_active_tests",
			Help: "Clients testing now (a transfer in flight, or one ended within the session grace).",
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
	for _, r := range []string{RejectMaxTests, RejectMaxStreams, RejectTooLarge} {
		m.rejected.WithLabelValues(r)
	}
	for _, e := range []string{"download", "upload"} {
		m.aborted.WithLabelValues(e)
	}
	return m
}
