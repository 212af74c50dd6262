package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

func fleetScope() scope {
	return scope{
		{"site", "Site", true},
		{"building", "Building", true},
		{"floor", "Floor", true},
		{"ward", "Ward", true},
	}
}

// fleet is the Fleet health dashboard: which probes report, when each was
// last seen, its version, whether its last config reload worked, and errors
// that are the probe's own rather than the network's.
func fleet() *dashboard.DashboardBuilder {
	s := fleetScope()
	sel := s.sel()
	seen := fmt.Sprintf(`max by (%s) (last_over_time(wardprobe_build_info{%s}[1d]))`, probeLabels, sel)
	now := fmt.Sprintf(`max by (%s) (wardprobe_build_info{%s})`, probeLabels, sel)
	b := newDashboard(UIDFleet, "wardprobe — Fleet health",
		"The probes themselves: reporting or not, last seen, version, config reloads and probe-side errors. A probe that is down is one WardProbeDown alert; its ward alerts are held back until it reports again.",
		"now-24h", s)

	b = b.WithRow(dashboard.NewRowBuilder("Fleet now"))
	b = b.WithPanel(estateStat("Probes reporting", "Probes whose metrics reached Prometheus in the last scrape (or push).",
		fmt.Sprintf(`count(%s) or vector(0)`, now), "none", steps("blue")))
	b = b.WithPanel(estateStat("Probes not reporting", "Probes seen in the last day that are not reporting now.",
		fmt.Sprintf(`count(%s unless %s) or vector(0)`, seen, now), "none", steps(colGood, 1, colNotSpot)))
	b = b.WithPanel(estateStat("Scrapes failing", `Scrape targets of job "wardprobe" that Prometheus cannot scrape (including probes never seen).`,
		fmt.Sprintf(`count(up{%s} == 0) or vector(0)`, s.sel(`job="wardprobe"`)), "none", steps(colGood, 1, colNotSpot)))
	b = b.WithPanel(estateStat("Config reloads failed", "Probes whose last config reload failed: they still run the previous config.",
		fmt.Sprintf(`count(wardprobe_config_last_reload_successful{%s} == 0) or vector(0)`, sel), "none", steps(colGood, 1, colDegraded)))
	b = b.WithPanel(estateStat("Versions in use", "Distinct wardprobe versions reporting.",
		fmt.Sprintf(`count(count by (version) (wardprobe_build_info{%s}))`, sel), "none", steps(colGood, 2, colDegraded)))
	b = b.WithPanel(estateStat("Wi-Fi adapter missing", "Probes whose configured Wi-Fi interface does not exist (unplugged USB adapter, wrong name).",
		fmt.Sprintf(`count(wardprobe_wifi_interface_present{%s} == 0) or vector(0)`, sel), "none", steps(colGood, 1, colNotSpot)))

	by := probeLabels
	b = b.WithRow(dashboard.NewRowBuilder("Probes"))
	b = b.WithPanel(newTable().
		Title("Probes").
		Description("Every probe seen in the last day. reporting: 1 now, 0 gone; last seen: its newest sample; errors: probe-side failures (permission, other) over the range.").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`count by (%s) (wardprobe_build_info{%s}) or %s * 0`, by, sel, seen))).
		// Last seen: the newest sample's own time while the probe reports
		// (exact), else a one-minute-resolution look over the last day.
		WithTarget(instant("B", fmt.Sprintf(`time() - max by (%s) (timestamp(wardprobe_build_info{%s}) or max_over_time(timestamp(wardprobe_build_info{%s})[1d:1m]))`, by, sel, sel))).
		WithTarget(instant("C", fmt.Sprintf(`max by (%s, version, goversion) (wardprobe_build_info{%s})`, by, sel))).
		WithTarget(instant("D", fmt.Sprintf(`max by (%s) (wardprobe_config_last_reload_successful{%s})`, by, sel))).
		WithTarget(instant("E", fmt.Sprintf(`max by (%s) (wardprobe_config_last_reload_success_timestamp_seconds{%s}) * 1000`, by, sel))).
		WithTarget(instant("F", fmt.Sprintf(`max by (%s) (wardprobe_start_time_seconds{%s}) * 1000`, by, sel))).
		WithTarget(instant("G", fmt.Sprintf(`sum by (%s) (increase(wardprobe_target_failures_total{%s}[$__range]))`, by, s.sel(`reason=~"permission|other"`)))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time", "Value #C"},
			[]string{"site", "building", "floor", "ward", "probe", "Value #A", "Value #B", "version", "goversion", "Value #D", "Value #E", "Value #F", "Value #G"}, nil)).
		OverrideByName("Value #A", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "reporting"},
			{Id: "mappings", Value: []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"1": {Text: cog.ToPtr("yes"), Color: cog.ToPtr(colGood), Index: cog.ToPtr(int32(0))},
				"0": {Text: cog.ToPtr("NO"), Color: cog.ToPtr(colNotSpot), Index: cog.ToPtr(int32(1))},
			}}}}},
			{Id: "custom.cellOptions", Value: colourBackground()},
		}).
		OverrideByName("Value #B", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "last seen"},
			{Id: "unit", Value: "s"},
			{Id: "thresholds", Value: mustBuild(steps(colGood, 120, colDegraded, 600, colNotSpot))},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		}).
		OverrideByName("Value #D", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "last reload"},
			{Id: "mappings", Value: []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
				"1": {Text: cog.ToPtr("ok"), Color: cog.ToPtr(colGood), Index: cog.ToPtr(int32(0))},
				"0": {Text: cog.ToPtr("FAILED"), Color: cog.ToPtr(colDegraded), Index: cog.ToPtr(int32(1))},
			}}}}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		}).
		OverrideByName("Value #E", []dashboard.DynamicConfigValue{{Id: "displayName", Value: "config loaded"}, {Id: "unit", Value: "dateTimeFromNow"}}).
		OverrideByName("Value #F", []dashboard.DynamicConfigValue{{Id: "displayName", Value: "running since"}, {Id: "unit", Value: "dateTimeFromNow"}}).
		OverrideByName("Value #G", []dashboard.DynamicConfigValue{
			{Id: "displayName", Value: "probe errors"},
			{Id: "decimals", Value: 0},
			{Id: "thresholds", Value: mustBuild(steps(colGood, 1, colDegraded))},
			{Id: "color", Value: map[string]any{"mode": "thresholds"}},
			{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
		}).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("reporting"),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		Filterable(true).
		Height(12).Span(24))

	b = b.WithPanel(newTable().
		Title("Scrape targets down").
		Description(`Targets of the Prometheus job "wardprobe" whose last scrape failed (address, port, TLS or basic auth wrong, probe off or unreachable).`).
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`up{%s} == 0`, s.sel(`job="wardprobe"`)))).
		WithTransformation(organize([]string{"Time", "Value", "__name__", "job"}, []string{"instance", "probe", "site", "building", "floor", "ward"}, nil)).
		NoValue("All scrapes succeed").
		Height(8).Span(12))
	b = b.WithPanel(newTable().
		Title("Versions").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`count by (version, goversion) (wardprobe_build_info{%s})`, sel))).
		WithTransformation(organize([]string{"Time"}, []string{"version", "goversion", "Value"}, map[string]string{"Value": "probes"})).
		Height(8).Span(12))

	b = b.WithRow(dashboard.NewRowBuilder("Errors and load"))
	b = b.WithPanel(timeseries.NewPanelBuilder().Tooltip(tooltip()).
		Title("Probe-side errors").
		Description("Failures that are the probe's own fault, per second: permission (missing capability) and other (unexpected errors). Network failures are on the Ward detail dashboard.").
		Datasource(ds()).
		WithTarget(query("A", fmt.Sprintf(`sum by (probe, target, reason) (rate(wardprobe_target_failures_total{%s}[$__rate_interval]))`, s.sel(`reason=~"permission|other"`)), "{{probe}} {{target}} {{reason}}")).
		Unit("ops").
		Height(8).Span(12))
	b = b.WithPanel(timeseries.NewPanelBuilder().Tooltip(tooltip()).
		Title("Scrape duration").
		Description("How long Prometheus takes to scrape each probe; a probe on a struggling link answers slowly.").
		Datasource(ds()).
		WithTarget(query("A", fmt.Sprintf(`scrape_duration_seconds{%s}`, s.sel(`job="wardprobe"`)), "{{instance}}")).
		Unit("s").
		Height(8).Span(12))
	return b
}
