// Package survey is wardprobe's walk-the-ward survey: at each spot an
// engineer taps on the floor plan, it captures every BSS a triggered scan
// hears (the median of a few scans), the associated link, and a ping burst to
// the ward's ICMP targets, and judges the spot against the ward's minimum
// standard with the same rules as the fixed probes (probe/coverage).
//
// The radio and the pinger are reached through two small interfaces, Scanner
// and Pinger, so that the capture logic is tested with fakes; the real ones
// live in survey/radio (nl80211) and survey/ping (ICMP). Points are kept in
// survey/store, drawn by survey/heatmap, served by survey/web and written up
// by survey/report.
package survey

import (
	"math"
	"slices"
	"time"
)

// BSS is one BSS heard at a point: the median of the scans that heard it.
type BSS struct {
	BSSID string `json:"bssid"`
	// SSID is the raw SSID escaped as iw prints it (internal/escape):
	// non-UTF-8 bytes and control characters as \xNN, a backslash as \\.
	SSID         string `json:"ssid"`
	Channel      int    `json:"channel"`
	FrequencyMHz int    `json:"frequency_mhz"`
	// SignalDBM is the median signal of the scans that heard the BSS, dBm.
	SignalDBM float64 `json:"signal_dbm"`
	// NoiseDBM is the noise floor of its channel from survey data, dBm; nil
	// when the driver gives none.
	NoiseDBM *float64 `json:"noise_dbm,omitempty"`
	// Heard is how many of the scans heard it.
	Heard int `json:"heard"`
}

// Link is the association of the Wi-Fi interface at a point.
type Link struct {
	Interface    string  `json:"interface"`
	SSID         string  `json:"ssid"`
	BSSID        string  `json:"bssid"`
	FrequencyMHz int     `json:"frequency_mhz"`
	Channel      int     `json:"channel"`
	SignalDBM    float64 `json:"signal_dbm"`
	// NoiseDBM is the noise floor of the channel in use; nil when unknown.
	NoiseDBM *float64 `json:"noise_dbm,omitempty"`
	// TxBitrate is the current transmit bitrate, bits per second (0 unknown).
	TxBitrate float64 `json:"tx_bitrate_bps,omitempty"`
}

// Ping is the result of the ping burst to one ICMP target.
type Ping struct {
	Target  string `json:"target"`
	Address string `json:"address,omitempty"`
	Sent    int    `json:"sent"`
	Lost    int    `json:"lost"`
	// LossRatio is Lost/Sent (0..1).
	LossRatio float64 `json:"loss_ratio"`
	// RTTSeconds is the mean round trip of the answered packets; nil when
	// none was answered.
	RTTSeconds *float64 `json:"rtt_seconds,omitempty"`
	// JitterSeconds is the mean absolute difference of consecutive round
	// trips (the value RFC 3550's smoothed estimator tends to); nil with
	// fewer than two answers.
	JitterSeconds *float64 `json:"jitter_seconds,omitempty"`
	// Error says why the burst could not run ("" when it ran).
	Error string `json:"error,omitempty"`
}

// Scan says how a point's BSS list was obtained.
type Scan struct {
	// Mode is "triggered" (active scans by wardprobe) or "cached" (the
	// kernel's results of the last scan someone else made, used when the
	// process may not trigger scans).
	Mode string `json:"mode"`
	// Scans is how many scans were merged.
	Scans int `json:"scans"`
	// AgeSeconds is, for cached results, the age of the oldest entry used.
	AgeSeconds float64 `json:"age_seconds,omitempty"`
}

// Scan modes.
const (
	ScanTriggered = "triggered"
	ScanCached    = "cached"
)

// Point is one survey spot: where it is on the plan and what was measured.
type Point struct {
	ID uint64 `json:"id"`
	// X and Y are fractions of the plan's width and height from its top left.
	X    float64   `json:"x"`
	Y    float64   `json:"y"`
	Time time.Time `json:"time"`
	// BSS is every BSS heard, strongest first.
	BSS  []BSS  `json:"bss"`
	Scan Scan   `json:"scan"`
	Link *Link  `json:"link,omitempty"`
	Ping []Ping `json:"ping"`
	// Warnings say what could not be measured as intended at this point.
	Warnings []string `json:"warnings,omitempty"`
	// Verdict is filled in when the point is served, from the standard in
	// force; it is not stored.
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Valid reports whether x,y is a position on the plan.
func Valid(x, y float64) bool {
	return x >= 0 && x <= 1 && y >= 0 && y <= 1 && !math.IsNaN(x) && !math.IsNaN(y)
}

// SortBSS orders a BSS list strongest first, then by BSSID.
func SortBSS(bs []BSS) {
	slices.SortFunc(bs, func(a, b BSS) int {
		switch {
		case a.SignalDBM > b.SignalDBM:
			return -1
		case a.SignalDBM < b.SignalDBM:
			return 1
		}
		switch {
		case a.BSSID < b.BSSID:
			return -1
		case a.BSSID > b.BSSID:
			return 1
		}
		return 0
	})
}
