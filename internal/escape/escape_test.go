package escape

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte("CLINICAL"), "CLINICAL"},
		{[]byte("Café"), "Café"},
		{[]byte{'C', 'a', 'f', 0xe9}, `Caf\xe9`},
		{[]byte(`a\b`), `a\\b`},
		{[]byte("tab\there"), `tab\x09here`},
		{[]byte{0xff, 0xfe}, `\xff\xfe`},
		{[]byte(`\x41`), `\\x41`},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := Unescape(tt.want)
		if err != nil || !bytes.Equal(back, tt.in) && len(tt.in) > 0 {
			t.Errorf("Unescape(%q) = %q, %v; want %q", tt.want, back, err, tt.in)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text("Ward 7"); got != "Ward 7" {
		t.Errorf("Text kept nothing: %q", got)
	}
	if got := Text("host\xff"); got != `host\xff` || !utf8.ValidString(got) {
		t.Errorf("Text(invalid) = %q", got)
	}
}

func TestUnescapeErrors(t *testing.T) {
	for _, s := range []string{`\`, `\q`, `\x4`, `\xZZ`} {
		if _, err := Unescape(s); err == nil {
			t.Errorf("Unescape(%q) accepted", s)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Caf\xe9"))
	f.Add([]byte(`\\x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := String(b)
		if !utf8.ValidString(s) {
			t.Fatalf("String(%q) = %q is not UTF-8", b, s)
		}
		back, err := Unescape(s)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("round trip of %q: %q, %v", b, back, err)
		}
	})
}
