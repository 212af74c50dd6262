// Package report writes a survey up for people: one self-contained HTML page
// per floor with every heatmap layer over the plan (PNG images embedded as
// data: URIs, with their legends), the not-spot register, the points, the
// ward's standard and its source, and the leave-one-out error of the
// interpolation. It also renders the layers themselves for the API.
package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"io"
	"math"
	"strings"
	"time"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/store"
)

// Data is what a report is made from.
type Data struct {
	Label    store.Label
	Settings store.Settings
	// Points have their verdicts filled in (Judge).
	Points    []survey.Point
	Plan      image.Image
	Params    heatmap.Params
	Generated time.Time
	Version   string
}

// Judge fills in every point's verdict from the settings.
func Judge(points []survey.Point, st store.Settings) {
	for i := range points {
		v := survey.Judge(points[i], st.Coverage)
		points[i].Verdict = &v
	}
}

// StateColor is the marker colour of a coverage state, as on the Floor plan
// dashboard: green good, amber degraded, red not-spot, purple disconnected.
func StateColor(state string) color.NRGBA {
	switch state {
	case "good":
		return color.NRGBA{0x2e, 0x9e, 0x44, 0xff}
	case "degraded":
		return color.NRGBA{0xf2, 0x99, 0x1e, 0xff}
	case "notspot":
		return color.NRGBA{0xd4, 0x2a, 0x2a, 0xff}
	}
	return color.NRGBA{0x8a, 0x4f, 0xc9, 0xff}
}

// Maps are a survey's computed layers.
type Maps struct {
	Field  *heatmap.Field
	Scales map[heatmap.Layer]heatmap.Scale
	LOO    heatmap.LOO
	plan   *image.RGBA
	marks  []heatmap.Marker
}

// Compute interpolates the survey and cross-validates it.
func Compute(d Data) (*Maps, error) {
	b := d.Plan.Bounds()
	in := survey.HeatmapInput(d.Points, d.Settings.Coverage.SSIDs, b.Dx(), b.Dy())
	f, err := heatmap.Compute(in, d.Params)
	if err != nil {
		return nil, fmt.Errorf("interpolating: %w", err)
	}
	loo, err := heatmap.LeaveOneOut(in, d.Params)
	if err != nil {
		return nil, fmt.Errorf("cross-validating: %w", err)
	}
	m := &Maps{Field: f, Scales: heatmap.Scales(survey.Anchors(d.Settings.Coverage)), LOO: loo, plan: heatmap.Opaque(d.Plan)}
	for _, p := range d.Points {
		state := "disconnected"
		if p.Verdict != nil {
			state = p.Verdict.State
		}
		m.marks = append(m.marks, heatmap.Marker{X: p.X, Y: p.Y, Fill: StateColor(state)})
	}
	return m, nil
}

// Layer renders one layer: the bare overlay (transparent where there is no
// data), or over the plan with the points marked.
func (m *Maps) Layer(l heatmap.Layer, overPlan bool) image.Image {
	img := m.Field.Render(l, m.Scales[l])
	if !overPlan {
		return img
	}
	out := heatmap.Composite(m.plan, img)
	heatmap.DrawMarkers(out, m.marks)
	return out
}

type legendRow struct {
	Color template.CSS
	Label string
}

type layerView struct {
	Name, Title, Unit, Anchor string
	Image                     template.URL
	Legend                    []legendRow
}

type pointRow struct {
	ID                   uint64
	X, Y                 string
	Time                 string
	State, Reason        string
	Color                template.CSS
	BestSSID, BestBSSID  string
	BestSignal           string
	BSSCount             int
	Loss, RTT            string
	Scan                 string
	Warnings             []string
	Failed               string
	SecondSSID, SecondDB string
}

type page struct {
	Title, Site, Building, Floor, Ward string
	Standard, StandardDesc, Source     string
	ConfigFile                         string
	Generated, Version, Created        string
	SSIDs                              string
	NotSpotDBM                         float64
	Points                             []pointRow
	NotSpots                           []pointRow
	Layers                             []layerView
	LOO                                string
	Radius                             string
	Scans                              string
}

// Legend returns a scale's bands as CSS colours and labels, best first.
func Legend(s heatmap.Scale) []legendRow {
	var out []legendRow
	for i := len(s.Bands) - 1; i >= 0; i-- {
		b := s.Bands[i]
		out = append(out, legendRow{Color: template.CSS(fmt.Sprintf("#%02x%02x%02x", b.Color.R, b.Color.G, b.Color.B)), Label: b.Label})
	}
	return out
}

