package logging

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestNewLevelsAndFormats(t *testing.T) {
	tests := []struct {
		level, format string
		ok            bool
	}{
		{"info", "json", true}, {"debug", "console", true}, {"WARN", "logfmt", true},
		{"loud", "json", false}, {"info", "xml", false}, {"", "json", false},
	}
	for _, tt := range tests {
		_, err := New(&bytes.Buffer{}, tt.level, tt.format)
		if (err == nil) != tt.ok {
			t.Errorf("New(%q, %q): err %v, want ok=%v", tt.level, tt.format, err, tt.ok)
		}
	}
}

func TestSlogBridge(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	s := Slog(l).With("component", "web").WithGroup("tls")
	s.Debug("hidden")
	s.Warn("listening", "address", ":9810")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line (debug filtered), got %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["level"] != "warn" || m["message"] != "listening" || m["component"] != "web" || m["tls.address"] != ":9810" {
		t.Errorf("bridged record: %v", m)
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		format string
		want   *regexp.Regexp
	}{
		{"logfmt", regexp.MustCompile(`^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=warn msg="target down" target=epr reason=timeout detail="no reply in 2s"\n$`)},
		{"console", regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN  target down target=epr reason=timeout detail="no reply in 2s"\n$`)},
		{"json", regexp.MustCompile(`^\{"level":"warn","target":"epr","reason":"timeout","detail":"no reply in 2s","ssid":"","time":"[0-9T:.Z-]+","message":"target down"\}\n$`)},
	} {
		var buf bytes.Buffer
		l, err := New(&buf, "info", tc.format)
		if err != nil {
			t.Fatal(err)
		}
		l.Warn().Str("target", "epr").Str("reason", "timeout").Str("detail", "no reply in 2s").Str("ssid", "").Msg("target down")
		if !tc.want.MatchString(buf.String()) {
			t.Errorf("%s: %q", tc.format, buf.String())
		}
	}
}
