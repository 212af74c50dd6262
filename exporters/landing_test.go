package exporters

import (
	"math"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/coverage"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

// contrast is the WCAG 2.1 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var rgb [3]float64
		for i := range rgb {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				rgb[i] = c / 12.92
			} else {
				rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// TestBadgeContrastMeetsAA checks every badge colour against its text
// colour as the page's CSS sets them: WCAG 2.1 AA wants 4.5:1.
func TestBadgeContrastMeetsAA(t *testing.T) {
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):(#[0-9a-f]{6})`).FindAllStringSubmatch(landingCSS, -1) {
		vars[m[1]] = m[2]
	}
	for _, level := range []string{"ok", "bad", "warn", "none"} {
		bg, fg := vars[level], vars[level+"-fg"]
		if bg == "" || fg == "" {
			t.Fatalf("no colours for %s in the CSS", level)
		}
		if c := contrast(bg, fg); c < 4.5 {
			t.Errorf("%s badge: %s on %s is %.2f:1, under AA's 4.5:1", level, fg, bg, c)
		}
	}
	if c := contrast(vars["muted"], "#ffffff"); c < 4.5 {
		t.Errorf("muted text %.2f:1", c)
	}
}

func TestTargetLevel(t *testing.T) {
	now := time.Now()
	ping := func(lossPct int) TargetStatus {
		var r recent
		for i := range 60 {
			res := probe.Result{Target: "gw", Kind: "icmp", Time: now.Add(-time.Duration(59-i) * time.Second), Packets: 1}
			res.Success = i*100/60 >= lossPct // the first lossPct% of the minute lost
			if !res.Success {
				res.Reason = probe.ReasonTimeout
			} else {
				res.Duration = 3 * time.Millisecond
			}
			r.add(res)
		}
		st := TargetStatus{HaveResult: true, Last: probe.Result{Success: true, Time: now}}
		st.LastMinute = r.minute(now)
		return st
	}
	for _, tc := range []struct {
		pct  int
		want string
	}{{0, levelOK}, {16, levelWarn}, {50, levelBad}} {
		st := ping(tc.pct)
		if level, words := targetLevel(st, true); level != tc.want {
			loss, _ := st.LastMinute.Loss()
			t.Errorf("%d%% loss (%.2f): %s %q, want %s", tc.pct, loss, level, words, tc.want)
		}
	}
	slow := TargetStatus{HaveResult: true, Last: probe.Result{Reason: probe.ReasonTimeout}}
	if level, words := targetLevel(slow, false); level != levelBad || !strings.Contains(words, "no answer in time") {
		t.Errorf("failed http: %s %q", level, words)
	}
}

// TestLandingVerdictAndDashes: the verdict names what fails (a red gateway
// under a green coverage) and failed probes show "—", not "0.0 ms".
func TestLandingVerdictAndDashes(t *testing.T) {
	_, e := goldenServer(t)
	now := time.Now()
	for i := range 30 {
		e.Observe(probe.Result{Target: "gateway", Kind: "icmp", Time: now.Add(-time.Duration(i) * time.Second), Packets: 1, Reason: probe.ReasonTimeout})
	}
	e.Observe(probe.Result{Target: "epr", Kind: "http", Time: now, Reason: probe.ReasonTimeout, Detail: "context deadline exceeded"})
	s := NewServer(e, ServerOptions{Log: discard(), Redact: e2eRedactor()})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	for _, want := range []string{`data-level="bad"`, "This spot is NOT OK", "gateway (icmp): down:", "epr (http): down: no answer in time",
		"<dt>time</dt><dd>—</dd>", "data as of"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<dd>0.0 ms</dd>") {
		t.Error("a failed probe shows 0.0 ms")
	}
}

func TestLandingReloadErrorsAndConfigView(t *testing.T) {
	_, e := goldenServer(t)
	e.SetReload(false, time.Now(), []string{"w.yml:3: targets[0].adress: unknown key (did you mean \"address\"?)"})
	s := NewServer(e, ServerOptions{Log: discard(), Redact: e2eRedactor()})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if page := rec.Body.String(); !strings.Contains(page, "The last config reload failed") || !strings.Contains(page, "targets[0].adress: unknown key") {
		t.Errorf("reload errors not shown")
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/config", nil))
	cfgPage := rec.Body.String()
	for _, want := range []string{"Config in force", "name: rex-blockb-f2-ward7-1", "url: https://epr.example.org/health", "kind: icmp", "max_body_bytes: 1MiB"} {
		if !strings.Contains(cfgPage, want) {
			t.Errorf("config view lacks %q:\n%s", want, cfgPage)
		}
	}
}

// TestCoverageWordsInVerdict: a not-spot makes the verdict red with the reason.
func TestCoverageWordsInVerdict(t *testing.T) {
	w := wifiView{HaveCov: true, Cov: coverage.Assessment{State: coverage.NotSpot, Reason: "signal -85 dBm is below the not-spot floor of -80 dBm", Time: time.Now()}}
	v := judge(w, nil)
	if v.Level != levelBad || len(v.Fails) != 1 || !strings.Contains(v.Fails[0], "not-spot") || !strings.Contains(v.Fails[0], "-85 dBm") {
		t.Errorf("verdict %+v", v)
	}
	good := judge(wifiView{HaveCov: true, Cov: coverage.Assessment{State: coverage.Good, Time: time.Now()}}, []targetView{{Level: levelOK}})
	if good.Level != levelOK || good.Words != "This spot is OK" {
		t.Errorf("good: %+v", good)
	}
}

// TestConfigViewMasksQuotedCredentials: a credential-like query value
// holding a quote is masked in the config view whole, although YAML quotes
// it (the quote doubled) and HTML escapes it (&#39;) before the page is
// redacted.
func TestConfigViewMasksQuotedCredentials(t *testing.T) {
	cfg, err := kinds.Parse("w.yml", []byte("targets:\n"+
		"  - {name: a, kind: http, url: \"http://h.example/?token=ab'cdLEAK1\"}\n"+
		"  - {name: b, kind: http, url: \"http://h.example/?token=x y&password=p\\\"qLEAK2\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	redact := &secret.Redactor{}
	for _, s := range cfg.Strings() {
		redact.AddURL(s) // as daemon.Build does
	}
	s := NewServer(New("test", kinds.All(), cfg, time.Now()), ServerOptions{Log: discard(), Redact: redact})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/config", nil))
	page := rec.Body.String()
	if !strings.Contains(page, "Config in force") || !strings.Contains(page, "h.example") {
		t.Fatalf("no config view:\n%s", page)
	}
	if strings.Contains(page, "LEAK") {
		t.Errorf("config view shows a credential:\n%s", page)
	}
}

// TestLandingMasksQuotedCredentialsInDetails: a failure detail quoting a URL
// whose token holds a quote shows no part of the token.
func TestLandingMasksQuotedCredentialsInDetails(t *testing.T) {
	_, e := goldenServer(t)
	redact := &secret.Redactor{}
	redact.AddURL("http://h.example/?token=ab'cdLEAK3")
	e.Observe(probe.Result{Target: "epr", Kind: "http", Time: time.Now(), Reason: probe.ReasonRefused,
		Detail: `Get "http://h.example/?token=ab'cdLEAK3": dial tcp: connection refused`})
	s := NewServer(e, ServerOptions{Log: discard(), Redact: redact})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	page := rec.Body.String()
	if !strings.Contains(page, "connection refused") {
		t.Fatalf("the failure is not shown:\n%s", page)
	}
	if strings.Contains(page, "LEAK") {
		t.Errorf("the page shows a credential: %s", regexp.MustCompile(`.{60}LEAK.{20}`).FindString(page))
	}
}
