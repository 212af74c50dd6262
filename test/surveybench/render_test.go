// Package surveybench measures how long the survey's heatmaps take to draw
// and how much memory they take, at the size of a large floor: 60 points,
// 30 BSSs and a 2000×1500 plan. It prints figures; it asserts nothing about
// speed.
package surveybench

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/report"
	"github.com/wardprobe/wardprobe/internal/survey/store"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/kinds"
	"github.com/wardprobe/wardprobe/probe/wifi"
	"github.com/wardprobe/wardprobe/test/browser"
	"github.com/wardprobe/wardprobe/test/lab"
)

const (
	planW, planH = 2000, 1500
	pxPerM       = 25.0 // an 80 m × 60 m floor
	nPoints      = 60
	nAPs         = 10 // × 3 BSSs each (CLINICAL 2.4 and 5 GHz, Guest 5 GHz) = 30 BSSs
)

func f64(v float64) *float64 { return &v }

// floor writes a survey of a synthetic floor into dir and returns its data.
func floor(b *testing.B, dir string) report.Data {
	b.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, planW, planH))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.NRGBA{0xf4, 0xf4, 0xf0, 0xff}}, image.Point{}, draw.Src)
	for x := 0; x < planW; x += 250 {
		draw.Draw(img, image.Rect(x, 0, x+6, planH), &image.Uniform{color.NRGBA{0x55, 0x55, 0x55, 0xff}}, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		b.Fatal(err)
	}
	plan, err := store.DecodePlan(buf.Bytes())
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{Label: store.Label{Site: "Bench", Building: "B", Floor: "1", Ward: "W"}, Plan: &plan})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg, err := kinds.Parse("bench.yml", []byte("standard: trust\nstandards: {trust: {signal_dbm: -65, snr_db: 25, loss_ratio: 0.01}}\nwifi: {ssids: [CLINICAL]}\n"))
	if err != nil {
		b.Fatal(err)
	}
	settings := store.Settings{Coverage: coverage.SettingsFrom(cfg), ConfigFile: cfg.File, StandardSource: survey.StandardSource(cfg)}
	if err := st.SetSettings(settings); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	type ap struct{ x, y float64 }
	var aps []ap
	for range nAPs {
		aps = append(aps, ap{r.Float64() * planW / pxPerM, r.Float64() * planH / pxPerM})
	}
	for i := range nPoints {
		x, y := (float64(i%10)+r.Float64())/10, (float64(i/10)+r.Float64())/6
		p := survey.Point{X: x, Y: y, Time: time.Unix(1700000000+int64(i)*30, 0).UTC(), Scan: survey.Scan{Mode: survey.ScanTriggered, Scans: 3}}
		for a, s := range aps {
			d := math.Max(1, math.Hypot(x*planW/pxPerM-s.x, y*planH/pxPerM-s.y))
			base := -40 - 30*math.Log10(d) + r.NormFloat64()*2
			for k, bss := range []struct {
				ssid string
				freq int
				off  float64
			}{{"CLINICAL", 2412 + 25*(a%3), 0}, {"CLINICAL", 5180 + 20*(a%4), -6}, {"Guest", 5180 + 20*(a%4), -6}} {
				v := math.Round(base + bss.off)
				if v < -92 {
					continue
				}
				ch, _ := wifi.Channel(bss.freq)
				p.BSS = append(p.BSS, survey.BSS{BSSID: fmt.Sprintf("02:00:00:00:%02x:%02x", a, k), SSID: bss.ssid, FrequencyMHz: bss.freq,
					Channel: ch, SignalDBM: v, NoiseDBM: f64(-92), Heard: 3})
			}
		}
		rtts := make([]time.Duration, 0, 20)
		for range 20 - r.IntN(2) {
			rtts = append(rtts, time.Duration(2+r.IntN(8))*time.Millisecond)
		}
		p.Ping = []survey.Ping{survey.Summarize("gateway", "10.0.0.1", 20, rtts)}
		if _, err := st.Add(p); err != nil {
			b.Fatal(err)
		}
	}
	pts, err := st.Points()
	if err != nil {
		b.Fatal(err)
	}
	report.Judge(pts, settings)
	return report.Data{Label: st.Label(), Settings: settings, Points: pts, Plan: plan.Image, Params: heatmap.DefaultParams(), Generated: time.Now()}
}

func BenchmarkSurveyRender(b *testing.B) {
	dir := b.TempDir()
	d := floor(b, dir)
	bss := map[string]bool{}
	for _, p := range d.Points {
		for _, x := range p.BSS {
			bss[x.BSSID] = true
		}
	}
	var compute, render, encode time.Duration
	var loo heatmap.LOO
	for b.Loop() {
		t0 := time.Now()
		m, err := report.Compute(d)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var imgs []image.Image
		for _, l := range heatmap.Layers() {
			imgs = append(imgs, m.Layer(l, true))
		}
		t2 := time.Now()
		for _, img := range imgs {
			if _, err := heatmap.EncodePNG(img); err != nil {
				b.Fatal(err)
			}
		}
		t3 := time.Now()
		compute, render, encode, loo = t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), m.LOO
	}
	b.StopTimer()

	// The real command, in its own process, for its peak RSS.
	root, err := lab.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := lab.Build(root, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	out := browser.ArtifactDir(b) // the report is kept for people to look at
	cmd := exec.Command(bin, "survey", "report", "--out", out, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("survey report: %v: %s", err, stderr.String())
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	rss := float64(ru.Maxrss) / 1024 // KiB → MiB
	size := 0.0
	page := filepath.Join(out, "bench-b-1.html")
	if st, err := os.Stat(page); err == nil {
		size = float64(st.Size()) / (1 << 20)
	}

	fmt.Printf("\nSurvey render: %d points, %d BSSs, %dx%d plan, 5 layers (cells of %d px)\n", len(d.Points), len(bss), planW, planH,
		max(2, max(planW, planH)/400))
	fmt.Printf("%-44s %10s\n", "step", "time")
	fmt.Printf("%-44s %10s\n", "interpolate + leave-one-out (in process)", compute.Round(time.Millisecond))
	fmt.Printf("%-44s %10s\n", "draw 5 layers over the plan (in process)", render.Round(time.Millisecond))
	fmt.Printf("%-44s %10s\n", "encode 5 PNGs (in process)", encode.Round(time.Millisecond))
	fmt.Printf("%-44s %10s   CPU %s, peak RSS %.1f MiB, page %.1f MiB\n", "wardprobe survey report (whole command)", wall.Round(time.Millisecond),
		cpu.Round(time.Millisecond), rss, size)
	fmt.Printf("leave-one-out error on this floor: %s\nreport: %s\n", report.LOOText(loo), page)
	b.ReportMetric(float64((compute + render + encode).Milliseconds()), "render-ms")
	b.ReportMetric(float64(wall.Milliseconds()), "report-ms")
	b.ReportMetric(rss, "report-peak-rss-MiB")
}
