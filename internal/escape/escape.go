// Package escape turns arbitrary bytes (an SSID, a host name, a reply from
// the network) into valid, printable UTF-8 text and back, the way iw prints
// SSIDs: a backslash becomes `\\`, and every byte that is not part of valid
// UTF-8, or is a control character, becomes `\xNN` (two lower-case hex
// digits). Valid printable UTF-8 is kept as it is, so "Café" stays "Café"
// while the Latin-1 bytes 43 61 66 e9 become `Caf\xe9`. The escape is
// reversible: Unescape(String(b)) == b for every b.
package escape

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns b escaped as printable UTF-8.
func String(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
			n = 1
		case r == '\\':
			sb.WriteString(`\\`)
		case unicode.IsControl(r):
			for _, c := range b[:n] {
				fmt.Fprintf(&sb, `\x%02x`, c)
			}
		default:
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// Text returns s unchanged when it is valid printable UTF-8 without a
// backslash, and escaped otherwise. Use it for every value that does not
// come from the config file before it reaches a label, a log or a page.
func Text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return s
	}
	return String([]byte(s))
}

// Unescape reverses String. It fails on a backslash that starts no escape.
func Unescape(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			out = append(out, '\\')
			i++
		case i+3 < len(s) && s[i+1] == 'x' && isHex(s[i+2]) && isHex(s[i+3]):
			out = append(out, unhex(s[i+2])<<4|unhex(s[i+3]))
			i += 3
		default:
			return nil, fmt.Errorf("%q: a backslash must start \\\\ or \\xNN", s)
		}
	}
	return out, nil
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Valid returns s unchanged when it is valid UTF-8, and escaped otherwise:
// the last guard before a label value, which client_golang refuses (with a
// panic in its Must functions) when it is not UTF-8. Unlike Text it leaves
// an already escaped value as it is.
func Valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return String([]byte(s))
}
