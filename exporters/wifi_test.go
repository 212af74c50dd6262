package exporters

import (
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/kinds"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

const wifiConfig = `probe: {name: p1}
location: {site: S, building: B, floor: "1", ward: W}
standard: voice
standards:
  trust-minimum: {signal_dbm: -65, snr_db: 25, loss_ratio: 0.01, rtt_seconds: 0.1, jitter_seconds: 0.03}
wifi: {interface: wlan0, ssids: [CLINICAL]}
targets:
  - {name: gateway, kind: icmp, address: gateway, interval: 1s}
`

func wifiT0() time.Time { return time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) }

// linkSnapshot is wlan0 connected to CLINICAL on channel 36 at signal dBm,
// with a second AP at second dBm (none when NaN).
func linkSnapshot(signal, second float64) wifi.Snapshot {
	s := wifi.Snapshot{Time: wifiT0(), Interface: "wlan0", Present: true, Associated: true, Connected: true,
		Detail: "connected to \"CLINICAL\"",
		Link: wifi.Link{SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 5180, Channel: 36, Band: "5GHz",
			Signal: wifi.Some(signal - 1), SignalAverage: wifi.Some(signal), Noise: wifi.Some(-92), SNR: wifi.Some(signal + 92),
			TxBitrate: wifi.Some(144.4e6), RxBitrate: wifi.Some(65e6), BusyRatio: wifi.Some(0.125)},
		Counters: wifi.Counters{TxRetries: 12, TxFailed: 1, BeaconLoss: 2, Roams: 3, Disconnects: 1, Disconnected: 2500 * time.Millisecond},
		Neighbors: []wifi.Neighbor{{SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 5180, Channel: 36, Band: "5GHz",
			Signal: signal, Current: true}},
		Capabilities: []wifi.Capability{{Name: wifi.CapChannelBusy, Available: true}, {Name: wifi.CapNoise, Available: true}},
	}
	if !math.IsNaN(second) {
		s.Neighbors = append(s.Neighbors, wifi.Neighbor{SSID: "CLINICAL", BSSID: "02:00:00:00:01:00", FrequencyMHz: 2412,
			Channel: 1, Band: "2.4GHz", Signal: second, HasLoad: true, Stations: 7, Utilization: 0.25})
	}
	return s
}

// wifiServer returns a server whose exporter has seen snaps in turn, a
// second apart, each judged for coverage as the daemon does.
func wifiServer(t *testing.T, net coverage.Network, snaps ...wifi.Snapshot) (*Server, *Exporter) {
	t.Helper()
	cfg, err := kinds.Parse("wifi.yml", []byte(wifiConfig))
	if err != nil {
		t.Fatal(err)
	}
	e := New("test", kinds.All(), cfg, wifiT0())
	var ledger coverage.Ledger
	for i, s := range snaps {
		s.Time = wifiT0().Add(time.Duration(i) * time.Second)
		a := coverage.Assess(coverage.Input{WiFi: s, Network: net}, coverage.SettingsFrom(cfg))
		ledger.Add(a)
		e.SetWiFi(s)
		e.SetCoverage(a, ledger.Totals())
	}
	return NewServer(e, ServerOptions{Reload: func() error { return nil }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Redact: &secret.Redactor{}}), e
}

func wifiScrape(t *testing.T, s *Server) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// ser formats a series line as the exposition format sorts it, with the
// test config's location labels and the extra label pairs kv.
func ser(name, value string, kv ...string) string {
	labels := map[string]string{"site": "S", "building": "B", "floor": "1", "ward": "W", "probe": "p1"}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + labels[k] + `"`
	}
	return name + "{" + strings.Join(parts, ",") + "} " + value
}

func goodNet() coverage.Network {
	return coverage.Network{Packets: 60, Answered: 60, RTT: 3 * time.Millisecond, Jitter: time.Millisecond, HaveJitter: true}
}

