package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

func complianceScope() scope {
	return scope{
		{"site", "Site", true},
		{"building", "Building", true},
		{"floor", "Floor", true},
		{"ward", "Ward", true},
	}
}

// bandsNote explains the colours of a share of time meeting the standard.
const bandsNote = "Bands as 7SIGNAL reports service levels: green at least 99% of the time, amber 95–99%, red below 95%."

// wardLabels are the labels of the recorded per-ward series.
const wardLabels = "site, building, floor, ward"

// probeLabels are the location labels of every wardprobe series.
const probeLabels = "site, building, floor, ward, probe"

// compliance is the Compliance dashboard, for estates and digital leads:
// the share of time each ward met its minimum standard over the range (a
// month by default), the worst wards and the not-spots, all sortable.
func compliance() *dashboard.DashboardBuilder {
	s := complianceScope()
	sel := s.sel()
	b := newDashboard(UIDCompliance, "wardprobe — Compliance",
		"Share of time each ward met its minimum standard over the chosen range (a month by default), the worst wards and the not-spots. Click a column header to sort; click a ward to open it.",
		"now-30d", s)

	b = b.WithRow(dashboard.NewRowBuilder("Summary"))
	b = b.WithPanel(estateStat("Share of time meeting the standard",
		"Over all selected wards and the whole range, time-weighted over their probes. "+bandsNote,
		shareMet(sel, ""), "percentunit", complianceSteps()).Decimals(2))
	perWard := shareMet(sel, wardLabels)
	b = b.WithPanel(estateStat("Wards green (≥ 99%)",
		"Wards that met their standard at least 99% of the range. "+bandsNote,
		fmt.Sprintf(`count((%s) >= %v) or vector(0)`, perWard, bandGreen), "none", steps(colBandGreen)))
	b = b.WithPanel(estateStat("Wards amber (95–99%)",
		"Wards that met their standard at least 95% but less than 99% of the range. "+bandsNote,
		fmt.Sprintf(`count((%s) >= %v < %v) or vector(0)`, perWard, bandAmber, bandGreen), "none", steps(colGood, 1, colBandAmber)))
	b = b.WithPanel(estateStat("Wards red (< 95%)",
		"Wards that met their standard less than 95% of the range. "+bandsNote,
		fmt.Sprintf(`count((%s) < %v) or vector(0)`, perWard, bandAmber), "none", steps(colGood, 1, colBandRed)))
	b = b.WithPanel(estateStat("Probes with not-spot time",
		"Probes that spent any of the range in a not-spot.",
		fmt.Sprintf(`count(max by (%s) (avg_over_time(%s{%s}[$__range])) > 0) or vector(0)`, probeLabels, recCoverageRate1h, s.sel(`state="notspot"`)), "none", steps(colGood, 1, colNotSpot)))
	b = b.WithPanel(estateStat("Last 30 days (recorded)",
		"Mean over the selected wards of the recorded 30-day share (ward:wardprobe_standard_met:ratio_30d), independent of the range picked. "+bandsNote,
		fmt.Sprintf(`avg(%s{%s})`, recStandardRatio30, sel), "percentunit", complianceSteps()).Decimals(2))

	b = b.WithRow(dashboard.NewRowBuilder("Wards"))
	b = b.WithPanel(wardComplianceTable(s))
	b = b.WithPanel(worstWards(s))
	b = b.WithPanel(notSpots(s))
	b = b.WithPanel(timeseries.NewPanelBuilder().Tooltip(tooltip()).
		Title("Daily share of time meeting the standard").
		Description("The recorded 1-day share per ward (ward:wardprobe_standard_met:ratio_1d), over the compliance bands. " + bandsNote).
		Datasource(ds()).
		WithTarget(query("A", fmt.Sprintf(`%s{%s}`, recStandardRatio1d, sel), "{{building}} / floor {{floor}} / {{ward}}")).
		Unit("percentunit").
		Min(0).Max(1).
		Thresholds(complianceSteps()).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLineAndArea)).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeTable).Placement(common.LegendPlacementRight).Calcs([]string{"min", "mean"})).
		Height(10).Span(24))

	b = b.WithRow(dashboard.NewRowBuilder("Joining the Wi-Fi and roaming"))
	b = b.WithPanel(wardConnectTable(s))
	return b
}

// percentCell is a field override showing a share as a coloured percentage.
func percentCell(name string, th *dashboard.ThresholdsConfigBuilder) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		{Id: "displayName", Value: name},
		{Id: "unit", Value: "percentunit"},
		{Id: "decimals", Value: 2},
		{Id: "thresholds", Value: mustBuild(th)},
		{Id: "color", Value: map[string]any{"mode": "thresholds"}},
		{Id: "custom.cellOptions", Value: colourBackground()},
	}
}

