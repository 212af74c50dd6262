package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// Time-to-connect and roam references the panels draw and cite.
const (
	// nhsConnectSeconds is the nhs standard's connect_seconds (config's
	// built-in standards): a connect test over it fails the standard.
	nhsConnectSeconds = 5
	// Roam references (docs/wifi.md): Aruba's voice guidance asks for
	// roams within 150–200 ms; Juniper Mist counts a fast (802.11r) roam
	// over 400 ms, or a standard roam over 2 s, as slow.
	roamArubaVoice = 0.2
	roamMistFast   = 0.4
	roamMistSlow   = 2
)

// Metrics of connect tests, roams and disconnect reasons (docs/wifi.md).
const (
	mConnectDuration = "wardprobe_wifi_connect_duration_seconds"
	mConnectTests    = "wardprobe_wifi_connect_tests_total"
	mConnectFailures = "wardprobe_wifi_connect_failures_total"
	mConnectLastOK   = "wardprobe_wifi_connect_last_success_timestamp_seconds"
	mConnectLastTest = "wardprobe_wifi_connect_last_test_success"
	mRoamDuration    = "wardprobe_wifi_roam_duration_seconds"
	mRoamLost        = "wardprobe_wifi_roam_lost_packets_total"
	mDisconnects     = "wardprobe_wifi_disconnect_reasons_total"
)

// connectWindow is the window of the time-to-connect and roam-time series:
// tests run every 15 minutes by default, so a quantile needs several of
// them, and roams are rare.
const connectWindow = "1h"

// countIncrease is increase() over window for a counter whose series are
// made on first use (a failure reason, a disconnect reason): such a series
// starts at 1, and increase() alone never sees that first event. A series
// that did not exist window ago counts from 0 (its whole value), as the
// recording rule probe:wardprobe_wifi_connect_failures:increase1h does.
func countIncrease(metric, sel, window string) string {
	s := fmt.Sprintf("%s{%s}", metric, sel)
	return fmt.Sprintf("(increase(%[1]s[%[2]s]) and %[1]s offset %[2]s) or (%[1]s unless %[1]s offset %[2]s)", s, window)
}

// quantile is the q-quantile of histogram metric over window, for the series
// selected by sel, grouped by the labels in by (plus le). Where nothing was
// observed in the window the quantile is NaN; ">= 0" drops it, so a panel
// shows no data (or a gap) rather than NaN.
func quantile(q float64, metric, sel, by, window string) string {
	return fmt.Sprintf(`histogram_quantile(%v, sum by (%s) (increase(%s_bucket{%s}[%s]))) >= 0`, q, joinSel(by, "le"), metric, sel, window)
}

// roamsWithin counts the roams (in the selected series, grouped by by) that
// took at most le seconds ("+Inf": all of them) over window.
func roamsWithin(le, sel, by, window string) string {
	agg := "sum"
	if by != "" {
		agg = fmt.Sprintf("sum by (%s)", by)
	}
	return fmt.Sprintf(`%s (increase(%s_bucket{%s}[%s]))`, agg, mRoamDuration, joinSel(sel, fmt.Sprintf(`le="%s"`, le)), window)
}

// Recorded roam-time quantiles (deploy/prometheus/recording-rules.yml), per
// probe over the last hour; absent while a probe had no roam.
const (
	recRoamP50 = "probe:wardprobe_wifi_roam_duration_seconds:p50_1h"
	recRoamP95 = "probe:wardprobe_wifi_roam_duration_seconds:p95_1h"
)

// fixedColour is a field override giving a series one colour.
func fixedColour(c string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "color", Value: map[string]any{"mode": "fixed", "fixedColor": c}}}
}

// connectFailureReasons explains the failure reasons, network-side first.
const connectFailureReasons = "Reasons the network causes: timeout, no_ap (SSID not heard), rejected (802.11, 802.1X/RADIUS or DHCP refused), " +
	"wrong_key (PSK), certificate (RADIUS certificate not trusted), disconnected (dropped mid-test), no_lease (DHCP), dns, no_server, no_gateway, unreachable (gateway). " +
	"The probe's own: no_interface (test adapter missing), supplicant, credentials, permission, other."