func TestWiFiMetrics(t *testing.T) {
	for _, tc := range []struct {
		name    string
		snaps   []wifi.Snapshot
		present []string
		absent  []string
	}{
		{name: "good link", snaps: []wifi.Snapshot{linkSnapshot(-60, -64), linkSnapshot(-60, -64), linkSnapshot(-60, -64)},
			present: []string{
				ser("wardprobe_wifi_connected", "1"),
				ser("wardprobe_wifi_interface_present", "1", "interface", "wlan0"),
				ser("wardprobe_wifi_link_info", "1", "band", "5GHz", "bssid", "02:00:00:00:00:00", "channel", "36", "interface", "wlan0", "ssid", "CLINICAL"),
				ser("wardprobe_wifi_frequency_hertz", "5.18e+09"),
				ser("wardprobe_wifi_signal_dbm", "-61"),
				ser("wardprobe_wifi_signal_average_dbm", "-60"),
				ser("wardprobe_wifi_noise_dbm", "-92"),
				ser("wardprobe_wifi_snr_db", "32"),
				ser("wardprobe_wifi_transmit_bitrate_bits_per_second", "1.444e+08"),
				ser("wardprobe_wifi_receive_bitrate_bits_per_second", "6.5e+07"),
				ser("wardprobe_wifi_channel_busy_ratio", "0.125"),
				ser("wardprobe_wifi_transmit_retries_total", "12"),
				ser("wardprobe_wifi_transmit_failed_total", "1"),
				ser("wardprobe_wifi_beacon_loss_total", "2"),
				ser("wardprobe_wifi_roams_total", "3"),
				ser("wardprobe_wifi_disconnects_total", "1"),
				ser("wardprobe_wifi_disconnected_seconds_total", "2.5"),
				ser("wardprobe_wifi_neighbor_signal_dbm", "-64", "bssid", "02:00:00:00:01:00", "channel", "1", "ssid", "CLINICAL"),
				ser("wardprobe_wifi_neighbor_stations", "7", "bssid", "02:00:00:00:01:00", "channel", "1", "ssid", "CLINICAL"),
				ser("wardprobe_wifi_neighbor_channel_utilization_ratio", "0.25", "bssid", "02:00:00:00:01:00", "channel", "1", "ssid", "CLINICAL"),
				ser("wardprobe_wifi_visible_aps", "2", "ssid", "CLINICAL"),
				ser("wardprobe_wifi_capability_available", "1", "capability", "noise"),
				ser("wardprobe_coverage_state", "1", "state", "good"),
				ser("wardprobe_coverage_state", "0", "state", "degraded"),
				ser("wardprobe_coverage_state", "0", "state", "notspot"),
				ser("wardprobe_coverage_state", "0", "state", "disconnected"),
				ser("wardprobe_coverage_seconds_total", "2", "state", "good"),
				ser("wardprobe_standard_met", "1", "standard", "voice"),
				ser("wardprobe_standard_met", "1", "standard", "data"),
				ser("wardprobe_standard_met", "1", "standard", "trust-minimum"),
				ser("wardprobe_standard_seconds_total", "2", "met", "true", "standard", "voice"),
				ser("wardprobe_standard_seconds_total", "0", "met", "false", "standard", "voice"),
				ser("wardprobe_standard_check_met", "1", "check", "second_ap", "standard", "voice"),
				ser("wardprobe_standard_check_met", "1", "check", "rtt", "standard", "trust-minimum"),
			},
			absent: []string{`check="rtt",standard="voice"`}},
		{name: "degraded: weak signal, no second AP", snaps: []wifi.Snapshot{linkSnapshot(-70, math.NaN()), linkSnapshot(-70, math.NaN())},
			present: []string{
				ser("wardprobe_coverage_state", "1", "state", "degraded"),
				ser("wardprobe_standard_met", "0", "standard", "voice"),
				ser("wardprobe_standard_met", "1", "standard", "data"),
				ser("wardprobe_standard_check_met", "0", "check", "signal", "standard", "voice"),
				ser("wardprobe_standard_check_met", "0", "check", "second_ap", "standard", "voice"),
				ser("wardprobe_standard_seconds_total", "1", "met", "false", "standard", "voice"),
				ser("wardprobe_wifi_visible_aps", "0", "ssid", "CLINICAL"),
			}},
		{name: "not-spot", snaps: []wifi.Snapshot{linkSnapshot(-85, math.NaN())},
			present: []string{
				ser("wardprobe_coverage_state", "1", "state", "notspot"),
				ser("wardprobe_standard_met", "0", "standard", "data"),
				ser("wardprobe_wifi_connected", "1"),
			}},
		{name: "disconnected: no link series, never silence", snaps: []wifi.Snapshot{linkSnapshot(-60, -60),
			{Interface: "wlan0", Present: true, Detail: "wlan0 is not associated with any access point", Counters: wifi.Counters{Disconnects: 1}}},
			present: []string{
				ser("wardprobe_wifi_connected", "0"),
				ser("wardprobe_wifi_interface_present", "1", "interface", "wlan0"),
				ser("wardprobe_coverage_state", "1", "state", "disconnected"),
				ser("wardprobe_standard_met", "0", "standard", "voice"),
				ser("wardprobe_wifi_disconnects_total", "1"),
				ser("wardprobe_standard_seconds_total", "1", "met", "true", "standard", "voice"),
			},
			absent: []string{"wardprobe_wifi_link_info{", "wardprobe_wifi_signal_dbm{", "wardprobe_wifi_frequency_hertz{", "wardprobe_standard_check_met{"}},
		{name: "missing interface",
			snaps: []wifi.Snapshot{{Interface: "wlan0", Detail: "Wi-Fi interface wlan0 is missing (unplugged, renamed or its driver unloaded)"}},
			present: []string{
				ser("wardprobe_wifi_connected", "0"),
				ser("wardprobe_wifi_interface_present", "0", "interface", "wlan0"),
				ser("wardprobe_coverage_state", "1", "state", "disconnected"),
			}},
		{name: "before the first poll", snaps: nil,
			present: []string{
				ser("wardprobe_wifi_connected", "0"),
				ser("wardprobe_coverage_state", "1", "state", "disconnected"),
			},
			absent: []string{"wardprobe_standard_met{", "wardprobe_standard_seconds_total{"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := wifiServer(t, goodNet(), tc.snaps...)
			text := wifiScrape(t, s)
			for _, line := range tc.present {
				if !strings.Contains(text, "\n"+line+"\n") {
					t.Errorf("missing: %s", line)
				}
			}
			for _, frag := range tc.absent {
				if strings.Contains(text, frag) {
					t.Errorf("unexpected: %s", frag)
				}
			}
			if t.Failed() {
				t.Logf("scrape:\n%s", wardprobeLines(text))
			}
		})
	}
}

