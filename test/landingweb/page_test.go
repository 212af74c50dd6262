// Package landingweb tests wardprobe's landing page in a real headless
// chromium, served by the real wardprobe binary on loopback with targets on
// loopback: one that answers and one that refuses, so the page has a
// verdict that names what fails.
package landingweb

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wardprobe/wardprobe/test/browser"
	"github.com/wardprobe/wardprobe/test/lab"
)

var wardprobeBin string

func TestMain(m *testing.M) { os.Exit(lab.RunTests(m, &wardprobeBin, nil)) }

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLandingPageInABrowser(t *testing.T) {
	browser.Require(t)
	web := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })}
	wl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go web.Serve(wl)
	t.Cleanup(func() { web.Close() })
	port := freePort(t)
	cfg := fmt.Sprintf(`probe: {name: rhx-qew-f2-childrens-bay3-1}
location: {site: "St Mary's Hospital", building: "Queen Elizabeth Wing", floor: "2", ward: "Children's Ward (Dewi Sant)", spot: "Bay 3, by the nurses' station, next to the long corridor"}
targets:
  - {name: epr-web-front-end, kind: http, url: "http://%s/health", interval: 1s}
  - {name: pacs-image-archive, kind: tcp, address: "127.0.0.1:%d", interval: 1s}
`, wl.Addr(), freePort(t))
	path := filepath.Join(t.TempDir(), "wardprobe.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	l := lab.New(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	p := l.Start("", wardprobeBin, "run", "--config", path, "--web.listen-address", fmt.Sprintf("127.0.0.1:%d", port))
	if err := lab.WaitOK(http.DefaultClient, url+"-/ready", p, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	// Let both targets report a few results.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(b), "wardprobe_target_up{") == 2 {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, vp := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"phone-390x844", 390, 844, true}, {"laptop-1280x800", 1280, 800, false}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browser.New(t, 60*time.Second)
			opts := []chromedp.EmulateViewportOption{}
			if vp.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height, opts...), chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			type view struct {
				Verdict, Level, Fails string
				Overflow              float64
			}
			v, err := chromedp.Run(ctx, chromedp.Poll[view](`(() => { const h = document.getElementById("verdict");
				if (!h) return false;
				return {Verdict: h.querySelector("h1").textContent, Level: h.dataset.level,
					Fails: (h.querySelector("ul") || {textContent: ""}).textContent,
					Overflow: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth}; })()`,
				chromedp.WithPollingTimeout(15*time.Second)))
			if err != nil {
				t.Fatalf("the page did not load: %v", err)
			}
			browser.Screenshot(ctx, t, "landing-"+vp.name)
			verdict, level, fails, overflow := v.Verdict, v.Level, v.Fails, v.Overflow
			if verdict != "This spot is NOT OK" || level != "bad" {
				t.Errorf("verdict %q (level %q), want the red NOT OK: the PACS port refuses", verdict, level)
			}
			if !strings.Contains(fails, "pacs-image-archive (tcp): down") {
				t.Errorf("the verdict does not name what fails: %q", fails)
			}
			if overflow > 0 {
				t.Errorf("the page is %.0f px wider than the %d px screen", overflow, vp.width)
			}
		})
	}
}
