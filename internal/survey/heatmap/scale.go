package heatmap

import (
	"fmt"
	"image/color"
	"math"
)

// Band is one colour of a scale: values in [From, To).
type Band struct {
	From, To float64
	Color    color.NRGBA
	// Label says what the band means, e.g. "−65 to −60 dBm: meets the standard".
	Label string
}

// Scale is the fixed colour scale of a layer.
type Scale struct {
	Layer Layer
	// Title and Unit name the layer, e.g. "Primary signal", "dBm".
	Title, Unit string
	// Anchor says what the scale is anchored on, e.g. "nhs: signal ≥ −65 dBm".
	Anchor string
	// Bands run from the worst to the best value.
	Bands []Band
}

// Color returns the colour of value v (the first band holding it; values
// below every band take the first, above every band the last).
func (s Scale) Color(v float64) color.NRGBA {
	for _, b := range s.Bands {
		if v < b.To {
			return b.Color
		}
	}
	return s.Bands[len(s.Bands)-1].Color
}

// The palette, from worst to best. None of these is the hatch colour.
var (
	colNone   = color.NRGBA{0x5c, 0x0a, 0x14, 0xff} // nothing heard
	colBad    = color.NRGBA{0xd7, 0x30, 0x27, 0xff} // not-spot, far below
	colPoor   = color.NRGBA{0xf4, 0x6d, 0x43, 0xff}
	colMarg   = color.NRGBA{0xfd, 0xd7, 0x4a, 0xff} // just below the standard
	colMeets  = color.NRGBA{0xa6, 0xd9, 0x6a, 0xff} // meets the standard
	colGood   = color.NRGBA{0x4c, 0xaf, 0x50, 0xff}
	colStrong = color.NRGBA{0x1a, 0x7f, 0x37, 0xff}
)

// HatchColor is the colour of the thin lines drawn over cells with no data.
var HatchColor = color.NRGBA{0x70, 0x70, 0x70, 0x80}

// Anchors are the thresholds the scales are anchored on.
type Anchors struct {
	// Standard names the ward's standard.
	Standard string
	// SignalDBM is the standard's signal threshold; SecondDBM its second-AP
	// threshold (the signal threshold when it has none); NotSpotDBM the
	// not-spot floor.
	SignalDBM, SecondDBM, NotSpotDBM float64
	// SNRDB and LossRatio are the standard's thresholds; SNRFromStandard and
	// LossFromStandard say whether the standard sets them (else defaults of
	// 25 dB and 1% anchor the scales).
	SNRDB, LossRatio                  float64
	SNRFromStandard, LossFromStandard bool
}

func dbm(v float64) string {
	if v < 0 {
		return fmt.Sprintf("−%g", -v)
	}
	return fmt.Sprintf("%g", v)
}

// signalScale is anchored on threshold t (meets from t up) and the
// not-spot floor f: 5 dB bands above t, one amber band 5 dB below it, then
// orange down to f, red below f, and a dark band for "nothing heard".
func signalScale(l Layer, title string, t, f float64, anchor string) Scale {
	s := Scale{Layer: l, Title: title, Unit: "dBm", Anchor: anchor}
	add := func(from, to float64, c color.NRGBA, label string) {
		if to > from {
			s.Bands = append(s.Bands, Band{From: from, To: to, Color: c, Label: label})
		}
	}
	none := NotHeardDBM + 0.5
	f = min(f, t)
	add(math.Inf(-1), none, colNone, "nothing heard")
	add(none, f, colBad, fmt.Sprintf("below %s dBm: not-spot", dbm(f)))
	add(f, t-5, colPoor, fmt.Sprintf("%s to %s dBm: well below the standard", dbm(f), dbm(t-5)))
	add(max(f, t-5), t, colMarg, fmt.Sprintf("%s to %s dBm: below the standard", dbm(max(f, t-5)), dbm(t)))
	add(t, t+5, colMeets, fmt.Sprintf("%s to %s dBm: meets the standard", dbm(t), dbm(t+5)))
	add(t+5, t+10, colGood, fmt.Sprintf("%s to %s dBm: meets it with 5 dB to spare", dbm(t+5), dbm(t+10)))
	add(t+10, math.Inf(1), colStrong, fmt.Sprintf("%s dBm and above: strong", dbm(t+10)))
	return s
}

