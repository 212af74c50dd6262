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
	inv, err := LoadInventory(InventoryFile)
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
	Type    string `json:"type"`
	Title   string `json:"title"`
	Repeat  string `json:"repeat"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panelInfo `json:"panels"`
}

type boardInfo struct {
	Uid        string      `json:"uid"`
	Panels     []panelInfo `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			Multi      bool   `json:"multi"`
			IncludeAll bool   `json:"includeAll"`
		} `json:"list"`
	} `json:"templating"`
}

func parseBoard(t *testing.T, b []byte) boardInfo {
	t.Helper()
	var d boardInfo
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
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

// exprs returns every PromQL expression of a dashboard: panel queries and
// the selectors inside label_values() variable queries.
func (d boardInfo) exprs(t *testing.T) []expr {
	t.Helper()
	var out []expr
	for _, p := range d.flatPanels() {
		for i, q := range p.Targets {
			out = append(out, expr{fmt.Sprintf("panel %q target %d", p.Title, i), q.Expr})
		}
	}
	for _, v := range d.Templating.List {
		q, _ := v.Query.(string)
		if v.Type != "query" {
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
	rules, err := promcheck.LoadRules(recordingRules)
	if err != nil {
		t.Fatal(err)
	}
	k.AddRecordedFrom(recordingRules, rules)
	k.AddPrometheus()
	return k
}

func TestDashboardPromQLParsesAndUsesRealMetrics(t *testing.T) {
	k := known(t)
	for name, b := range checkedIn(t) {
		t.Run(name, func(t *testing.T) {
			d := parseBoard(t, b)
			es := d.exprs(t)
			if len(es) == 0 {
				t.Fatal("no queries")
			}
			for _, e := range es {
				if strings.TrimSpace(e.expr) == "" {
					t.Errorf("%s: empty query", e.where)
					continue
				}
				sub := promcheck.Substitute(e.expr, nil)
				if err := promcheck.Join(e.where, k.Check(sub)); err != nil {
					t.Errorf("%v\n  query: %s", err, e.expr)
				}
			}
		})
	}
}

// TestMetricCheckCatchesMistakes shows the metric check can fail.
func TestMetricCheckCatchesMistakes(t *testing.T) {
	k := known(t)
	for _, e := range []string{
		`wardprobe_target_upp{site="x"}`,                      // unknown metric
		`wardprobe_target_up{sight="x"}`,                      // unknown label
		`wardprobe_target_up{kind="https"}`,                   // value never exported
		`rate(wardprobe_icmp_packets_lost_total{target="x"}[`, // does not parse
		`wardprobe_icmp_rtt_seconds{target="x"}`,              // histogram without suffix
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
			for i, v := range d.Templating.List {
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
			for i, v := range d.Templating.List {
				q, _ := v.Query.(string)
				for _, ref := range promcheck.VarRefs(q) {
					if j, ok := defined[ref]; ok && j >= i {
						t.Errorf("variable %s uses $%s, defined after it", v.Name, ref)
					}
				}
			}
			// Matchers: multi-valued variables with =~ (Grafana regex-escapes
			// their values), single-valued ones with = (it does not).
			for _, e := range d.exprs(t) {
				for v, m := range multi {
					if m && strings.Contains(e.expr, fmt.Sprintf(`="$%s"`, v)) && !strings.Contains(e.expr, fmt.Sprintf(`=~"$%s"`, v)) {
						t.Errorf("%s: multi-valued $%s matched with =", e.where, v)
					}
					if !m && strings.Contains(e.expr, fmt.Sprintf(`=~"$%s"`, v)) {
						t.Errorf("%s: single-valued $%s matched with =~ (regex metacharacters in its value would not be escaped)", e.where, v)
					}
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

// TestVariableCheckCatchesMistakes shows the variable check can fail.
func TestVariableCheckCatchesMistakes(t *testing.T) {
	refs := promcheck.VarRefs(`up{site=~"$site", ward="${ward:regex}"} [[floor]] ${__range} $__rate_interval`)
	want := []string{"site", "ward", "floor", "__range", "__rate_interval"}
	if fmt.Sprint(refs) != fmt.Sprint(want) {
		t.Errorf("VarRefs = %v, want %v", refs, want)
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

func TestFloorPlanPlacesEveryProbe(t *testing.T) {
	inv := inventory(t)
	d, err := strict(checkedIn(t)["floor-plan.json"])
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
