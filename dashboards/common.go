// Package dashboards builds wardprobe's Grafana dashboards as code with the
// grafana-foundation-sdk. The generated JSON is checked in under grafana/ and
// regenerated with `make dashboards` (see gen/); tests fail when it is stale.
//
// Every dashboard carries the location variables site → building → floor →
// ward, chained so that each lists only what lies inside the one before.
//
// Every variable is matched as label=~`${var:regex}`, whatever its kind:
//   - the "regex" format is applied by Grafana itself, the same on every
//     version (a backslash before each of \ ^ $ * + ? . ( ) | [ ] { } /, and
//     (a|b) for several values; see promcheck.RegexEscape), and it overrides
//     the Prometheus data source's own escaping, which mangles ' in
//     single-valued variables (Grafana issue 48138) and leaves " unescaped;
//   - the backquoted PromQL raw string takes that output as it is: no escape
//     sequences, so a value's " and the escaping backslashes survive, where
//     a double-quoted string would end at " and reject \. as an escape.
//
// The one character this cannot carry is a backquote (`) in a location
// name; `make dashboards SYNC=…` notes any probe whose location has one.
package dashboards

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// Dashboard UIDs, stable so that links between dashboards and from alert
// annotations keep working.
const (
	UIDEstate     = "wardprobe-estate"
	UIDFloorPlan  = "wardprobe-floorplan"
	UIDWard       = "wardprobe-ward"
	UIDCompliance = "wardprobe-compliance"
	UIDFleet      = "wardprobe-fleet"
)

// Tag marks every wardprobe dashboard (the dashboards' link menu lists them by it).
const Tag = "wardprobe"

// Board is one generated dashboard and the file name it is written to.
type Board struct {
	File      string
	Dashboard dashboard.Dashboard
}

// JSON renders b as indented JSON with a trailing newline, the form checked in.
func (b Board) JSON() ([]byte, error) {
	out, err := json.MarshalIndent(b.Dashboard, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", b.File, err)
	}
	return append(out, '\n'), nil
}

// Build returns every dashboard, built for the floor plans in inv.
func Build(inv Inventory) ([]Board, error) {
	builders := []struct {
		file string
		b    *dashboard.DashboardBuilder
	}{
		{"estate-coverage.json", estate()},
		{"floor-plan.json", floorPlan(inv)},
		{"ward-detail.json", wardDetail()},
		{"compliance.json", compliance()},
		{"fleet-health.json", fleet()},
	}
	out := make([]Board, 0, len(builders))
	for _, x := range builders {
		d, err := x.b.Build()
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", x.file, err)
		}
		fitGrid(&d)
		numberPanels(&d)
		for i := range d.Links {
			d.Links[i].Placement = nil // beside the variables, not in the controls menu
		}
		out = append(out, Board{File: x.file, Dashboard: d})
	}
	return out, nil
}

// gridWidth is the width of Grafana's dashboard grid, in columns.
const gridWidth = 24

// fitGrid moves a panel that the builder placed past the grid's right edge
// (a full-width panel after an odd number of half-width ones) to the start
// of the next line, and everything after it down by as much, so that Grafana
// need not reflow the layout on load.
func fitGrid(d *dashboard.Dashboard) {
	var all []*dashboard.GridPos
	for i := range d.Panels {
		switch p := &d.Panels[i]; {
		case p.Panel != nil && p.Panel.GridPos != nil:
			all = append(all, p.Panel.GridPos)
		case p.RowPanel != nil:
			if p.RowPanel.GridPos != nil {
				all = append(all, p.RowPanel.GridPos)
			}
			for j := range p.RowPanel.Panels {
				if g := p.RowPanel.Panels[j].GridPos; g != nil {
					all = append(all, g)
				}
			}
		}
	}
	var bottom uint32
	for i, g := range all {
		if g.X+g.W > gridWidth {
			delta := bottom - g.Y
			g.X, g.Y = 0, bottom
			for _, later := range all[i+1:] {
				later.Y += delta + g.H
			}
		}
		bottom = max(bottom, g.Y+g.H)
	}
}

