package pushlab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/test/lab"
)

// dashboardQueries runs every query of every checked-in dashboard, with the
// pushed probe's location for the variables, against s: each must execute,
// and each whose series the probe pushed must return data. Queries on
// series s cannot hold say so in the log: recording-rule series (vmalert's
// job beside VictoriaMetrics), ALERTS, up and scrape_* (a pushed probe is
// not scraped), and Wi-Fi series (the lab probe has no Wi-Fi).
func dashboardQueries(t *testing.T, s store, since time.Time) {
	t.Helper()
	root, err := lab.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "dashboards", "grafana", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	vars := map[string]string{"site": site, "building": building, "floor": floor, "ward": ward, "probe": probeName,
		"target": ".*", "datasource": "x"}
	total, withData := 0, 0
	absent := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var raw any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		for _, e := range exprs(raw) {
			q := promcheck.Substitute(e, vars)
			total++
			n, err := s.query(t, q)
			if err != nil {
				t.Errorf("%s: %s: %v\n  query: %s", s.name(), filepath.Base(f), err, q)
				continue
			}
			if n > 0 {
				withData++
				continue
			}
			// No data: fine only if one of its selectors selects nothing
			// pushed, or a subquery's step is longer than the probe has run
			// (its steps fall where there is no data yet).
			expr, err := promcheck.Parse(q)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
				continue
			}
			young := false
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if sq, ok := n.(*parser.SubqueryExpr); ok && sq.Step > time.Since(since) {
					young = true
				}
				return nil
			})
			if young {
				continue
			}
			var missing []string
			for _, sel := range promcheck.Selectors(expr) {
				c, err := s.query(t, "count("+sel.String()+")")
				if err != nil {
					t.Errorf("%s: %v", sel, err)
				}
				if c == 0 {
					missing = append(missing, sel.Name)
				}
			}
			if len(missing) == 0 {
				t.Errorf("%s: %s returns no data though the probe pushed every series it selects:\n  %s", s.name(), filepath.Base(f), q)
			}
			for _, m := range missing {
				absent[m] = true
			}
		}
	}
	names := make([]string, 0, len(absent))
	for n := range absent {
		names = append(names, n)
	}
	slices.Sort(names)
	t.Logf("%s: %d dashboard queries run, %d returned the pushed probe's data; the rest select series it cannot hold: %s",
		s.name(), total, withData, strings.Join(names, ", "))
	if withData < total/3 {
		t.Errorf("only %d of %d dashboard queries returned data", withData, total)
	}
}

// exprs returns every "expr" string in a dashboard's JSON.
func exprs(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, exprs(e)...)
		}
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				out = append(out, s)
				continue
			}
			out = append(out, exprs(e)...)
		}
	}
	return out
}
