package pushlab

import (
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
	loc := map[string]string{"site": site, "building": building, "floor": floor, "ward": ward, "probe": probeName}
	total, withData := 0, 0
	absent := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := promcheck.ReadDashboard(b)
		if err != nil {
			t.Fatal(err)
		}
		// The probe's location, one value each; All elsewhere (targets).
		sel := map[string]promcheck.Selection{}
		for _, v := range d.Variables {
			if v.Type != "query" {
				continue
			}
			if val, ok := loc[v.Name]; ok {
				sel[v.Name] = promcheck.Selection{Values: []string{val}}
			} else {
				sel[v.Name] = promcheck.Selection{All: true}
			}
		}
		vals, err := d.Values(sel)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, dq := range d.Queries {
			v := vals
			if dq.Repeat != "" {
				v = promcheck.Scoped(vals, dq.Repeat, loc[dq.Repeat])
			}
			q, err := promcheck.Interpolate(dq.Expr, v)
			if err != nil {
				t.Errorf("%s %s: %v", filepath.Base(f), dq.Where(), err)
				continue
			}
			total++
			n, err := s.query(t, q)
			if err != nil {
				t.Errorf("%s: %s %s: %v\n  query: %s", s.name(), filepath.Base(f), dq.Where(), err, q)
				continue
			}
			if n > 0 {
				withData++
				continue
			}
			// No data: fine only if one of its selectors selects nothing
			// pushed, or a subquery's step is longer than the probe has run
			// (its steps fall where there is no data yet).
			expr, err := parser.ParseExpr(q)
			if err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
				continue
			}
			young := false
			var missing []string
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				switch x := n.(type) {
				case *parser.SubqueryExpr:
					young = young || x.Step > time.Since(since)
				case *parser.VectorSelector:
					c, err := s.query(t, "count("+x.String()+")")
					if err != nil {
						t.Errorf("%s: %v", x, err)
					}
					if c == 0 {
						missing = append(missing, x.Name)
					}
				}
				return nil
			})
			if young {
				continue
			}
			if len(missing) == 0 {
				t.Errorf("%s: %s %s returns no data though the probe pushed every series it selects:\n  %s", s.name(), filepath.Base(f), dq.Where(), q)
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
