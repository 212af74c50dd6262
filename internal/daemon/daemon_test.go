package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// noWiFi is an nl80211 opener for a machine without Wi-Fi.
func noWiFi() (wifi.Source, error) { return nil, errors.New("no nl80211 here (test)") }

// daemon runs Run on a config file in a temporary directory, listening on
// 127.0.0.1:0, unprivileged, until the test ends.
type testDaemon struct {
	cfgPath string
	url     string
	reload  chan struct{}
	done    chan error
}

func startDaemon(t *testing.T, cfg string) *testDaemon {
	t.Helper()
	d := &testDaemon{cfgPath: filepath.Join(t.TempDir(), "wardprobe.yml"), reload: make(chan struct{}, 1), done: make(chan error, 1)}
	d.write(t, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.url = "http://" + l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		d.done <- Run(ctx, Options{ConfigFile: d.cfgPath, Listener: l, Version: "test", Log: zerolog.New(io.Discard),
			Reload: d.reload, OpenWiFi: noWiFi, Redact: &secret.Redactor{}})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-d.done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of cancel")
		}
	})
	return d
}

func (d *testDaemon) write(t *testing.T, cfg string) {
	t.Helper()
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitMetrics scrapes until every want appears (and every absent is gone) or 10 s pass.
func (d *testDaemon) waitMetrics(t *testing.T, want, absent []string) string {
	t.Helper()
	var text string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(d.url + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(text, w)
		}
		for _, a := range absent {
			ok = ok && !strings.Contains(text, a)
		}
		if ok {
			return text
		}
	}
	t.Fatalf("metrics never showed %q without %q:\n%s", want, absent, text)
	return ""
}

func TestRunProbesAndReloads(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	defer web.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	base := fmt.Sprintf("probe: {name: unit}\nlocation: {ward: Ward 1}\ntargets:\n"+
		"  - {name: web, kind: http, url: %q, interval: 1s}\n", web.URL)
	d := startDaemon(t, base+fmt.Sprintf("  - {name: port, kind: tcp, address: %q, interval: 1s}\n", ln.Addr()))
	d.waitMetrics(t, []string{`wardprobe_target_up{building="unknown",floor="unknown",kind="http",probe="unit",site="unknown",target="web",ward="Ward 1"} 1`,
		`target="port",ward="Ward 1"} 1`, `wardprobe_wifi_connected{`}, nil)

	// A good reload drops a target and moves the probe to another ward.
	d.write(t, strings.Replace(base, "Ward 1", "Ward 2", 1))
	d.reload <- struct{}{}
	text := d.waitMetrics(t, []string{`target="web",ward="Ward 2"} 1`}, []string{`target="port"`, `ward="Ward 1"`})
	if !strings.Contains(text, "wardprobe_config_last_reload_successful{") {
		t.Error("no reload metric")
	}

	// A bad reload keeps the running config and says so.
	d.write(t, base+"  - {name: broken, kind: http, url: ftp://x/}\n")
	d.reload <- struct{}{}
	d.waitMetrics(t, []string{`wardprobe_config_last_reload_successful{building="unknown",floor="unknown",probe="unit",site="unknown",ward="Ward 2"} 0`,
		`target="web",ward="Ward 2"} 1`}, nil)
}

// TestCheckConfigRefusesWhatRunRefuses: a ca_file that cannot be read passes
// validation but fails the build, in check-config and run alike, at its line.
func TestCheckConfigRefusesWhatRunRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.yml")
	cfg := "targets:\n  - name: epr\n    kind: http\n    url: https://epr.example.org/\n    ca_file: " + filepath.Join(dir, "missing.pem") + "\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + ":5: targets[0].ca_file: open " + filepath.Join(dir, "missing.pem") + ": no such file or directory"
	_, err := Check(path, &secret.Redactor{})
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Error() != want {
		t.Fatalf("check-config: %v\nwant: %s", err, want)
	}
	err = Run(context.Background(), Options{ConfigFile: path, ListenAddress: "127.0.0.1:0", Log: zerolog.New(io.Discard), OpenWiFi: noWiFi})
	if !errors.As(err, &errs) || errs[0].Error() != want {
		t.Fatalf("run: %v\nwant: %s", err, want)
	}
}

// TestCheckListsEachProblemOnce: a missing credential file (read with every
// other, then again by its kind) is one error, not two.
func TestCheckListsEachProblemOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.yml")
	missing := filepath.Join(dir, "token")
	cfg := "targets:\n  - name: epr\n    kind: http\n    url: https://epr.example.org/\n    bearer_token_file: " + missing + "\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Check(path, &secret.Redactor{})
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), path+":5: targets[0].bearer_token_file: ") {
		t.Fatalf("check-config: %v; want one error at targets[0].bearer_token_file", err)
	}
}

// TestCheckRefusesFIFOs: a certificate file that is a FIFO without a writer
// is refused at its line at once; it does not hang check-config or a reload.
func TestCheckRefusesFIFOs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ cfg, want string }{
		{"targets:\n  - {name: epr, kind: http, url: \"https://epr.example.org/\", ca_file: " + fifo + "}\n", ":2: targets[0].ca_file: " + fifo + " is not a regular file"},
		{"push:\n  url: https://p.example.org/api/v1/write\n  tls_config: {ca_file: " + fifo + "}\n", ":3: push.tls_config.ca_file: " + fifo + " is not a regular file"},
		{"push:\n  url: https://p.example.org/api/v1/write\n  tls_config: {cert_file: " + fifo + ", key_file: " + fifo + "}\n", ":3: push.tls_config.cert_file: loading the client certificate: " + fifo + " is not a regular file"},
	} {
		path := filepath.Join(dir, "w.yml")
		if err := os.WriteFile(path, []byte(tc.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := Check(path, &secret.Redactor{}); done <- err }()
		select {
		case err := <-done:
			var errs config.Errors
			if !errors.As(err, &errs) || errs[0].Error() != path+tc.want {
				t.Errorf("%q: %v\nwant: %s%s", tc.cfg, err, path, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: check-config hangs on a FIFO", tc.cfg)
		}
	}
}
