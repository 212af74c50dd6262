package exporters

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

type wifiDescs struct {
	connected, present, linkInfo                            *prometheus.Desc
	frequency, signal, signalAvg, noise, snr                *prometheus.Desc
	txBitrate, rxBitrate, busy                              *prometheus.Desc
	retries, failed, beaconLoss                             *prometheus.Desc
	roams, disconnects, disconnectedSeconds                 *prometheus.Desc
	neighborSignal, neighborStations, neighborUtil, visible *prometheus.Desc
	capability                                              *prometheus.Desc

	cov coverageDescs
}

func newWiFiDescs() wifiDescs {
	nb := []string{"ssid", "bssid", "channel"}
	return wifiDescs{
		connected: desc("wardprobe_wifi_connected", "Whether the Wi-Fi interface under test is associated with an AP of the configured SSIDs (0 also when there is no Wi-Fi interface)."),
		present:   desc("wardprobe_wifi_interface_present", "Whether the Wi-Fi interface under test exists (1) or is missing (0).", "interface"),
		linkInfo:  desc("wardprobe_wifi_link_info", "The association of the Wi-Fi interface under test (band is 2.4GHz, 5GHz or 6GHz); always 1, absent when not associated.", "interface", "ssid", "bssid", "channel", "band"),

		frequency: desc("wardprobe_wifi_frequency_hertz", "Centre frequency of the primary channel of the association, in hertz."),
		signal:    desc("wardprobe_wifi_signal_dbm", "Signal of the last frame received from the AP, in dBm."),
		signalAvg: desc("wardprobe_wifi_signal_average_dbm", "The driver's running average of the signal from the AP, in dBm."),
		noise:     desc("wardprobe_wifi_noise_dbm", "Noise floor of the channel in use from the driver's survey data, in dBm (absent when the driver gives none)."),
		snr:       desc("wardprobe_wifi_snr_db", "Signal (average where the driver gives one) minus noise floor, in dB (absent without noise data)."),
		txBitrate: desc("wardprobe_wifi_transmit_bitrate_bits_per_second", "Current transmit bitrate to the AP, in bits per second."),
		rxBitrate: desc("wardprobe_wifi_receive_bitrate_bits_per_second", "Current receive bitrate from the AP, in bits per second."),
		busy:      desc("wardprobe_wifi_channel_busy_ratio", "Share of time the channel in use was sensed busy over the last poll interval (0 to 1), from survey data."),

		retries:             desc("wardprobe_wifi_transmit_retries_total", "Frames retransmitted to the AP, summed over associations."),
		failed:              desc("wardprobe_wifi_transmit_failed_total", "Frames the driver gave up sending to the AP, summed over associations."),
		beaconLoss:          desc("wardprobe_wifi_beacon_loss_total", "Beacon loss events the driver detected, summed over associations."),
		roams:               desc("wardprobe_wifi_roams_total", "Moves to another BSS of the same SSID (a roam with an outage seen by more than one poll counts as a disconnect)."),
		disconnects:         desc("wardprobe_wifi_disconnects_total", "Losses of association with the configured SSIDs."),
		disconnectedSeconds: desc("wardprobe_wifi_disconnected_seconds_total", "Time the interface under test was not connected to the configured SSIDs, in seconds (resolution one poll interval)."),

		neighborSignal:   desc("wardprobe_wifi_neighbor_signal_dbm", "Signal of a BSS of a configured SSID from the scan results, in dBm (the current BSS included).", nb...),
		neighborStations: desc("wardprobe_wifi_neighbor_stations", "Stations associated with a BSS, as its BSS Load element advertises.", nb...),
		neighborUtil:     desc("wardprobe_wifi_neighbor_channel_utilization_ratio", "Share of time the BSS's AP sensed its channel busy (0 to 1), as its BSS Load element advertises.", nb...),
		visible:          desc("wardprobe_wifi_visible_aps", "BSSs of the SSID heard at or above the ward standard's roaming threshold (second_ap_dbm, else signal_dbm), the current one included.", "ssid"),
		capability:       desc("wardprobe_wifi_capability_available", "Whether the driver and process can measure something (noise, channel_busy, active_scan); present once known.", "capability"),

		cov: newCoverageDescs(),
	}
}

type wifiState struct {
	snap    wifi.Snapshot
	cov     coverage.Assessment
	totals  coverage.Totals
	haveCov bool
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

func (e *Exporter) collectWiFi(ch chan<- prometheus.Metric, gauge func(*prometheus.Desc, float64, ...string), counter func(*prometheus.Desc, uint64, ...string)) {
	d := e.d.wifi
	s := e.wifi.snap
	opt := func(desc *prometheus.Desc, v wifi.Value) {
		if v.OK {
			gauge(desc, v.V)
		}
	}
	gauge(d.connected, boolf(s.Connected))
	gauge(d.present, boolf(s.Present), s.Interface)
	if s.Associated {
		l := s.Link
		gauge(d.linkInfo, 1, s.Interface, l.SSID, l.BSSID, channel(l.Channel), l.Band)
		if l.FrequencyMHz > 0 {
			gauge(d.frequency, float64(l.FrequencyMHz)*1e6)
		}
		opt(d.signal, l.Signal)
		opt(d.signalAvg, l.SignalAverage)
		opt(d.noise, l.Noise)
		opt(d.snr, l.SNR)
		opt(d.txBitrate, l.TxBitrate)
		opt(d.rxBitrate, l.RxBitrate)
		opt(d.busy, l.BusyRatio)
	}
	c := s.Counters
	counter(d.retries, c.TxRetries)
	counter(d.failed, c.TxFailed)
	counter(d.beaconLoss, c.BeaconLoss)
	counter(d.roams, c.Roams)
	counter(d.disconnects, c.Disconnects)
	e.floatCounter(ch, d.disconnectedSeconds, c.Disconnected.Seconds())
	for _, nb := range s.Neighbors {
		ch := channel(nb.Channel)
		gauge(d.neighborSignal, nb.Signal, nb.SSID, nb.BSSID, ch)
		if nb.HasLoad {
			gauge(d.neighborStations, float64(nb.Stations), nb.SSID, nb.BSSID, ch)
			gauge(d.neighborUtil, nb.Utilization, nb.SSID, nb.BSSID, ch)
		}
	}
	for _, c := range s.Capabilities {
		gauge(d.capability, boolf(c.Available), c.Name)
	}
	e.collectCoverage(ch, gauge)
}

// floatCounter sends a counter with a fractional value.
func (e *Exporter) floatCounter(ch chan<- prometheus.Metric, desc *prometheus.Desc, v float64, extra ...string) {
	lv := append(append(make([]string, 0, len(e.loc)+len(extra)), e.loc...), extra...)
	ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, lv...)
}

