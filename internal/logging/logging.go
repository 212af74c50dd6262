// Package logging sets up zerolog (logfmt by default, as Prometheus exporters
// log; JSON; or a console format for people) and bridges it to
// *slog.Logger for libraries that want one.
package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-logfmt/logfmt"
	"github.com/rs/zerolog"
)

// TimeFormat is the timestamp of every record: UTC with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format: "logfmt" (the default of Prometheus exporters:
// ts=… level=… msg=… key=value), "json" (for journald and log shippers) or
// "console" (for a person at a terminal). Every record has a timestamp with
// milliseconds; logfmt and console lines leave out empty fields.
func New(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || lvl == zerolog.NoLevel {
		return zerolog.Nop(), fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "json":
	case "logfmt":
		w = &kvWriter{w: w}
	case "console":
		w = &kvWriter{w: w, console: true}
	default:
		return zerolog.Nop(), fmt.Errorf("log format %q: want logfmt, json or console", format)
	}
	return zerolog.New(w).Level(lvl).Hook(timestamp{}), nil
}

// timestamp adds the time with milliseconds (zerolog's own timestamp has
// seconds unless its package-level format is changed).
type timestamp struct{}

func (timestamp) Run(e *zerolog.Event, _ zerolog.Level, _ string) {
	e.Str("time", time.Now().UTC().Format(TimeFormat))
}

// kvWriter turns zerolog's JSON records into logfmt or console lines, the
// fields in their order, empty ones left out.
type kvWriter struct {
	w       io.Writer
	console bool
}

// field is one key and value of a record; value is JSON for objects and arrays.
type field struct{ key, value string }

func (k *kvWriter) Write(p []byte) (int, error) {
	fields, err := parseRecord(p)
	if err != nil {
		_, werr := k.w.Write(p) // not a record we understand: keep it as it is
		return len(p), werr
	}
	var ts, level, msg string
	rest := fields[:0]
	for _, f := range fields {
		switch f.key {
		case "time":
			ts = f.value
		case "level":
			level = f.value
		case "message":
			msg = f.value
		default:
			if f.value != "" {
				rest = append(rest, f)
			}
		}
	}
	var buf bytes.Buffer
	if k.console {
		fmt.Fprintf(&buf, "%s %-5s %s", ts, strings.ToUpper(level), msg)
		for _, f := range rest {
			v := f.value
			if strings.ContainsAny(v, " \t\"=") {
				v = strconv.Quote(v)
			}
			fmt.Fprintf(&buf, " %s=%s", f.key, v)
		}
		buf.WriteByte('\n')
	} else {
		enc := logfmt.NewEncoder(&buf)
		_ = enc.EncodeKeyvals("ts", ts, "level", level, "msg", msg)
		for _, f := range rest {
			_ = enc.EncodeKeyval(f.key, f.value)
		}
		_ = enc.EndRecord()
	}
	if _, err := k.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// parseRecord reads a JSON object's fields in order.
func parseRecord(p []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		v := string(raw)
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			v = s
		} else if v == "null" {
			v = ""
		}
		out = append(out, field{key, v})
	}
	return out, nil
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
