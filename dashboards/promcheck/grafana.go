package promcheck

import (
	"fmt"
	"regexp"
	"strings"
)

// varRef is Grafana's own pattern for variable references, VARIABLE_REGEX in
// grafana/scenes packages/scenes/src/variables/constants.ts (copied there
// from grafana/grafana public/app/features/variables/utils.ts):
//
//	/\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?}/g
//
// Groups: 1 $name; 2 [[name]] and 3 its format; 4 ${name}, 5 its field path
// and 6 its format. JavaScript's \w is ASCII [A-Za-z0-9_], as is RE2's, and
// both take the first alternative that matches at a position.
var varRef = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// ref is one variable reference found in a string.
type ref struct {
	name, format string
}

func parseRef(m []string) ref {
	switch {
	case m[1] != "":
		return ref{name: m[1]}
	case m[2] != "":
		return ref{name: m[2], format: m[3]}
	default:
		return ref{name: m[4], format: m[6]}
	}
}

// VarRefs returns the names of the Grafana variables referenced in s, in
// order, with repeats. Built-in names start with "__" (__range, __data, …).
func VarRefs(s string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		out = append(out, parseRef(m).name)
	}
	return out
}

// VarFormats returns, for every variable reference in s, its name and the
// format it asks for ("" when none), in order.
func VarFormats(s string) [][2]string {
	var out [][2]string
	for _, m := range varRef.FindAllStringSubmatch(s, -1) {
		r := parseRef(m)
		out = append(out, [2]string{r.name, r.format})
	}
	return out
}

// IsBuiltin reports whether a variable name is one of Grafana's own.
func IsBuiltin(name string) bool { return strings.HasPrefix(name, "__") }

// Builtins are the values Interpolate gives Grafana's built-in variables:
// a one-hour dashboard range and a one-minute rate interval.
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

// regexMeta is the character class Grafana escapes in the "regex" format:
// escapeRegex in grafana/grafana packages/grafana-data/src/text/string.ts
//
//	value.replace(/[\\^$*+?.()|[\]{}\/]/g, '\\$&')
//
// used by the scenes interpolator (Grafana 11.3+ dashboards,
// grafana/scenes packages/scenes/src/variables/interpolation/formatRegistry.ts,
// VariableFormatID.Regex) and, with the identical class, kbn.regexEscape in
// public/app/core/utils/kbn.ts used by the older templateSrv
// (public/app/features/templating/formatRegistry.ts, FormatRegistryID.regex).
var regexMeta = regexp.MustCompile(`[\\^$*+?.()|\[\]{}/]`)

// RegexEscape escapes value as Grafana's "regex" variable format does: a
// backslash before each of \ ^ $ * + ? . ( ) | [ ] { } /. Nothing else is
// touched: quotes, backticks, commas, & and non-ASCII pass unchanged.
func RegexEscape(value string) string {
	return regexMeta.ReplaceAllString(value, `\$0`)
}

// Value is what a dashboard variable holds when Grafana interpolates it.
type Value struct {
	// Values are the selected values (one for a single-valued variable).
	Values []string
	// Multi is true for a variable with multi-value or "All" enabled:
	// Grafana then holds its value as an array, even of one element.
	Multi bool
	// All is true when "All" is selected; AllValue, the variable's custom
	// all value, is then substituted as it is, unformatted.
	All      bool
	AllValue string
}

// FormatRegex renders v the way Grafana's "regex" format does
// (formatRegistry.ts, VariableFormatID.Regex): one value escaped; several
// escaped and joined as (a|b). A custom all value is not formatted at all
// (scenes CustomAllValue.formatter returns it unchanged for every format but
// text, percentencode and queryparam; the older templateSrv.replace likewise
// "skip[s] formatting of custom all values").
func FormatRegex(v Value) (string, error) {
	if v.All {
		if v.AllValue == "" {
			return "", fmt.Errorf(`"All" selected but the variable has no custom all value`)
		}
		return v.AllValue, nil
	}
	switch len(v.Values) {
	case 0:
		return "", fmt.Errorf("no value selected")
	case 1:
		return RegexEscape(v.Values[0]), nil
	}
	esc := make([]string, len(v.Values))
	for i, s := range v.Values {
		esc[i] = RegexEscape(s)
	}
	return "(" + strings.Join(esc, "|") + ")", nil
}

