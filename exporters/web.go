package exporters

import (
	"context"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/internal/webserve"
)

// ServerOptions configure a Server.
type ServerOptions struct {
	// Reload is called on POST /-/reload; it returns the reload's error.
	Reload func() error
	// EnableLifecycle enables POST /-/reload (off by default, as
	// Prometheus' --web.enable-lifecycle; SIGHUP always reloads).
	EnableLifecycle bool
	// Redact masks credentials in every response.
	Redact *secret.Redactor
	Log    *slog.Logger
}

// Server serves /metrics, the landing page at /, /-/healthy, /-/ready and,
// when enabled, /-/reload through exporter-toolkit, so --web.config.file
// gives TLS and basic auth.
type Server struct {
	exp        *Exporter
	opts       ServerOptions
	redact     *secret.Redactor
	log        *slog.Logger
	srv        *http.Server
	landing    *template.Template
	configPage *template.Template
}

// NewServer returns a Server for exp.
func NewServer(exp *Exporter, opts ServerOptions) *Server {
	s := &Server{exp: exp, opts: opts, redact: opts.Redact, log: opts.Log, landing: newLandingTemplate(), configPage: newConfigTemplate()}
	// Details quote replies and errors (a URL with its query, say): mask
	// them before HTML escapes them, where the page-wide redaction in render
	// can no longer recognise a credential holding a quote.
	s.landing.Funcs(template.FuncMap{"redact": s.redact.String})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(exp.Gatherer(), promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		// No gzip: its pooled writer holds ~1.3 MB of heap for good and its
		// compression was ~30% of a scrape's CPU, to save ~45 KB a scrape on
		// the management network (test/bench measures both).
		DisableCompression:  true,
		MaxRequestsInFlight: 8,
		// No Timeout: promhttp would run every scrape on a goroutine of
		// its own and buffer the whole response (http.TimeoutHandler) to
		// guard a Gather that cannot block here (memory and /proc reads);
		// the server's WriteTimeout bounds a slow client.
	}))
	mux.HandleFunc("/-/reload", s.handleReload)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Healthy.\n") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Ready.\n") })
	mux.HandleFunc("/config", s.handleConfig)
	mux.HandleFunc("/", s.handleLanding)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(opts.Log.Handler(), slog.LevelDebug),
	}
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if !s.opts.EnableLifecycle {
		http.Error(w, "lifecycle APIs are not enabled (start wardprobe with --web.enable-lifecycle, or send SIGHUP)", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "use POST to reload the config", http.StatusMethodNotAllowed)
		return
	}
	if err := s.opts.Reload(); err != nil {
		http.Error(w, s.redact.String("reload failed, previous config kept:\n"+err.Error()), http.StatusInternalServerError)
		return
	}
	io.WriteString(w, "config reloaded\n")
}

// Serve serves on l until ctx ends, then shuts down gracefully. webConfig is
// an exporter-toolkit web config file ("" for plain HTTP).
func (s *Server) Serve(ctx context.Context, l net.Listener, webConfig string) error {
	return webserve.Serve(ctx, l, s.srv, webConfig, s.log)
}
