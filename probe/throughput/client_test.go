package throughput

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/showwin/speedtest-go/speedtest"
	"golang.org/x/crypto/bcrypt"

	"github.com/wardprobe/wardprobe/internal/speedtarget"
	"github.com/wardprobe/wardprobe/probe"
)

// startTarget runs a real target on a loopback port and returns its URL.
func startTarget(t *testing.T) string {
	t.Helper()
	return "http://" + startTargetWeb(t, "")
}

// startTargetWeb runs a real target with the web config webFile ("" for
// none) on a loopback port and returns its host:port.
func startTargetWeb(t *testing.T, webFile string) string {
	t.Helper()
	s, err := speedtarget.New(speedtarget.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l, webFile) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return l.Addr().String()
}

// startHTTP runs handler on a loopback port (a misbehaving target).
func startHTTP(t *testing.T, handler http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// Clients are made before t.Parallel: speedtest.New writes
// http.DefaultClient.Transport (a side effect of speedtest-go), so two may
// not be made at once.

func TestAgainstLoopbackTarget(t *testing.T) {
	const allowance = 64 << 20
	c, err := NewClient(Config{Mode: ModeOnPrem, URL: startTarget(t), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	res := c.Test(context.Background(), allowance)
	t.Logf("result: %+v", res)
	if !res.Success {
		t.Fatalf("test failed: %s: %s", res.Reason, res.Detail)
	}
	for name, d := range map[string]Direction{"download": res.Download, "upload": res.Upload} {
		if d.BitsPerSecond < 1e6 || d.Bytes <= 0 || d.Window <= 0 {
			t.Errorf("%s: %+v; want a positive rate, bytes and window", name, d)
		}
		// On loopback a direction uses its allowance in tens of
		// milliseconds, often before a ping under load completes or is even
		// sent; the lab tests check loaded latency on shaped paths.
		if d.Latency < 0 || (d.Latency == 0 && d.Elapsed > 500*time.Millisecond) {
			t.Errorf("%s: no latency under load after %v", name, d.Elapsed)
		}
	}
	if res.IdleLatency <= 0 || res.IdleLatency > time.Second {
		t.Errorf("idle latency %v", res.IdleLatency)
	}
	if got := res.Bytes(); got > allowance*11/10 {
		t.Errorf("test moved %d bytes with an allowance of %d", got, allowance)
	}
	if res.Duration > 20*time.Second {
		t.Errorf("test took %v, over its 20s timeout", res.Duration)
	}
}

func TestOoklaPathWithFakeList(t *testing.T) {
	url := startTarget(t)
	c, err := NewClient(Config{Mode: ModeOokla, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Parallel()
	near, err := c.pst.CustomServer(url)
	if err != nil {
		t.Fatal(err)
	}
	near.ID, near.Name, near.Sponsor, near.Latency = "4242", "Loopback", "Lab", time.Millisecond
	c.source = fakeSource{list: speedtest.Servers{near}}
	res := c.Test(context.Background(), 16<<20)
	if !res.Success {
		t.Fatalf("test failed: %s: %s", res.Reason, res.Detail)
	}
	if !strings.HasPrefix(res.Server, "4242 Loopback") {
		t.Errorf("server %q", res.Server)
	}
}

// TestFailures runs the client against targets that misbehave and checks
// that each test ends with the right reason within its bound.
func TestFailures(t *testing.T) {
	t.Parallel()
	latency := func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "latency.txt") {
			io.WriteString(w, "test=test\n")
			return true
		}
		return false
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: nothing listens
		want    probe.Reason
	}{
		{"refused", nil, probe.ReasonRefused},
		{"not a target", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, probe.ReasonHTTPStatus},
		{"busy", func(w http.ResponseWriter, r *http.Request) {
			if !latency(w, r) {
				http.Error(w, "busy", http.StatusServiceUnavailable)
			}
		}, ReasonBusy},
		{"stalls mid-download", func(w http.ResponseWriter, r *http.Request) {
			if latency(w, r) {
				return
			}
			w.Header().Set("Content-Length", "2000000")
			w.Write(make([]byte, 100_000))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, ReasonStalled},
		{"disconnects mid-download", func(w http.ResponseWriter, r *http.Request) {
			if latency(w, r) {
				return
			}
			w.Header().Set("Content-Length", "2000000")
			w.Write(make([]byte, 100_000))
			w.(http.Flusher).Flush()
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		}, probe.ReasonReset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := refusedURL
			if tc.handler != nil {
				url = startHTTP(t, tc.handler)
			}
			const timeout = 15 * time.Second
			c, err := NewClient(Config{Mode: ModeOnPrem, URL: url, Timeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			t.Parallel()
			res := c.Test(context.Background(), 8<<20)
			if res.Success || res.Reason != tc.want {
				t.Fatalf("result %s (%s), want failure %s", res.Reason, res.Detail, tc.want)
			}
			if res.Duration > timeout {
				t.Errorf("took %v, over the %v timeout", res.Duration, timeout)
			}
			t.Logf("%s after %v: %s", res.Reason, res.Duration.Round(time.Millisecond), res.Detail)
		})
	}
}

type fakeSource struct {
	byID map[string]*speedtest.Server
	list speedtest.Servers
	err  error
}

func (f fakeSource) FetchServerByIDContext(_ context.Context, id string) (*speedtest.Server, error) {
	if s, ok := f.byID[id]; ok {
		return s, nil
	}
	return nil, speedtest.ErrServerNotFound
}

func (f fakeSource) FetchServerListContext(context.Context) (speedtest.Servers, error) {
	return f.list, f.err
}

func TestPickOokla(t *testing.T) {
	srv := func(id string, lat time.Duration) *speedtest.Server {
		return &speedtest.Server{ID: id, Latency: lat, URL: "http://" + id + ".example:8080/speedtest/upload.php"}
	}
	pings := map[string]time.Duration{"1": 30 * time.Millisecond, "2": 10 * time.Millisecond, "3": 0}
	ping := func(_ context.Context, s *speedtest.Server) (time.Duration, error) {
		if d := pings[s.ID]; d > 0 {
			return d, nil
		}
		return 0, errors.New("no answer")
	}
	tests := []struct {
		name    string
		src     fakeSource
		ids     []string
		want    string
		wantErr bool
	}{
		{"lowest latency of the ids", fakeSource{byID: map[string]*speedtest.Server{"1": srv("1", 0), "2": srv("2", 0)}}, []string{"1", "2"}, "2", false},
		{"unknown id skipped", fakeSource{byID: map[string]*speedtest.Server{"1": srv("1", 0)}}, []string{"9", "1"}, "1", false},
		{"silent id skipped", fakeSource{byID: map[string]*speedtest.Server{"1": srv("1", 0), "3": srv("3", 0)}}, []string{"3", "1"}, "1", false},
		{"no id answers", fakeSource{byID: map[string]*speedtest.Server{"3": srv("3", 0)}}, []string{"3", "9"}, "", true},
		{"nearest listed", fakeSource{list: speedtest.Servers{srv("5", 40*time.Millisecond), srv("6", 12*time.Millisecond), srv("7", speedtest.PingTimeout)}}, nil, "6", false},
		{"list all unreachable", fakeSource{list: speedtest.Servers{srv("7", speedtest.PingTimeout)}}, nil, "", true},
		{"list fails", fakeSource{err: errors.New("offline")}, nil, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pickOokla(context.Background(), tc.src, tc.ids, ping)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("picked %s, want an error", got.ID)
				}
				return
			}
			if err != nil || got.ID != tc.want {
				t.Fatalf("picked %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestRedactAndClassify(t *testing.T) {
	for in, want := range map[string]string{
		"http://10.0.0.9:8080":                "http://10.0.0.9:8080",
		"https://user:secret@t.example/x?k=v": "https://t.example/x",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	for err, want := range map[error]probe.Reason{
		&statusError{503}:                        ReasonBusy,
		&statusError{429}:                        ReasonBusy,
		&statusError{404}:                        probe.ReasonHTTPStatus,
		fmt.Errorf("x: %w", io.ErrUnexpectedEOF): probe.ReasonReset,
		context.DeadlineExceeded:                 probe.ReasonTimeout,
	} {
		if got := classify(err); got != want {
			t.Errorf("classify(%v) = %s, want %s", err, got, want)
		}
	}
}

// TestTargetWebConfig runs the target with an exporter-toolkit web config:
// basic auth works through user:password@ in the URL (never in the result),
// wrong credentials and an untrusted TLS certificate fail with their reasons.
func TestTargetWebConfig(t *testing.T) {
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := selfSigned(t, dir)
	tests := []struct {
		name   string
		web    string
		scheme string
		creds  string
		want   probe.Reason // "" for success
	}{
		{"basic auth", "basic_auth_users:\n  probe: " + string(hash) + "\n", "http", "probe:s3cret@", ""},
		{"wrong password", "basic_auth_users:\n  probe: " + string(hash) + "\n", "http", "probe:guess@", probe.ReasonHTTPStatus},
		{"untrusted certificate", "tls_server_config:\n  cert_file: " + certFile + "\n  key_file: " + keyFile + "\n", "https", "", probe.ReasonTLS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			webFile := filepath.Join(t.TempDir(), "web.yml")
			if err := os.WriteFile(webFile, []byte(tc.web), 0o600); err != nil {
				t.Fatal(err)
			}
			addr := startTargetWeb(t, webFile)
			c, err := NewClient(Config{Mode: ModeOnPrem, URL: tc.scheme + "://" + tc.creds + addr, Timeout: 15 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			res := c.Test(context.Background(), 8<<20)
			if res.Reason != tc.want || res.Success != (tc.want == "") {
				t.Fatalf("result %v %s (%s), want reason %q", res.Success, res.Reason, res.Detail, tc.want)
			}
			if strings.Contains(res.Server+res.Detail, "s3cret") || strings.Contains(res.Server+res.Detail, "guess") {
				t.Errorf("credentials in the result: %q %q", res.Server, res.Detail)
			}
		})
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "target"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestCancelEndsTestPromptly: a test cancelled mid-direction (a shutdown or
// a reload) returns at once, not when speedtest-go's own timer ends the
// direction (up to DirectionMax later), and the client's next test still
// runs.
func TestCancelEndsTestPromptly(t *testing.T) {
	var drip atomic.Bool
	drip.Store(true)
	url := startHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "latency.txt") {
			io.WriteString(w, "test=test\n")
			return
		}
		if r.Method != http.MethodGet {
			io.Copy(io.Discard, r.Body)
			return
		}
		w.Header().Set("Content-Length", "100000000")
		for drip.Load() { // 50 KB/s: a slow link that never stalls
			if _, err := w.Write(make([]byte, 1000)); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	c, err := NewClient(Config{Mode: ModeOnPrem, URL: url, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancelAfter := 1500 * time.Millisecond
	time.AfterFunc(cancelAfter, cancel)
	start := time.Now()
	res := c.Test(ctx, 64<<20)
	late := time.Since(start) - cancelAfter
	t.Logf("cancelled test: %s (%s), returned %v after the cancel", res.Reason, res.Detail, late.Round(time.Millisecond))
	if res.Success || res.Download.Reason == "" {
		t.Errorf("a cancelled test gave %+v; want a failed download", res)
	}
	if late > time.Second {
		t.Errorf("returned %v after the cancel; want at once (speedtest-go's timer ends a direction up to %v later)", late, DirectionMax)
	}
	// The next test waits for the cancelled test's transfers, then runs
	// its own download (cut short here: the target now sends nothing).
	drip.Store(false)
	res = c.Test(context.Background(), 1<<20)
	t.Logf("next test: %v %s (%s)", res.Success, res.Reason, res.Detail)
	if !res.Download.Ran || c.lingering != nil {
		t.Errorf("the next test did not run its download (%s: %s)", res.Reason, res.Detail)
	}
}