// roamSteps colours roam times by the references: green within Aruba's
// voice guidance (200 ms), yellow to Mist's slow fast roam (400 ms), orange
// to Mist's slow standard roam (2 s), red beyond.
func roamSteps() *dashboard.ThresholdsConfigBuilder {
	return steps(colGood, roamArubaVoice, "yellow", roamMistFast, colDegraded, roamMistSlow, colNotSpot)
}

// lineThresholds draws a panel's thresholds as lines.
func lineThresholds() *common.GraphThresholdsStyleConfigBuilder {
	return common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)
}

// joinRow adds the Ward detail row on joining the Wi-Fi (connect tests),
// roams and disconnect reasons.
func joinRow(b *dashboard.DashboardBuilder, s scope) *dashboard.DashboardBuilder {
	sel := s.sel()
	b = b.WithRow(dashboard.NewRowBuilder("Joining the Wi-Fi, roams and drops"))

	// Time to connect.
	b = b.WithPanel(series("Time to connect (p50, p95)",
		fmt.Sprintf("How long a full connect test took the ward's probes to join the Wi-Fi, from enabling the network to the gateway answering (scan, association, 802.1X, 4-way handshake, DHCP, DNS, gateway): median and 95th percentile of the successful tests in the hour before each point. The nhs standard allows %d s (connect_seconds).", nhsConnectSeconds),
		"s",
		query("A", quantile(0.5, mConnectDuration, joinSel(sel, `phase="total"`), "", connectWindow), "p50"),
		query("B", quantile(0.95, mConnectDuration, joinSel(sel, `phase="total"`), "", connectWindow), "p95")).
		Min(0).
		Thresholds(steps(colGood, nhsConnectSeconds, colNotSpot)).
		ThresholdsStyle(lineThresholds()))
	b = b.WithPanel(series("Where the time to connect goes (mean per phase)",
		"Mean time of each phase of the connect tests in the hour before each point, stacked: association (scan included), eap (802.1X with the RADIUS server), handshake (4-way), dhcp, dns, gateway. A slow eap points at RADIUS, a slow dhcp at the DHCP server or relay.",
		"s",
		query("A", fmt.Sprintf(`(sum by (phase) (increase(%[1]s_sum{%[2]s}[%[3]s])) / sum by (phase) (increase(%[1]s_count{%[2]s}[%[3]s]))) >= 0`,
			mConnectDuration, joinSel(sel, `phase!~"total|scan"`), connectWindow), "{{phase}}")).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		FillOpacity(40))
	b = b.WithPanel(newTable().
		Title("Time to connect per phase (p50, p95 over the range)").
		Description("Per phase over the dashboard's time range, for all the ward's probes: median and 95th percentile, and how many tests timed it (a failed test adds the phases it completed; total counts successful tests only).").
		Datasource(ds()).
		WithTarget(instant("A", quantile(0.5, mConnectDuration, sel, "phase", "$__range"))).
		WithTarget(instant("B", quantile(0.95, mConnectDuration, sel, "phase", "$__range"))).
		WithTarget(instant("C", fmt.Sprintf(`sum by (phase) (increase(%s_count{%s}[$__range]))`, mConnectDuration, sel))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time"}, []string{"phase", "Value #A", "Value #B", "Value #C"},
			map[string]string{"Value #A": "p50", "Value #B": "p95", "Value #C": "tests"})).
		OverrideByName("p50", []dashboard.DynamicConfigValue{{Id: "unit", Value: "s"}, {Id: "decimals", Value: 2}}).
		OverrideByName("p95", []dashboard.DynamicConfigValue{{Id: "unit", Value: "s"}, {Id: "decimals", Value: 2}}).
		OverrideByName("tests", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 0}}).
		Height(8).Span(12))
	b = b.WithPanel(bars("Connect tests and failures by phase and reason",
		"Connect tests per interval by result, and the failed ones by the phase that failed and why. "+connectFailureReasons,
		query("A", fmt.Sprintf(`sum by (result) (increase(%s{%s}[$__rate_interval]))`, mConnectTests, sel), "{{result}}"),
		query("B", fmt.Sprintf(`sum by (phase, reason) (%s)`, countIncrease(mConnectFailures, sel, "$__rate_interval")), "failed in {{phase}}: {{reason}}")).
		Interval("15m").
		OverrideByName("success", fixedColour(colGood)).
		OverrideByName("failure", fixedColour(colNotSpot)))
	b = b.WithPanel(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title("Last connect test").
		Description("Whether each probe's last connect test succeeded.").
		Datasource(ds()).
		WithTarget(instantSeries("A", fmt.Sprintf(`%s{%s}`, mConnectLastTest, sel), "{{probe}}")).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
			"1": {Text: cog.ToPtr("succeeded"), Color: cog.ToPtr(colGood), Index: cog.ToPtr(int32(0))},
			"0": {Text: cog.ToPtr("failed"), Color: cog.ToPtr(colNotSpot), Index: cog.ToPtr(int32(1))},
		}}}}).
		ColorScheme(thresholdColours()).
		Thresholds(steps(colNotSpot, 1, colGood)).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		Height(6).Span(6))
	b = b.WithPanel(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title("Last successful connect test").
		Description("When each probe last joined the Wi-Fi in a connect test.").
		Datasource(ds()).
		WithTarget(instantSeries("A", fmt.Sprintf(`%s{%s} * 1000`, mConnectLastOK, sel), "{{probe}}")).
		Unit("dateTimeFromNow").
		ColorMode(common.BigValueColorModeNone).
		GraphMode(common.BigValueGraphModeNone).
		Height(6).Span(6))
	b = b.WithPanel(newTable().
		Title("Connect failures over the range by phase and reason").
		Description("Failed connect tests of the ward's probes over the dashboard's time range. "+connectFailureReasons).
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`sort_desc(sum by (probe, phase, reason) (%s))`, countIncrease(mConnectFailures, sel, "$__range")))).
		WithTransformation(organize([]string{"Time"}, []string{"probe", "phase", "reason", "Value"}, map[string]string{"Value": "failures"})).
		OverrideByName("failures", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 0}}).
		NoValue("No failed connect test").
		Height(6).Span(12))

	// Roams.
	b = b.WithPanel(series("Roam time (p50, p95)",
		fmt.Sprintf("From the old AP falling silent (or the station leaving it) to the new link being usable, timed from nl80211 events: median and 95th percentile of the roams in the hour before each point. References: Aruba's voice guidance asks for roams within 150–200 ms; Juniper Mist counts a fast (802.11r) roam over %v ms, or a standard roam over %v s, as slow.", roamMistFast*1000, roamMistSlow),
		"s",
		query("A", fmt.Sprintf(`%s{%s}`, recRoamP50, sel), "{{probe}} p50"),
		query("B", fmt.Sprintf(`%s{%s}`, recRoamP95, sel), "{{probe}} p95")).
		Min(0).
		Thresholds(roamSteps()).
		ThresholdsStyle(lineThresholds()))
	within := func(le string) string { return roamsWithin(le, sel, "", "$__range") }
	b = b.WithPanel(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title("Roams by duration (over the range)").
		Description("The ward's roams over the dashboard's time range by how long they took: within 200 ms (Aruba's voice guidance asks for 150–200 ms), 200–400 ms, 400 ms to 2 s (Juniper Mist counts a fast 802.11r roam over 400 ms as slow) and over 2 s (Mist counts a standard roam over 2 s as slow).").
		Datasource(ds()).
		WithTarget(instantSeries("A", within("0.2"), "≤ 200 ms")).
		WithTarget(instantSeries("B", fmt.Sprintf("%s - %s", within("0.4"), within("0.2")), "200–400 ms")).
		WithTarget(instantSeries("C", fmt.Sprintf("%s - %s", within("2"), within("0.4")), "400 ms – 2 s")).
		WithTarget(instantSeries("D", fmt.Sprintf("%s - %s", within("+Inf"), within("2")), "over 2 s")).
		Decimals(0).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdFixed)).
		OverrideByName("≤ 200 ms", fixedColour(colGood)).
		OverrideByName("200–400 ms", fixedColour("yellow")).
		OverrideByName("400 ms – 2 s", fixedColour(colDegraded)).
		OverrideByName("over 2 s", fixedColour(colNotSpot)).
		ColorMode(common.BigValueColorModeValue).
		GraphMode(common.BigValueGraphModeNone).
		Height(8).Span(6))
	b = b.WithPanel(bars("Roams timed and packets lost in them",
		"Roams timed from nl80211 events per interval, and the ICMP packets (targets on the Wi-Fi interface) sent during a roam and lost.",
		query("A", fmt.Sprintf(`sum by (probe) (increase(%s_count{%s}[$__rate_interval]))`, mRoamDuration, sel), "{{probe}} roams"),
		query("B", fmt.Sprintf(`sum by (probe) (increase(%s{%s}[$__rate_interval]))`, mRoamLost, sel), "{{probe}} packets lost")).
		Span(6))

	// Disconnect reasons.
	b = b.WithPanel(bars("Disconnects by reason",
		"Links lost per interval by IEEE 802.11 reason code (IEEE Std 802.11-2020 Table 9-49, e.g. missing_acks, reason_inactivity, 4way_handshake_timeout, 802_1_x_auth_failed), from nl80211 events; planned reconnects of a connect test are not counted.",
		query("A", fmt.Sprintf(`sum by (probe, reason) (%s)`, countIncrease(mDisconnects, sel, "$__rate_interval")), "{{probe}} {{reason}}")))
	b = b.WithPanel(newTable().
		Title("Disconnect reasons over the range").
		Description("Disconnects of the ward's probes over the dashboard's time range by IEEE 802.11 reason code, most frequent first.").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`sort_desc(sum by (reason) (%s))`, countIncrease(mDisconnects, sel, "$__range")))).
		WithTransformation(organize([]string{"Time"}, []string{"reason", "Value"}, map[string]string{"Value": "disconnects"})).
		OverrideByName("disconnects", []dashboard.DynamicConfigValue{{Id: "decimals", Value: 0}}).
		NoValue("No disconnect").
		Height(8).Span(12))
	return b
}