// numberPanels gives every panel and row a unique id, in layout order.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	next := func() uint32 { id++; return id }
	for i := range d.Panels {
		p := &d.Panels[i]
		switch {
		case p.Panel != nil:
			n := next()
			p.Panel.Id = &n
		case p.RowPanel != nil:
			p.RowPanel.Id = next()
			for j := range p.RowPanel.Panels {
				n := next()
				p.RowPanel.Panels[j].Id = &n
			}
		}
	}
}

// locVar is one location variable of a dashboard.
type locVar struct {
	name  string // label and variable name: site, building, floor, ward, probe, target
	label string // shown in the variable picker
	multi bool   // multi-valued with "All" (all value .*)
}

// scope is the ordered set of location variables a dashboard filters by.
type scope []locVar

// matcher returns the PromQL matcher for variable v: a regex match on the
// variable in Grafana's regex format, inside a raw (backquoted) string.
func (v locVar) matcher() string {
	return varMatcher(v.name, v.name)
}

// varMatcher matches label against variable name, as matcher does.
func varMatcher(label, name string) string {
	return fmt.Sprintf("%s=~`${%s:regex}`", label, name)
}

// sel returns the matchers of every variable in s, plus extra matchers, joined
// for use inside {}.
func (s scope) sel(extra ...string) string {
	parts := make([]string, 0, len(s)+len(extra))
	for _, v := range s {
		if v.name == "target" {
			continue // only series with a target label take it; see tsel
		}
		parts = append(parts, v.matcher())
	}
	return strings.Join(append(parts, extra...), ", ")
}

// tsel is sel plus the target variable's matcher when s has one.
func (s scope) tsel(extra ...string) string {
	for _, v := range s {
		if v.name == "target" {
			extra = append([]string{v.matcher()}, extra...)
		}
	}
	return s.sel(extra...)
}

// upTo returns the variables before name (the ones its query is filtered by).
func (s scope) upTo(name string) scope {
	for i, v := range s {
		if v.name == name {
			return s[:i]
		}
	}
	return s
}

// variables returns the datasource variable and the location variables,
// each listing the values found within the variables before it.
func (s scope) variables() []cog.Builder[dashboard.VariableModel] {
	out := []cog.Builder[dashboard.VariableModel]{
		dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Prometheus").
			Type("prometheus"),
	}
	for _, v := range s {
		metric := "wardprobe_probe_info"
		if v.name == "target" {
			metric = "wardprobe_target_up"
		}
		q := fmt.Sprintf("label_values(%s{%s}, %s)", metric, s.upTo(v.name).sel(), v.name)
		b := dashboard.NewQueryVariableBuilder(v.name).
			Label(v.label).
			Datasource(ds()).
			Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
			Definition(q).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc)
		if v.multi {
			b = b.Multi(true).IncludeAll(true).AllValue(".*")
		}
		out = append(out, b)
	}
	return out
}

// ds is the datasource reference every panel and query uses: the dashboard's
// Prometheus picked in the datasource variable.
func ds() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}
}

// query returns a range query with refId ref.
func query(ref, expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).Datasource(ds()).Range()
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

// instant returns an instant query with refId ref returning a table.
func instant(ref, expr string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).Datasource(ds()).
		Instant().Format(prometheus.PromQueryFormatTable)
}

// instantSeries returns an instant query with refId ref returning series.
func instantSeries(ref, expr, legend string) *prometheus.DataqueryBuilder {
	q := prometheus.NewDataqueryBuilder().RefId(ref).Expr(expr).Datasource(ds()).Instant()
	if legend != "" {
		q = q.LegendFormat(legend)
	}
	return q
}

// newDashboard starts a dashboard with the common settings, the variables of
// s and links to the other wardprobe dashboards.
func newDashboard(uid, title, description, from string, s scope) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{Tag}).
		Editable().
		Refresh("1m").
		Time(from, "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Variables(s.variables()).
		Link(dashboard.NewDashboardLinkBuilder("wardprobe").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true))
}

