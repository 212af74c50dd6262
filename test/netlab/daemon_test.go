package netlab

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/wardprobe/wardprobe/test/lab"
)

// TestDefaultConfigInNamespace runs plain `wardprobe` (no arguments: the
// built-in config) in a namespace whose default route and resolver are a peer
// the test made: it pings that gateway and resolves through that resolver.
func TestDefaultConfigInNamespace(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, gwNS, _, _ := pair(t, l)
	l.DefaultRoute(probeNS, "10.77.0.2")
	l.Resolver(probeNS, "10.77.0.2")
	l.DNS(gwNS, "10.77.0.2", "--address=/nhs.uk/10.77.0.80")
	d := l.WardprobeArgs(probeNS, "http://127.0.0.1:9810", wardprobeBin)
	s := d.WaitFor(t, 60*time.Second, "gateway and DNS up", func(s lab.Samples) bool {
		return s.Value("wardprobe_target_up", "target", "gateway") == 1 &&
			s.Value("wardprobe_target_up", "target", "dns-system") == 1 &&
			s.Value("wardprobe_icmp_packets_sent_total", "target", "gateway") >= 3
	})
	if v := s.Value("wardprobe_wifi_connected"); v != 0 {
		t.Errorf("wardprobe_wifi_connected = %v with no Wi-Fi interface, want 0", v)
	}
	if v := s.Value("wardprobe_icmp_packets_lost_total", "target", "gateway"); v != 0 {
		t.Errorf("lost %v packets to the lab gateway", v)
	}
	if !strings.Contains(d.Output.String(), "no Wi-Fi interface") {
		t.Errorf("no log line says there is no Wi-Fi interface:\n%s", d.Output.String())
	}
	_, page, err := d.Get("/")
	if err != nil || !strings.Contains(page, "gateway") || !strings.Contains(page, "no Wi-Fi interface") {
		t.Errorf("landing page lacks the gateway or the Wi-Fi state: %v\n%.500s", err, page)
	}
	if err := d.Stop(); err != nil || d.Cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("SIGTERM: exit %v (%v), want a clean 0", d.Cmd.ProcessState, err)
	}
}

const reloadBase = `wifi: {interface: %s}
targets:
  - {name: keep, kind: icmp, address: 10.77.0.2, interval: 50ms, timeout: 500ms}
  - {name: drop, kind: tcp, address: "10.77.0.2:2323", interval: 1s}
`

const reloadNext = `wifi: {interface: %s}
targets:
  - {name: keep, kind: icmp, address: 10.77.0.2, interval: 50ms, timeout: 500ms}
  - {name: added, kind: tcp, address: "10.77.0.2:2424", interval: 1s}
`

