// Package speedtarget is the on-premises throughput target that `wardprobe
// target` runs in a data centre: it serves the endpoints a speedtest.net-style
// client uses against a custom server, so that wardprobe's throughput probe —
// or any unmodified showwin/speedtest-go client — can test against it:
//
//	GET  /speedtest/latency.txt          a tiny body, for HTTP latency
//	GET  /speedtest/random{N}x{N}.jpg    2·N² bytes of incompressible data (N ≤ MaxSide)
//	POST /speedtest/upload.php           reads and discards the body, answers 200 "size=<bytes>"
//	TCP  "PING <anything>\n"             answered "PONG <13-digit Unix ms>\n" on the same port
//
// Payloads are written from one shared read-only block, never allocated per
// request. Transfers are admitted per client (remote address): at most
// MaxTests clients test at once, each with at most MaxStreams transfers in
// flight; the rest get 503. So that no client can pin a slot, a transfer
// slower than MinRate (over RateWindow) or longer than MaxTransferTime is cut
// off, a client's test lasts at most MaxTestTime, and a client whose test was
// ended by one of these limits is refused for MaxTestTime. Its own metrics
// are at /metrics.
package speedtarget

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wardprobe/wardprobe/internal/webserve"
)

// Defaults of Options.
const (
	DefaultMaxTests       = 4
	DefaultMaxStreams     = 16
	DefaultMaxUploadBytes = 32 << 20
	DefaultMaxSide        = 4000
	DefaultStallTimeout   = 15 * time.Second
	DefaultSessionGrace   = 5 * time.Second
	DefaultMaxPingConns   = 256
	// DefaultMinRate (bytes per second over DefaultRateWindow) is far below
	// any usable link: 4 streams at this rate are 256 kbit/s.
	DefaultMinRate    = 8 << 10
	DefaultRateWindow = 5 * time.Second
	// DefaultMaxTransferTime: speedtest-go cancels its transfers after 15 s
	// (its default capture time); wardprobe's after 4 s.
	DefaultMaxTransferTime = 30 * time.Second
	// DefaultMaxTestTime: a wardprobe test transfers for about 8 s, the stock
	// speedtest-go client for at most 2 × 15 s.
	DefaultMaxTestTime = 60 * time.Second
	// payloadBlock is the size of the shared block downloads are cut from.
	payloadBlock = 1 << 20
	// ioChunk is how much is written or read between progress deadlines.
	ioChunk = 64 << 10
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// MaxTests bounds the clients transferring at once.
	MaxTests int
	// MaxStreams bounds one client's transfers in flight.
	MaxStreams int
	// MaxUploadBytes bounds one upload request body, in bytes.
	MaxUploadBytes int64
	// MaxSide bounds N in random{N}x{N}.jpg (the payload is 2·N² bytes).
	MaxSide int
	// StallTimeout aborts a transfer whose one read or write of up to 64 KiB
	// does not complete for this long.
	StallTimeout time.Duration
	// MinRate (bytes per second) and RateWindow: a transfer that moves less
	// than MinRate·RateWindow in any RateWindow (the first one included) is
	// cut off and its client's test ended.
	MinRate    int64
	RateWindow time.Duration
	// MaxTransferTime bounds one transfer; passing it ends the client's test.
	MaxTransferTime time.Duration
	// MaxTestTime bounds a client's test, from its first transfer to its last
	// (a test ends once the client has had no transfer for SessionGrace). A
	// client whose test was ended by a limit is refused for MaxTestTime.
	MaxTestTime time.Duration
	// SessionGrace is how long a client counts as testing after its last transfer.
	SessionGrace time.Duration
	// MaxPingConns bounds the open TCP PING connections.
	MaxPingConns int
	// Version is reported in wardprobe_speedtarget_build_info (only: not on
	// the landing page nor in the PING protocol's HI reply).
	Version string
	// Log receives the server's log lines (nil: discarded).
	Log *slog.Logger
}

