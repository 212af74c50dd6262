package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// wardScope: exactly one ward, any of its probes and targets.
func wardScope() scope {
	return scope{
		{"site", "Site", false},
		{"building", "Building", false},
		{"floor", "Floor", false},
		{"ward", "Ward", false},
		{"probe", "Probe", true},
		{"target", "Target", true},
	}
}

// wardDetail is the Ward detail dashboard: coverage, Wi-Fi, joining the
// Wi-Fi (connect tests), roams and disconnect reasons, latency, jitter and
// loss per target, DNS, HTTP phases and throughput of one ward.
func wardDetail() *dashboard.DashboardBuilder {
	s := wardScope()
	sel := s.sel()
	tsel := s.tsel()
	wardOnly := s.upTo("probe").sel() // the recorded ward series have no probe label
	b := newDashboard(UIDWard, "wardprobe — Ward detail",
		"One ward as its probes experience it: coverage state, Wi-Fi signal and neighbours, time to join the Wi-Fi, roam times and disconnect reasons, latency, jitter and loss to each target, DNS, the web front-end's HTTP phases and throughput.",
		"now-6h", s)

	b = b.WithRow(dashboard.NewRowBuilder("Coverage"))
	b = b.WithPanel(statetimeline.NewPanelBuilder().Tooltip(tooltip()).
		Title("Coverage state").
		Description("good = meets the ward's standard; below standard = usable but fails it; not-spot = associated but signal below the not-spot floor or no usable network; disconnected = not associated with the clinical SSID.").
		Datasource(ds()).
		WithTarget(query("A", fmt.Sprintf(`%s{%s}`, recCoverageScore, sel), "{{probe}}")).
		Mappings(coverageMappings()).
		Thresholds(coverageSteps()).
		ColorScheme(thresholdColours()).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		Height(6).Span(16))
	b = b.WithPanel(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title("Share of time meeting the standard").
		Description("Share of the dashboard's time range the ward's probes met the ward's minimum standard.").
		Datasource(ds()).
		WithTarget(instantSeries("A", shareMet(wardOnly, "standard"), "{{standard}}")).
		Unit("percentunit").Decimals(1).
		Thresholds(complianceSteps()).
		ColorScheme(thresholdColours()).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		Height(6).Span(4))
	b = b.WithPanel(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title("Standard met now").
		Datasource(ds()).
		WithTarget(instantSeries("A", ownStandard(fmt.Sprintf(`wardprobe_standard_met{%s}`, sel), sel), "{{probe}} ({{standard}})")).
		Mappings(metMappings()).
		ColorScheme(thresholdColours()).
		Thresholds(steps(colNotSpot, 1, colGood)).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		Height(6).Span(4))
	b = b.WithPanel(newTable().
		Title("Probes in this ward").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`max by (probe, spot, x, y, standard) (wardprobe_probe_info{%s})`, sel))).
		WithTransformation(organize([]string{"Time", "Value"}, []string{"probe", "spot", "standard", "x", "y"}, nil)).
		Height(5).Span(12))
	b = b.WithPanel(alertsTable(s.upTo("probe"), 12).Height(5))

	b = b.WithRow(dashboard.NewRowBuilder("Wi-Fi"))
	b = b.WithPanel(series("Signal", "Signal of the associated AP as the probe hears it (and its average). −67 dBm is the voice standard, −80 dBm the not-spot floor.", "dBm",
		query("A", fmt.Sprintf(`wardprobe_wifi_signal_dbm{%s}`, sel), "{{probe}} signal"),
		query("B", fmt.Sprintf(`wardprobe_wifi_signal_average_dbm{%s}`, sel), "{{probe}} average")).
		Thresholds(signalSteps()).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)))
	b = b.WithPanel(series("Signal-to-noise ratio", "Signal minus noise floor. The voice standard needs 25 dB, data 20 dB.", "dB",
		query("A", fmt.Sprintf(`wardprobe_wifi_snr_db{%s}`, sel), "{{probe}}")).
		Thresholds(steps(colNotSpot, 20, colDegraded, 25, colGood)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)))
	b = b.WithPanel(series("Noise", "Noise floor on the channel in use.", "dBm",
		query("A", fmt.Sprintf(`wardprobe_wifi_noise_dbm{%s}`, sel), "{{probe}}")))
	b = b.WithPanel(series("Channel busy", "Share of time the channel was busy (own and others' traffic, interference).", "percentunit",
		query("A", fmt.Sprintf(`wardprobe_wifi_channel_busy_ratio{%s}`, sel), "{{probe}}")).
		Min(0).Max(1))
	b = b.WithPanel(series("Neighbouring APs", "Signal of every AP the probe can hear (from scans). A second AP of the clinical SSID at −67 dBm or better is needed for roaming.", "dBm",
		query("A", fmt.Sprintf(`wardprobe_wifi_neighbor_signal_dbm{%s}`, sel), "{{probe}}: {{ssid}} {{bssid}} ch {{channel}}")))
	b = b.WithPanel(series("Visible APs per SSID", "How many APs of each SSID the probe can hear.", "none",
		query("A", fmt.Sprintf(`wardprobe_wifi_visible_aps{%s}`, sel), "{{probe}}: {{ssid}}")))
	b = b.WithPanel(bars("Roams and disconnects", "Roams between APs and disconnections, per interval. Disconnects mean clinical devices here drop off too.",
		query("A", fmt.Sprintf(`increase(wardprobe_wifi_roams_total{%s}[$__rate_interval])`, sel), "{{probe}} roams"),
		query("B", fmt.Sprintf(`increase(wardprobe_wifi_disconnects_total{%s}[$__rate_interval])`, sel), "{{probe}} disconnects")))
	b = b.WithPanel(series("Bit rate", "Negotiated transmit and receive bit rates.", "bps",
		query("A", fmt.Sprintf(`wardprobe_wifi_transmit_bitrate_bits_per_second{%s}`, sel), "{{probe}} transmit"),
		query("B", fmt.Sprintf(`wardprobe_wifi_receive_bitrate_bits_per_second{%s}`, sel), "{{probe}} receive")))
	b = b.WithPanel(series("Retries, failures and beacon loss", "Per second: transmit retries, failed transmissions and missed beacons — signs of interference or a weak link.", "ops",
		query("A", fmt.Sprintf(`rate(wardprobe_wifi_transmit_retries_total{%s}[$__rate_interval])`, sel), "{{probe}} retries"),
		query("B", fmt.Sprintf(`rate(wardprobe_wifi_transmit_failed_total{%s}[$__rate_interval])`, sel), "{{probe}} failed"),
		query("C", fmt.Sprintf(`rate(wardprobe_wifi_beacon_loss_total{%s}[$__rate_interval])`, sel), "{{probe}} beacon loss")))
	b = b.WithPanel(newTable().
		Title("Current link").
		Datasource(ds()).
		WithTarget(instant("A", fmt.Sprintf(`max by (probe, interface, ssid, bssid, channel, band) (wardprobe_wifi_link_info{%s})`, sel))).
		WithTarget(instant("B", fmt.Sprintf(`max by (probe) (wardprobe_wifi_frequency_hertz{%s})`, sel))).
		WithTarget(instant("C", fmt.Sprintf(`max by (probe) (wardprobe_wifi_connected{%s})`, sel))).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time", "Value #A"},
			[]string{"probe", "Value #C", "interface", "ssid", "bssid", "channel", "band", "Value #B"},
			map[string]string{"Value #B": "frequency", "Value #C": "connected"})).
		OverrideByName("frequency", []dashboard.DynamicConfigValue{{Id: "unit", Value: "hertz"}}).
		Height(6).Span(24))

	b = joinRow(b, s)

	b = b.WithRow(dashboard.NewRowBuilder("Latency, jitter and loss"))
	b = b.WithPanel(series("Round-trip time (ICMP)", "Median and 95th percentile round trip to each ICMP target.", "s",
		query("A", fmt.Sprintf(`histogram_quantile(0.5, sum by (probe, target, le) (rate(wardprobe_icmp_rtt_seconds_bucket{%s}[$__rate_interval])))`, tsel), "{{probe}} {{target}} p50"),
		query("B", fmt.Sprintf(`histogram_quantile(0.95, sum by (probe, target, le) (rate(wardprobe_icmp_rtt_seconds_bucket{%s}[$__rate_interval])))`, tsel), "{{probe}} {{target}} p95")))
	b = b.WithPanel(series("Jitter (ICMP)", "Smoothed variation between consecutive round trips. The voice standard allows 30 ms.", "s",
		query("A", fmt.Sprintf(`wardprobe_icmp_jitter_seconds{%s}`, tsel), "{{probe}} {{target}}")).
		Thresholds(steps(colGood, 0.03, colNotSpot)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)))
	b = b.WithPanel(series("Packet loss (ICMP)", "Share of pings lost (no reply within the per-packet timeout). The voice standard allows 1%, data 2%.", "percentunit",
		query("A", fmt.Sprintf(`rate(wardprobe_icmp_packets_lost_total{%s}[$__rate_interval]) / rate(wardprobe_icmp_packets_sent_total{%s}[$__rate_interval])`, tsel, tsel), "{{probe}} {{target}}")).
		Min(0).
		Thresholds(steps(colGood, 0.01, colDegraded, 0.05, colNotSpot)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeLine)))
	b = b.WithPanel(statetimeline.NewPanelBuilder().Tooltip(tooltip()).
		Title("Target reachable").
		Description("Whether each target's last probe succeeded.").
		Datasource(ds()).
		WithTarget(query("A", fmt.Sprintf(`wardprobe_target_up{%s}`, tsel), "{{probe}} {{target}} ({{kind}})")).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
			"1": {Text: cog.ToPtr("up"), Color: cog.ToPtr(colGood), Index: cog.ToPtr(int32(0))},
			"0": {Text: cog.ToPtr("down"), Color: cog.ToPtr(colNotSpot), Index: cog.ToPtr(int32(1))},
		}}}}).
		ColorScheme(thresholdColours()).
		Thresholds(steps(colNotSpot, 1, colGood)).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		Height(8).Span(12))
	b = b.WithPanel(series("Failures by reason", "Failed probes per second by target and reason (timeout, refused, unreachable, dns, tls, http_status, no_interface, …).", "ops",
		query("A", fmt.Sprintf(`sum by (probe, target, reason) (rate(wardprobe_target_failures_total{%s}[$__rate_interval]))`, tsel), "{{probe}} {{target}} {{reason}}")))

	b = b.WithRow(dashboard.NewRowBuilder("DNS"))
	b = b.WithPanel(series("DNS lookup time", "Median and 95th percentile time from query to reply.", "s",
		query("A", fmt.Sprintf(`histogram_quantile(0.5, sum by (probe, target, le) (rate(wardprobe_dns_lookup_seconds_bucket{%s}[$__rate_interval])))`, tsel), "{{probe}} {{target}} p50"),
		query("B", fmt.Sprintf(`histogram_quantile(0.95, sum by (probe, target, le) (rate(wardprobe_dns_lookup_seconds_bucket{%s}[$__rate_interval])))`, tsel), "{{probe}} {{target}} p95")))
	b = b.WithPanel(series("DNS replies by code", "Replies per second by response code (NOERROR, NXDOMAIN, SERVFAIL, …).", "ops",
		query("A", fmt.Sprintf(`sum by (probe, target, rcode) (rate(wardprobe_dns_responses_total{%s}[$__rate_interval]))`, tsel), "{{probe}} {{target}} {{rcode}}")))

	b = b.WithRow(dashboard.NewRowBuilder("Web front-end (HTTP) and TCP services"))
	b = b.WithPanel(series("HTTP phases", "Time spent resolving, connecting, in TLS and waiting for the first byte, stacked, for each HTTP target.", "s",
		query("A", fmt.Sprintf(`wardprobe_http_duration_seconds{%s}`, s.tsel(`phase!="total"`)), "{{probe}} {{target}} {{phase}}")).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		FillOpacity(40))
	b = b.WithPanel(series("HTTP total time", "Whole HTTP request time.", "s",
		query("A", fmt.Sprintf(`wardprobe_http_duration_seconds{%s}`, s.tsel(`phase="total"`)), "{{probe}} {{target}}")))
	b = b.WithPanel(series("HTTP status code", "Status code of the last request (0: no response).", "none",
		query("A", fmt.Sprintf(`wardprobe_http_status_code{%s}`, tsel), "{{probe}} {{target}}")).
		Decimals(0))
	b = b.WithPanel(series("TCP connect time", "95th percentile time to set up a TCP connection to each TCP target.", "s",
		query("A", fmt.Sprintf(`histogram_quantile(0.95, sum by (probe, target, le) (rate(wardprobe_tcp_connect_seconds_bucket{%s}[$__rate_interval])))`, tsel), "{{probe}} {{target}} p95")))

	b = b.WithRow(dashboard.NewRowBuilder("Throughput"))
	b = b.WithPanel(series("Throughput", "Download and upload rates measured by the periodic throughput test.", "bps",
		query("A", fmt.Sprintf(`wardprobe_throughput_bits_per_second{%s}`, sel), "{{probe}} {{direction}}")).
		ShowPoints(common.VisibilityModeAlways).
		Span(16))
	b = b.WithPanel(stat.NewPanelBuilder().Orientation(common.VizOrientationAuto).
		Title("Last successful throughput test").
		Datasource(ds()).
		WithTarget(instantSeries("A", fmt.Sprintf(`wardprobe_throughput_last_success_timestamp_seconds{%s} * 1000`, sel), "{{probe}}")).
		Unit("dateTimeFromNow").
		ColorMode(common.BigValueColorModeNone).
		GraphMode(common.BigValueGraphModeNone).
		Height(8).Span(8))
	return b
}

// series is a time series panel of the given queries.
func series(title, desc, unit string, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Tooltip(tooltip()).
		Title(title).
		Description(desc).
		Datasource(ds()).
		Unit(unit).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Height(8).Span(12)
	for _, q := range qs {
		p = p.WithTarget(q)
	}
	return p
}

// bars is a time series panel drawn as bars (counts per interval).
func bars(title, desc string, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	return series(title, desc, "none", qs...).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Decimals(0)
}