// TestReload changes the config under a running wardprobe: SIGHUP and
// POST /-/reload apply a good config (unchanged targets keep counting), and a
// bad one is refused with the running config kept.
func TestReload(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, _, probeIf, _ := pair(t, l)
	d := l.Wardprobe(wardprobeBin, probeNS, location("reload")+fmt.Sprintf(reloadBase, probeIf), "--web.enable-lifecycle")
	before := d.WaitFor(t, 30*time.Second, "keep and drop to report", func(s lab.Samples) bool {
		_, ok := s.Get("wardprobe_target_up", "target", "drop")
		return ok && s.Value("wardprobe_icmp_packets_sent_total", "target", "keep") >= 20
	})
	write := func(text string) {
		if err := os.WriteFile(d.ConfigPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// 1. SIGHUP with a good config.
	write(location("reload") + fmt.Sprintf(reloadNext, probeIf))
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	after := d.WaitFor(t, 30*time.Second, "the new target", func(s lab.Samples) bool {
		_, added := s.Get("wardprobe_target_up", "target", "added")
		_, dropped := s.Get("wardprobe_target_up", "target", "drop")
		return added && !dropped
	})
	if b, a := before.Value("wardprobe_icmp_packets_sent_total", "target", "keep"), after.Value("wardprobe_icmp_packets_sent_total", "target", "keep"); a < b {
		t.Errorf("unchanged target's counter went from %v to %v: it was reset by the reload", b, a)
	}
	if v := after.Value("wardprobe_config_last_reload_successful"); v != 1 {
		t.Errorf("reload_successful = %v after a good reload", v)
	}

	// 2. A bad config: refused over HTTP with the reason, old config kept.
	write(location("reload") + "targets:\n  - {name: x, kind: icmp, adress: 10.77.0.2}\n")
	resp, err := lab.Client(d.NS).Post(d.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(body.String(), `targets[0].adress: unknown key (did you mean "address"?)`) {
		t.Errorf("bad reload answered %d: %s", resp.StatusCode, body.String())
	}
	s := d.WaitFor(t, 10*time.Second, "reload failure to show", func(s lab.Samples) bool {
		return s.Value("wardprobe_config_last_reload_successful") == 0
	})
	if _, ok := s.Get("wardprobe_target_up", "target", "added"); !ok {
		t.Error("a failed reload dropped the running targets")
	}
	n1 := s.Value("wardprobe_icmp_packets_sent_total", "target", "keep")
	d.WaitFor(t, 10*time.Second, "probing to go on", func(s lab.Samples) bool {
		return s.Value("wardprobe_icmp_packets_sent_total", "target", "keep") > n1+5
	})
	if !strings.Contains(d.Output.String(), "config reload failed") {
		t.Error("the log does not say the reload failed")
	}

	// 3. Fixed again: POST /-/reload succeeds.
	write(location("reload") + fmt.Sprintf(reloadBase, probeIf))
	resp, err = lab.Client(d.NS).Post(d.URL+"/-/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("good reload over HTTP answered %d", resp.StatusCode)
	}
	d.WaitFor(t, 10*time.Second, "reload success", func(s lab.Samples) bool {
		_, back := s.Get("wardprobe_target_up", "target", "drop")
		return s.Value("wardprobe_config_last_reload_successful") == 1 && back
	})
}

// TestWebConfigTLSAndBasicAuth serves metrics through --web.config.file with
// TLS and bcrypt basic auth.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	ns := l.Netns("w")
	certs := lab.NewCerts(t, 24*time.Hour, "127.0.0.1")
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret-ward"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webCfg := fmt.Sprintf("tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  prometheus: %s\n", certs.CertFile, certs.KeyFile, hash)
	webPath := t.TempDir() + "/web.yml"
	if err := os.WriteFile(webPath, []byte(webCfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := t.TempDir() + "/w.yml"
	if err := os.WriteFile(cfgPath, []byte(location("web")+"targets: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := l.Start(ns, wardprobeBin, "run", "--config", cfgPath, "--web.listen-address", "127.0.0.1:9810", "--web.config.file", webPath)
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(certs.CAFile)
	pool.AppendCertsFromPEM(ca)
	c := lab.Client(ns)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	var getPath func(path, user, pass string) (int, error)
	get := func(user, pass string) (int, error) { return getPath("/metrics", user, pass) }
	getPath = func(path, user, pass string) (int, error) {
		req, _ := http.NewRequest("GET", "https://127.0.0.1:9810"+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := get("", ""); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	tests := []struct {
		user, pass string
		want       int
	}{
		{"", "", 401}, {"prometheus", "wrong", 401}, {"prometheus", "s3cret-ward", 200},
	}
	for _, tt := range tests {
		code, err := get(tt.user, tt.pass)
		if err != nil || code != tt.want {
			t.Errorf("user %q: %d %v, want %d", tt.user, code, err, tt.want)
		}
	}
	// Every path is behind the basic auth, the landing page and the config view included.
	for _, path := range []string{"/", "/config", "/-/healthy", "/-/reload", "/nope"} {
		if code, err := getPath(path, "", ""); err != nil || code != 401 {
			t.Errorf("%s without credentials: %d %v, want 401", path, code, err)
		}
	}
	if strings.Contains(p.Output.String(), "s3cret-ward") {
		t.Error("the password appears in the log")
	}
}

// TestCheckConfig runs `wardprobe check-config` on good and bad files.
func TestCheckConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, text string
		code       int
		want       []string
	}{
		{"good.yml", location("x") + "targets:\n  - {name: gw, kind: icmp, address: gateway}\n", 0, []string{"good.yml: OK"}},
		{"bad.yml", "probe:\n  nmae: x\ntargets:\n  - {name: a, kind: http}\n  - {name: a, kind: icmp, address: h, interval: 1parsec}\nlocation: {x: 2}\n", 1, []string{
			dir + `/bad.yml:2: probe.nmae: unknown key (did you mean "name"?)`,
			dir + `/bad.yml:4: targets[0].url: is required`,
			dir + `/bad.yml:5: targets[1].interval: "1parsec" is not a duration (use e.g. 500ms, 30s, 5m, 1h)`,
			dir + `/bad.yml:5: targets[1].name: duplicate target name "a" (first used by targets[0])`,
			dir + `/bad.yml:6: location.x: 2 is outside 0..1`,
		}},
	}
	for _, tt := range tests {
		path := dir + "/" + tt.name
		if err := os.WriteFile(path, []byte(tt.text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(wardprobeBin, "check-config", path).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		got := strings.TrimSpace(string(out))
		if code != tt.code || got != strings.Join(tt.want, "\n") && !(tt.code == 0 && strings.HasSuffix(got, tt.want[0])) {
			t.Errorf("%s: exit %d, output:\n%s\nwant exit %d, output:\n%s", tt.name, code, got, tt.code, strings.Join(tt.want, "\n"))
		}
	}
}
