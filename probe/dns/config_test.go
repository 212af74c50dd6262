package dns_test

import (
	"strings"
	"testing"

	"github.com/wardprobe/wardprobe/probe/kinds"
)

// TestQueryCheckedAtLoad: bad names are config errors at their line.
func TestQueryCheckedAtLoad(t *testing.T) {
	const cfg = `targets:
  - {name: a, kind: dns, query: "epr example.org"}
  - {name: b, kind: dns, query: "epr..example.org"}
  - {name: c, kind: dns, query: "café.lab"}
  - {name: d, kind: dns, query: "x.lab", server: "[2001:db8::53]:53"}
  - {name: e, kind: dns, query: "x.lab", server: "fe80::1%wlan0"}
`
	_, err := kinds.Parse("w.yml", []byte(cfg))
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, want := range []string{`w.yml:2: targets[0].query: "epr example.org" holds ' '`, `w.yml:3: targets[1].query: "epr..example.org" has an empty label`} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "targets[2]") || strings.Contains(got, "targets[3]") || strings.Contains(got, "targets[4]") {
		t.Errorf("a good target was refused:\n%s", got)
	}
}
