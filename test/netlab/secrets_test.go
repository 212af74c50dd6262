package netlab

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/test/lab"
)

// secrets are distinctive credentials placed in every place a config can
// hold one; no output may ever contain them.
var secrets = []string{
	"S1-throughput-url-password", "S2-throughput-url-token", "S3-epr-url-password", "S4-epr-url-token",
	"S5-basic-auth-password-file", "S6-bearer-token-file", "S7-push-bearer-token",
}

// TestSecretsAppearNowhere puts a distinctive secret in every place a
// secret can go, makes wardprobe use and report them (targets that fail
// and redirect, a reload that fails on a URL with credentials, check-config
// on a bad file), then searches every output: logs in each format, the
// landing page, /metrics, the reload response and check-config's output.
func TestSecretsAppearNowhere(t *testing.T) {
	t.Parallel()
	l := lab.New(t)
	probeNS, peerNS, _, _ := pair(t, l)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("pw", secrets[4]+"\n")
	tok := write("token", secrets[5]+"\n")
	pushTok := write("push-token", secrets[6]+"\n")
	// A web server that redirects with a token in the Location and echoes
	// the Authorization header back in an error page.
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" || r.URL.Path == "/next" { // a redirect loop with the token in every URL
			http.Redirect(w, r, "/next?token="+secrets[3], http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "no: "+r.Header.Get("Authorization"))
	})}
	go srv.Serve(l.Listen(peerNS, "10.77.0.2:8080"))
	t.Cleanup(func() { srv.Close() })
	cfg := location("secrets") + fmt.Sprintf(`targets:
  - {name: epr, kind: http, url: "http://user:%s@10.77.0.2:8080/redirect?token=%s", interval: 1s}
  - {name: basic, kind: http, url: "http://10.77.0.2:8080/basic", interval: 1s, basic_auth: {username: probe, password_file: %s}}
  - {name: bearer, kind: http, url: "http://10.77.0.2:8080/bearer", interval: 1s, bearer_token_file: %s}
throughput: {url: "http://probe:%s@10.77.0.2:9999/?token=%s", interval: 1m, timeout: 5s}
push: {url: "http://10.77.0.2:9090/api/v1/write", bearer_token_file: %s}
`, secrets[2], secrets[3], pw, tok, secrets[0], secrets[1], pushTok)

	var outputs []string
	add := func(what, text string) { outputs = append(outputs, what+":\n"+text) }
	for _, format := range []string{"json", "logfmt", "console"} {
		d := l.Wardprobe(wardprobeBin, probeNS, cfg, "--log.format", format, "--web.enable-lifecycle")
		d.WaitFor(t, 30*time.Second, "every target and a throughput test to report", func(s lab.Samples) bool {
			_, a := s.Get("wardprobe_target_up", "target", "epr")
			_, b := s.Get("wardprobe_target_up", "target", "basic")
			_, c := s.Get("wardprobe_target_up", "target", "bearer")
			return a && b && c && (format != "json" || s.Value("wardprobe_throughput_tests_total") >= 1)
		})
		for _, path := range []string{"/metrics", "/"} {
			_, body, err := d.Get(path)
			if err != nil {
				t.Fatal(err)
			}
			add(format+" "+path, body)
		}
		// A reload that fails on URLs with credentials in them.
		if err := os.WriteFile(d.ConfigPath, []byte(strings.ReplaceAll(cfg, "http://user:", "ftp://user:")), 0o600); err != nil {
			t.Fatal(err)
		}
		resp, err := lab.Client(d.NS).Post(d.URL+"/-/reload", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 {
			t.Errorf("bad reload answered %d", resp.StatusCode)
		}
		add(format+" reload response", string(b))
		time.Sleep(1500 * time.Millisecond) // a few more failing probes into the log
		d.Stop()
		add(format+" log", d.Output.String())
	}
	bad := write("bad.yml", strings.ReplaceAll(cfg, "http://user:", "ftp://user:"))
	out, _ := exec.Command(wardprobeBin, "check-config", bad).CombinedOutput()
	add("check-config", string(out))
	if !strings.Contains(string(out), "is not an http or https URL") {
		t.Errorf("check-config did not report the bad URL:\n%s", out)
	}
	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Errorf("secret %s appears in %s", s, strings.SplitN(o, "\n", 2)[0])
			}
		}
	}
	if t.Failed() {
		t.Logf("outputs:\n%s", strings.Join(outputs, "\n----\n"))
	}
}
