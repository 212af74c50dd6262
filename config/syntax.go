package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// syntaxHint looks for the common causes of a YAML syntax error that
// yaml.v3 reports vaguely or at the start of the enclosing block rather than
// where the mistake is: a tab, a quote inside a quoted value, a colon inside
// a plain value, an indentation that matches no enclosing key. It returns
// the line of the first it finds, the message in plain words, and ok.
func syntaxHint(data []byte) (line int, msg string, ok bool) {
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if l = stripComment(l); l == "" {
			continue
		}
		if c := strings.IndexByte(l, '\t'); c >= 0 && strings.TrimSpace(l[:c]) == "" {
			return i + 1, fmt.Sprintf("a tab character at column %d: YAML is indented with spaces only; replace the tab with spaces", c+1), true
		}
		if v, ok := quotedValue(l); ok {
			return i + 1, v, true
		}
		if m := colonInValue.FindStringSubmatch(l); m != nil {
			return i + 1, fmt.Sprintf("the value %q holds a colon followed by a space, which YAML reads as another key: put the value in quotes", strings.TrimSpace(m[1])), true
		}
	}
	if line, msg, ok := indentation(lines); ok {
		return line, msg, true
	}
	return 0, "", false
}

// colonInValue matches "key: value: more" with an unquoted value.
var colonInValue = regexp.MustCompile(`^\s*(?:-\s+)?[A-Za-z_][\w.-]*:\s+([^'"\[{\s][^#]*?:\s.*)$`)

// stripComment returns l without a trailing comment, outside quotes, and
// without trailing spaces ("" for a blank or comment line).
func stripComment(l string) string {
	var quote byte
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			if i == 0 || strings.ContainsRune(" :-[{,", rune(l[i-1])) {
				quote = c
			}
		case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return strings.TrimRight(l[:i], " \t")
		}
	}
	return strings.TrimRight(l, " \t")
}

// quotedValue finds a "key: 'value'" whose quoted value ends early because
// it holds its own quote character: 'St Mary's Hospital'.
func quotedValue(l string) (string, bool) {
	i := strings.Index(l, ": ")
	if i < 0 {
		return "", false
	}
	v := strings.TrimSpace(l[i+2:])
	if len(v) < 2 || (v[0] != '\'' && v[0] != '"') {
		return "", false
	}
	q := v[0]
	end := -1
	for j := 1; j < len(v); j++ {
		if v[j] == q {
			if q == '\'' && j+1 < len(v) && v[j+1] == '\'' { // '' is an escaped quote
				j++
				continue
			}
			if q == '"' && v[j-1] == '\\' {
				continue
			}
			end = j
			break
		}
	}
	if end < 0 || end == len(v)-1 || strings.ContainsRune(",]}", rune(v[end+1])) {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if q == '\'' {
		return fmt.Sprintf("the value %s ends at its second quote, but more follows: a quote inside single quotes is written twice ('%s'), "+
			"or put the value in double quotes (\"%s\")", v, strings.ReplaceAll(inner, "'", "''"), inner), true
	}
	return fmt.Sprintf("the value %s ends at its second quote, but more follows: write a double quote inside double quotes as \\\", "+
		"or put the value in single quotes ('%s')", v, inner), true
}

// indentation finds the first line indented to a level that no enclosing
// key or list item opened.
func indentation(lines []string) (int, string, bool) {
	levels := []int{0} // indentation of the enclosing blocks, innermost last
	opens := false     // the previous line opens a block (ends with ':')
	itemAt := -1       // column of the content of the previous line's list item
	flow := 0          // depth of [ and { open across lines
	scalar := -1       // indentation of a block scalar's key (| or >), -1 outside one
	for i, raw := range lines {
		l := stripComment(raw)
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "---") {
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " "))
		if scalar >= 0 && ind > scalar {
			continue // text of a block scalar
		}
		scalar = -1
		if flow > 0 {
			flow += strings.Count(l, "[") + strings.Count(l, "{") - strings.Count(l, "]") - strings.Count(l, "}")
			continue // inside a flow collection, indentation is free
		}
		flow = max(strings.Count(l, "[")+strings.Count(l, "{")-strings.Count(l, "]")-strings.Count(l, "}"), 0)
		if t := strings.TrimRight(l, " "); strings.HasSuffix(t, "|") || strings.HasSuffix(t, ">") ||
			strings.HasSuffix(t, "|-") || strings.HasSuffix(t, ">-") {
			scalar = ind
		}
		top := levels[len(levels)-1]
		switch {
		case ind > top && (opens || ind == itemAt):
			levels = append(levels, ind)
		case ind > top:
			return i + 1, fmt.Sprintf("this line is indented by %d spaces, more than the line above, which opens no block: "+
				"indent it like its neighbours (%d spaces)", ind, top), true
		default:
			around := slices.Clone(levels)
			for len(levels) > 1 && levels[len(levels)-1] > ind {
				levels = levels[:len(levels)-1]
			}
			if levels[len(levels)-1] != ind {
				var at []string
				for j := len(around) - 1; j >= 0 && len(at) < 2; j-- {
					at = append(at, fmt.Sprint(around[j]))
				}
				return i + 1, fmt.Sprintf("this line is indented by %d spaces, which lines up with no enclosing key "+
					"(the keys around it are at %s spaces): keys of one mapping must line up", ind, strings.Join(at, " or ")), true
			}
		}
		body := strings.TrimLeft(l, " ")
		itemAt = -1
		if strings.HasPrefix(body, "- ") {
			itemAt = ind + 2 + len(body[2:]) - len(strings.TrimLeft(body[2:], " "))
			if !slices.Contains(levels, itemAt) {
				levels = append(levels, itemAt)
			}
		}
		opens = strings.HasSuffix(body, ":")
	}
	return 0, "", false
}

// commonMistakes maps keys people write by habit to the key wardprobe uses.
func commonMistakes() map[string]string {
	return map[string]string{
		"iface": "interface", "ifname": "interface", "device": "interface", "dev": "interface",
		"ssid": "ssids", "type": "kind", "probe": "kind", "host": "address", "hostname": "address",
		"ip": "address", "addr": "address", "target": "address", "port": "address",
		"nameserver": "server", "resolver": "server", "dns_server": "server", "name": "query",
		"uri": "url", "endpoint": "url", "expected_status": "expect_status", "status": "expect_status",
		"insecure": "insecure_skip_verify", "verify": "insecure_skip_verify", "cafile": "ca_file",
		"size": "packet_size", "period": "interval", "every": "interval", "frequency": "interval",
		"room": "spot", "bay": "spot", "hospital": "site", "level": "floor", "standard_name": "standard",
		// Credentials are only ever read from files.
		"psk": "psk_file", "passphrase": "psk_file", "password": "password_file", "ca_cert": "ca_file",
		"client_cert": "client_cert_file", "client_key": "client_key_file", "private_key": "client_key_file",
	}
}