// LOOText says the leave-one-out error in words.
func LOOText(l heatmap.LOO) string {
	if l.N == 0 {
		return fmt.Sprintf("not available: no point could be predicted from its neighbours (%d points too far from any other, or without a BSS of the configured SSIDs)", l.Skipped)
	}
	s := fmt.Sprintf("%.1f dB mean absolute error of the primary signal (RMS %.1f dB, largest %.1f dB) over %d points, each predicted from the others",
		l.MAE, l.RMSE, l.MaxAbs, l.N)
	if l.Skipped > 0 {
		s += fmt.Sprintf("; %d points could not be predicted (no other point within the radius)", l.Skipped)
	}
	return s
}

func fmtOpt(v *float64, scale float64, unit string) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.3g%s", *v*scale, unit)
}

func row(p survey.Point, ssids []string) pointRow {
	r := pointRow{ID: p.ID, X: fmt.Sprintf("%.3f", p.X), Y: fmt.Sprintf("%.3f", p.Y), Time: p.Time.UTC().Format("2006-01-02 15:04:05Z"),
		BSSCount: len(p.BSS), Warnings: p.Warnings, Scan: fmt.Sprintf("%s ×%d", p.Scan.Mode, p.Scan.Scans), Loss: "–", RTT: "–"}
	if p.Verdict != nil {
		r.State, r.Reason = p.Verdict.State, p.Verdict.Reason
		var f []string
		for _, c := range p.Verdict.Failed() {
			f = append(f, c.Text)
		}
		r.Failed = strings.Join(f, "; ")
		if r.Failed == "" {
			r.Failed = p.Verdict.Reason
		}
	}
	c := StateColor(r.State)
	r.Color = template.CSS(fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B))
	n := 0
	for _, b := range p.BSS {
		if !survey.Counts(b.SSID, ssids) {
			continue
		}
		switch n {
		case 0:
			r.BestSSID, r.BestBSSID, r.BestSignal = b.SSID, b.BSSID, fmt.Sprintf("%g dBm", b.SignalDBM)
		case 1:
			r.SecondSSID, r.SecondDB = b.SSID, fmt.Sprintf("%g dBm", b.SignalDBM)
		}
		n++
	}
	sent, lost := 0, 0
	var rtt []float64
	for _, pg := range p.Ping {
		sent += pg.Sent
		lost += pg.Lost
		if pg.RTTSeconds != nil {
			rtt = append(rtt, *pg.RTTSeconds)
		}
	}
	if sent > 0 {
		r.Loss = fmt.Sprintf("%.1f%% of %d", 100*float64(lost)/float64(sent), sent)
	}
	if len(rtt) > 0 {
		m := 0.0
		for _, v := range rtt {
			m = math.Max(m, v)
		}
		r.RTT = fmtOpt(&m, 1000, " ms")
	}
	return r
}

// Write renders the report page of one floor.
func Write(w io.Writer, d Data) error {
	m, err := Compute(d)
	if err != nil {
		return err
	}
	return WriteMaps(w, d, m)
}

