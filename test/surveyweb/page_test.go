// Package surveyweb tests the survey page in a real headless chromium: the
// server, store, capture logic, verdicts and heatmaps are wardprobe's own;
// only the radio and the ICMP socket are fakes (surveytest), since this
// machine has no Wi-Fi (the Wi-Fi lab drives the real binary).
package surveyweb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/store"
	"github.com/wardprobe/wardprobe/internal/survey/surveytest"
	"github.com/wardprobe/wardprobe/internal/survey/web"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/test/browser"
)

// plan draws a simple ward: walls, bays and a corridor, 1000×600.
func plan(t *testing.T) store.Plan {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 1000, 600))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.NRGBA{0xf4, 0xf4, 0xf0, 0xff}}, image.Point{}, draw.Src)
	wall := &image.Uniform{color.NRGBA{0x55, 0x55, 0x55, 0xff}}
	for _, r := range []image.Rectangle{
		image.Rect(20, 20, 980, 26), image.Rect(20, 574, 980, 580), image.Rect(20, 20, 26, 580), image.Rect(974, 20, 980, 580),
		image.Rect(20, 250, 980, 254), image.Rect(20, 330, 980, 334), image.Rect(600, 20, 604, 250), image.Rect(600, 334, 604, 580),
	} {
		draw.Draw(img, r, wall, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p, err := store.DecodePlan(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type radioState struct {
	mu  sync.Mutex
	dbm float64
}

func (r *radioState) set(v float64) { r.mu.Lock(); r.dbm = v; r.mu.Unlock() }
func (r *radioState) heard(int) []survey.Heard {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []survey.Heard{
		{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, SignalDBM: r.dbm},
		{BSSID: "02:00:00:00:01:00", SSID: "CLINICAL", FrequencyMHz: 5180, SignalDBM: r.dbm - 6},
		{BSSID: "02:00:00:00:02:00", SSID: "St Mary's Guest Wi-Fi with a very long name\xff", FrequencyMHz: 2437, SignalDBM: -71},
	}
}

func server(t *testing.T) (string, *radioState) {
	t.Helper()
	p := plan(t)
	st, err := store.Open(t.TempDir(), store.Options{Label: store.Label{Site: "Royal Example Hospital", Building: "Block B", Floor: "2", Ward: "Ward 7"}, Plan: &p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rs := &radioState{dbm: -52}
	settings := store.Settings{Coverage: coverage.Settings{Standard: "nhs", NotSpotDBM: -80, SSIDs: []string{"CLINICAL"},
		Standards: map[string]config.Standard{"nhs": {"signal_dbm": -65}}}, StandardSource: "NHS England's connectivity guidance: -65 dBm"}
	srv, err := web.New(web.Options{Store: st, Settings: settings, Params: heatmap.DefaultParams(), Log: zerolog.Nop(),
		Capturer: &survey.Capturer{
			Scanner: &surveytest.Scanner{Heard: rs.heard, Delay: 150 * time.Millisecond, NoiseDBM: map[int]float64{2412: -92, 5180: -95},
				LinkTo: &survey.Link{Interface: "wlan0", SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 2412, SignalDBM: -52}},
			Pinger: &surveytest.Pinger{RTT: 4 * time.Millisecond}, Scans: 3, Pings: 10, PingInterval: 20 * time.Millisecond,
			PingTimeout: time.Second, Targets: []survey.PingTarget{{Name: "gateway", Address: "gateway"}}, SSIDs: []string{"CLINICAL"}}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = l
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.URL, rs
}

func points(t *testing.T, url string) []survey.Point {
	t.Helper()
	resp, err := http.Get(url + "/api/v1/points")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pts []survey.Point
	if err := json.NewDecoder(resp.Body).Decode(&pts); err != nil {
		t.Fatal(err)
	}
	return pts
}

// js evaluates an expression in the page.
func js(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
}

type box struct{ X, Y, W, H float64 }

// tap clicks the plan at fractions fx, fy of its box.
func tap(t *testing.T, ctx context.Context, fx, fy float64) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[box](`(() => { const r = document.getElementById("plan").getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(b.X+fx*b.W, b.Y+fy*b.H)); err != nil {
		t.Fatal(err)
	}
}

// verdict waits for the verdict panel to show a state and returns it.
func verdict(t *testing.T, ctx context.Context, id int, want string) string {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Poll[string](fmt.Sprintf(`(() => {
		const s = document.querySelector("#verdict .state"), st = document.getElementById("status").textContent;
		return s && getComputedStyle(document.getElementById("verdict")).display !== "none" && s.textContent === %q && st.includes("Point %d recorded") ? s.textContent : false; })()`, want, id),
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		txt, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("status").textContent + " | " + document.getElementById("verdict").textContent`))
		t.Fatalf("no %q verdict shown: %v; page says: %s", want, err, txt)
	}
	return got
}

// overflow returns how far the page is wider than the viewport, px.
func overflow(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSurveyPageOnAPhone(t *testing.T) {
	url, rs := server(t)
	ctx := browser.New(t, 90*time.Second)
	t.Logf("browser: %s", browser.Version())
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
		chromedp.Navigate(url+"/"),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("plan").complete && document.getElementById("plan").naturalWidth === 1000 &&
		document.getElementById("std").textContent === "nhs"`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the page did not load: %v", err)
	}
	if o := overflow(t, ctx); o > 0 {
		t.Errorf("the page is %.0f px wider than a 390 px screen", o)
	}

	// A tap records a point and shows its verdict, with the progress bar
	// shown while it is measured.
	tap(t, ctx, 0.40, 0.60)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`getComputedStyle(document.getElementById("progress")).display === "block"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("no progress shown while measuring: %v", err)
	}
	verdict(t, ctx, 1, "good")
	pts := points(t, url)
	if len(pts) != 1 || math.Abs(pts[0].X-0.40) > 0.01 || math.Abs(pts[0].Y-0.60) > 0.01 || pts[0].Verdict.State != "good" {
		t.Fatalf("after the tap: %+v", pts)
	}
	t.Logf("tap at 0.40,0.60 recorded point %d at %.3f,%.3f: %s", pts[0].ID, pts[0].X, pts[0].Y, pts[0].Verdict.Reason)
	if o := overflow(t, ctx); o > 0 {
		t.Errorf("with the verdict shown, the page is %.0f px wider than a 390 px screen", o)
	}
	browser.Screenshot(ctx, t, "survey-phone-good")

	// A weak spot: below the standard, in the not-spot list.
	rs.set(-74)
	tap(t, ctx, 0.85, 0.2)
	verdict(t, ctx, 2, "degraded")
	ns, err := chromedp.Run(ctx, chromedp.Text("#notspots"))
	if err != nil || !bytes.Contains([]byte(ns), []byte("1 of 2 points fail the nhs standard")) || !bytes.Contains([]byte(ns), []byte("signal FAILS: -74 dBm")) {
		t.Errorf("not-spot list %q (%v)", ns, err)
	}

	// The primary layer over the plan, with its legend.
	if err := chromedp.Do(ctx, chromedp.SetValue("#layer", "primary")); err != nil {
		t.Fatal(err)
	}
	js(t, ctx, `document.getElementById("layer").dispatchEvent(new Event("change")); true`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const h = document.getElementById("heat"); return !h.hidden && h.complete && h.naturalWidth === 1000 &&
		document.getElementById("legend").textContent.includes("meets the standard"); })()`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Errorf("the primary layer did not show: %v", err)
	}
	if o := overflow(t, ctx); o > 0 {
		t.Errorf("with a layer and legend, the page is %.0f px wider than a 390 px screen", o)
	}
	browser.Screenshot(ctx, t, "survey-phone-primary")

	// Select the first point and delete it (confirm() answered yes).
	js(t, ctx, `window.confirm = () => true; true`)
	if err := chromedp.Do(ctx, chromedp.Click(`.mark[data-id="1"]`), chromedp.Click("#del")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("status").textContent.includes("deleted")`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Errorf("delete: %v", err)
	}
	if pts := points(t, url); len(pts) != 1 || pts[0].ID != 2 {
		t.Errorf("after deleting point 1: %+v", pts)
	}
}
