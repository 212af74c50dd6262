package daemon

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
)

// TestPushFollowsTheConfig: a push section starts pushing /metrics' series,
// location labels included; a reload without it stops push.
func TestPushFollowsTheConfig(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		pb, err := snappy.Decode(nil, b)
		var wr prompb.WriteRequest
		if err == nil {
			err = wr.Unmarshal(pb)
		}
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, ts := range wr.Timeseries {
			var ls []string
			for _, l := range ts.Labels {
				ls = append(ls, l.Name+"="+l.Value)
			}
			seen[strings.Join(ls, ",")] = true
		}
		w.WriteHeader(204)
	}))
	defer rcv.Close()
	has := func(want string) bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[want]
	}
	base := "probe: {name: unit}\nlocation: {ward: Ward 1}\n"
	withPush := base + fmt.Sprintf("push: {url: %q, interval: 1s, queue_dir: %q}\n", rcv.URL+"/api/v1/write", t.TempDir())
	d := startDaemon(t, withPush)
	d.waitMetrics(t, []string{`wardprobe_push_samples_sent_total{building="unknown",floor="unknown",probe="unit",site="unknown",ward="Ward 1"}`}, nil)
	want := "__name__=wardprobe_config_last_reload_successful,building=unknown,floor=unknown,probe=unit,site=unknown,ward=Ward 1"
	for deadline := time.Now().Add(10 * time.Second); !has(want); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver never got %s", want)
		}
	}
	d.write(t, base)
	d.reload <- struct{}{}
	d.waitMetrics(t, nil, []string{"wardprobe_push_"})
}

// TestCheckConfigReadsPushFiles: push's credential and certificate files
// are read at check-config, and a bad one is reported at its line.
func TestCheckConfigReadsPushFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.yml")
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("not a certificate\n"), 0o600)
	cfg := "push:\n  url: https://prom.example.org/api/v1/write\n  queue_dir: " + dir + "\n  basic_auth:\n    username: ward7\n" +
		"    password_file: " + filepath.Join(dir, "missing") + "\n  tls_config:\n    ca_file: " + ca + "\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Check(path, &secret.Redactor{})
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("check-config: %v", err)
	}
	for i, want := range []string{
		path + ":6: push.basic_auth.password_file: reading credential file: open " + filepath.Join(dir, "missing") + ": no such file or directory",
		path + ":8: push.tls_config.ca_file: " + ca + " holds no PEM certificate",
	} {
		if errs[i].Error() != want {
			t.Errorf("error %d:\n got  %s\n want %s", i, errs[i], want)
		}
	}
}
