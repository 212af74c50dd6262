package exporters

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// wifiCollector exports the latest Wi-Fi snapshot and coverage assessment
// as const metrics, as node_exporter's wifi collector does: every value is a
// snapshot of the kernel's or the coverage logic's state.
type wifiCollector struct {
	connected, present, linkInfo                            *prometheus.Desc
	frequency, signal, signalAvg, noise, snr                *prometheus.Desc
	txBitrate, rxBitrate, busy, retryRatio                  *prometheus.Desc
	retries, failed, beaconLoss                             *prometheus.Desc
	roams, disconnects, disconnectedSeconds                 *prometheus.Desc
	neighborSignal, neighborStations, neighborUtil, visible *prometheus.Desc
	capability                                              *prometheus.Desc
	state, stateSeconds, met, metSeconds, checkMet          *prometheus.Desc
	checkMeasured                                           *prometheus.Desc

	mu      sync.Mutex
	snap    wifi.Snapshot
	cov     coverage.Assessment
	totals  coverage.Totals
	haveCov bool
}

func newWiFiCollector() *wifiCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	nb := []string{"ssid", "bssid", "channel"}
	return &wifiCollector{
		connected: d("wardprobe_wifi_connected", "Whether the Wi-Fi interface under test is associated with an AP of the configured SSIDs (0 also when there is no Wi-Fi interface)."),
		present:   d("wardprobe_wifi_interface_present", "Whether the Wi-Fi interface under test exists (1) or is missing (0).", "interface"),
		linkInfo:  d("wardprobe_wifi_link_info", "The association of the Wi-Fi interface under test (band is 2.4GHz, 5GHz or 6GHz; SSID bytes that are not UTF-8 written \\xNN); always 1, absent when not associated.", "interface", "ssid", "bssid", "channel", "band"),

		frequency:  d("wardprobe_wifi_frequency_hertz", "Centre frequency of the primary channel of the association, in hertz."),
		signal:     d("wardprobe_wifi_signal_dbm", "Signal of the last frame received from the AP, in dBm (from the scan results of the associated BSS when the driver gives no station signal)."),
		signalAvg:  d("wardprobe_wifi_signal_average_dbm", "The driver's running average of the signal from the AP, in dBm."),
		noise:      d("wardprobe_wifi_noise_dbm", "Noise floor of the channel in use from the driver's survey data, in dBm (absent when the driver gives none)."),
		snr:        d("wardprobe_wifi_snr_db", "Signal (average where the driver gives one) minus noise floor, in dB (absent without noise data)."),
		txBitrate:  d("wardprobe_wifi_transmit_bitrate_bits_per_second", "Current transmit bitrate to the AP, in bits per second."),
		rxBitrate:  d("wardprobe_wifi_receive_bitrate_bits_per_second", "Current receive bitrate from the AP, in bits per second."),
		busy:       d("wardprobe_wifi_channel_busy_ratio", "Share of time the channel in use was sensed busy over the last poll interval (0 to 1), from survey data."),
		retryRatio: d("wardprobe_wifi_transmit_retry_ratio", "Share of transmission attempts to the AP that were retries, retries/(frames sent + retries), over the last minute (0 to 1); absent with fewer than 10 attempts."),

		retries:             d("wardprobe_wifi_transmit_retries_total", "Frames retransmitted to the AP, summed over associations."),
		failed:              d("wardprobe_wifi_transmit_failed_total", "Frames the driver gave up sending to the AP, summed over associations."),
		beaconLoss:          d("wardprobe_wifi_beacon_loss_total", "Beacon loss events the driver detected, summed over associations."),
		roams:               d("wardprobe_wifi_roams_total", "Moves to another BSS of the same SSID (a roam with an outage seen by more than one poll counts as a disconnect)."),
		disconnects:         d("wardprobe_wifi_disconnects_total", "Losses of association with the configured SSIDs."),
		disconnectedSeconds: d("wardprobe_wifi_disconnected_seconds_total", "Time the interface under test was not connected to the configured SSIDs, in seconds (resolution one poll interval)."),

		neighborSignal:   d("wardprobe_wifi_neighbor_signal_dbm", "Signal of a BSS of a configured SSID from the scan results, in dBm (the current BSS included).", nb...),
		neighborStations: d("wardprobe_wifi_neighbor_stations", "Stations associated with a BSS, as its BSS Load element advertises.", nb...),
		neighborUtil:     d("wardprobe_wifi_neighbor_channel_utilization_ratio", "Share of time the BSS's AP sensed its channel busy (0 to 1), as its BSS Load element advertises.", nb...),
		visible:          d("wardprobe_wifi_visible_aps", "BSSs of the SSID heard at or above the ward standard's roaming threshold (second_ap_dbm, else signal_dbm, else the not-spot floor), the current one included.", "ssid"),
		capability:       d("wardprobe_wifi_capability_available", "Whether the driver and process can measure something (noise, channel_busy, active_scan); present once known.", "capability"),

		state:         d("wardprobe_coverage_state", "Coverage at the probe's spot, one-hot over good, degraded (usable, fails the ward's standard or unmeasured signal), notspot (signal below the not-spot floor or no usable network) and disconnected.", "state"),
		stateSeconds:  d("wardprobe_coverage_seconds_total", "Time spent in each coverage state, in seconds.", "state"),
		met:           d("wardprobe_standard_met", "Whether the coverage meets the minimum standard (1) or not (0), for every known standard.", "standard"),
		metSeconds:    d("wardprobe_standard_seconds_total", "Time the coverage met (met=\"true\") or failed (met=\"false\") the standard, in seconds: compliance over a range is increase(met=\"true\") / increase(both).", "standard", "met"),
		checkMet:      d("wardprobe_standard_check_met", "Whether one threshold of the standard is met (1) or not (0); absent when its measurement is missing (see wardprobe_standard_check_measured).", "standard", "check"),
		checkMeasured: d("wardprobe_standard_check_measured", "Whether the measurement of one threshold of the standard is there (1) or missing (0: not judged, shown as unmeasured).", "standard", "check"),
	}
}

