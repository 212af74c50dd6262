package exporters

import (
	"time"

	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// goldenWiFi is a connected link on a voice ward with one neighbour, as the
// golden exporter reports it.
func goldenWiFi() wifi.Snapshot {
	return wifi.Snapshot{
		Time: t0, Interface: "wlan0", Present: true, Associated: true, Connected: true,
		Detail: "connected to CLINICAL",
		Link: wifi.Link{
			SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 5180, Channel: 36, Band: "5GHz",
			Signal: wifi.Some(-58), SignalAverage: wifi.Some(-59), Noise: wifi.Some(-92), SNR: wifi.Some(33),
			TxBitrate: wifi.Some(173.3e6), RxBitrate: wifi.Some(144.4e6), BusyRatio: wifi.Some(0.25),
			ConnectedFor: 10 * time.Minute,
		},
		Counters: wifi.Counters{TxRetries: 42, TxFailed: 3, BeaconLoss: 1, Roams: 2, Disconnects: 1, Disconnected: 8 * time.Second},
		Neighbors: []wifi.Neighbor{
			{SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 5180, Channel: 36, Band: "5GHz", Signal: -58,
				Current: true, HasLoad: true, Stations: 12, Utilization: 0.3, Seen: t0},
			{SSID: "CLINICAL", BSSID: "02:00:00:00:01:00", FrequencyMHz: 2412, Channel: 1, Band: "2.4GHz", Signal: -66, Seen: t0},
		},
		Capabilities: []wifi.Capability{
			{Name: wifi.CapNoise, Available: true}, {Name: wifi.CapChannelBusy, Available: true},
			{Name: wifi.CapActiveScan, Available: false, Detail: "needs CAP_NET_ADMIN"},
		},
	}
}

// feedWiFi gives e the golden Wi-Fi snapshot and the coverage judged from it
// by the real coverage logic, with a minute of totals behind it.
func feedWiFi(e *Exporter) {
	s := goldenWiFi()
	e.SetWiFi(s)
	settings := coverage.SettingsFrom(e.Config())
	net := coverage.Network{Packets: 60, Lost: 0, Answered: 60, RTT: 5 * time.Millisecond, Jitter: 2 * time.Millisecond, HaveJitter: true}
	var ledger coverage.Ledger
	first := coverage.Assess(coverage.Input{WiFi: s, Network: net}, settings)
	ledger.Add(first)
	s.Time = t0.Add(time.Minute)
	last := coverage.Assess(coverage.Input{WiFi: s, Network: net}, settings)
	ledger.Add(last)
	e.SetCoverage(last, ledger.Totals())
}