func wardprobeLines(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "wardprobe_wifi") || strings.HasPrefix(l, "wardprobe_coverage") || strings.HasPrefix(l, "wardprobe_standard") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestWiFiMetricsPromtool(t *testing.T) {
	s, _ := wifiServer(t, goodNet(), linkSnapshot(-60, -64), linkSnapshot(-70, -64))
	promtoolCheck(t, wifiScrape(t, s))
}

func TestLandingWiFi(t *testing.T) {
	unplugged := wifi.Snapshot{Interface: "wlan0", Detail: "Wi-Fi interface wlan0 is missing (unplugged, renamed or its driver unloaded)"}
	noWiFi := wifi.Snapshot{Detail: "no Wi-Fi interface on this machine"}
	for _, tc := range []struct {
		name  string
		snaps []wifi.Snapshot
		net   coverage.Network
		want  []string
	}{
		{"good", []wifi.Snapshot{linkSnapshot(-60, -64)}, goodNet(), []string{
			`Wi-Fi <span class="badge ok">connected</span> on <b>wlan0</b>`,
			`<span class="badge ok">good: meets the voice standard</span>`,
			`<dt>signal</dt><dd>-60 dBm</dd>`, `<dt>SNR</dt><dd>32 dB</dd>`, `3 roams · 1 disconnects · 2s disconnected`,
			`<h3>standard voice (this ward) <span class="badge ok">met</span></h3>`,
		}},
		{"degraded", []wifi.Snapshot{linkSnapshot(-70, math.NaN())}, goodNet(), []string{
			`<span class="badge warn">degraded: usable, below the voice standard</span>`,
			`signal FAILS: -70 dBm (needs &gt;= -67 dBm)`,
			`<h3>standard voice (this ward) <span class="badge bad">not met</span></h3>`,
		}},
		{"not-spot", []wifi.Snapshot{linkSnapshot(-85, math.NaN())}, goodNet(), []string{
			`<span class="badge bad">not-spot: not usable here</span>`, `below the not-spot floor of -80 dBm`,
		}},
		{"disconnected", []wifi.Snapshot{{Interface: "wlan0", Present: true, Detail: "wlan0 is not associated with any access point"}}, goodNet(), []string{
			`Wi-Fi <span class="badge bad">not connected</span>`, `<span class="badge bad">disconnected</span>`,
		}},
		{"unplugged", []wifi.Snapshot{unplugged}, goodNet(), []string{
			`Wi-Fi <span class="badge bad">Wi-Fi interface missing</span>`, `wlan0 is missing (unplugged`,
		}},
		{"no Wi-Fi", []wifi.Snapshot{noWiFi}, goodNet(), []string{
			`Wi-Fi <span class="badge bad">no Wi-Fi interface</span>`, `no Wi-Fi interface on this machine`,
		}},
		{"not judged yet", nil, goodNet(), []string{`<span class="badge none">not judged yet</span>`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := wifiServer(t, tc.net, tc.snaps...)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			body := rec.Body.String()
			if rec.Code != 200 {
				t.Fatalf("landing: %d", rec.Code)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("landing page lacks %s", w)
				}
			}
			if t.Failed() {
				i := strings.Index(body, "<h2>Wi-Fi")
				j := strings.Index(body, "<h2>Targets")
				if i >= 0 && j > i {
					t.Logf("%s", body[i:j])
				}
			}
		})
	}
}