// Describe implements prometheus.Collector.
func (c *wifiCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.present, c.linkInfo, c.frequency, c.signal, c.signalAvg, c.noise, c.snr,
		c.txBitrate, c.rxBitrate, c.busy, c.retryRatio, c.retries, c.failed, c.beaconLoss, c.roams, c.disconnects,
		c.disconnectedSeconds, c.neighborSignal, c.neighborStations, c.neighborUtil, c.visible, c.capability,
		c.state, c.stateSeconds, c.met, c.metSeconds, c.checkMet, c.checkMeasured} {
		ch <- d
	}
}

// constMetrics sends const metrics with label values made safe.
type constMetrics chan<- prometheus.Metric

func (ch constMetrics) send(d *prometheus.Desc, t prometheus.ValueType, v float64, lv ...string) {
	for i := range lv {
		lv[i] = escape.Valid(lv[i])
	}
	if m, err := prometheus.NewConstMetric(d, t, v, lv...); err == nil {
		ch <- m
	}
}

func (ch constMetrics) gauge(d *prometheus.Desc, v float64, lv ...string) {
	ch.send(d, prometheus.GaugeValue, v, lv...)
}

func (ch constMetrics) counter(d *prometheus.Desc, v float64, lv ...string) {
	ch.send(d, prometheus.CounterValue, v, lv...)
}

