package exporters

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe/throughput"
)

// landingTemplate is the page an engineer standing on the ward sees: where the
// probe is, the Wi-Fi state, and each target's latest result at a glance.
const landingTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>wardprobe {{.Cfg.Probe.Name}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:60em}
h1{font-size:1.4em;margin-bottom:.2em} .loc{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #ddd;vertical-align:top}
.ok{background:#1a7f37;color:#fff} .bad{background:#cf222e;color:#fff} .warn{background:#bf8700;color:#fff}
.none{background:#888;color:#fff} .state{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600}
.detail{color:#555;font-size:.9em} footer{color:#777;font-size:.85em}
</style></head><body>
<h1>wardprobe — {{.Cfg.Location.Ward}}</h1>
<p class="loc">{{.Cfg.Location.Site}} · {{.Cfg.Location.Building}} · floor {{.Cfg.Location.Floor}}{{if .Cfg.Location.Spot}} · {{.Cfg.Location.Spot}}{{end}}<br>
probe <b>{{.Cfg.Probe.Name}}</b> · standard <b>{{.Cfg.Standard}}</b>{{if not .ReloadOK}} · <span class="state bad">last config reload failed</span>{{end}}</p>
<h2>Wi-Fi and coverage</h2>
{{with .WiFi}}<p>Wi-Fi <span class="state {{.WiFiClass}}">{{.WiFiWords}}</span>{{if .Snap.Interface}} on <b>{{.Snap.Interface}}</b>{{end}}{{if .Snap.Detail}} <span class="detail">{{.Snap.Detail}}</span>{{end}}</p>
<p>coverage {{if .HaveCov}}<span class="state {{.CoverageClass}}">{{.CoverageWords}}</span> <span class="detail">{{.Cov.Reason}}</span>{{else}}<span class="state none">not judged yet</span>{{end}}</p>
<table>{{range .Facts}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}
{{range .Standards}}<tr><th>standard {{.Name}}{{if .Ward}} (this ward){{end}}</th><td>{{if .Met}}<span class="state ok">met</span>{{else}}<span class="state bad">not met</span>{{end}} <span class="detail">{{.Checks}}</span></td></tr>{{end}}</table>{{end}}
<h2>Targets</h2>
<table><tr><th>target</th><th>kind</th><th>last result</th><th>time</th><th>loss</th><th>seen</th></tr>
{{range .Targets}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td>
<td>{{if not .HaveResult}}<span class="state none">waiting</span>{{else if .Last.Success}}<span class="state ok">up</span>{{else}}<span class="state bad">down: {{.Last.Reason}}</span><div class="detail">{{.Last.Detail}}</div>{{end}}</td>
<td>{{if .HaveResult}}{{ms .Last.Duration}}{{if .Last.Summary}} · {{.Last.Summary}}{{end}}{{end}}</td>
<td>{{if .PacketsSent}}{{loss .PacketsLost .PacketsSent}} of {{.PacketsSent}}{{else}}{{if .Probes}}{{.Failures}} of {{.Probes}} failed{{end}}{{end}}</td>
<td>{{if .HaveResult}}{{ago .Last.Time}}{{end}}</td></tr>
{{else}}<tr><td colspan="6">no targets configured</td></tr>{{end}}
</table>
{{if .Cfg.Throughput}}<h2>Throughput</h2>
<p>{{with .LastOK}}<span class="state ok">{{mbps .Download.BitsPerSecond}} down · {{mbps .Upload.BitsPerSecond}} up</span>
<span class="detail">latency idle {{ms .IdleLatency}}, under load {{ms .Download.Latency}} / {{ms .Upload.Latency}} · {{mb .Bytes}} used · {{ago .Start}}</span>{{else}}<span class="state none">no successful test yet</span>{{end}}
{{with .Throughput}}{{if not .Success}}<br><span class="state bad">last test failed: {{.Reason}}</span> <span class="detail">{{.Detail}} · {{ago .Start}}</span>{{end}}{{end}}
{{if .Budget.Paused}}<span class="state warn">paused: today's byte budget is spent</span>{{end}}
<span class="detail">against {{.Cfg.Throughput.Mode}} {{.TPServer}} every {{.Cfg.Throughput.Interval}}</span></p>{{end}}
<footer>wardprobe {{.Version}} · <a href="/metrics">metrics</a> · refreshed every 5 s</footer>
</body></html>
`

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
	cfg, reloadOK := e.cfg, e.reloadOKv
	e.mu.RUnlock()
	tv := e.throughputView()
	page := struct {
		Cfg        *config.Config
		Version    string
		ReloadOK   bool
		Targets    []TargetStatus
		WiFi       any
		Throughput *throughput.Result
		LastOK     *throughput.Result
		Budget     throughput.BudgetStatus
		TPServer   string
	}{cfg, e.version, reloadOK, e.Targets(), e.wifiView(), tv.Last, tv.LastOK, tv.Budget, ""}
	if cfg.Throughput != nil {
		page.TPServer = throughputServer(cfg.Throughput)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var buf bytes.Buffer
	if err := s.landing.Execute(&buf, page); err != nil {
		s.log.Warn("rendering landing page", "err", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	io.WriteString(w, s.redact.String(buf.String()))
}

func newLandingTemplate() *template.Template {
	return template.Must(template.New("landing").Funcs(template.FuncMap{
		"ms": func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) },
		"loss": func(lost, sent uint64) string {
			return fmt.Sprintf("%.1f%%", 100*float64(lost)/float64(sent))
		},
		"mbps": func(bps float64) string { return fmt.Sprintf("%.1f Mbit/s", bps/1e6) },
		"mb":   func(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) },
		"ago":  func(t time.Time) string { return time.Since(t).Truncate(time.Second).String() + " ago" },
	}).Parse(landingTemplate))
}
