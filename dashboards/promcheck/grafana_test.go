package promcheck

import (
	"strings"
	"testing"
)

// TestRegexEscapeMatchesGrafana: the cases of Grafana's own tests
// (grafana/scenes formatRegistry.test.ts: 'test.' -> 'test\.',
// ['test.'] -> 'test\.', ['test.', 'test2'] -> '(test\.|test2)') and every
// character of the escaped class, plus names Grafana leaves alone.
func TestRegexEscapeMatchesGrafana(t *testing.T) {
	cases := []struct {
		v    Value
		want string
	}{
		{Value{Values: []string{"test."}}, `test\.`},
		{Value{Values: []string{"test."}, Multi: true}, `test\.`},
		{Value{Values: []string{"test.", "test2"}, Multi: true}, `(test\.|test2)`},
		{Value{Values: []string{`\^$*+?.()|[]{}/`}}, `\\\^\$\*\+\?\.\(\)\|\[\]\{\}\/`},
		{Value{Values: []string{`St Mary's "Hospital" & Co, Tŷ Newydd`}}, `St Mary's "Hospital" & Co, Tŷ Newydd`},
		{Value{Values: []string{"a-b_c:d=e#f<g>h`i"}}, "a-b_c:d=e#f<g>h`i"},
		{Value{All: true, AllValue: ".*", Multi: true}, ".*"},
	}
	for _, c := range cases {
		got, err := FormatRegex(c.v)
		if err != nil || got != c.want {
			t.Errorf("FormatRegex(%+v) = %q, %v; want %q", c.v, got, err, c.want)
		}
	}
	for _, bad := range []Value{{}, {All: true}} {
		if _, err := FormatRegex(bad); err == nil {
			t.Errorf("FormatRegex(%+v) accepted", bad)
		}
	}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]Value{
		"site":  {Values: []string{"St. Mary's"}},
		"ward":  {Values: []string{"A", "B (old)"}, Multi: true},
		"probe": {All: true, AllValue: ".*", Multi: true},
	}
	got, err := Interpolate("up{site=~`${site:regex}`, ward=~`${ward:regex}`, probe=~`${probe:regex}`}[$__rate_interval] [$__range]", vars)
	want := "up{site=~`St\\. Mary's`, ward=~`(A|B \\(old\\))`, probe=~`.*`}[1m] [1h]"
	if err != nil || got != want {
		t.Errorf("Interpolate = %q, %v\nwant %q", got, err, want)
	}
	for _, bad := range []string{`up{site="$site"}`, `up{site=~"${site:pipe}"}`, "up{x=~`${nosuch:regex}`}"} {
		if _, err := Interpolate(bad, vars); err == nil {
			t.Errorf("Interpolate(%s) accepted", bad)
		}
	}
}

// TestVariableQuery uses Grafana's label_values pattern: its selector group
// is greedy, so commas and parentheses inside values stay in the selector.
func TestVariableQuery(t *testing.T) {
	sel, label, ok := VariableQuery("label_values(wardprobe_probe_info{ward=~`King's Ward, Children's \\(B\\)`}, building)")
	if !ok || label != "building" || !strings.HasSuffix(sel, "\\(B\\)`}") {
		t.Errorf("got %q, %q, %v", sel, label, ok)
	}
	if _, _, ok := VariableQuery("query_result(up)"); ok {
		t.Error("query_result taken for label_values")
	}
}

func TestDataSourceEscape(t *testing.T) {
	if got := DataSourceEscape(`King's \ Ward`); got != `King\\'s \\ Ward` {
		t.Errorf("got %s", got)
	}
}
