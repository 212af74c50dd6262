package config

import (
	"math"
	"slices"
	"sort"
)

// Threshold is one check a minimum standard can set. The table of
// thresholds (Thresholds) is the one place a check is defined: decoding,
// validation, coverage and the landing page all read it.
type Threshold struct {
	// Key is the key in a standard ("signal_dbm").
	Key string
	// Check is the "check" label of wardprobe_standard_check_met ("signal").
	Check string
	// AtLeast says the check is met when the measurement is at least the
	// limit; otherwise when it is at most the limit.
	AtLeast bool
	// Min and Max bound the limit a file may set, in Unit.
	Min, Max float64
	// Unit is the unit of measurement and limit: dBm, dB, ratio or seconds.
	Unit string
	// What says what is measured, in words.
	What string
}

// Units of thresholds.
const (
	UnitDBM     = "dBm"
	UnitDB      = "dB"
	UnitRatio   = "ratio"
	UnitSeconds = "seconds"
)

// Thresholds returns every check a standard can set, in the order they are
// judged and shown.
func Thresholds() []Threshold {
	return []Threshold{
		{"signal_dbm", "signal", true, -100, 0, UnitDBM, "signal of the associated AP (the driver's average where it gives one)"},
		{"snr_db", "snr", true, 0, 100, UnitDB, "signal minus the channel's noise floor"},
		{"noise_dbm", "noise", false, -120, 0, UnitDBM, "noise floor of the channel in use"},
		{"second_ap_dbm", "second_ap", true, -100, 0, UnitDBM, "signal of the strongest other AP of the SSID, for roaming"},
		{"retry_ratio", "retry", false, 0, 1, UnitRatio, "share of frames sent to the AP that needed a retry, over the last poll"},
		{"channel_busy_ratio", "channel_busy", false, 0, 1, UnitRatio, "share of time the channel in use was sensed busy"},
		{"loss_ratio", "loss", false, 0, 1, UnitRatio, "share of ICMP packets lost over the last minute"},
		{"rtt_seconds", "rtt", false, 0, 60, UnitSeconds, "mean ICMP round trip over the last minute"},
		{"jitter_seconds", "jitter", false, 0, 60, UnitSeconds, "ICMP jitter (RFC 3550)"},
		{"connect_seconds", "connect", false, 0, 600, UnitSeconds, "time the last connect test took to join the network"},
		{"roam_seconds", "roam", false, 0, 60, UnitSeconds, "time the last roam took"},
	}
}

// threshold returns the threshold with key.
func threshold(key string) (Threshold, bool) {
	i := slices.IndexFunc(Thresholds(), func(t Threshold) bool { return t.Key == key })
	if i < 0 {
		return Threshold{}, false
	}
	return Thresholds()[i], true
}

// Standard is a minimum standard a ward is held to: a limit per threshold
// key, in the threshold's unit. A key that is absent is not judged.
type Standard map[string]float64

// Limit returns the limit of threshold key and whether the standard sets it.
func (s Standard) Limit(key string) (float64, bool) {
	v, ok := s[key]
	return v, ok && !math.IsNaN(v)
}

// BuiltinStandard is a standard wardprobe knows by name.
type BuiltinStandard struct {
	Name   string
	Limits Standard
	// Source says where the values come from.
	Source string
}

// DefaultStandard is the standard of a config that names none.
const DefaultStandard = "nhs"

// BuiltinStandards returns the standards wardprobe knows by name, the
// default first. Each value's source is in Source and in the README.
func BuiltinStandards() []BuiltinStandard {
	return []BuiltinStandard{
		{Name: "nhs", Limits: Standard{
			"signal_dbm": -65, "noise_dbm": -92, "retry_ratio": 0.2, "channel_busy_ratio": 0.5,
			"connect_seconds": 5, "roam_seconds": 2,
		}, Source: "NHS England's connectivity guidance targets -65 dBm at all NHS settings; noise at most -92 dBm " +
			"and retries under 20% from Cisco's wireless IP phone (7925G) deployment guide; channel busy under 50%; " +
			"a standard (non-802.11r) roam over 2 s is slow by Juniper Mist's roaming SLE; connect within 5 s is wardprobe's judgement"},
		{Name: "voice", Limits: Standard{
			"signal_dbm": -67, "snr_db": 25, "second_ap_dbm": -67, "loss_ratio": 0.01, "jitter_seconds": 0.030,
		}, Source: "voice-over-Wi-Fi design guidance for clinical handsets: cell edge -67 dBm with a second AP at -67 dBm " +
			"and SNR 25 dB (Cisco 7925G deployment guide); loss at most 1% and jitter at most 30 ms (Cisco Wireless IP Telephony design guide)"},
		{Name: "data", Limits: Standard{
			"signal_dbm": -72, "snr_db": 20, "loss_ratio": 0.02,
		}, Source: "wardprobe's standard for data-only devices, in line with enterprise WLAN design practice of a data cell edge " +
			"around -70 to -72 dBm and SNR about 20 dB: a judgement, not a vendor figure"},
	}
}

// builtin returns the built-in standard named name.
func builtin(name string) (BuiltinStandard, bool) {
	for _, b := range BuiltinStandards() {
		if b.Name == name {
			return b, true
		}
	}
	return BuiltinStandard{}, false
}

// ResolveStandard returns the standard named name: a built-in one with any
// values a custom standard of the same name overrides, or a custom one.
func (c *Config) ResolveStandard(name string) (Standard, bool) {
	b, isBuiltin := builtin(name)
	custom, isCustom := c.Standards[name]
	if !isBuiltin && !isCustom {
		return nil, false
	}
	out := Standard{}
	for k, v := range b.Limits {
		out[k] = v
	}
	for k, v := range custom {
		out[k] = v
	}
	return out, true
}

// StandardNames returns every standard the config knows: the built-in ones
// in their order, then the custom ones sorted.
func (c *Config) StandardNames() []string {
	var out []string
	for _, b := range BuiltinStandards() {
		out = append(out, b.Name)
	}
	var custom []string
	for n := range c.Standards {
		if _, ok := builtin(n); !ok {
			custom = append(custom, n)
		}
	}
	sort.Strings(custom)
	return append(out, custom...)
}

// StandardSource returns where a standard's values come from, in words.
func (c *Config) StandardSource(name string) string {
	b, ok := builtin(name)
	switch _, custom := c.Standards[name]; {
	case ok && custom:
		return b.Source + "; with this config's overrides"
	case ok:
		return b.Source
	case custom:
		return "defined in this config"
	}
	return ""
}