// WriteMaps renders the report page of one floor from its computed layers.
func WriteMaps(w io.Writer, d Data, m *Maps) error {
	cs := d.Settings.Coverage
	st := cs.Standards[cs.Standard]
	l := d.Label
	pg := page{
		Title: fmt.Sprintf("Wi-Fi survey: %s, %s, floor %s", l.Site, l.Building, l.Floor),
		Site:  l.Site, Building: l.Building, Floor: l.Floor, Ward: l.Ward,
		Standard: cs.Standard, StandardDesc: survey.Describe(st), Source: d.Settings.StandardSource,
		ConfigFile: d.Settings.ConfigFile, Generated: d.Generated.UTC().Format(time.RFC3339), Version: d.Version,
		Created: l.Created.UTC().Format(time.RFC3339), NotSpotDBM: cs.NotSpotDBM, LOO: LOOText(m.LOO),
		Radius: fmt.Sprintf("%.0f px (%.0f%% of the plan's longer side); IDW over the %d nearest points, power %g",
			m.Field.RadiusPx, 100*d.Params.Radius, d.Params.K, d.Params.Power),
	}
	pg.SSIDs = strings.Join(cs.SSIDs, ", ")
	if pg.SSIDs == "" {
		pg.SSIDs = "every SSID heard (wifi.ssids is empty)"
	}
	for _, p := range d.Points {
		pg.Points = append(pg.Points, row(p, cs.SSIDs))
	}
	for _, p := range survey.NotSpots(d.Points) {
		pg.NotSpots = append(pg.NotSpots, row(p, cs.SSIDs))
	}
	for _, layer := range heatmap.Layers() {
		data, err := heatmap.EncodePNG(m.Layer(layer, true))
		if err != nil {
			return fmt.Errorf("encoding the %s layer: %w", layer, err)
		}
		sc := m.Scales[layer]
		pg.Layers = append(pg.Layers, layerView{Name: layer.String(), Title: sc.Title, Unit: sc.Unit, Anchor: sc.Anchor,
			Image:  template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(data)),
			Legend: Legend(sc)})
	}
	return pageTemplate.Execute(w, pg)
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}
.wrap{overflow-x:auto}.swatch{display:inline-block;width:1.4em;height:1em;border:1px solid #555;vertical-align:middle}
img.layer{max-width:100%;height:auto;border:1px solid #999}.dot{display:inline-block;width:.8em;height:.8em;border-radius:50%;vertical-align:middle}
.nodata{background:repeating-linear-gradient(45deg,#fff,#fff 4px,#999 4px,#999 5px)}
dt{font-weight:600}dd{margin:0 0 .5rem 0}.ssid{word-break:break-all}
</style></head><body>
<h1>{{.Title}}</h1>
<dl>
<dt>Location</dt><dd>{{.Site}} · {{.Building}} · floor {{.Floor}} (surveyed with the config of {{.Ward}})</dd>
<dt>Standard</dt><dd><b>{{.Standard}}</b>: {{.StandardDesc}}; not-spot below {{.NotSpotDBM}} dBm</dd>
<dt>Source of the standard</dt><dd>{{.Source}}</dd>
<dt>Networks that count</dt><dd class="ssid">{{.SSIDs}}</dd>
<dt>Points</dt><dd>{{len .Points}} measured, {{len .NotSpots}} failing the standard</dd>
<dt>Interpolation</dt><dd>{{.Radius}}. Cells farther than the radius from every point have no data (hatched) and are never extrapolated.</dd>
<dt>Leave-one-out error</dt><dd>{{.LOO}}</dd>
<dt>Survey</dt><dd>started {{.Created}}; config {{.ConfigFile}}; report generated {{.Generated}} by wardprobe {{.Version}}</dd>
</dl>
<h2>Not-spot register</h2>
{{if .NotSpots}}<div class="wrap"><table><tr><th>point</th><th>x, y</th><th>state</th><th>failing checks</th><th>best AP</th><th>time</th></tr>
{{range .NotSpots}}<tr><td>{{.ID}}</td><td>{{.X}}, {{.Y}}</td><td><span class="dot" style="background:{{.Color}}"></span> {{.State}}</td><td>{{.Failed}}</td><td class="ssid">{{.BestSSID}} {{.BestBSSID}} {{.BestSignal}}</td><td>{{.Time}}</td></tr>
{{end}}</table></div>{{else}}<p>No point fails the {{.Standard}} standard.</p>{{end}}
{{range .Layers}}<h2 id="{{.Name}}">{{.Title}}</h2>
<p>{{.Anchor}}. Dots are the survey points (green good, amber below standard, red not-spot, purple nothing of the configured SSIDs heard).</p>
<img class="layer" alt="{{.Title}}" src="{{.Image}}">
<table>{{range .Legend}}<tr><td><span class="swatch" style="background:{{.Color}}"></span></td><td>{{.Label}}</td></tr>{{end}}
<tr><td><span class="swatch nodata"></span></td><td>no data (farther than the radius from every point)</td></tr></table>
{{end}}
<h2>Points</h2>
<div class="wrap"><table><tr><th>point</th><th>x, y</th><th>state</th><th>best AP</th><th>second AP</th><th>BSSs</th><th>loss</th><th>RTT</th><th>scan</th><th>time</th><th>notes</th></tr>
{{range .Points}}<tr><td>{{.ID}}</td><td>{{.X}}, {{.Y}}</td><td><span class="dot" style="background:{{.Color}}"></span> {{.State}}</td><td class="ssid">{{.BestSSID}} {{.BestBSSID}} {{.BestSignal}}</td><td class="ssid">{{.SecondSSID}} {{.SecondDB}}</td><td>{{.BSSCount}}</td><td>{{.Loss}}</td><td>{{.RTT}}</td><td>{{.Scan}}</td><td>{{.Time}}</td><td>{{range .Warnings}}{{.}}<br>{{end}}</td></tr>
{{end}}</table></div>
</body></html>
`))
