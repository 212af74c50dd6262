// Package logging sets up zerolog (JSON for journald by default, or a human
// console format) and bridges it to *slog.Logger for libraries that want one.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format ("json" or "console").
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || lvl == zerolog.NoLevel {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "json", "logfmt": // logfmt is accepted for Prometheus flag compatibility and logged as JSON
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: true}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// Slog returns a *slog.Logger whose records go to l.
func Slog(l zerolog.Logger) *slog.Logger {
	return slog.New(&handler{log: l})
}

type handler struct {
	log    zerolog.Logger
	attrs  []slog.Attr
	groups string
}

func zlevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	case l >= slog.LevelInfo:
		return zerolog.InfoLevel
	default:
		return zerolog.DebugLevel
	}
}

func (h *handler) Enabled(_ context.Context, l slog.Level) bool {
	return zlevel(l) >= h.log.GetLevel()
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zlevel(r.Level))
	for _, a := range h.attrs { // keys already carry their groups
		ev = ev.Interface(a.Key, a.Value.Resolve().Any())
	}
	r.Attrs(func(a slog.Attr) bool {
		ev = ev.Interface(h.groups+a.Key, a.Value.Resolve().Any())
		return true
	})
	ev.Msg(r.Message)
	return nil
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	for _, a := range attrs {
		a.Key = h.groups + a.Key
		n.attrs = append(append([]slog.Attr{}, n.attrs...), a)
	}
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	n := *h
	n.groups = h.groups + name + "."
	return &n
}