// Scales returns the fixed scale of every layer, anchored on a.
func Scales(a Anchors) map[Layer]Scale {
	out := map[Layer]Scale{}
	out[Primary] = signalScale(Primary, "Primary signal (best AP of the configured SSIDs)", a.SignalDBM, a.NotSpotDBM,
		fmt.Sprintf("%s: signal ≥ %s dBm; not-spot below %s dBm", a.Standard, dbm(a.SignalDBM), dbm(a.NotSpotDBM)))
	out[Secondary] = signalScale(Secondary, "Secondary signal (second-best AP, for roaming)", a.SecondDBM, a.NotSpotDBM,
		fmt.Sprintf("%s: second AP ≥ %s dBm", a.Standard, dbm(a.SecondDBM)))

	t := a.SNRDB
	anchor := fmt.Sprintf("%s: SNR ≥ %g dB", a.Standard, t)
	if !a.SNRFromStandard {
		anchor = fmt.Sprintf("%s sets no SNR threshold; scale anchored at %g dB", a.Standard, t)
	}
	snr := Scale{Layer: SNR, Title: "Signal-to-noise ratio of the primary AP", Unit: "dB", Anchor: anchor}
	snr.Bands = []Band{
		{math.Inf(-1), t - 10, colBad, fmt.Sprintf("below %g dB", t-10)},
		{t - 10, t - 5, colPoor, fmt.Sprintf("%g to %g dB", t-10, t-5)},
		{t - 5, t, colMarg, fmt.Sprintf("%g to %g dB: below the standard", t-5, t)},
		{t, t + 10, colMeets, fmt.Sprintf("%g to %g dB: meets the standard", t, t+10)},
		{t + 10, math.Inf(1), colStrong, fmt.Sprintf("%g dB and above", t+10)},
	}
	out[SNR] = snr

	out[CoChannel] = Scale{Layer: CoChannel, Title: "Co-channel BSSs (others on the primary AP's channel)", Unit: "BSSs",
		Anchor: fmt.Sprintf("BSSs heard at ≥ %s dBm on the same channel share its airtime", dbm(CoChannelDBM)),
		Bands: []Band{
			{math.Inf(-1), 0.5, colStrong, "0: the channel is its own"},
			{0.5, 1.5, colMeets, "1 other"},
			{1.5, 2.5, colMarg, "2 others"},
			{2.5, 3.5, colPoor, "3 others"},
			{3.5, math.Inf(1), colBad, "4 or more others"},
		}}

	l := a.LossRatio
	anchor = fmt.Sprintf("%s: loss ≤ %g%%", a.Standard, 100*l)
	if !a.LossFromStandard {
		anchor = fmt.Sprintf("%s sets no loss threshold; scale anchored at %g%%", a.Standard, 100*l)
	}
	pct := func(v float64) string { return fmt.Sprintf("%g%%", math.Round(1000*v)/10) }
	// Loss runs the other way: low is good. Bands are ordered by value.
	out[Loss] = Scale{Layer: Loss, Title: "Packet loss of the ping bursts", Unit: "%", Anchor: anchor,
		Bands: []Band{
			{math.Inf(-1), l/2 + 1e-12, colStrong, "at most " + pct(l/2)},
			{l/2 + 1e-12, l + 1e-12, colMeets, pct(l/2) + " to " + pct(l) + ": meets the standard"},
			{l + 1e-12, 2*l + 1e-12, colMarg, pct(l) + " to " + pct(2*l) + ": above the standard"},
			{2*l + 1e-12, 5*l + 1e-12, colPoor, pct(2*l) + " to " + pct(5*l)},
			{5*l + 1e-12, math.Inf(1), colBad, "more than " + pct(5*l)},
		}}
	return out
}