func (o *Options) defaults() {
	setInt := func(p *int, d int) {
		if *p <= 0 {
			*p = d
		}
	}
	setInt(&o.MaxTests, DefaultMaxTests)
	setInt(&o.MaxStreams, DefaultMaxStreams)
	setInt(&o.MaxSide, DefaultMaxSide)
	setInt(&o.MaxPingConns, DefaultMaxPingConns)
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.SessionGrace <= 0 {
		o.SessionGrace = DefaultSessionGrace
	}
	if o.MinRate <= 0 {
		o.MinRate = DefaultMinRate
	}
	if o.RateWindow <= 0 {
		o.RateWindow = DefaultRateWindow
	}
	if o.MaxTransferTime <= 0 {
		o.MaxTransferTime = DefaultMaxTransferTime
	}
	if o.MaxTestTime <= 0 {
		o.MaxTestTime = DefaultMaxTestTime
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Server is a throughput target. It is safe for concurrent use.
type Server struct {
	opts     Options
	payload  []byte // read-only after New
	sessions *sessions
	bufs     sync.Pool // *[]byte of ioChunk, for reading uploads
	m        *metrics
	reg      *prometheus.Registry
	handler  http.Handler

	ping      pingTimes
	pingMu    sync.Mutex
	pingConns int
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	opts.defaults()
	s := &Server{opts: opts, payload: make([]byte, payloadBlock), ping: pingTimes{pingLineTime, pingLifetime}}
	if _, err := rand.Read(s.payload); err != nil {
		return nil, fmt.Errorf("making the payload block: %w", err)
	}
	s.sessions = newSessions(opts.MaxTests, opts.MaxStreams, opts.SessionGrace, opts.MaxTestTime, opts.MaxTestTime)
	s.bufs.New = func() any { b := make([]byte, ioChunk); return &b }
	s.reg = prometheus.NewRegistry()
	s.m = newMetrics(s.reg, s)
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.HandleFunc("/speedtest/latency.txt", s.handleLatency)
	mux.HandleFunc("/speedtest/upload.php", s.handleUpload)
	mux.HandleFunc("/speedtest/", s.handleDownload)
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4, Timeout: 10 * time.Second}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Healthy.\n") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Ready.\n") })
	mux.HandleFunc("/", s.handleRoot)
	s.handler = mux
	return s, nil
}

// Handler returns the HTTP handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// PayloadSize returns the bytes served for random{side}x{side}.jpg.
func PayloadSize(side int) int64 { return 2 * int64(side) * int64(side) }

func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		s.m.requests.WithLabelValues("other", "404").Inc()
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "wardprobe throughput target\n\nEndpoints: /speedtest/latency.txt, /speedtest/random{N}x{N}.jpg (N <= %d), POST /speedtest/upload.php (<= %d bytes), TCP PING on this port, /metrics\n",
		s.opts.MaxSide, s.opts.MaxUploadBytes)
}

func (s *Server) handleLatency(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.reject(w, "latency", http.StatusMethodNotAllowed, "", "use GET")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", "10")
	if r.Method == http.MethodGet {
		io.WriteString(w, "test=test\n")
	}
	s.m.requests.WithLabelValues("latency", "200").Inc()
}

// parseSide parses "random{N}x{N}.jpg".
func parseSide(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "random")
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".jpg")
	if !ok {
		return 0, false
	}
	a, b, ok := strings.Cut(rest, "x")
	if !ok || a != b || len(a) == 0 || len(a) > 6 {
		return 0, false
	}
	n, err := strconv.Atoi(a)
	if err != nil || n <= 0 || strconv.Itoa(n) != a {
		return 0, false
	}
	return n, true
}

