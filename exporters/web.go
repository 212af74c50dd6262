package exporters

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/exporter-toolkit/web"
)

// Server serves /metrics, the landing page at /, /-/reload, /-/healthy and
// /-/ready through exporter-toolkit, so --web.config.file gives TLS and basic auth.
type Server struct {
	exp     *Exporter
	reload  func() error
	reg     atomic.Pointer[prometheus.Registry]
	log     *slog.Logger
	srv     *http.Server
	landing *template.Template
	// Extra collectors (e.g. of sub-systems) registered beside the exporter.
	extra []prometheus.Collector
}

// NewServer returns a Server for exp; reload is called on POST /-/reload.
func NewServer(exp *Exporter, reload func() error, log *slog.Logger, extra ...prometheus.Collector) *Server {
	s := &Server{exp: exp, reload: reload, log: log, extra: extra, landing: newLandingTemplate()}
	s.Rebuild()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(gathererFunc(func() prometheus.Gatherer { return s.reg.Load() }), promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 8,
		Timeout:             10 * time.Second,
	}))
	mux.HandleFunc("/-/reload", s.handleReload)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Healthy.\n") })
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "Ready.\n") })
	mux.HandleFunc("/", s.handleLanding)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.srv.Handler }

// Rebuild makes a fresh registry for the current config: the Go and process
// collectors are wrapped with the location labels, which may have changed.
func (s *Server) Rebuild() {
	cfg := s.exp.Config()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.exp)
	for _, c := range s.extra {
		reg.MustRegister(c)
	}
	labels := prometheus.Labels{
		"site": cfg.Location.Site, "building": cfg.Location.Building, "floor": cfg.Location.Floor,
		"ward": cfg.Location.Ward, "probe": cfg.Probe.Name,
	}
	wrapped := prometheus.WrapRegistererWith(labels, reg)
	wrapped.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.Store(reg)
}

type gathererFunc func() prometheus.Gatherer

func (f gathererFunc) Gather() ([]*dto.MetricFamily, error) { return f().Gather() }

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		http.Error(w, "use POST to reload the config", http.StatusMethodNotAllowed)
		return
	}
	if err := s.reload(); err != nil {
		http.Error(w, "reload failed, previous config kept:\n"+err.Error(), http.StatusInternalServerError)
		return
	}
	io.WriteString(w, "config reloaded\n")
}

// Listen binds addr; the returned listener's Addr is the bound address (":0" picks a port).
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return l, nil
}

// Serve serves on l until ctx ends, then shuts down gracefully. webConfig is
// an exporter-toolkit web config file ("" for plain HTTP).
func (s *Server) Serve(ctx context.Context, l net.Listener, webConfig string) error {
	if webConfig != "" {
		if err := web.Validate(webConfig); err != nil {
			return fmt.Errorf("web config %s: %w", webConfig, err)
		}
	}
	systemd := false
	addrs := []string{l.Addr().String()}
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfig}
	errc := make(chan error, 1)
	go func() { errc <- web.Serve(l, s.srv, flags, s.log) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down web server: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}
