package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/canvas"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
)

// Paths of the files the dashboards are checked against.
const (
	goldenMetrics  = "../exporters/testdata/metrics.golden"
	recordingRules = "../deploy/prometheus/recording-rules.yml"
)

// checkedIn reads the checked-in dashboards: file name -> JSON.
func checkedIn(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(JSONDir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no dashboards in %s (%v): run make dashboards", JSONDir, err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func inventory(t *testing.T) Inventory {
	t.Helper()
	return loadInventory(t, InventoryFile)
}

// exampleInventory is the example floor-plan inventory, with floors.
func exampleInventory(t *testing.T) Inventory {
	t.Helper()
	inv := loadInventory(t, "floorplans.example.yml")
	if len(inv.Floors) == 0 {
		t.Fatal("the example inventory has no floors")
	}
	return inv
}

func loadInventory(t *testing.T, path string) Inventory {
	t.Helper()
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestCheckedInJSONIsCurrent(t *testing.T) {
	want, err := Render(inventory(t))
	if err != nil {
		t.Fatal(err)
	}
	got := checkedIn(t)
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s/%s is missing: run make dashboards", JSONDir, name)
		case !bytes.Equal(g, w):
			t.Errorf("%s/%s is stale: run make dashboards and commit the result", JSONDir, name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s/%s is not generated any more: run make dashboards", JSONDir, name)
		}
	}
}

// strict decodes b with the SDK's strict schema (unknown or mistyped
// fields are errors, panel options and field config checked per panel type)
// and validates it.
func strict(b []byte) (dashboard.Dashboard, error) {
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := d.UnmarshalJSONStrict(b); err != nil {
		return d, fmt.Errorf("strict schema: %w", err)
	}
	if err := d.Validate(); err != nil {
		return d, fmt.Errorf("validation: %w", err)
	}
	return d, nil
}

func TestDashboardsPassStrictSchema(t *testing.T) {
	for name, b := range checkedIn(t) {
		t.Run(name, func(t *testing.T) {
			d, err := strict(b)
			if err != nil {
				t.Fatal(err)
			}
			if d.Uid == nil || !strings.HasPrefix(*d.Uid, "wardprobe-") {
				t.Errorf("uid %v: want wardprobe-…", d.Uid)
			}
		})
	}
}

// TestStrictSchemaRejectsMistakes shows the schema check can fail.
func TestStrictSchemaRejectsMistakes(t *testing.T) {
	b := checkedIn(t)["ward-detail.json"]
	cases := []struct{ name, old, new string }{
		{"unknown dashboard field", `"editable": true`, `"editable": true, "editble": true`},
		{"unknown panel option", `"showValue": "never"`, `"showValue": "never", "showValues": "never"`},
		{"wrong type", `"refresh": "1m"`, `"refresh": 60`},
		{"unknown query field", `"legendFormat": "{{probe}}"`, `"legendFormat": "{{probe}}", "legend": "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(b, []byte(c.old)) {
				t.Fatalf("fixture lost %q", c.old)
			}
			bad := bytes.Replace(b, []byte(c.old), []byte(c.new), 1)
			if _, err := strict(bad); err == nil {
				t.Errorf("accepted a dashboard with %s", c.name)
			}
		})
	}
}

// panelInfo is what the checks need of a panel, read from the JSON.
type panelInfo struct {
	Type    string      `json:"type"`
	Title   string      `json:"title"`
	Repeat  string      `json:"repeat"`
	Panels  []panelInfo `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

type boardInfo struct {
	Uid    string      `json:"uid"`
	Panels []panelInfo `json:"panels"`
	promcheck.Dashboard
}

func parseBoard(t *testing.T, b []byte) boardInfo {
	t.Helper()
	var d boardInfo
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	pd, err := promcheck.ReadDashboard(b)
	if err != nil {
		t.Fatal(err)
	}
	d.Dashboard = pd
	return d
}

// flatPanels returns every panel, including those inside rows.
func (d boardInfo) flatPanels() []panelInfo {
	var out []panelInfo
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

// expr is one PromQL expression of a dashboard and where it is.
type expr struct{ where, expr string }

// exprs returns every PromQL expression of a dashboard, uninterpolated:
// panel queries and label_values() variable queries.
func (d boardInfo) exprs() []expr {
	var out []expr
	for _, q := range d.Queries {
		out = append(out, expr{q.Where(), q.Expr})
	}
	for _, v := range d.Variables {
		if v.Type == "query" {
			out = append(out, expr{"variable " + v.Name, v.Query})
		}
	}
	return out
}

// Names full of what NHS names have (apostrophes, commas, &, non-ASCII) and
// every character Grafana's regex format escapes; only a backquote, which a
// PromQL raw string cannot hold, is left out.
const (
	oddSite     = `St Mary's "Hospital" & Co, Tŷ Newydd`
	oddBuilding = `Block B (old) [east] {2}`
	oddFloor    = `1/2 ^ $`
	oddWard     = `King's Ward, Children's \ a.b*c+d?e|f`
	oddProbe    = `stmarys-kings-1`
)

func oddValue(name string) string {
	switch name {
	case "site":
		return oddSite
	case "building":
		return oddBuilding
	case "floor":
		return oddFloor
	case "ward":
		return oddWard
	case "probe":
		return oddProbe
	}
	return "gateway"
}

// selections are the variable choices every query is checked with: one
// value in each; All where a variable has it; two values in each
// multi-valued variable.
func selections(d promcheck.Dashboard) map[string]map[string]promcheck.Selection {
	one, all, two := map[string]promcheck.Selection{}, map[string]promcheck.Selection{}, map[string]promcheck.Selection{}
	for _, v := range d.Variables {
		if v.Type != "query" {
			continue
		}
		s := promcheck.Selection{Values: []string{oddValue(v.Name)}}
		one[v.Name], all[v.Name], two[v.Name] = s, s, s
		if v.IncludeAll {
			all[v.Name] = promcheck.Selection{All: true}
		}
		if v.Multi {
			two[v.Name] = promcheck.Selection{Values: []string{oddValue(v.Name), "Ward 7 (east)"}}
		}
	}
	return map[string]map[string]promcheck.Selection{"one value": one, "All": all, "two values": two}
}

// interpolated returns every PromQL expression of d as Grafana sends it for
// the selections sel: panel queries (a repeated row's variable scoped to
// one value) and the selectors of the label_values() variable queries.
func interpolated(t *testing.T, d promcheck.Dashboard, sel map[string]promcheck.Selection) []expr {
	t.Helper()
	vals, err := d.Values(sel)
	if err != nil {
		t.Fatal(err)
	}
	var out []expr
	for _, q := range d.Queries {
		v := vals
		if q.Repeat != "" {
			// A repeated row is drawn for each value of its variable
			// (every option when All is selected).
			v = promcheck.Scoped(vals, q.Repeat, oddValue(q.Repeat))
		}
		e, err := promcheck.Interpolate(q.Expr, v)
		if err != nil {
			t.Errorf("%s: %v", q.Where(), err)
			continue
		}
		out = append(out, expr{q.Where(), e})
	}
	for _, v := range d.Variables {
		if v.Type != "query" {
			continue
		}
		q, err := promcheck.Interpolate(v.Query, vals)
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		sel, _, ok := promcheck.VariableQuery(q)
		if !ok {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q)
			continue
		}
		out = append(out, expr{"variable " + v.Name, sel})
	}
	return out
}

// known is every series the dashboards may use: the exporter's (golden
// /metrics), the recording rules' outputs and Prometheus's own.
func known(t *testing.T) *promcheck.Known {
	t.Helper()
	k := promcheck.NewKnown()
	if err := k.LoadExposition(goldenMetrics); err != nil {
		t.Fatal(err)
	}
	k.AddDocumented()
	rules, err := promcheck.LoadRules(recordingRules)
	if err != nil {
		t.Fatal(err)
	}
	k.AddRecordedFrom(recordingRules, rules)
	k.AddPrometheus()
	return k
}

// TestDashboardPromQLParsesAndUsesRealMetrics interpolates every query as
// Grafana would for odd location names (one value, All, two values) and
// checks it parses with Prometheus's parser and uses only real metrics,
// labels and values.
func TestDashboardPromQLParsesAndUsesRealMetrics(t *testing.T) {
	k := known(t)
	for name, b := range checkedIn(t) {
		t.Run(name, func(t *testing.T) {
			d := parseBoard(t, b)
			if len(d.Queries) == 0 {
				t.Fatal("no queries")
			}
			for scenario, sel := range selections(d.Dashboard) {
				for _, e := range interpolated(t, d.Dashboard, sel) {
					if strings.TrimSpace(e.expr) == "" {
						t.Errorf("%s: empty query", e.where)
						continue
					}
					if err := promcheck.Join(e.where, k.Check(e.expr)); err != nil {
						t.Errorf("%s: %v\n  query: %s", scenario, err, e.expr)
					}
				}
			}
		})
	}
}

// TestMetricCheckCatchesMistakes shows the metric check can fail.
func TestMetricCheckCatchesMistakes(t *testing.T) {
	k := known(t)
	for _, e := range []string{
		`wardprobe_target_upp{site="x"}`,                                       // unknown metric
		`wardprobe_target_up{sight="x"}`,                                       // unknown label
		`wardprobe_target_up{kind="https"}`,                                    // value never exported
		`rate(wardprobe_icmp_packets_lost_total{target="x"}[`,                  // does not parse
		`wardprobe_icmp_rtt_seconds{target="x"}`,                               // histogram without suffix
		`wardprobe_wifi_connect_tests_total{result="ok"}`,                      // value never exported
		`wardprobe_wifi_connect_duration_seconds_bucket{phase=~"total|setup"}`, // setup names failures only
	} {
		if errs := k.Check(e); len(errs) == 0 {
			t.Errorf("%s: no problem found", e)
		}
	}
	if errs := k.Check(`sum by (target) (rate(wardprobe_icmp_rtt_seconds_bucket{kind="icmp"}[5m]))`); len(errs) == 0 {
		t.Errorf("kind on an icmp histogram accepted: it has no kind label")
	}
}

func TestEveryVariableUsedIsDefined(t *testing.T) {
	for name, b := range checkedIn(t) {
		t.Run(name, func(t *testing.T) {
			d := parseBoard(t, b)
			defined := map[string]int{}
			multi := map[string]bool{}
			for i, v := range d.Variables {
				defined[v.Name] = i
				multi[v.Name] = v.Multi || v.IncludeAll
			}
			// Every string anywhere in the dashboard.
			var raw any
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			walkStrings(raw, "", func(path, s string) {
				for _, ref := range promcheck.VarRefs(s) {
					if promcheck.IsBuiltin(ref) {
						continue
					}
					if _, ok := defined[ref]; !ok {
						t.Errorf("%s uses $%s, which is not defined", path, ref)
					}
				}
			})
			// A variable's query may only use the variables before it.
			for i, v := range d.Variables {
				for _, ref := range promcheck.VarRefs(v.Query) {
					if j, ok := defined[ref]; ok && j >= i {
						t.Errorf("variable %s uses $%s, defined after it", v.Name, ref)
					}
				}
			}
			// Matchers: every variable in a query is matched as
			// label=~`${var:regex}` (see the package comment).
			for _, e := range d.exprs() {
				if err := promcheck.CheckMatchers(e.expr); err != nil {
					t.Errorf("%s: %v", e.where, err)
				}
			}
			// Repeats need a multi-valued variable.
			for _, p := range d.flatPanels() {
				if p.Repeat != "" && !multi[p.Repeat] {
					t.Errorf("panel %q repeats over $%s, which is not multi-valued", p.Title, p.Repeat)
				}
			}
		})
	}
}

// TestVariableCheckCatchesMistakes shows the variable checks can fail.
func TestVariableCheckCatchesMistakes(t *testing.T) {
	refs := promcheck.VarRefs(`up{site=~"$site", ward="${ward:regex}"} [[floor]] ${__range} $__rate_interval`)
	want := []string{"site", "ward", "floor", "__range", "__rate_interval"}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("VarRefs = %v, want %v", refs, want)
	}
	for _, bad := range []string{
		`up{site="$site"}`,                // Grafana issue 48138: ' mangled
		`up{site=~"$site"}`,               // the data source's escaping: " unescaped
		`up{site=~"${site:regex}"}`,       // \. is no PromQL escape; " ends the string
		"up{site=`${site:regex}`}",        // = does not read the regex
		"up{site=~`${site}`}",             // no format
		"label_values(up{x=~`$site`}, y)", // no format
	} {
		if err := promcheck.CheckMatchers(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := promcheck.CheckMatchers("rate(up{site=~`${site:regex}`, probe=~`${probe:regex}`}[$__rate_interval])"); err != nil {
		t.Error(err)
	}
}

func walkStrings(v any, path string, f func(path, s string)) {
	switch x := v.(type) {
	case string:
		f(path, x)
	case []any:
		for i, e := range x {
			walkStrings(e, fmt.Sprintf("%s[%d]", path, i), f)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			walkStrings(x[k], path+"."+k, f)
		}
	}
}

func TestLinksPointAtWardprobeDashboards(t *testing.T) {
	uids := map[string]bool{}
	files := checkedIn(t)
	for _, b := range files {
		uids[parseBoard(t, b).Uid] = true
	}
	link := regexp.MustCompile(`^/d/([a-z-]+)/`)
	for name, b := range files {
		var raw any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		n := 0
		walkStrings(raw, "", func(path, s string) {
			if !strings.HasSuffix(path, ".url") {
				return
			}
			n++
			m := link.FindStringSubmatch(s)
			if m == nil || !uids[m[1]] {
				t.Errorf("%s %s: link %q does not open a wardprobe dashboard", name, path, s)
			}
		})
		if name != "ward-detail.json" && n == 0 {
			t.Errorf("%s has no links to the ward", name)
		}
	}
}

// TestFloorPlanPlacesEveryProbe renders the Floor plan dashboard for the
// example inventory: a Canvas panel per floor, each probe's marker at its x,y.
func TestFloorPlanPlacesEveryProbe(t *testing.T) {
	inv := exampleInventory(t)
	files, err := Render(inv)
	if err != nil {
		t.Fatal(err)
	}
	d, err := strict(files["floor-plan.json"])
	if err != nil {
		t.Fatal(err)
	}
	canvases := map[string]canvas.Options{}
	for _, p := range d.Panels {
		if p.RowPanel == nil {
			continue
		}
		for _, q := range p.RowPanel.Panels {
			if q.Type == "canvas" {
				canvases[*p.RowPanel.Title] = *q.Options.(*canvas.Options)
			}
		}
	}
	if len(canvases) != len(inv.Floors) {
		t.Fatalf("%d canvas panels for %d floors", len(canvases), len(inv.Floors))
	}
	for _, f := range inv.Floors {
		opts, ok := canvases[f.Title()]
		if !ok {
			t.Errorf("no canvas for %s", f.Title())
			continue
		}
		els := map[string]canvas.CanvasElementOptions{}
		for _, e := range opts.Root.Elements {
			els[e.Name] = e
		}
		img := els["floor plan"]
		if img.Background == nil || img.Background.Image == nil || *img.Background.Image.Fixed != f.Image {
			t.Errorf("%s: floor plan image not %q", f.Title(), f.Image)
		}
		for _, p := range f.Probes {
			e, ok := els[p.Name]
			if !ok {
				t.Errorf("%s: no marker for %s", f.Title(), p.Name)
				continue
			}
			pl := e.Placement
			cx := (*pl.Left + (100 - *pl.Right)) / 2 / 100
			cy := (*pl.Top + (100 - *pl.Bottom)) / 2 / 100
			if math.Abs(cx-p.X) > 0.001 || math.Abs(cy-p.Y) > 0.001 {
				t.Errorf("%s: marker %s centred at %.3f,%.3f, want %.3f,%.3f", f.Title(), p.Name, cx, cy, p.X, p.Y)
			}
			if e.Background == nil || e.Background.Color == nil || e.Background.Color.Field == nil || *e.Background.Color.Field != p.Name+coverageSuffix {
				t.Errorf("%s: marker %s not coloured by its coverage field", f.Title(), p.Name)
			}
			if e.Border == nil || e.Border.Color == nil || e.Border.Color.Field == nil || *e.Border.Color.Field != p.Name+signalSuffix {
				t.Errorf("%s: marker %s not ringed by its signal field", f.Title(), p.Name)
			}
		}
	}
}

// TestComplianceBands: shares of time meeting the standard are coloured and
// named by the bands 7SIGNAL reports service levels in (green at least 99%,
// amber 95 to 99%, red below 95%), as Grafana applies thresholds (the
// highest step at or below the value) and range mappings (the first whose
// inclusive range holds the value).
func TestComplianceBands(t *testing.T) {
	var d struct {
		Panels []struct {
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Unit       string `json:"unit"`
					Thresholds struct {
						Steps []struct {
							Color string   `json:"color"`
							Value *float64 `json:"value"`
						} `json:"steps"`
					} `json:"thresholds"`
				} `json:"defaults"`
				Overrides []struct {
					Properties []struct {
						ID    string          `json:"id"`
						Value json.RawMessage `json:"value"`
					} `json:"properties"`
				} `json:"overrides"`
			} `json:"fieldConfig"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(checkedIn(t)["compliance.json"], &d); err != nil {
		t.Fatal(err)
	}
	colour := func(steps []struct {
		Color string   `json:"color"`
		Value *float64 `json:"value"`
	}, v float64) string {
		c := ""
		for _, s := range steps {
			if s.Value == nil || v >= *s.Value {
				c = s.Color
			}
		}
		return c
	}
	cases := []struct {
		share        float64
		colour, text string
	}{
		{1, colBandGreen, "green (≥ 99%)"},
		{0.99, colBandGreen, "green (≥ 99%)"},
		{0.9899, colBandAmber, "amber (95–99%)"},
		{0.95, colBandAmber, "amber (95–99%)"},
		{0.9499, colBandRed, "red (< 95%)"},
		{0, colBandRed, "red (< 95%)"},
	}
	shares, named := 0, 0
	for _, p := range d.Panels {
		def := p.FieldConfig.Defaults
		if def.Unit == "percentunit" && len(def.Thresholds.Steps) > 0 {
			shares++
			for _, c := range cases {
				if got := colour(def.Thresholds.Steps, c.share); got != c.colour {
					t.Errorf("panel %q colours a share of %v %s, want %s", p.Title, c.share, got, c.colour)
				}
			}
		}
		for _, o := range p.FieldConfig.Overrides {
			for _, prop := range o.Properties {
				if prop.ID != "mappings" || !bytes.Contains(prop.Value, []byte(`"range"`)) {
					continue
				}
				named++
				var ms []dashboard.ValueMapping
				if err := json.Unmarshal(prop.Value, &ms); err != nil {
					t.Fatal(err)
				}
				for _, c := range cases {
					got := ""
					for _, m := range ms {
						r := m.RangeMap
						if r != nil && c.share >= *r.Options.From && c.share <= *r.Options.To {
							got = *r.Options.Result.Text
							break
						}
					}
					if got != c.text {
						t.Errorf("panel %q names a share of %v %q, want %q", p.Title, c.share, got, c.text)
					}
				}
			}
		}
	}
	if shares < 3 || named != 1 {
		t.Errorf("%d share panels coloured by thresholds, %d band columns: want the summary's shares and the ward table's band", shares, named)
	}
}

// TestFloorPlanPositionsChart: out of the box (no floor-plan inventory) the
// Floor plan dashboard has site, building and floor variables and plots
// each probe at the x,y of its wardprobe_probe_info: the labels read into a
// table, turned into numbers, y flipped for an axis that grows upwards, and
// the points coloured by coverage.
func TestFloorPlanPositionsChart(t *testing.T) {
	b := checkedIn(t)["floor-plan.json"]
	d := parseBoard(t, b)
	multi := map[string]bool{}
	for _, v := range d.Variables {
		multi[v.Name] = v.Multi
	}
	for _, v := range []string{"site", "building", "floor"} {
		if m, ok := multi[v]; !ok || m {
			t.Errorf("variable %s: defined %v, multi %v; want a single-valued variable", v, ok, m)
		}
	}
	var raw struct {
		Panels []struct {
			Type            string `json:"type"`
			Transformations []struct {
				ID      string         `json:"id"`
				Options map[string]any `json:"options"`
			} `json:"transformations"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
			Options struct {
				Series []struct {
					X, Y, Color struct {
						Matcher struct {
							Options string `json:"options"`
						} `json:"matcher"`
					}
				} `json:"series"`
			} `json:"options"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range raw.Panels {
		if p.Type != "xychart" {
			continue
		}
		found = true
		if len(p.Targets) == 0 || !strings.Contains(p.Targets[0].Expr, "wardprobe_probe_info") || !strings.Contains(p.Targets[0].Expr, "x, y)") {
			t.Errorf("positions query %v does not read x and y from wardprobe_probe_info", p.Targets)
		}
		var ids []string
		for _, tr := range p.Transformations {
			ids = append(ids, tr.ID)
		}
		if fmt.Sprint(ids) != "[merge organize convertFieldType calculateField]" {
			t.Errorf("transformations %v", ids)
		}
		if bin := fmt.Sprint(p.Transformations[len(p.Transformations)-1].Options["binary"]); bin != "map[left:1 operator:- right:y]" {
			t.Errorf("y not flipped: %s", bin)
		}
		if len(p.Options.Series) != 1 {
			t.Fatalf("series %+v", p.Options.Series)
		}
		s := p.Options.Series[0]
		if s.X.Matcher.Options != fieldX || s.Y.Matcher.Options != fieldUp || s.Color.Matcher.Options != fieldCoverage {
			t.Errorf("series plots x=%s y=%s colour=%s", s.X.Matcher.Options, s.Y.Matcher.Options, s.Color.Matcher.Options)
		}
	}
	if !found {
		t.Error("no positions chart")
	}
}

// TestLayoutFitsTheGrid: no panel reaches past the grid's right edge and no
// two panels overlap, so Grafana shows the layout as generated.
func TestLayoutFitsTheGrid(t *testing.T) {
	boards, err := Build(Inventory{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boards {
		var ps []dashboard.GridPos
		for _, p := range b.Dashboard.Panels {
			if p.Panel != nil && p.Panel.GridPos != nil {
				ps = append(ps, *p.Panel.GridPos)
			}
			if p.RowPanel != nil && p.RowPanel.GridPos != nil {
				ps = append(ps, *p.RowPanel.GridPos)
			}
		}
		for i, a := range ps {
			if a.X+a.W > gridWidth {
				t.Errorf("%s: a panel at x=%d is %d wide, past the grid's %d columns", b.File, a.X, a.W, gridWidth)
			}
			for _, c := range ps[i+1:] {
				if a.X < c.X+c.W && c.X < a.X+a.W && a.Y < c.Y+c.H && c.Y < a.Y+a.H {
					t.Errorf("%s: panels at %+v and %+v overlap", b.File, a, c)
				}
			}
		}
	}
}