// Interpolate replaces the variable references in expr as Grafana does
// before it sends a query: built-ins by Builtins, dashboard variables by
// vars in the format each reference asks for. Only the "regex" format is
// modelled; a dashboard variable without an explicit format would get the
// Prometheus data source's own escaping (interpolateQueryExpr), which does
// not survive quotes in values (Grafana issue 48138), so it is an error here,
// as is an unknown variable.
func Interpolate(expr string, vars map[string]Value) (string, error) {
	b := Builtins()
	var errs []string
	out := varRef.ReplaceAllStringFunc(expr, func(match string) string {
		r := parseRef(varRef.FindStringSubmatch(match))
		if v, ok := b[r.name]; ok && r.format == "" {
			return v
		}
		v, ok := vars[r.name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: unknown variable", match))
			return match
		}
		if r.format != "regex" {
			errs = append(errs, fmt.Sprintf("%s: format %q is not modelled (use ${%s:regex})", match, r.format, r.name))
			return match
		}
		s, err := FormatRegex(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", match, err))
			return match
		}
		return s
	})
	if len(errs) > 0 {
		return out, fmt.Errorf("interpolating %q: %s", expr, strings.Join(errs, "; "))
	}
	return out, nil
}

// DataSourceEscape is what the Prometheus data source does to a
// single-valued variable referenced without a format ($var), classic
// behaviour (without the prometheusSpecialCharsInLabelValues feature toggle
// of Grafana 11.5+): prometheusRegularEscape in grafana/grafana
// packages/grafana-prometheus/src/escaping.ts,
//
//	value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'")
//
// a backslash doubled and ' turned into \\' (backslash, backslash, quote),
// which a double-quoted PromQL string reads as \' and so never matches the
// label's ' (Grafana issue 48138); a " is left to end the string. The
// dashboards no longer use that form; tests use this to show what it did.
func DataSourceEscape(value string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\\'`).Replace(value)
}

// labelValues is Grafana's pattern for a Prometheus variable query
// label_values(selector, label), from PrometheusMetricFindQuery.process in
// grafana/grafana packages/grafana-prometheus/src/metric_find_query.ts:
//
//	/^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$/
//
// The selector group is greedy, so commas inside label values are safe.
var labelValues = regexp.MustCompile(`^label_values\((?:(.+),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\)\s*$`)

// VariableQuery splits a label_values(selector, label) query as Grafana
// does (after interpolation, for the values a variable offers); ok is false
// for any other form. Grafana then asks /api/v1/label/<label>/values with
// match[]=<selector>.
func VariableQuery(q string) (selector, label string, ok bool) {
	m := labelValues.FindStringSubmatch(q)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// varMatcher is the one form a dashboard variable may take in a query:
// label=~`${var:regex}` (see package dashboards).
var varMatcher = regexp.MustCompile("[A-Za-z_][A-Za-z0-9_]*=~`\\$\\{\\w+:regex\\}`")

// CheckMatchers reports a dashboard variable used in expr in any form but
// label=~`${var:regex}`. Built-in variables ($__range, …) are free.
func CheckMatchers(expr string) error {
	rest := varMatcher.ReplaceAllString(expr, "")
	var bad []string
	for _, m := range varRef.FindAllString(rest, -1) {
		if r := parseRef(varRef.FindStringSubmatch(m)); !IsBuiltin(r.name) {
			bad = append(bad, m)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("variables %s not matched as label=~`${var:regex}`", strings.Join(bad, ", "))
	}
	return nil
}
