package exporters

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/probe/wifi"
)

type wifiDescs struct {
	connected, present *prometheus.Desc
}

func newWiFiDescs() wifiDescs {
	return wifiDescs{
		connected: desc("wardprobe_wifi_connected", "Whether the Wi-Fi interface under test is associated with an AP of the configured SSIDs (0 also when there is no Wi-Fi interface)."),
		present:   desc("wardprobe_wifi_interface_present", "Whether the Wi-Fi interface under test exists (1) or is missing (0).", "interface"),
	}
}

type wifiState struct {
	snap wifi.Snapshot
}

// SetWiFi records the latest Wi-Fi snapshot.
func (e *Exporter) SetWiFi(s wifi.Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wifi.snap = s
}

// WiFi returns the latest Wi-Fi snapshot.
func (e *Exporter) WiFi() wifi.Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.wifi.snap
}

func (e *Exporter) collectWiFi(_ chan<- prometheus.Metric, gauge func(*prometheus.Desc, float64, ...string), _ func(*prometheus.Desc, uint64, ...string)) {
	d := e.d.wifi
	s := e.wifi.snap
	gauge(d.connected, boolf(s.Connected))
	gauge(d.present, boolf(s.Present), s.Interface)
}