// wardLink is a data link to the Ward detail dashboard; the arguments are
// Grafana expressions giving the site, building, floor and ward.
func wardLink(site, building, floor, ward string) cog.Builder[dashboard.DashboardLink] {
	url := fmt.Sprintf("/d/%s/ward-detail?var-site=%s&var-building=%s&var-floor=%s&var-ward=%s&${__url_time_range}",
		UIDWard, site, building, floor, ward)
	return dashboard.NewDashboardLinkBuilder("Open ward detail").
		Type(dashboard.DashboardLinkTypeLink).
		Url(url)
}

// Coverage codes recorded by probe:wardprobe_coverage:score (higher is better).
const (
	codeDisconnected = 0
	codeNotSpot      = 1
	codeDegraded     = 2
	codeGood         = 3
)

// Colours shared by the panels.
const (
	colGood         = "green"
	colDegraded     = "orange"
	colNotSpot      = "red"
	colDisconnected = "dark-purple"
	colNoData       = "text"
)

// coverageMappings turns coverage codes into words and colours.
func coverageMappings() []dashboard.ValueMapping {
	res := func(text, color string, index int32) dashboard.ValueMappingResult {
		return dashboard.ValueMappingResult{Text: cog.ToPtr(text), Color: cog.ToPtr(color), Index: cog.ToPtr(index)}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			fmt.Sprint(codeGood):         res("good", colGood, 0),
			fmt.Sprint(codeDegraded):     res("below standard", colDegraded, 1),
			fmt.Sprint(codeNotSpot):      res("not-spot", colNotSpot, 2),
			fmt.Sprint(codeDisconnected): res("disconnected", colDisconnected, 3),
		},
	}}}
}

// ownStandard keeps, of a wardprobe_standard_met-like expression, only the
// series of the standard the probe's ward is held to (probes judge every
// known standard; wardprobe_probe_info names the ward's).
func ownStandard(expr, sel string) string {
	return fmt.Sprintf(`%s and on (site, building, floor, ward, probe, standard) wardprobe_probe_info{%s}`, expr, sel)
}

// metMappings turns wardprobe_standard_met values into words and colours.
func metMappings() []dashboard.ValueMapping {
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{
		Type: dashboard.MappingTypeValueToText,
		Options: map[string]dashboard.ValueMappingResult{
			"1": {Text: cog.ToPtr("meets standard"), Color: cog.ToPtr(colGood), Index: cog.ToPtr(int32(0))},
			"0": {Text: cog.ToPtr("below standard"), Color: cog.ToPtr(colNotSpot), Index: cog.ToPtr(int32(1))},
		},
	}}}
}

// steps builds absolute thresholds: a base colour then (value, colour) pairs.
func steps(base string, pairs ...any) *dashboard.ThresholdsConfigBuilder {
	s := []dashboard.Threshold{{Color: base}}
	for i := 0; i+1 < len(pairs); i += 2 {
		v := toFloat(pairs[i])
		s = append(s, dashboard.Threshold{Value: &v, Color: pairs[i+1].(string)})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	}
	panic(fmt.Sprintf("threshold value %v is not a number", v))
}

// coverageSteps colours coverage codes when mappings are not applied (canvas).
func coverageSteps() *dashboard.ThresholdsConfigBuilder {
	return steps(colDisconnected, codeNotSpot, colNotSpot, codeDegraded, colDegraded, codeGood, colGood)
}

// signalSteps colours signal strength: the not-spot floor (−80 dBm), the
// data standard (−72 dBm) and the voice standard (−67 dBm).
func signalSteps() *dashboard.ThresholdsConfigBuilder {
	return steps(colNotSpot, -80, colDegraded, -72, "yellow", -67, colGood)
}

// Compliance bands for a share of time meeting the standard, as 7SIGNAL
// reports service levels: green when at least 99% of samples meet the
// target, yellow (here amber) from 95.0% to 98.99%, red below 95.0%
// (7signal Sapphire User's Manual, "Service level agreement" KPIs:
// https://www.manualshelf.com/manual/7signal/2010-08-apu2/user-s-manual-english/page-85.html).
const (
	bandGreen = 0.99
	bandAmber = 0.95

	colBandGreen = "green"
	colBandAmber = "orange"
	colBandRed   = "red"
)

