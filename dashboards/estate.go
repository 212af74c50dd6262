package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// estateScope: one site at a time (building names repeat between sites),
// any number of buildings, floors and wards.
func estateScope() scope {
	return scope{
		{"site", "Site", false},
		{"building", "Building", true},
		{"floor", "Floor", true},
		{"ward", "Ward", true},
	}
}

// estate is the Estate coverage dashboard: headline figures, then per
// building a grid of floors (rows) by wards (columns), coloured by the worst
// coverage state in the ward now and by the share of time the ward met its
// standard over the range; each cell opens the ward.
func estate() *dashboard.DashboardBuilder {
	s := estateScope()
	sel := s.sel()
	b := newDashboard(UIDEstate, "wardprobe — Estate coverage",
		"Ward Wi-Fi coverage by building and floor: the worst probe in each ward now, and the share of the range each ward met its minimum standard. Click a ward to open it.",
		"now-24h", s)

	b = b.WithRow(dashboard.NewRowBuilder("Estate now"))
	b = b.WithPanel(estateStat("Wards reporting",
		"Wards with at least one probe reporting now.",
		fmt.Sprintf(`count(count by (site, building, floor, ward) (wardprobe_probe_info{%s}))`, sel), "none", steps("blue")))
	b = b.WithPanel(estateStat("Wards meeting their standard now",
		"Share of reporting wards whose every probe meets the ward's standard now.",
		fmt.Sprintf(`avg(min by (site, building, floor, ward) (%s))`, ownStandard(fmt.Sprintf(`wardprobe_standard_met{%s}`, sel), sel)), "percentunit", complianceSteps()))
	b = b.WithPanel(estateStat("Probes in a not-spot",
		"Probes associated to the clinical SSID but with signal below the not-spot floor or no usable network.",
		fmt.Sprintf(`count(wardprobe_coverage_state{%s} == 1) or vector(0)`, s.sel(`state="notspot"`)), "none", steps(colGood, 1, colNotSpot)))
	b = b.WithPanel(estateStat("Probes disconnected",
		"Probes not associated with any AP of the clinical SSIDs.",
		fmt.Sprintf(`count(wardprobe_coverage_state{%s} == 1) or vector(0)`, s.sel(`state="disconnected"`)), "none", steps(colGood, 1, colNotSpot)))
	b = b.WithPanel(estateStat("Probes not reporting",
		"Probes seen in the last day that are not reporting now (see Fleet health).",
		fmt.Sprintf(`count(max by (site, building, floor, ward, probe) (last_over_time(wardprobe_build_info{%s}[1d])) unless max by (site, building, floor, ward, probe) (wardprobe_build_info{%s})) or vector(0)`, sel, sel),
		"none", steps(colGood, 1, colDegraded)))
	b = b.WithPanel(estateStat("Ward alerts firing",
		"wardprobe alerts firing now in the selected wards.",
		fmt.Sprintf(`count(ALERTS{%s}) or vector(0)`, s.sel(`alertstate="firing"`, `alertname=~"Ward.+"`)), "none", steps(colGood, 1, colNotSpot)))

	row := dashboard.NewRowBuilder("$building").Repeat("building")
	row = row.WithPanel(coverageGrid(s))
	row = row.WithPanel(complianceGrid(s))
	b = b.WithRow(row)

	b = estateJoinRow(b, s)

	b = b.WithRow(dashboard.NewRowBuilder("Alerts"))
	b = b.WithPanel(alertsTable(s, 24))
	return b
}

func estateStat(title, desc, expr, unit string, th *dashboard.ThresholdsConfigBuilder) *stat.PanelBuilder {
	return stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title(title).
		Description(desc).
		Datasource(ds()).
		WithTarget(instantSeries("A", expr, "")).
		Unit(unit).
		Thresholds(th).
		ColorScheme(thresholdColours()).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		Height(4).Span(4)
}

// gridCorner is the name Grafana's grouping-to-matrix transformation gives the
// first column (the row labels): rowField\columnField.
const gridCorner = `floor\ward`

// matrix turns a table of (floor, ward, Value) into floors × wards.
func matrix() dashboard.DataTransformerConfig {
	return dashboard.DataTransformerConfig{Id: "groupingToMatrix", Options: map[string]any{
		"rowField":    "floor",
		"columnField": "ward",
		"valueField":  "Value",
		"emptyValue":  "null",
	}}
}

// gridTable is a floors × wards table whose cells link to the ward.
func gridTable(title, desc string) *table.PanelBuilder {
	return newTable().
		Title(title).
		Description(desc).
		Datasource(ds()).
		WithTransformation(matrix()).
		CellOptions(colourBackground()).
		Align(common.FieldTextAlignmentCenter).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink("${site:percentencode}", "${building:percentencode}", "${__data.fields[0]:percentencode}", "${__field.name:percentencode}"),
		}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName(gridCorner),
		}).
		OverrideByName(gridCorner, []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "Floor"},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "auto"}},
			{Id: "links", Value: []any{}},
			{Id: "custom.width", Value: 80},
		}).
		NoValue("").
		Height(8).Span(12)
}

// coverageGrid shows the worst coverage state among each ward's probes now.
func coverageGrid(s scope) *table.PanelBuilder {
	expr := fmt.Sprintf(`min by (floor, ward) (%s{%s})`, recCoverageScore, s.sel())
	return gridTable("$building: coverage now (worst probe in each ward)",
		"Floors as rows, wards as columns. Each cell is the worst coverage state among the ward's probes now: good, below standard, not-spot or disconnected. Click a cell to open the ward.").
		WithTarget(instant("A", expr)).
		Mappings(coverageMappings()).
		Thresholds(coverageSteps()).
		ColorScheme(thresholdColours())
}

// complianceGrid shows the share of the range each ward met its standard.
func complianceGrid(s scope) *table.PanelBuilder {
	return gridTable("$building: share of time meeting the standard",
		"Floors as rows, wards as columns. Each cell is the share of the dashboard's time range during which the ward's probes met the ward's minimum standard (time-weighted over its probes). Click a cell to open the ward.").
		WithTarget(instant("A", shareMet(s.sel(), "floor, ward"))).
		Unit("percentunit").
		Decimals(1).
		Min(0).Max(1).
		Thresholds(complianceSteps()).
		ColorScheme(thresholdColours())
}

// alertsTable lists the wardprobe alerts firing in the scope.
func alertsTable(s scope, span uint32) *table.PanelBuilder {
	expr := fmt.Sprintf(`ALERTS{%s}`, s.sel(`alertstate="firing"`, `alertname=~"Ward.+"`))
	return newTable().
		Title("Ward alerts firing now").
		Description("Alerts from deploy/prometheus/alert-rules.yml firing now; severity page goes to on-call, ticket to estates.").
		Datasource(ds()).
		WithTarget(instant("A", expr)).
		WithTransformation(organize(
			[]string{"Time", "Value", "__name__", "alertstate", "job", "instance"},
			[]string{"severity", "alertname", "site", "building", "floor", "ward", "probe", "target"},
			map[string]string{"alertname": "alert"})).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		NoValue("No ward alerts firing").
		Height(8).Span(span)
}
