package survey

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/probe/coverage"
)

// HeatmapInput turns points into what the heatmaps are drawn from, on a
// plan of w×h pixels: every BSS any point heard (those of the configured
// SSIDs counting for the primary and secondary layers), each point's
// signals, noise floors per frequency, and ping loss over every target.
func HeatmapInput(points []Point, ssids []string, w, h int) heatmap.Survey {
	s := heatmap.Survey{Width: w, Height: h}
	index := map[string]int{}
	for _, p := range points {
		for _, b := range p.BSS {
			if _, ok := index[b.BSSID]; !ok {
				index[b.BSSID] = len(s.BSS)
				s.BSS = append(s.BSS, heatmap.BSS{ID: b.BSSID, FrequencyMHz: b.FrequencyMHz, Counts: Counts(b.SSID, ssids)})
			}
		}
	}
	for _, p := range points {
		hp := heatmap.Point{X: p.X, Y: p.Y, Signal: make([]float64, len(s.BSS)), Noise: map[int]float64{}, Loss: math.NaN()}
		for i := range hp.Signal {
			hp.Signal[i] = math.NaN()
		}
		for _, b := range p.BSS {
			hp.Signal[index[b.BSSID]] = b.SignalDBM
			if b.NoiseDBM != nil {
				hp.Noise[b.FrequencyMHz] = *b.NoiseDBM
			}
		}
		sent, lost := 0, 0
		for _, pg := range p.Ping {
			sent += pg.Sent
			lost += pg.Lost
		}
		if sent >= coverage.MinPackets {
			hp.Loss = float64(lost) / float64(sent)
		}
		s.Points = append(s.Points, hp)
	}
	return s
}

// Anchors returns what the colour scales are anchored on: the ward's
// standard's thresholds and the not-spot floor. A standard without a signal
// threshold is anchored on the not-spot floor.
func Anchors(s coverage.Settings) heatmap.Anchors {
	st := s.Standards[s.Standard]
	a := heatmap.Anchors{Standard: s.Standard, NotSpotDBM: s.NotSpotDBM, SignalDBM: s.NotSpotDBM, SNRDB: 25, LossRatio: 0.01}
	if v, ok := st.Limit("signal_dbm"); ok {
		a.SignalDBM = v
	}
	a.SecondDBM = a.SignalDBM
	if v, ok := st.Limit("second_ap_dbm"); ok {
		a.SecondDBM = v
	}
	if v, ok := st.Limit("snr_db"); ok {
		a.SNRDB, a.SNRFromStandard = v, true
	}
	if v, ok := st.Limit("loss_ratio"); ok {
		a.LossRatio, a.LossFromStandard = v, true
	}
	return a
}

// StandardSource says where the thresholds of the config's standard come
// from (config.StandardSource), naming the standard and the config file.
func StandardSource(c *config.Config) string {
	src := c.StandardSource(c.Standard)
	if _, custom := c.Standards[c.Standard]; custom {
		src = strings.Replace(src, "this config", c.File, 1)
	}
	return fmt.Sprintf("%s (standard %q): %s", c.File, c.Standard, src)
}

// Describe lists a standard's thresholds in words, in the table's order,
// e.g. "signal ≥ -65 dBm, loss ≤ 1%".
func Describe(st config.Standard) string {
	var out []string
	for _, t := range config.Thresholds() {
		v, ok := st.Limit(t.Key)
		if !ok {
			continue
		}
		cmp := "≤"
		if t.AtLeast {
			cmp = "≥"
		}
		switch t.Unit {
		case config.UnitRatio:
			out = append(out, fmt.Sprintf("%s %s %g%%", t.Check, cmp, 100*v))
		case config.UnitSeconds:
			out = append(out, fmt.Sprintf("%s %s %g ms", t.Check, cmp, 1000*v))
		default:
			out = append(out, fmt.Sprintf("%s %s %g %s", t.Check, cmp, v, t.Unit))
		}
	}
	if len(out) == 0 {
		return "no thresholds"
	}
	return strings.Join(out, ", ")
}

// NotSpotHeader is the header row of the not-spot register.
var NotSpotHeader = []string{"id", "x", "y", "time", "state", "standard", "failing_checks", "details", "best_ssid", "best_bssid", "best_signal_dbm"}

// NotSpots returns the points that fail the ward's standard (their verdicts
// filled in), in id order.
func NotSpots(points []Point) []Point {
	var out []Point
	for _, p := range points {
		if p.Verdict != nil && !p.Verdict.Met {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NotSpotRow is one row of the register: the failing checks by name and in
// words, and the best BSS of the configured SSIDs heard.
func NotSpotRow(p Point, ssids []string) []string {
	v := p.Verdict
	var names, details []string
	for _, c := range v.Failed() {
		names = append(names, c.Name)
		details = append(details, c.Text)
	}
	if len(details) == 0 {
		details = append(details, v.Reason)
	}
	best := []string{"", "", ""}
	for _, b := range p.BSS {
		if Counts(b.SSID, ssids) {
			best = []string{b.SSID, b.BSSID, fmt.Sprintf("%g", b.SignalDBM)}
			break
		}
	}
	return append([]string{fmt.Sprint(p.ID), fmt.Sprintf("%.4f", p.X), fmt.Sprintf("%.4f", p.Y), p.Time.UTC().Format(time.RFC3339),
		v.State, v.Standard, strings.Join(names, ";"), strings.Join(details, "; ")}, best...)
}

// WriteNotSpotCSV writes the not-spot register as CSV: one row per point
// that fails the ward's standard. Text cells that a spreadsheet would take
// for a formula (starting with =, +, -, @, tab or CR) are prefixed with '.
func WriteNotSpotCSV(w io.Writer, points []Point, ssids []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(NotSpotHeader); err != nil {
		return err
	}
	for _, p := range NotSpots(points) {
		row := NotSpotRow(p, ssids)
		for _, i := range []int{6, 7, 8} { // text cells
			row[i] = defuse(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
