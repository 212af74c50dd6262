// Package webserve serves an http.Server through exporter-toolkit (so that
// --web.config.file gives TLS, client certificates and basic auth) until a
// context ends, then shuts it down gracefully: the one serve-and-shutdown
// path of `wardprobe run` and `wardprobe target`.
package webserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/wardprobe/wardprobe/internal/secret"
)

// ShutdownGrace is how long requests in flight may finish after ctx ends;
// connections still open after it are closed.
const ShutdownGrace = 5 * time.Second

// Validate checks an exporter-toolkit web config file ("" is plain HTTP).
func Validate(webConfigFile string) error {
	if webConfigFile == "" {
		return nil
	}
	// exporter-toolkit opens the file plainly: a FIFO without a writer would
	// hang the start (SIGTERM included) there.
	if _, err := secret.ReadRegular(webConfigFile, secret.MaxPEMBytes); err != nil {
		return fmt.Errorf("web config: %w", err)
	}
	if err := web.Validate(webConfigFile); err != nil {
		return fmt.Errorf("web config %s: %w", webConfigFile, err)
	}
	return nil
}

// Serve serves srv on l until ctx ends, then shuts it down: requests in
// flight get ShutdownGrace to finish. webConfigFile is an exporter-toolkit
// web config file ("" for plain HTTP).
func Serve(ctx context.Context, l net.Listener, srv *http.Server, webConfigFile string, log *slog.Logger) error {
	if err := Validate(webConfigFile); err != nil {
		return err
	}
	systemd := false
	addrs := []string{l.Addr().String()}
	flags := &web.FlagConfig{WebListenAddresses: &addrs, WebSystemdSocket: &systemd, WebConfigFile: &webConfigFile}
	errc := make(chan error, 1)
	go func() { errc <- web.Serve(l, srv, flags, log) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // cut off what is still running after the grace period
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// Listen binds addr; the returned listener's Addr is the bound address (":0" picks a port).
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return l, nil
}
