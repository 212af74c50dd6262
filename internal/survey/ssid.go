package survey

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EscapeSSID returns an SSID's raw bytes as text that is valid UTF-8 and
// shows every byte: each byte that is not part of a valid, printable UTF-8
// character, and the backslash itself, is written as \xNN (two lower-case
// hex digits), the way iw prints SSIDs. Valid printable UTF-8 (accents,
// apostrophes, emoji) is kept as it is. The escaping is reversible
// (UnescapeSSID), so two different SSIDs never print alike.
func EscapeSSID(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRuneInString(raw[i:])
		if (r == utf8.RuneError && size <= 1) || r == '\\' || !unicode.IsPrint(r) && r != ' ' {
			for j := range size {
				fmt.Fprintf(&b, `\x%02x`, raw[i+j])
			}
			i += max(size, 1)
			continue
		}
		b.WriteString(raw[i : i+size])
		i += size
	}
	return b.String()
}

// UnescapeSSID reverses EscapeSSID. Text without a backslash is returned as
// it is; a malformed escape is an error.
func UnescapeSSID(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) || s[i+1] != 'x' {
			return "", fmt.Errorf("bad escape at byte %d of %q (want \\xNN)", i, s)
		}
		v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape at byte %d of %q (want \\xNN)", i, s)
		}
		b.WriteByte(byte(v))
		i += 3
	}
	return b.String(), nil
}