// Collect implements prometheus.Collector.
func (c *wifiCollector) Collect(out chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := constMetrics(out)
	s := c.snap
	opt := func(desc *prometheus.Desc, v wifi.Value) {
		if v.OK {
			ch.gauge(desc, v.V)
		}
	}
	ch.gauge(c.connected, boolf(s.Connected))
	ch.gauge(c.present, boolf(s.Present), s.Interface)
	if s.Associated {
		l := s.Link
		ch.gauge(c.linkInfo, 1, s.Interface, l.SSID, l.BSSID, channel(l.Channel), l.Band)
		if l.FrequencyMHz > 0 {
			ch.gauge(c.frequency, float64(l.FrequencyMHz)*1e6)
		}
		opt(c.signal, l.Signal)
		opt(c.signalAvg, l.SignalAverage)
		opt(c.noise, l.Noise)
		opt(c.snr, l.SNR)
		opt(c.txBitrate, l.TxBitrate)
		opt(c.rxBitrate, l.RxBitrate)
		opt(c.busy, l.BusyRatio)
		opt(c.retryRatio, l.RetryRatio)
	}
	n := s.Counters
	ch.counter(c.retries, float64(n.TxRetries))
	ch.counter(c.failed, float64(n.TxFailed))
	ch.counter(c.beaconLoss, float64(n.BeaconLoss))
	ch.counter(c.roams, float64(n.Roams))
	ch.counter(c.disconnects, float64(n.Disconnects))
	ch.counter(c.disconnectedSeconds, n.Disconnected.Seconds())
	for _, nb := range s.Neighbors {
		chn := channel(nb.Channel)
		ch.gauge(c.neighborSignal, nb.Signal, nb.SSID, nb.BSSID, chn)
		if nb.HasLoad {
			ch.gauge(c.neighborStations, float64(nb.Stations), nb.SSID, nb.BSSID, chn)
			ch.gauge(c.neighborUtil, nb.Utilization, nb.SSID, nb.BSSID, chn)
		}
	}
	for _, cp := range s.Capabilities {
		ch.gauge(c.capability, boolf(cp.Available), cp.Name)
	}
	c.collectCoverage(ch)
}

func (c *wifiCollector) collectCoverage(ch constMetrics) {
	a := c.cov
	state := a.State
	if !c.haveCov {
		state = coverage.Disconnected // nothing known yet: not known to be connected
	}
	for _, s := range coverage.States() {
		ch.gauge(c.state, boolf(s == state), string(s))
	}
	if !c.haveCov {
		return
	}
	t := c.totals
	for _, s := range coverage.States() {
		ch.counter(c.stateSeconds, t.StateSeconds[s], string(s))
	}
	for _, v := range a.Verdicts {
		ch.gauge(c.met, boolf(v.Met), v.Standard)
		for _, ck := range v.Checks {
			ch.gauge(c.checkMeasured, boolf(ck.Measured), v.Standard, ck.Name)
			if ck.Measured {
				ch.gauge(c.checkMet, boolf(ck.Met), v.Standard, ck.Name)
			}
		}
	}
	names := make([]string, 0, len(t.StandardSeconds))
	for n := range t.StandardSeconds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, met := range []bool{true, false} {
			ch.counter(c.metSeconds, t.StandardSeconds[n][met], n, strconv.FormatBool(met))
		}
	}
	for ssid, n := range a.VisibleAPs {
		ch.gauge(c.visible, float64(n), ssid)
	}
}

// SetWiFi records the latest Wi-Fi snapshot.
func (e *Exporter) SetWiFi(s wifi.Snapshot) {
	e.wifiC.mu.Lock()
	defer e.wifiC.mu.Unlock()
	e.wifiC.snap = s
}

// SetCoverage records the latest coverage assessment and the time totals.
func (e *Exporter) SetCoverage(a coverage.Assessment, t coverage.Totals) {
	e.wifiC.mu.Lock()
	defer e.wifiC.mu.Unlock()
	e.wifiC.cov, e.wifiC.totals, e.wifiC.haveCov = a, t, true
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
	e.wifiC.mu.Lock()
	defer e.wifiC.mu.Unlock()
	return wifiView{Snap: e.wifiC.snap, Cov: e.wifiC.cov, HaveCov: e.wifiC.haveCov}
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
		add("retries", "%.0f%% of attempts", l.RetryRatio, 100)
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
	Name  string
	Met   bool
	Ward  bool
	Items []string
}

// Standards are the verdicts on every standard, the ward's first.
func (v wifiView) Standards() []standardView {
	var out []standardView
	for _, vd := range v.Cov.Verdicts {
		var checks []string
		for _, c := range vd.Checks {
			checks = append(checks, c.String())
		}
		sv := standardView{Name: vd.Standard, Met: vd.Met, Ward: vd.Standard == v.Cov.Standard, Items: checks}
		if sv.Ward {
			out = append([]standardView{sv}, out...)
		} else {
			out = append(out, sv)
		}
	}
	return out
}