func (s *Server) reject(w http.ResponseWriter, endpoint string, code int, reason, msg string) {
	if reason != "" {
		s.m.rejected.WithLabelValues(reason).Inc()
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "60")
	}
	s.m.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
	http.Error(w, msg, code)
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/speedtest/")
	side, valid := parseSide(name)
	if !ok || !valid {
		s.reject(w, "other", http.StatusNotFound, "", "not found")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.reject(w, "download", http.StatusMethodNotAllowed, "", "use GET")
		return
	}
	if side > s.opts.MaxSide {
		s.reject(w, "download", http.StatusRequestEntityTooLarge, RejectTooLarge, fmt.Sprintf("largest payload is random%dx%d.jpg", s.opts.MaxSide, s.opts.MaxSide))
		return
	}
	size := PayloadSize(side)
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == http.MethodHead {
		s.m.requests.WithLabelValues("download", "200").Inc()
		return
	}
	t, ok := s.startTransfer(w, r, "download")
	if !ok {
		return
	}
	defer t.finish()
	s.m.requests.WithLabelValues("download", "200").Inc()
	var off int
	for left := size; left > 0; {
		n := min(left, ioChunk, int64(len(s.payload)-off))
		var wrote int
		err := errCut
		if t.deadline(true, time.Now().Add(s.opts.StallTimeout)) {
			wrote, err = w.Write(s.payload[off : off+int(n)])
		}
		s.m.sent.Add(float64(wrote))
		t.moved.Add(int64(wrote))
		if err != nil {
			s.m.aborted.WithLabelValues("download").Inc()
			return
		}
		left -= int64(wrote)
		off = (off + wrote) % len(s.payload)
	}
}

// errCut is the error of a transfer cut off by a limit.
var errCut = errors.New("transfer cut off by a limit")

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		s.reject(w, "upload", http.StatusMethodNotAllowed, "", "use POST")
		return
	}
	if r.ContentLength > s.opts.MaxUploadBytes {
		s.reject(w, "upload", http.StatusRequestEntityTooLarge, RejectTooLarge, fmt.Sprintf("an upload may be at most %d bytes", s.opts.MaxUploadBytes))
		return
	}
	t, ok := s.startTransfer(w, r, "upload")
	if !ok {
		return
	}
	defer t.finish()
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes)
	var total int64
	for {
		var n int
		err := errCut
		if t.deadline(false, time.Now().Add(s.opts.StallTimeout)) {
			n, err = body.Read(*bp)
		}
		total += int64(n)
		s.m.received.Add(float64(n))
		t.moved.Add(int64(n))
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.reject(w, "upload", http.StatusRequestEntityTooLarge, RejectTooLarge, fmt.Sprintf("an upload may be at most %d bytes", s.opts.MaxUploadBytes))
				return
			}
			s.m.aborted.WithLabelValues("upload").Inc()
			return
		}
	}
	if !t.deadline(false, time.Time{}) {
		s.m.aborted.WithLabelValues("upload").Inc()
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "size=%d", total)
	s.m.requests.WithLabelValues("upload", "200").Inc()
}

// Info is a summary of the server's limits, for the start-up log line.
func (s *Server) Info() []any {
	o := &s.opts
	return []any{"max_tests", o.MaxTests, "max_streams", o.MaxStreams, "max_upload_bytes", o.MaxUploadBytes,
		"max_side", o.MaxSide, "min_rate_bytes_per_second", o.MinRate, "rate_window", o.RateWindow.String(),
		"max_transfer_time", o.MaxTransferTime.String(), "max_test_time", o.MaxTestTime.String(), "go", runtime.Version()}
}

// Serve serves on l until ctx ends, through exporter-toolkit so that
// webConfigFile ("" for none) gives TLS and basic auth. l is wrapped so that
// TCP PING connections are answered here and everything else (HTTP, TLS)
// goes to the HTTP server.
func (s *Server) Serve(ctx context.Context, l net.Listener, webConfigFile string) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ConnContext:       withConn,
		ErrorLog:          slog.NewLogLogger(s.opts.Log.Handler(), slog.LevelDebug),
	}
	dl := s.Demux(l)
	defer dl.Close()
	return webserve.Serve(ctx, dl, srv, webConfigFile, s.opts.Log)
}
