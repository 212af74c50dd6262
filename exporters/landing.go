package exporters

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/wardprobe/wardprobe/config"
)

// landingCSS is the page's style. Colours meet WCAG 2.1 AA (contrast at
// least 4.5:1) for their text, as a test checks: white on green #1a7f37
// (5.1:1) and red #c5221f (5.6:1), dark brown #4d3200 on amber #ffd75e
// (9.5:1), white on grey #5f6368 (6.3:1).
const landingCSS = `
:root{--ok:#1a7f37;--ok-fg:#ffffff;--bad:#c5221f;--bad-fg:#ffffff;--warn:#ffd75e;--warn-fg:#4d3200;--none:#5f6368;--none-fg:#ffffff;--muted:#4a4f55}
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#fff;line-height:1.4}
main,.wrap{max-width:64rem;margin:0 auto;padding:0 .75rem 2rem}
.wrap{padding:0}
.verdict{padding:1rem .75rem;margin:0 0 1rem}
.verdict h1{margin:0;font-size:1.6rem}
.verdict ul{margin:.4rem 0 0;padding-left:1.2rem}
.ok{background:var(--ok);color:var(--ok-fg)} .bad{background:var(--bad);color:var(--bad-fg)}
.warn{background:var(--warn);color:var(--warn-fg)} .none{background:var(--none);color:var(--none-fg)}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;font-weight:600}
.asof,.muted,.detail{color:var(--muted);font-size:.9rem}
.verdict .asof{color:inherit}
h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
dl.facts{display:grid;grid-template-columns:minmax(7rem,max-content) 1fr;gap:.25rem .75rem;margin:0}
dl.facts dt{font-weight:600} dl.facts dd{margin:0;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:.75rem}
.card{border:1px solid #d0d7de;border-radius:.4rem;padding:.6rem .75rem;overflow-wrap:anywhere;min-width:0}
.card h3{margin:0 0 .3rem;font-size:1.05rem}
.card dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .6rem;margin:.4rem 0 0}
.card dd{margin:0}
ul.checks{padding-left:1.2rem;margin:.3rem 0} ul.checks li{overflow-wrap:anywhere}
details{margin-top:.4rem} summary{cursor:pointer}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:.75rem;border-radius:.4rem}
footer{color:var(--muted);font-size:.85rem;margin-top:2rem}
a{color:#0a58ca}
`