func channel(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// wifiView is what the landing page shows of Wi-Fi and coverage.
type wifiView struct {
	Snap    wifi.Snapshot
	Cov     coverage.Assessment
	HaveCov bool
}

// wifiView returns the landing page's view of Wi-Fi and coverage.
func (e *Exporter) wifiView() wifiView {
	e.mu.Lock()
	defer e.mu.Unlock()
	return wifiView{Snap: e.wifi.snap, Cov: e.wifi.cov, HaveCov: e.wifi.haveCov}
}

// WiFiWords says the Wi-Fi state in words; WiFiClass is its colour class.
func (v wifiView) WiFiWords() string {
	switch s := v.Snap; {
	case s.Connected:
		return "connected"
	case s.Associated:
		return "on another network"
	case s.Present:
		return "not connected"
	case s.Interface == "":
		return "no Wi-Fi interface"
	}
	return "Wi-Fi interface missing"
}

// WiFiClass is the colour class of the Wi-Fi state.
func (v wifiView) WiFiClass() string {
	if v.Snap.Connected {
		return "ok"
	}
	return "bad"
}

// CoverageWords says the coverage state in words.
func (v wifiView) CoverageWords() string {
	switch v.Cov.State {
	case coverage.Good:
		return "good: meets the " + v.Cov.Standard + " standard"
	case coverage.Degraded:
		return "degraded: usable, below the " + v.Cov.Standard + " standard"
	case coverage.NotSpot:
		return "not-spot: not usable here"
	}
	return "disconnected"
}

// CoverageClass is the colour class of the coverage state.
func (v wifiView) CoverageClass() string {
	switch v.Cov.State {
	case coverage.Good:
		return "ok"
	case coverage.Degraded:
		return "warn"
	}
	return "bad"
}

// fact is one line of the landing page's Wi-Fi table.
type fact struct{ Name, Value string }

// Facts are the link measurements worth showing, in words.
func (v wifiView) Facts() []fact {
	s, l := v.Snap, v.Snap.Link
	var out []fact
	add := func(name, format string, val wifi.Value, scale float64) {
		if val.OK {
			out = append(out, fact{name, fmt.Sprintf(format, val.V*scale)})
		}
	}
	if s.Associated {
		out = append(out, fact{"network", fmt.Sprintf("%s · %s · channel %d %s", l.SSID, l.BSSID, l.Channel, l.Band)})
		add("signal", "%.0f dBm", l.SignalUsed(), 1)
		add("SNR", "%.0f dB", l.SNR, 1)
		add("noise", "%.0f dBm", l.Noise, 1)
		add("bitrate out", "%.1f Mbit/s", l.TxBitrate, 1e-6)
		add("bitrate in", "%.1f Mbit/s", l.RxBitrate, 1e-6)
		add("channel busy", "%.0f%%", l.BusyRatio, 100)
	}
	c := s.Counters
	out = append(out, fact{"events", fmt.Sprintf("%d roams · %d disconnects · %s disconnected", c.Roams, c.Disconnects,
		c.Disconnected.Truncate(time.Second))})
	ssids := make([]string, 0, len(v.Cov.VisibleAPs))
	for name := range v.Cov.VisibleAPs {
		ssids = append(ssids, name)
	}
	sort.Strings(ssids)
	for _, name := range ssids {
		out = append(out, fact{"APs heard ≥ " + strconv.FormatFloat(v.Cov.VisibleDBM, 'f', -1, 64) + " dBm",
			fmt.Sprintf("%d of %s", v.Cov.VisibleAPs[name], name)})
	}
	for _, c := range s.Capabilities {
		if !c.Available || c.Detail != "" {
			out = append(out, fact{"note", c.Detail})
		}
	}
	return out
}

// standardView is one standard's verdict in words.
type standardView struct {
	Name   string
	Met    bool
	Ward   bool
	Checks string
}

// Standards are the verdicts on every standard, the ward's first.
func (v wifiView) Standards() []standardView {
	var out []standardView
	for _, vd := range v.Cov.Verdicts {
		var checks []string
		for _, c := range vd.Checks {
			checks = append(checks, c.String())
		}
		sv := standardView{Name: vd.Standard, Met: vd.Met, Ward: vd.Standard == v.Cov.Standard, Checks: strings.Join(checks, "; ")}
		if sv.Ward {
			out = append([]standardView{sv}, out...)
		} else {
			out = append(out, sv)
		}
	}
	return out
}
