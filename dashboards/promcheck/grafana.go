package promcheck

import (
	"regexp"
	"strings"
)

// varRef matches Grafana variable references: $name, ${name}, ${name:format}
// and the deprecated [[name]].
var varRef = regexp.MustCompile(`\$\{([^}:]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]`)

// VarRefs returns the names of the Grafana variables referenced in s, in
// order, with repeats. Built-in names start with "__" (__range,
// __data.fields[0], …).
func VarRefs(s string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

// IsBuiltin reports whether a variable name is one of Grafana's own.
func IsBuiltin(name string) bool { return strings.HasPrefix(name, "__") }

// Builtins are the values Substitute gives Grafana's built-in variables.
func Builtins() map[string]string {
	return map[string]string{
		"__range":         "1h",
		"__range_s":       "3600",
		"__range_ms":      "3600000",
		"__rate_interval": "1m",
		"__interval":      "1m",
		"__interval_ms":   "60000",
	}
}

// Substitute replaces every variable reference in expr by its value in
// values (or Builtins), and any other by "x", as Grafana would before
// sending the query.
func Substitute(expr string, values map[string]string) string {
	b := Builtins()
	return varRef.ReplaceAllStringFunc(expr, func(ref string) string {
		names := VarRefs(ref)
		if len(names) != 1 {
			return "x"
		}
		if v, ok := values[names[0]]; ok {
			return v
		}
		if v, ok := b[names[0]]; ok {
			return v
		}
		return "x"
	})
}

// labelValues matches a Grafana Prometheus variable query
// label_values(selector, label).
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$`)

// VariableQuery splits a label_values(selector, label) query; ok is false
// for any other form.
func VariableQuery(q string) (selector, label string, ok bool) {
	m := labelValues.FindStringSubmatch(q)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}