// landingTemplate is the page an engineer standing on the ward sees, on a
// phone or a laptop: first the answer to "is this spot OK?" and what fails,
// then where the probe is, the Wi-Fi and coverage, each target's last
// minute, throughput, and the last reload's errors.
const landingTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>{{.Verdict.Words}} — wardprobe {{.Cfg.Location.Ward}}</title>
<style>{{.CSS}}</style></head><body>
<header class="verdict {{.Verdict.Level}}" id="verdict" data-level="{{.Verdict.Level}}"><div class="wrap">
<h1>{{.Verdict.Words}}</h1>
{{if .Verdict.Fails}}<ul>{{range .Verdict.Fails}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="asof">{{.Cfg.Location.Ward}} · {{if .Verdict.AsOf.IsZero}}no data yet{{else}}data as of {{clock .Verdict.AsOf}} ({{ago .Verdict.AsOf}}){{end}} · refreshes every 5 s</p>
</div></header>
<main>
{{if not .ReloadOK}}<section id="reload"><h2><span class="badge bad">The last config reload failed</span></h2>
<p>The previous config is still in force.{{if not .ReloadAt.IsZero}} Tried at {{clock .ReloadAt}}.{{end}}</p>
<pre>{{range .ReloadErrs}}{{.}}
{{end}}</pre></section>{{end}}
<section id="where"><h2>Where</h2>
<dl class="facts"><dt>site</dt><dd>{{.Cfg.Location.Site}}</dd><dt>building</dt><dd>{{.Cfg.Location.Building}}</dd>
<dt>floor</dt><dd>{{.Cfg.Location.Floor}}</dd><dt>ward</dt><dd>{{.Cfg.Location.Ward}}</dd>
{{if .Cfg.Location.Spot}}<dt>spot</dt><dd>{{.Cfg.Location.Spot}}</dd>{{end}}
<dt>probe</dt><dd>{{.Cfg.Probe.Name}}</dd><dt>standard</dt><dd>{{.Cfg.Standard}}<details><summary>where its limits come from</summary><span class="muted">{{.StandardSource}}</span></details></dd></dl></section>
<section id="wifi"><h2>Wi-Fi and coverage</h2>
{{with .WiFi}}<p>Wi-Fi <span class="badge {{.WiFiClass}}">{{.WiFiWords}}</span>{{if .Snap.Interface}} on <b>{{.Snap.Interface}}</b>{{end}}{{if .Snap.Detail}} <span class="detail">{{redact .Snap.Detail}}</span>{{end}}</p>
<p>coverage {{if .HaveCov}}<span class="badge {{.CoverageClass}}">{{.CoverageWords}}</span> <span class="detail">{{.Cov.Reason}}</span>{{else}}<span class="badge none">not judged yet</span>{{end}}</p>
<dl class="facts">{{range .Facts}}<dt>{{.Name}}</dt><dd>{{.Value}}</dd>{{end}}</dl>
{{range .Standards}}<h3>standard {{.Name}}{{if .Ward}} (this ward){{end}} {{if .Met}}<span class="badge ok">met</span>{{else}}<span class="badge bad">not met</span>{{end}}</h3>
<ul class="checks">{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}</section>
<section id="targets"><h2>Targets</h2>
<div class="cards">{{range .Targets}}<div class="card" id="target-{{.Name}}">
<h3>{{.Name}} <span class="muted">{{.Kind}}</span></h3>
<span class="badge {{.Level}}">{{.Words}}</span>
<dl>{{if .Packet}}<dt>loss</dt><dd>{{.LossWords}}</dd><dt>round trip</dt><dd>{{dur .LastMinute.RTT}}</dd><dt>jitter</dt><dd>{{if .LastMinute.HaveJitter}}{{ms .LastMinute.Jitter}}{{else}}—{{end}}</dd>
{{else}}<dt>last minute</dt><dd>{{if .LastMinute.Results}}{{.LastMinute.Failures}} of {{.LastMinute.Results}} failed{{else}}—{{end}}</dd><dt>time</dt><dd>{{if .Last.Success}}{{ms .Last.Duration}}{{else}}—{{end}}</dd>{{end}}
{{if .HaveResult}}<dt>last result</dt><dd>{{if .Last.Summary}}{{.Last.Summary}} · {{end}}{{ago .Last.Time}}{{if .Last.Addr}} · {{.Last.Addr}}{{end}}</dd>{{end}}
{{if not .Last.Success}}{{if .HaveResult}}<dt>why</dt><dd>{{.Last.Reason}} — {{reason .Last.Reason}}<div class="detail">{{redact .Last.Detail}}</div></dd>{{end}}{{end}}</dl>
{{if .RecentFailures}}<details><summary>last {{len .RecentFailures}} failures</summary><ul class="checks">{{range .RecentFailures}}<li>{{clock .Time}} {{.Reason}}: <span class="detail">{{redact .Detail}}</span></li>{{end}}</ul></details>{{end}}
</div>{{else}}<p>no targets configured</p>{{end}}</div></section>
{{if .TP.Cfg}}<section id="throughput"><h2>Throughput</h2>
<p>{{with .TP.LastOK}}<span class="badge ok">{{mbps .Download.BitsPerSecond}} down · {{mbps .Upload.BitsPerSecond}} up</span>
<span class="detail">latency idle {{ms .IdleLatency}}, under load {{ms .Download.Latency}} / {{ms .Upload.Latency}} · {{mb .Bytes}} used · {{ago .Start}}</span>{{else}}<span class="badge none">no successful test yet</span>{{end}}
{{with .TP.Last}}{{if not .Success}}<br><span class="badge bad">last test failed: {{.Reason}}</span> <span class="detail">{{redact .Detail}} · {{ago .Start}}</span>{{end}}{{end}}
{{if .TP.Budget.Paused}}<br><span class="badge warn">paused: today's byte budget is spent</span>{{end}}
<br><span class="detail">against {{.TP.Cfg.Mode}} {{.TPServer}} every {{.TP.Cfg.Interval}}</span></p></section>{{end}}
{{if .Connect.Cfg}}<section id="connect"><h2>Time to connect</h2>
<p>{{with .Connect.Last}}{{if .Success}}<span class="badge ok">joined in {{ms .Phases.Total}}</span>{{else}}<span class="badge bad">failed in {{.Phase}}: {{.Reason}}</span> <span class="detail">{{redact .Detail}}</span>{{end}}
<br><span class="detail">{{.Phases.Line}} · {{ago .Time}}</span>{{else}}<span class="badge none">no test yet</span>{{end}}
<br><span class="detail">{{.Connect.Cfg.SSID}} on {{.Connect.Cfg.Interface}} every {{.Connect.Cfg.Interval}}</span></p></section>{{end}}
<footer>wardprobe {{.Version}} · <a href="/metrics">metrics</a> · <a href="/config">config in force</a></footer>
</main></body></html>
`

// targetView is one target as the page shows it.
type targetView struct {
	TargetStatus
	Level, Words string
	Packet       bool
}

// LossWords says the last minute's loss.
func (t targetView) LossWords() string {
	loss, ok := t.LastMinute.Loss()
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%% (%d of %d packets)", 100*loss, t.LastMinute.Lost, t.LastMinute.Packets)
}

func (s *Server) handleLanding(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	e := s.exp
	e.mu.RLock()
	cfg, reloadOK, reloadAt, reloadErrs := e.cfg, e.reloadOKv, e.reloadAt, e.reloadErrs
	e.mu.RUnlock()
	wv := e.wifiView()
	var targets []targetView
	for _, st := range e.Targets() {
		packet := e.coverageKinds[st.Kind]
		level, words := targetLevel(st, packet)
		targets = append(targets, targetView{TargetStatus: st, Level: level, Words: words, Packet: packet})
	}
	page := struct {
		Cfg            *config.Config
		CSS            template.CSS
		Version        string
		Verdict        verdict
		ReloadOK       bool
		ReloadAt       time.Time
		ReloadErrs     []string
		Targets        []targetView
		WiFi           wifiView
		TP             throughputView
		Connect        connectView
		TPServer       string
		StandardSource string
	}{cfg, template.CSS(landingCSS), e.version, judge(wv, targets), reloadOK, reloadAt, reloadErrs, targets, wv,
		e.throughputView(), e.connectView(), "", cfg.StandardSource(cfg.Standard)}
	if cfg.Throughput != nil {
		page.TPServer = throughputServer(cfg.Throughput)
	}
	s.render(w, s.landing, page)
}

// render executes t into a buffer, redacts the whole page and writes it.
func (s *Server) render(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.log.Warn("rendering a page", "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, s.redact.HTML(buf.String()))
}

// configTemplate is the config view: the config in force as YAML, defaults
// filled in, every credential masked.
const configTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>config — wardprobe {{.Ward}}</title><style>{{.CSS}}</style></head><body><main>
<h1>Config in force</h1><p class="muted">{{.File}} · defaults filled in · credentials masked · <a href="/">back</a></p>
<pre>{{.YAML}}</pre></main></body></html>
`

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cfg := s.exp.Config()
	// Masked before YAML quotes and HTML escapes it: the page's own
	// redaction (render) cannot recognise a credential in its escaped form.
	text, err := cfg.MaskedYAML(s.redact.String)
	if err != nil {
		http.Error(w, "the config cannot be shown", http.StatusInternalServerError)
		return
	}
	file := cfg.File
	if file == "" {
		file = config.DefaultFile
	}
	s.render(w, s.configPage, struct {
		Ward, File, YAML string
		CSS              template.CSS
	}{cfg.Location.Ward, file, string(text), template.CSS(landingCSS)})
}

func templateFuncs() template.FuncMap {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	return template.FuncMap{
		"ms":     ms,
		"dur":    func(d time.Duration) string { return map[bool]string{true: "—", false: ms(d)}[d == 0] },
		"mbps":   func(bps float64) string { return fmt.Sprintf("%.1f Mbit/s", bps/1e6) },
		"mb":     func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) },
		"ago":    func(t time.Time) string { return time.Since(t).Truncate(time.Second).String() + " ago" },
		"clock":  func(t time.Time) string { return t.Local().Format("15:04:05") },
		"reason": reasonWords,
		"redact": func(s string) string { return s }, // the server's redactor, set by NewServer
	}
}

func newLandingTemplate() *template.Template {
	return template.Must(template.New("landing").Funcs(templateFuncs()).Parse(landingTemplate))
}

func newConfigTemplate() *template.Template {
	return template.Must(template.New("config").Funcs(templateFuncs()).Parse(configTemplate))
}