// wardConnectTable lists every ward with connect tests or roams over the
// range: time to connect (p50, p95), tests and the share failed, roams and
// the share of them Mist counts as slow; slowest to join first.
func wardConnectTable(s scope) *table.PanelBuilder {
	sel := s.sel()
	total := joinSel(sel, `phase="total"`)
	tests := func(extra string) string {
		return fmt.Sprintf(`sum by (%s) (increase(%s{%s}[$__range]))`, wardLabels, mConnectTests, joinSel(sel, extra))
	}
	return newTable().
		Title("Joining the Wi-Fi and roaming, per ward (slowest to join first)").
		Description(fmt.Sprintf("Per ward over the range: time for a connect test to join the Wi-Fi (median and 95th percentile of successful tests; the nhs standard allows %d s), connect tests run and the share that failed, roams timed and the share of them over 2 s (Juniper Mist counts a standard roam over 2 s as slow; 0%% where there was no roam). Click a ward to open it.", nhsConnectSeconds)).
		Datasource(ds()).
		WithTarget(instant("A", quantile(0.95, mConnectDuration, total, wardLabels, "$__range"))).
		WithTarget(instant("B", quantile(0.5, mConnectDuration, total, wardLabels, "$__range"))).
		WithTarget(instant("C", tests(""))).
		WithTarget(instant("D", fmt.Sprintf(`(%s / %s) >= 0`, tests(`result="failure"`), tests("")))).
		WithTarget(instant("E", roamsWithin("+Inf", sel, wardLabels, "$__range"))).
		WithTarget(instant("F", fmt.Sprintf("(%[1]s - %[2]s) / clamp_min(%[1]s, 1)",
			roamsWithin("+Inf", sel, wardLabels, "$__range"), roamsWithin("2", sel, wardLabels, "$__range")))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time"},
			[]string{"site", "building", "floor", "ward", "Value #A", "Value #B", "Value #C", "Value #D", "Value #E", "Value #F"}, nil)).
		OverrideByName("Value #A", secondsCell("connect p95", steps(colGood, nhsConnectSeconds, colNotSpot))).
		OverrideByName("Value #B", secondsCell("connect p50", steps(colGood, nhsConnectSeconds, colNotSpot))).
		OverrideByName("Value #C", []dashboard.DynamicConfigValue{{Id: "displayName", Value: "connect tests"}, {Id: "decimals", Value: 0}}).
		OverrideByName("Value #D", percentCell("tests failed", steps(colGood, 0.001, colDegraded, 0.05, colNotSpot))).
		OverrideByName("Value #E", []dashboard.DynamicConfigValue{{Id: "displayName", Value: "roams"}, {Id: "decimals", Value: 0}}).
		OverrideByName("Value #F", percentCell("roams over 2 s", steps(colGood, 0.001, colDegraded, 0.01, colNotSpot))).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("connect p95").Desc(true),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink(`${__data.fields.site:percentencode}`, `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		Filterable(true).
		Height(10).Span(24)
}

// secondsCell is a field override showing a duration coloured by th.
func secondsCell(name string, th *dashboard.ThresholdsConfigBuilder) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{
		{Id: "displayName", Value: name},
		{Id: "unit", Value: "s"},
		{Id: "decimals", Value: 2},
		{Id: "thresholds", Value: mustBuild(th)},
		{Id: "color", Value: map[string]any{"mode": "thresholds"}},
		{Id: "custom.cellOptions", Value: map[string]any{"type": "color-text"}},
	}
}

// estateJoinRow adds the Estate coverage row on joining the Wi-Fi: probes
// whose last connect test failed, the share of tests failed over the range,
// and the ten wards slowest to join.
func estateJoinRow(b *dashboard.DashboardBuilder, s scope) *dashboard.DashboardBuilder {
	sel := s.sel()
	b = b.WithRow(dashboard.NewRowBuilder("Joining the Wi-Fi (connect tests)"))
	b = b.WithPanel(estateStat("Probes whose last connect test failed",
		"Probes running connect tests (wifi.connect_test) whose last test could not join the Wi-Fi.",
		fmt.Sprintf(`count(%s{%s} == 0) or vector(0)`, mConnectLastTest, sel), "none", steps(colGood, 1, colNotSpot)).
		Height(8))
	b = b.WithPanel(estateStat("Connect tests failed",
		"Share of the connect tests run over the range that failed, over the selected wards.",
		fmt.Sprintf(`(sum(increase(%[1]s{%[2]s}[$__range])) / sum(increase(%[1]s{%[3]s}[$__range]))) >= 0`, mConnectTests, joinSel(sel, `result="failure"`), sel),
		"percentunit", steps(colGood, 0.001, colDegraded, 0.05, colNotSpot)).
		Decimals(1).
		Height(8))
	by := "building, floor, ward"
	b = b.WithPanel(newTable().
		Title("Slowest wards to join the Wi-Fi (connect p95 over the range)").
		Description(fmt.Sprintf("The ten wards whose connect tests took longest to join (95th percentile of successful tests over the range), with the median. The nhs standard allows %d s. Click a ward to open it.", nhsConnectSeconds)).
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`topk(10, %s)`, quantile(0.95, mConnectDuration, joinSel(sel, `phase="total"`), by, "$__range")))).
		WithTarget(instant("B", fmt.Sprintf(`%s and on (%s) topk(10, %s)`,
			quantile(0.5, mConnectDuration, joinSel(sel, `phase="total"`), by, "$__range"), by,
			quantile(0.95, mConnectDuration, joinSel(sel, `phase="total"`), by, "$__range")))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time"}, []string{"building", "floor", "ward", "Value #A", "Value #B"}, nil)).
		OverrideByName("Value #A", secondsCell("connect p95", steps(colGood, nhsConnectSeconds, colNotSpot))).
		OverrideByName("Value #B", secondsCell("connect p50", steps(colGood, nhsConnectSeconds, colNotSpot))).
		SortBy([]cog.Builder[common.TableSortByFieldState]{
			common.NewTableSortByFieldStateBuilder().DisplayName("connect p95").Desc(true),
		}).
		DataLinks([]cog.Builder[dashboard.DashboardLink]{
			wardLink("${site:percentencode}", `${__data.fields.building:percentencode}`, `${__data.fields.floor:percentencode}`, `${__data.fields.ward:percentencode}`),
		}).
		Height(8).Span(16))
	return b
}
