package alertmanager

import (
	"bufio"
	"bytes"
	"encoding/json"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardprobe/wardprobe/dashboards/promcheck"
	"github.com/wardprobe/wardprobe/test/lab"
)

// sink collects what the fake PagerDuty and SMTP servers receive.
type sink struct {
	mu     sync.Mutex
	pd     [][]byte
	emails [][]byte
}

func (s *sink) add(to *[][]byte, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	*to = append(*to, b)
}

func (s *sink) got() (pd, emails [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.pd...), append([][]byte(nil), s.emails...)
}

// serveSMTP is the receiving side of SMTP as far as Alertmanager's e-mail
// sender uses it without TLS or auth (RFC 5321: EHLO, MAIL, RCPT, DATA,
// QUIT); each message's data is passed to got. It ends when ln is closed.
func serveSMTP(ln net.Listener, got func([]byte)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(30 * time.Second))
			tp := textproto.NewConn(c)
			_ = tp.PrintfLine("220 lab ESMTP")
			for {
				line, err := tp.ReadLine()
				if err != nil {
					return
				}
				switch cmd := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); cmd {
				case "EHLO", "HELO":
					_ = tp.PrintfLine("250 lab")
				case "MAIL", "RCPT", "RSET", "NOOP":
					_ = tp.PrintfLine("250 OK")
				case "DATA":
					_ = tp.PrintfLine("354 go ahead")
					b, err := io.ReadAll(tp.DotReader())
					if err != nil {
						return
					}
					got(b)
					_ = tp.PrintfLine("250 OK")
				case "QUIT":
					_ = tp.PrintfLine("221 bye")
					return
				default:
					_ = tp.PrintfLine("502 not implemented")
				}
			}
		}(c)
	}
}

// notifyConfig is the example config with its real notification templates
// and PagerDuty and e-mail receivers, pointed at the lab's fake servers, and
// every group sent at once.
func notifyConfig(t *testing.T, dir, pdURL, smtpAddr string) []byte {
	t.Helper()
	cfg := readConfig(t, configFile)
	keyFile := filepath.Join(dir, "routing-key")
	if err := os.WriteFile(keyFile, []byte("lab-routing-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg["global"] = map[string]any{"smtp_smarthost": smtpAddr, "smtp_from": "alerts@lab", "smtp_require_tls": false, "resolve_timeout": "5m"}
	route := cfg["route"].(map[string]any)
	route["group_wait"], route["group_interval"] = "1s", "1s"
	for _, r := range route["routes"].([]any) {
		r.(map[string]any)["group_wait"], r.(map[string]any)["group_interval"] = "1s", "1s"
	}
	found := 0
	for _, r := range cfg["receivers"].([]any) {
		m := r.(map[string]any)
		switch m["name"] {
		case "oncall":
			pd := m["pagerduty_configs"].([]any)[0].(map[string]any)
			pd["routing_key_file"], pd["url"] = keyFile, pdURL
			delete(m, "opsgenie_configs")
			delete(m, "webhook_configs")
			found++
		case "estates-email":
			found++
		}
	}
	if found != 2 {
		t.Fatalf("receivers oncall and estates-email not both in %s", configFile)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNotificationsCarryDashboardLinks runs the real Alertmanager with the
// example config's PagerDuty and e-mail receivers (pointed at fake servers
// in a namespace) and checks each notification carries the alert's absolute
// dashboard link: as a link of the PagerDuty event, and as a clickable
// <a href> in the e-mail.
func TestNotificationsCarryDashboardLinks(t *testing.T) {
	bin := promcheck.Tool(t, "prometheus-alertmanager")
	l := lab.New(t)
	ns := l.Netns("an")
	dir := t.TempDir()
	var got sink

	pdLn := l.Listen(ns, "127.0.0.1:8089")
	go func() {
		_ = http.Serve(pdLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			got.add(&got.pd, b)
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"status":"success","message":"Event processed"}`))
		}))
	}()
	go serveSMTP(l.Listen(ns, "127.0.0.1:2525"), func(b []byte) { got.add(&got.emails, b) })

	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, notifyConfig(t, dir, "http://127.0.0.1:8089/v2/enqueue", "127.0.0.1:2525"), 0o600); err != nil {
		t.Fatal(err)
	}
	am := l.Start(ns, bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:9093", "--cluster.listen-address=", "--log.level=warn")
	c := lab.Client(ns)
	base := "http://127.0.0.1:9093"
	if err := lab.WaitOK(c, base+"/-/ready", am, 20*time.Second); err != nil {
		t.Fatalf("alertmanager: %v", err)
	}

	where := map[string]string{"site": `St Mary's "Hospital" & Co, Tŷ Newydd`, "building": "Block A", "floor": "1", "ward": "King's Ward, Children's", "probe": "stmarys-kings-1"}
	const pageLink = "https://grafana.example.org/d/wardprobe-ward/ward-detail?var-site=St+Mary%27s+%22Hospital%22+%26+Co%2C+T%C5%B7+Newydd&var-building=Block+A&var-floor=1&var-ward=King%27s+Ward%2C+Children%27s"
	const ticketLink = "https://grafana.example.org/d/wardprobe-fleet/fleet-health?var-site=St+Mary%27s+%22Hospital%22+%26+Co%2C+T%C5%B7+Newydd&var-building=Block+A"
	alerts := []map[string]any{
		{"labels": with(where, "alertname", "WardServiceUnreachable", "severity", "page", "target", "epr"),
			"annotations": map[string]string{"summary": "EPR unreachable", "description": "d", "runbook": "r", "dashboard": pageLink}},
		{"labels": with(where, "alertname", "WardProbeConfigReloadFailed", "severity", "ticket"),
			"annotations": map[string]string{"summary": "config refused", "description": "d", "runbook": "r", "dashboard": ticketLink}},
	}
	b, _ := json.Marshal(alerts)
	resp, err := c.Post(base+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting alerts: %s", resp.Status)
	}

	deadline := time.Now().Add(20 * time.Second)
	var pd, emails [][]byte
	for {
		pd, emails = got.got()
		if len(pd) > 0 && len(emails) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(pd) == 0 || len(emails) == 0 {
		t.Fatalf("after 20 s: %d PagerDuty events, %d e-mails", len(pd), len(emails))
	}

	var ev struct {
		RoutingKey string `json:"routing_key"`
		Links      []struct {
			Href string `json:"href"`
			Text string `json:"text"`
		} `json:"links"`
	}
	if err := json.Unmarshal(pd[0], &ev); err != nil {
		t.Fatalf("PagerDuty event: %v: %s", err, pd[0])
	}
	if ev.RoutingKey != "lab-routing-key" || len(ev.Links) != 1 || ev.Links[0].Href != pageLink {
		t.Errorf("PagerDuty event: routing key %q, links %+v; want the page's dashboard %s", ev.RoutingKey, ev.Links, pageLink)
	}

	hrefs := emailLinks(t, emails[0])
	if len(hrefs) != 1 || hrefs[0] != ticketLink {
		t.Errorf("e-mail links %q, want [%s]", hrefs, ticketLink)
	}
}

// emailLinks returns the href of every <a> in the HTML part of an e-mail.
func emailLinks(t *testing.T, raw []byte) []string {
	t.Helper()
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("e-mail: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("e-mail content type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	href := regexp.MustCompile(`<a href="([^"]*)"`)
	var out []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("e-mail part: %v", err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			continue
		}
		body, err := io.ReadAll(p) // quoted-printable is decoded by multipart
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range href.FindAllStringSubmatch(string(body), -1) {
			out = append(out, html.UnescapeString(m[1]))
		}
	}
	return out
}
