package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/store"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

func TestSurveyReport(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range img.Pix {
		img.Pix[i] = 230
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	plan, err := store.DecodePlan(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := kinds.Parse("ward7.yml", []byte(`location: {site: "Royal Example Hospital", building: "Block B", floor: "2", ward: "Ward 7"}
standard: trust
standards: {trust: {signal_dbm: -65}}
wifi: {ssids: [CLINICAL]}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{Label: store.Label{Site: cfg.Location.Site, Building: cfg.Location.Building, Floor: "2", Ward: "Ward 7"}, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSettings(store.Settings{Coverage: coverage.SettingsFrom(cfg), ConfigFile: cfg.File, StandardSource: survey.StandardSource(cfg)}); err != nil {
		t.Fatal(err)
	}
	for i, dbm := range []float64{-50, -60, -75, -85} {
		_, err := st.Add(survey.Point{X: 0.2 + 0.2*float64(i), Y: 0.5, Time: time.Unix(1700000000, 0),
			BSS: []survey.BSS{{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, Channel: 1, SignalDBM: dbm},
				{BSSID: "02:00:00:00:09:00", SSID: "<script>x\xff", FrequencyMHz: 2412, Channel: 1, SignalDBM: -70}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"survey", "report", "--out", out, dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	html, err := os.ReadFile(filepath.Join(out, "royal-example-hospital-block-b-2.html"))
	if err != nil {
		t.Fatalf("%v; stdout %s", err, stdout.String())
	}
	page := string(html)
	for _, want := range []string{"Royal Example Hospital", "Not-spot register", "signal ≥ -65 dBm", "defined in ward7.yml",
		"Leave-one-out error", "data:image/png;base64,", "no data (farther than the radius"} {
		want = strings.NewReplacer(`\u0026#34;`, "&#34;").Replace(want)
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>x") {
		t.Error("an SSID reached the report unescaped")
	}
	if strings.Count(page, "<img class=\"layer\"") != 5 {
		t.Errorf("%d layer images, want 5", strings.Count(page, "<img class=\"layer\""))
	}
	f, err := os.Open(filepath.Join(out, "royal-example-hospital-block-b-2-primary.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pi, err := png.Decode(f)
	if err != nil || pi.Bounds().Dx() != 300 || pi.Bounds().Dy() != 200 {
		t.Errorf("primary PNG %v %v, want the plan's 300x200", err, pi.Bounds())
	}

	stderr.Reset()
	if code := run([]string{"survey", "report", t.TempDir()}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "holds no survey") {
		t.Errorf("empty directory: exit %d, %s", code, stderr.String())
	}
	if code := run([]string{"survey", "--scans", "9", "--out", dir}, &stdout, &stderr); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

func TestSlug(t *testing.T) {
	for _, c := range []struct {
		l    store.Label
		want string
	}{
		{store.Label{Site: "Royal Example Hospital", Building: "Block B", Floor: "2"}, "royal-example-hospital-block-b-2"},
		{store.Label{Site: "St Mary's", Building: "Wing/A", Floor: "-1"}, "st-mary-s-wing-a-1"},
		{store.Label{}, "survey"},
	} {
		if got := slug(c.l); got != c.want {
			t.Errorf("slug(%+v) = %q, want %q", c.l, got, c.want)
		}
	}
}