// complianceSteps colours a share of time meeting the standard by the
// compliance bands.
func complianceSteps() *dashboard.ThresholdsConfigBuilder {
	return steps(colBandRed, bandAmber, colBandAmber, bandGreen, colBandGreen)
}

// bandMappings names the compliance band of a share of time, for a column
// that shows the band in words.
func bandMappings() []dashboard.ValueMapping {
	rng := func(from, to float64, text, color string, index int32) dashboard.ValueMapping {
		return dashboard.ValueMapping{RangeMap: &dashboard.RangeMap{
			Type: dashboard.MappingTypeRangeToText,
			Options: dashboard.DashboardRangeMapOptions{
				From:   cog.ToPtr(from),
				To:     cog.ToPtr(to),
				Result: dashboard.ValueMappingResult{Text: cog.ToPtr(text), Color: cog.ToPtr(color), Index: cog.ToPtr(index)},
			},
		}}
	}
	// Range maps include both ends and the first that matches wins, so a
	// share of exactly 99% is green and one of exactly 95% amber.
	return []dashboard.ValueMapping{
		rng(bandGreen, 1, "green (≥ 99%)", colBandGreen, 0),
		rng(bandAmber, bandGreen, "amber (95–99%)", colBandAmber, 1),
		rng(0, bandAmber, "red (< 95%)", colBandRed, 2),
	}
}

// thresholdColours makes a panel colour values by its thresholds.
func thresholdColours() *dashboard.FieldColorBuilder {
	return dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)
}

// colourBackground is the table cell style used for coverage grids.
func colourBackground() common.TableCellOptions {
	return common.TableCellOptions{TableColoredBackgroundCellOptions: &common.TableColoredBackgroundCellOptions{
		Type: common.TableCellDisplayModeColorBackground,
		Mode: cog.ToPtr(common.TableCellBackgroundDisplayModeBasic),
	}}
}

// organize returns the "organize fields" transformation: excluded fields are
// hidden, the rest renamed and put in the given order.
func organize(exclude []string, order []string, rename map[string]string) dashboard.DataTransformerConfig {
	ex := map[string]bool{}
	for _, f := range exclude {
		ex[f] = true
	}
	idx := map[string]int{}
	for i, f := range order {
		idx[f] = i
	}
	if rename == nil {
		rename = map[string]string{}
	}
	return dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
		"excludeByName": ex,
		"indexByName":   idx,
		"renameByName":  rename,
	}}
}

// Recorded series (deploy/prometheus/recording-rules.yml) the dashboards use.
const (
	recCoverageScore   = "probe:wardprobe_coverage:score"
	recCoverageRate1h  = "probe:wardprobe_coverage_seconds:rate1h"
	recStandardRate1h  = "ward:wardprobe_standard_seconds:rate1h"
	recStandardRatio1d = "ward:wardprobe_standard_met:ratio_1d"
	recStandardRatio30 = "ward:wardprobe_standard_met:ratio_30d"
)

// shareMet is the share of time the selected wards met their standard over
// the dashboard's range, grouped by the labels in by, from the recorded
// seconds-per-second rates. A ward that never met it counts as 0, not absent.
func shareMet(sel, by string) string {
	agg := "sum"
	if by != "" {
		agg = fmt.Sprintf("sum by (%s)", by)
	}
	met := fmt.Sprintf(`%s (avg_over_time(%s{%s}[$__range]))`, agg, recStandardRate1h, joinSel(sel, `met="true"`))
	all := fmt.Sprintf(`%s (avg_over_time(%s{%s}[$__range]))`, agg, recStandardRate1h, sel)
	return fmt.Sprintf("(%s or 0 * %s) / %s", met, all, all)
}

func joinSel(parts ...string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

// tooltip shows every series under the cursor, largest first.
func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)
}

// newTable starts a table panel (footer off, stated in full: the schema
// requires its reducer list).
func newTable() *table.PanelBuilder {
	return table.NewPanelBuilder().
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{}).CountRows(false))
}
