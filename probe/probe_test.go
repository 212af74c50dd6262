package probe

import (
	"testing"
	"unicode/utf8"
)

// TestFailEscapesDetail: an error quoting bytes from the network (a
// certificate's name, a status line) reaches logs and pages as printable
// UTF-8.
func TestFailEscapesDetail(t *testing.T) {
	r := Fail("t", "http", ReasonTLS, "certificate is valid for caf\xe9.lab\r\n<b>, not epr.lab")
	if want := `certificate is valid for caf\xe9.lab\x0d\x0a<b>, not epr.lab`; r.Detail != want || !utf8.ValidString(r.Detail) {
		t.Errorf("Detail %q, want %q", r.Detail, want)
	}
}
