// Package wifi reads the state of the Wi-Fi interface under test from the
// kernel's nl80211 interface: the link (SSID, BSSID, channel, signal, noise,
// bitrates, retries, beacon loss, channel busy time), roams and disconnects,
// and the neighbouring access points of the configured SSIDs from the cached
// scan results. Everything it reads works without privilege; the optional
// active scan needs CAP_NET_ADMIN.
//
// nl80211 is reached through Source, a narrow interface that
// *github.com/mdlayher/wifi.Client satisfies; unit tests fake it.
package wifi

import (
	"time"
)

// Value is a measurement that a driver may or may not give.
type Value struct {
	V  float64
	OK bool
}

// Some returns a present Value.
func Some(v float64) Value { return Value{V: v, OK: true} }

// Snapshot is the state of the Wi-Fi interface under test at one moment. It
// is a plain value: the poller and the exporter share nothing mutable.
type Snapshot struct {
	Time time.Time
	// Interface is the interface reported ("" when there is none).
	Interface string
	// Present is whether nl80211 knows the interface.
	Present bool
	// Associated is whether the interface is associated with any BSS; Link is
	// valid when it is.
	Associated bool
	// Connected is whether it is associated with a BSS of the configured
	// SSIDs (of any SSID when none are configured).
	Connected bool
	// Detail explains the state in words, for logs and the landing page.
	Detail string
	Link   Link
	// Counters only ever grow while the process runs.
	Counters Counters
	// Neighbors are the BSSs of the configured SSIDs heard recently, the
	// current one included, strongest first, at most Config.MaxNeighbors.
	Neighbors []Neighbor
	// Capabilities says what this driver and process can measure, once known.
	Capabilities []Capability
	// Planned is set while the interface is in a planned outage (a connect
	// test on the main link): its events and time are not counted.
	Planned bool
}

// Link is the association of the interface under test.
type Link struct {
	SSID  string
	BSSID string
	// FrequencyMHz is the centre frequency of the primary channel, in MHz.
	FrequencyMHz int
	Channel      int
	// Band is "2.4GHz", "5GHz", "6GHz" or "" when unknown.
	Band string
	// Signal is the signal of the last frame from the AP, in dBm.
	Signal Value
	// SignalAverage is the driver's running average of the signal, in dBm.
	SignalAverage Value
	// Noise is the noise floor of the channel from survey data, in dBm.
	Noise Value
	// SNR is SignalAverage (or Signal) minus Noise, in dB.
	SNR Value
	// TxBitrate and RxBitrate are the current bitrates, in bits per second.
	TxBitrate Value
	RxBitrate Value
	// BusyRatio is the share of time the channel was busy (0..1), from
	// survey data, over the last poll interval when the counters allow.
	BusyRatio Value
	// RetryRatio is the share of transmission attempts to the AP that were
	// retries, retries/(frames sent + retries), over the last minute of the
	// association (measured once at least 10 attempts were made).
	RetryRatio Value
	// ConnectedFor is how long the station has been associated.
	ConnectedFor time.Duration
}

// Counters are events and totals since the process started.
type Counters struct {
	// TxRetries, TxFailed and BeaconLoss add up the driver's per-association
	// counters across roams and reconnections.
	TxRetries  uint64
	TxFailed   uint64
	BeaconLoss uint64
	// Roams counts moves to another BSS of the same SSID.
	Roams uint64
	// Disconnects counts losses of association with the configured SSIDs.
	Disconnects uint64
	// Disconnected is the time spent not connected.
	Disconnected time.Duration
}

// Neighbor is one BSS of a configured SSID from the scan results.
type Neighbor struct {
	SSID         string
	BSSID        string
	FrequencyMHz int
	Channel      int
	Band         string
	// Signal is the signal of the last beacon or probe response heard, in dBm.
	Signal float64
	// Current is whether the interface is associated with this BSS.
	Current bool
	// HasLoad says whether the AP advertises a BSS Load element; Stations and
	// Utilization (0..1) come from it.
	HasLoad     bool
	Stations    int
	Utilization float64
	// Seen is when the BSS was last heard.
	Seen time.Time
}

// Capability is something the driver or process can or cannot do.
type Capability struct {
	// Name is "noise", "channel_busy" or "active_scan".
	Name      string
	Available bool
	// Detail explains a missing capability.
	Detail string
}

// Capability names.
const (
	CapNoise       = "noise"
	CapChannelBusy = "channel_busy"
	CapActiveScan  = "active_scan"
)