// wardComplianceTable lists every ward with its share of time meeting the
// standard and in a not-spot or disconnected.
func wardComplianceTable(s scope) *table.PanelBuilder {
	sel := s.sel()
	stateShare := func(state string) string {
		return fmt.Sprintf(`avg by (%s) (avg_over_time(%s{%s}[$__range]))`, wardLabels, recCoverageRate1h, s.sel(fmt.Sprintf(`state=%q`, state)))
	}
	return newTable().
		Title("Share of time each ward met its standard").
		Description("Per ward over the range: share of time meeting its standard and its band, and share of probe time in a not-spot or disconnected. Sorted worst first; click a header to sort. "+bandsNote).
		Datasource(ds()).
		WithTarget(instant("A", shareMet(sel, wardLabels+", standard"))).
		WithTarget(instant("B", stateShare("notspot"))).
		WithTarget(instant("C", stateShare("disconnected"))).
		WithTarget(instant("D", shareMet(sel, wardLabels+", standard"))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time"},
			[]string{"site", "building", "floor", "ward", "standard", "Value #A", "Value #D", "Value #B", "Value #C"}, nil)).
		OverrideByName("Value #A", percentCell("met standard", complianceSteps())).
		OverrideByName("Value #D", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "band"},
			{Id: "mappings", Value: bandMappings()},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		}).
		OverrideByName("Value #B", percentCell("in a not-spot", steps(colGood, 0.001, colDegraded, 0.01, colNotSpot))).
		OverrideByName("Value #C", percentCell("disconnected", steps(colGood, 0.001, colDegraded, 0.01, colNotSpot))).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("met standard"),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		Filterable(true).
		Height(12).Span(14)
}

// worstWards lists the ten wards with the lowest share.
func worstWards(s scope) *table.PanelBuilder {
	return newTable().
		Title("Worst 10 wards").
		Description("The ten wards that met their standard for the smallest share of the range.").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`bottomk(10, %s)`, shareMet(s.sel(), wardLabels)))).
		WithTransformation(organize([]string{"Time"}, []string{"site", "building", "floor", "ward", "Value"}, nil)).
		OverrideByName("Value", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "met standard"},
			{Id: "unit", Value: "percentunit"},
			{Id: "decimals", Value: 1},
			{Id: "min", Value: 0},
			{Id: "max", Value: 1},
			{Id: "thresholds", Value: mustBuild(complianceSteps())},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "gauge", "mode": "basic"}},
		}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("met standard"),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		Height(12).Span(10)
}

// notSpots lists every probe that spent part of the range in a not-spot,
// with where it stands and whether it is in one now.
func notSpots(s scope) *table.PanelBuilder {
	share := fmt.Sprintf(`max by (%s) (avg_over_time(%s{%s}[$__range])) > 0`, probeLabels, recCoverageRate1h, s.sel(`state="notspot"`))
	return newTable().
		Title("Not-spots").
		Description("Probes that were in a not-spot (associated, but signal below the not-spot floor or no usable network) during the range: where they stand and for what share of the time. Sorted worst first.").
		Datasource(ds()).
		WithTarget(instant("A", share)).
		WithTarget(instant("B", fmt.Sprintf(`max by (%s, spot) (wardprobe_probe_info{%s}) and on (%s) (%s)`, probeLabels, s.sel(), probeLabels, share))).
		WithTarget(instant("C", fmt.Sprintf(`max by (%s) (wardprobe_coverage_state{%s}) and on (%s) (%s)`, probeLabels, s.sel(`state="notspot"`), probeLabels, share))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time", "Value #B"},
			[]string{"site", "building", "floor", "ward", "probe", "spot", "Value #A", "Value #C"}, nil)).
		OverrideByName("Value #A", percentCell("time in not-spot", steps(colDegraded, 0.01, colNotSpot))).
		OverrideByName("Value #C", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "not-spot now"},
			{Id: "mappings", Value: []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"1": {Text: cog.ToPtr("yes"), Color: cog.ToPtr(colNotSpot), Index: cog.ToPtr(int32(0))},
				"0": {Text: cog.ToPtr("no"), Color: cog.ToPtr(colGood), Index: cog.ToPtr(int32(1))},
			}}}}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("time in not-spot").Desc(true),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		Filterable(true).
		Height(10).Span(24)
}
