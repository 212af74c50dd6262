package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/internal/survey/heatmap"
	"github.com/wardprobe/wardprobe/internal/survey/store"
	"github.com/wardprobe/wardprobe/internal/survey/surveytest"
	"github.com/wardprobe/wardprobe/probe/coverage"
)

// wardSignal is what the fake radio hears at the last tapped position.
type wardSignal struct {
	mu  sync.Mutex
	dbm float64
}

func (w *wardSignal) set(v float64) { w.mu.Lock(); w.dbm = v; w.mu.Unlock() }
func (w *wardSignal) heard(int) []survey.Heard {
	w.mu.Lock()
	defer w.mu.Unlock()
	return []survey.Heard{
		{BSSID: "02:00:00:00:00:00", SSID: "CLINICAL", FrequencyMHz: 2412, SignalDBM: w.dbm},
		{BSSID: "02:00:00:00:01:00", SSID: "CLINICAL", FrequencyMHz: 5180, SignalDBM: w.dbm - 5},
		{BSSID: "02:00:00:00:02:00", SSID: "=Guest\xff<b>", FrequencyMHz: 2412, SignalDBM: -60},
	}
}

func newServer(t *testing.T) (*httptest.Server, *wardSignal) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 200, 100))
	for i := range img.Pix {
		img.Pix[i] = 0xf0
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	plan, err := store.DecodePlan(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{Label: store.Label{Site: "Lab", Building: "B", Floor: "1", Ward: "W"}, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sig := &wardSignal{dbm: -50}
	sc := &surveytest.Scanner{Heard: sig.heard, NoiseDBM: map[int]float64{2412: -95, 5180: -95},
		LinkTo: &survey.Link{Interface: "wlan0", SSID: "CLINICAL", BSSID: "02:00:00:00:00:00", FrequencyMHz: 2412, SignalDBM: -50}}
	settings := store.Settings{Coverage: coverage.Settings{Standard: "nhs", NotSpotDBM: -80, SSIDs: []string{"CLINICAL"},
		Standards: map[string]config.Standard{"nhs": {"signal_dbm": -65}}}, StandardSource: "test"}
	srv, err := New(Options{Store: st, Settings: settings, Params: heatmap.DefaultParams(), Log: zerolog.Nop(),
		Capturer: &survey.Capturer{Scanner: sc, Pinger: &surveytest.Pinger{RTT: 3 * time.Millisecond}, Scans: 2, Pings: 5,
			PingInterval: time.Millisecond, PingTimeout: time.Second, Targets: []survey.PingTarget{{Name: "gateway", Address: "gateway"}},
			SSIDs: []string{"CLINICAL"}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, sig
}

func do(t *testing.T, method, url, body string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestAPI(t *testing.T) {
	hs, sig := newServer(t)
	code, body, _ := do(t, "POST", hs.URL+"/api/v1/points", `{"x":0.42,"y":0.63}`)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	var p survey.Point
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != 1 || p.X != 0.42 || p.Y != 0.63 || p.Time.IsZero() || len(p.BSS) != 3 || p.Verdict == nil {
		t.Fatalf("point %s", body)
	}
	if p.Verdict.State != "good" || !p.Verdict.Met || p.Verdict.Standard != "nhs" {
		t.Errorf("verdict %+v", p.Verdict)
	}
	// The contract's BSS fields, and the escaped SSID (JSON escapes <, >).
	for _, want := range []string{`"bssid":"02:00:00:00:00:00"`, `"ssid":"CLINICAL"`, `"channel":1`, `"frequency_mhz":2412`, `"signal_dbm":-50`,
		`"ssid":"=Guest\\xff\u003cb\u003e"`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("point JSON lacks %s:\n%s", want, body)
		}
	}
	sig.set(-72)
	code, body, _ = do(t, "POST", hs.URL+"/api/v1/points", `{"x":0.9,"y":0.1}`)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	code, body, _ = do(t, "GET", hs.URL+"/api/v1/points", "")
	var pts []survey.Point
	if err := json.Unmarshal(body, &pts); code != 200 || err != nil || len(pts) != 2 {
		t.Fatalf("GET points: %d %v %s", code, err, body)
	}
	if pts[1].Verdict.State != "degraded" || pts[1].Verdict.Met {
		t.Errorf("weak point verdict %+v", pts[1].Verdict)
	}

	code, body, hdr := do(t, "GET", hs.URL+"/api/v1/notspots.csv", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", code, hdr)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != "2" || rows[1][6] != "signal" || !strings.Contains(rows[1][7], "-72 dBm") || rows[1][8] != "CLINICAL" {
		t.Errorf("register:\n%s", body)
	}

	// Heatmaps are the plan's size.
	for _, layer := range []string{"primary", "secondary", "snr", "cochannel", "loss"} {
		code, body, hdr = do(t, "GET", hs.URL+"/api/v1/heatmap.png?layer="+layer, "")
		if code != 200 || hdr.Get("Content-Type") != "image/png" {
			t.Fatalf("%s: %d %s", layer, code, body)
		}
		img, err := png.Decode(bytes.NewReader(body))
		if err != nil || img.Bounds().Dx() != 200 || img.Bounds().Dy() != 100 {
			t.Errorf("%s: %v, %v", layer, err, img.Bounds())
		}
	}
	code, body, _ = do(t, "GET", hs.URL+"/api/v1/heatmap.png?layer=primary&plan=1", "")
	if img, err := png.Decode(bytes.NewReader(body)); code != 200 || err != nil || color.NRGBAModel.Convert(img.At(199, 99)).(color.NRGBA).A != 0xff {
		t.Errorf("over the plan: %d %v", code, err)
	}

	// Move and delete.
	code, body, _ = do(t, "PATCH", hs.URL+"/api/v1/points/1", `{"x":0.1,"y":0.2}`)
	if code != 200 || !bytes.Contains(body, []byte(`"x":0.1,"y":0.2`)) {
		t.Errorf("PATCH: %d %s", code, body)
	}
	if code, body, _ = do(t, "DELETE", hs.URL+"/api/v1/points/2", ""); code != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", code, body)
	}
	if code, _, _ = do(t, "DELETE", hs.URL+"/api/v1/points/2", ""); code != http.StatusNotFound {
		t.Errorf("DELETE again: %d", code)
	}
	code, body, _ = do(t, "GET", hs.URL+"/api/v1/survey", "")
	if code != 200 || !bytes.Contains(body, []byte(`"standard":"nhs"`)) || !bytes.Contains(body, []byte(`"leave_one_out"`)) {
		t.Errorf("survey info: %d %s", code, body)
	}
	code, body, _ = do(t, "GET", hs.URL+"/api/v1/report.html", "")
	if code != 200 || !bytes.Contains(body, []byte("Not-spot register")) || bytes.Contains(body, []byte("<b>\\")) {
		t.Errorf("report: %d", code)
	}
	code, body, _ = do(t, "GET", hs.URL+"/", "")
	if code != 200 || !bytes.Contains(body, []byte(`id="wrap"`)) {
		t.Errorf("page: %d", code)
	}
}

func TestBadRequests(t *testing.T) {
	hs, _ := newServer(t)
	for _, c := range []struct {
		method, path, body string
		code               int
		says               string
	}{
		{"POST", "/api/v1/points", `{"x":1.5,"y":0.5}`, 400, "off the plan"},
		{"POST", "/api/v1/points", `{"x":0.5}`, 400, "must give both"},
		{"POST", "/api/v1/points", `{"x":0.5,"y":0.5,"z":1}`, 400, "unknown field"},
		{"POST", "/api/v1/points", `{"x":"a","y":0.5}`, 400, "JSON"},
		{"POST", "/api/v1/points", `not json`, 400, "JSON"},
		{"POST", "/api/v1/points", `{"x":0.5,"y":0.5}{}`, 400, "more than one"},
		{"POST", "/api/v1/points", `{"x":0.5,"y":0.5,"pad":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, "larger than"},
		{"PATCH", "/api/v1/points/99", `{"x":0.5,"y":0.5}`, 404, "no point 99"},
		{"PATCH", "/api/v1/points/abc", `{"x":0.5,"y":0.5}`, 400, "not a positive integer"},
		{"DELETE", "/api/v1/points/-1", ``, 400, "not a positive integer"},
		{"DELETE", "/api/v1/points/18446744073709551616", ``, 400, "not a positive integer"},
		{"GET", "/api/v1/heatmap.png?layer=rssi", ``, 400, "unknown layer"},
		{"GET", "/api/v1/heatmap.png", ``, 400, "unknown layer"},
		{"GET", "/api/v1/heatmap.png?layer=primary&plan=maybe", ``, 400, "plan="},
		{"PUT", "/api/v1/points", `{}`, 405, ""},
		{"GET", "/api/v1/nothing", ``, 404, ""},
	} {
		code, body, _ := do(t, c.method, hs.URL+c.path, c.body)
		if code != c.code || !strings.Contains(string(body), c.says) {
			t.Errorf("%s %s %.40q: %d %s; want %d saying %q", c.method, c.path, c.body, code, body, c.code, c.says)
		}
	}
}

func TestOneCaptureAtATime(t *testing.T) {
	// A slow fake radio, so that the second request finds the first busy.
	img := image.NewGray(image.Rect(0, 0, 10, 10))
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	plan, _ := store.DecodePlan(buf.Bytes())
	st, err := store.Open(t.TempDir(), store.Options{Label: store.Label{Site: "s"}, Plan: &plan})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sc := &surveytest.Scanner{Delay: 300 * time.Millisecond, Heard: func(int) []survey.Heard { return nil }}
	srv, err := New(Options{Store: st, Log: zerolog.Nop(), Params: heatmap.DefaultParams(),
		Settings: store.Settings{Coverage: coverage.Settings{Standard: "x", NotSpotDBM: -80}},
		Capturer: &survey.Capturer{Scanner: sc, Pinger: &surveytest.Pinger{}, Scans: 2}})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv)
	defer h.Close()
	first := make(chan int)
	go func() {
		code, _, _ := do(t, "POST", h.URL+"/api/v1/points", `{"x":0.5,"y":0.5}`)
		first <- code
	}()
	var pr struct {
		Capturing bool   `json:"capturing"`
		Detail    string `json:"detail"`
	}
	deadline := time.Now().Add(5 * time.Second)
	for !pr.Capturing && time.Now().Before(deadline) {
		_, body, _ := do(t, "GET", h.URL+"/api/v1/progress", "")
		_ = json.Unmarshal(body, &pr)
		time.Sleep(10 * time.Millisecond)
	}
	if !pr.Capturing {
		t.Fatal("progress never showed the capture")
	}
	code, body, _ := do(t, "POST", h.URL+"/api/v1/points", `{"x":0.1,"y":0.1}`)
	if code != http.StatusConflict {
		t.Errorf("second capture: %d %s, want 409", code, body)
	}
	if c := <-first; c != http.StatusCreated {
		t.Errorf("first capture: %d", c)
	}
	_, body, _ = do(t, "GET", h.URL+"/api/v1/points", "")
	if !bytes.Contains(body, []byte(`"state":"disconnected"`)) {
		t.Errorf("a point with nothing heard: %s", body)
	}
	if pr.Detail == "" {
		t.Error("progress has no detail")
	}
}
