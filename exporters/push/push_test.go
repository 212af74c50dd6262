package push

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/rs/zerolog"
)

// receiver is a remote-write endpoint for tests: it decodes requests as a
// receiver does and keeps the samples by series; respond may refuse a request.
type receiver struct {
	t  *testing.T
	mu sync.Mutex
	// series -> samples, in arrival order
	got      map[string][]prompb.Sample
	requests int
	headers  []http.Header
	respond  func(wr *prompb.WriteRequest, h http.Header) (int, string, http.Header)
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	r := &receiver{t: t, got: map[string][]prompb.Sample{}}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var wr prompb.WriteRequest
	pb, err := snappy.Decode(nil, body)
	if err == nil {
		err = wr.Unmarshal(pb)
	}
	if err != nil || req.Header.Get("Content-Encoding") != "snappy" || req.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		r.t.Errorf("bad request: %v %v", err, req.Header)
		http.Error(w, "bad request", 400)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.headers = append(r.headers, req.Header.Clone())
	if r.respond != nil {
		if code, msg, h := r.respond(&wr, req.Header); code/100 != 2 {
			for k, v := range h {
				w.Header()[k] = v
			}
			http.Error(w, msg, code)
			return
		}
	}
	for _, ts := range wr.Timeseries {
		k := labelsOf(ts).String()
		r.got[k] = append(r.got[k], ts.Samples...)
	}
	w.WriteHeader(http.StatusNoContent)
}

func labelsOf(ts prompb.TimeSeries) labels.Labels {
	b := labels.NewScratchBuilder(len(ts.Labels))
	for _, l := range ts.Labels {
		b.Add(l.Name, l.Value)
	}
	return b.Labels()
}

func (r *receiver) setRespond(f func(*prompb.WriteRequest, http.Header) (int, string, http.Header)) {
	r.mu.Lock()
	r.respond = f
	r.mu.Unlock()
}

// total counts the samples received.
func (r *receiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.got {
		n += len(s)
	}
	return n
}

// check verifies that each series arrived in timestamp order with no
// sample twice, and returns the samples per series.
func (r *receiver) check(t *testing.T) map[string][]prompb.Sample {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, ss := range r.got {
		for i := 1; i < len(ss); i++ {
			if ss[i].Timestamp <= ss[i-1].Timestamp {
				t.Fatalf("series %s: sample at %d arrived after one at %d", k, ss[i].Timestamp, ss[i-1].Timestamp)
			}
		}
	}
	return r.got
}

// testRegistry holds a counter the test bumps, so each interval differs.
func testRegistry() (*prometheus.Registry, prometheus.Counter) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "wardprobe_test_ticks_total", Help: "t"})
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wardprobe_test_signal_dbm", Help: "t"}, []string{"ssid"})
	g.WithLabelValues("CLINICAL").Set(-61)
	g.WithLabelValues("St Mary's \"guest\"").Set(-75)
	reg.MustRegister(c, g)
	return reg, c
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs a Pusher until the test ends (or stop is called).
func start(t *testing.T, o Options, g prometheus.Gatherer) (p *Pusher, logs *logBuf, stop func()) {
	t.Helper()
	logs = &logBuf{}
	p, err := New(o, g, zerolog.New(logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return p, logs, stop
}

func opts(url, dir string) Options {
	return Options{URL: url, Interval: 20 * time.Millisecond, QueueDir: dir, Timeout: 2 * time.Second,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func metric(t *testing.T, p *Pusher, name string, lv ...string) float64 {
	t.Helper()
	mfs, err := prometheus.Gatherers{p.gatherer()}.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(lv); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || lp.GetName() == lv[i] && lp.GetValue() == lv[i+1]
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no metric %s %v", name, lv)
	return 0
}

// gatherer gathers only the Pusher's own metrics.
func (p *Pusher) gatherer() prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(p)
	return reg
}

func TestPush(t *testing.T) {
	rcv, srv := newReceiver(t)
	reg, ticks := testRegistry()
	go func() {
		for range 200 {
			ticks.Inc()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	p, _, stop := start(t, opts(srv.URL+"/api/v1/write", t.TempDir()), reg)
	waitFor(t, "30 samples of each series", func() bool { return rcv.total() >= 90 })
	stop()
	got := rcv.check(t)
	if len(got) != 3 {
		t.Fatalf("received %d series, want 3: %v", len(got), slices.Collect(mapsKeys(got)))
	}
	want := `{__name__="wardprobe_test_signal_dbm", ssid="St Mary's \"guest\""}`
	if _, ok := got[want]; !ok {
		t.Errorf("no series %s", want)
	}
	// Every queued sample was sent exactly once.
	queued := metric(t, p, "wardprobe_push_samples_queued_total")
	if sent := metric(t, p, "wardprobe_push_samples_sent_total"); sent != float64(rcv.total()) || queued-sent != metric(t, p, "wardprobe_push_samples_pending") {
		t.Errorf("queued %v, sent %v, received %d, pending %v", queued, sent, rcv.total(), metric(t, p, "wardprobe_push_samples_pending"))
	}
	if metric(t, p, "wardprobe_push_last_success_timestamp_seconds") < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Error("last success time not set")
	}
	// One fsync per interval.
	if s, q := metric(t, p, "wardprobe_push_queue_syncs_total"), queued/3; s != q {
		t.Errorf("%v fsyncs for %v intervals", s, q)
	}
	if problems, err := testutil.CollectAndLint(p); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", err, problems)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestOutageBackfillAndRestart(t *testing.T) {
	// The receiver fails (5xx, 429, then a dropped connection); the probe
	// stops and starts again meanwhile; when the receiver is back, every
	// queued sample arrives exactly once, oldest first, with its timestamp.
	rcv, srv := newReceiver(t)
	reg, ticks := testRegistry()
	dir := t.TempDir()
	var mu sync.Mutex
	down := true
	rcv.setRespond(func(*prompb.WriteRequest, http.Header) (int, string, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return 503, "unavailable", nil
		}
		return 204, "", nil
	})
	p1, _, stop1 := start(t, opts(srv.URL, dir), reg)
	waitFor(t, "queued samples", func() bool { ticks.Inc(); return metric(t, p1, "wardprobe_push_samples_pending") >= 60 })
	stop1()
	queued1 := metric(t, p1, "wardprobe_push_samples_queued_total")
	if metric(t, p1, "wardprobe_push_send_failures_total", "reason", "http_5xx") == 0 {
		t.Error("no 5xx failure counted")
	}
	rcv.setRespond(func(*prompb.WriteRequest, http.Header) (int, string, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return 429, "slow down", http.Header{"Retry-After": {"0"}}
		}
		return 204, "", nil
	})
	p2, _, stop2 := start(t, opts(srv.URL, dir), reg)
	if pend := metric(t, p2, "wardprobe_push_samples_pending"); pend != queued1 {
		t.Errorf("after restart %v pending, want the %v queued before", pend, queued1)
	}
	waitFor(t, "more queued samples", func() bool { ticks.Inc(); return metric(t, p2, "wardprobe_push_samples_pending") >= queued1+60 })
	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, "the backlog sent", func() bool { return metric(t, p2, "wardprobe_push_samples_pending") == 0 })
	stop2()
	// An interval may queue more samples between the backlog's end and the
	// stop: they stay in the queue for the next start, neither sent nor lost.
	queued := queued1 + metric(t, p2, "wardprobe_push_samples_queued_total")
	left := metric(t, p2, "wardprobe_push_samples_pending")
	rcv.check(t)
	if float64(rcv.total())+left != queued {
		t.Fatalf("received %d samples and %v still queued, queued %v in all", rcv.total(), left, queued)
	}
	if metric(t, p2, "wardprobe_push_send_failures_total", "reason", "http_429") == 0 {
		t.Error("no 429 failure counted")
	}
}

func TestRetryAfter(t *testing.T) {
	rcv, srv := newReceiver(t)
	reg, _ := testRegistry()
	var mu sync.Mutex
	var times []time.Time
	rcv.setRespond(func(*prompb.WriteRequest, http.Header) (int, string, http.Header) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if len(times) == 1 {
			return 503, "busy", http.Header{"Retry-After": {"1"}}
		}
		return 204, "", nil
	})
	start(t, opts(srv.URL, t.TempDir()), reg)
	waitFor(t, "a sample", func() bool { return rcv.total() > 0 })
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < 900*time.Millisecond {
		t.Errorf("retried %v after Retry-After: 1", gap)
	}
}

func TestRejectedSamplesSplitOut(t *testing.T) {
	// The receiver refuses any request holding one series (as Prometheus
	// 2.x refuses a whole request for one out-of-order sample): only that
	// series' samples are dropped, the rest arrive.
	rcv, srv := newReceiver(t)
	reg, _ := testRegistry()
	rcv.setRespond(func(wr *prompb.WriteRequest, _ http.Header) (int, string, http.Header) {
		for _, ts := range wr.Timeseries {
			if labelsOf(ts).Get("ssid") == "CLINICAL" {
				return 400, "out of order sample", nil
			}
		}
		return 204, "", nil
	})
	o := opts(srv.URL, t.TempDir())
	o.Interval = 10 * time.Millisecond
	p, _, stop := start(t, o, reg)
	waitFor(t, "samples", func() bool { return rcv.total() >= 40 })
	stop()
	got := rcv.check(t)
	for k := range got {
		if strings.Contains(k, "CLINICAL") {
			t.Fatalf("the refused series arrived: %s", k)
		}
	}
	dropped := metric(t, p, "wardprobe_push_samples_dropped_total", "reason", "out_of_order")
	queued := metric(t, p, "wardprobe_push_samples_queued_total")
	pending := metric(t, p, "wardprobe_push_samples_pending")
	if dropped == 0 || float64(rcv.total())+dropped+pending != queued {
		t.Errorf("received %d + dropped %v + pending %v != queued %v", rcv.total(), dropped, pending, queued)
	}
	if dropped > queued/3+1 {
		t.Errorf("dropped %v of %v: more than the refused series", dropped, queued)
	}
}

func TestSecretsAndAuth(t *testing.T) {
	const password, token = "s3cret-Pa55", "tok-9f8e7d"
	dir := t.TempDir()
	pwFile, tokFile := filepath.Join(dir, "pw"), filepath.Join(dir, "tok")
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)
	os.WriteFile(tokFile, []byte(token), 0o600)

	for _, tc := range []struct {
		name string
		set  func(*Options)
		want string // Authorization header
	}{
		{"basic", func(o *Options) { o.BasicAuth = &BasicAuth{Username: "ward7", PasswordFile: pwFile} }, "Basic d2FyZDc6czNjcmV0LVBhNTU="},
		{"bearer", func(o *Options) { o.BearerTokenFile = tokFile }, "Bearer " + token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv, srv := newReceiver(t)
			// Wrong credentials first: 401 is retried, nothing dropped.
			var mu sync.Mutex
			auth := "nobody"
			rcv.setRespond(func(_ *prompb.WriteRequest, h http.Header) (int, string, http.Header) {
				mu.Lock()
				defer mu.Unlock()
				if h.Get("Authorization") != auth {
					return 401, "unauthorized", nil
				}
				return 204, "", nil
			})
			reg, _ := testRegistry()
			o := opts(srv.URL+"/api/v1/write?tenant=x", t.TempDir())
			tc.set(&o)
			p, logs, stop := start(t, o, reg)
			waitFor(t, "a 401", func() bool { return metric(t, p, "wardprobe_push_send_failures_total", "reason", "http_4xx") > 0 })
			mu.Lock()
			auth = tc.want
			mu.Unlock()
			waitFor(t, "samples", func() bool { return rcv.total() > 30 })
			stop()
			if float64(rcv.total())+metric(t, p, "wardprobe_push_samples_pending") != metric(t, p, "wardprobe_push_samples_queued_total") {
				t.Error("samples lost while the credentials were wrong")
			}
			var all strings.Builder
			all.WriteString(logs.String())
			mfs, _ := p.gatherer().Gather()
			for _, mf := range mfs {
				all.WriteString(mf.String())
			}
			for _, s := range []string{password, token, "d2FyZDc6", "tenant=x"} {
				if strings.Contains(all.String(), s) {
					t.Errorf("%q appears in logs or metrics", s)
				}
			}
			if !strings.Contains(logs.String(), "401") {
				t.Errorf("the 401 was not logged: %s", logs.String())
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"user info", Options{URL: "http://ward7:hunter2@prom:9090/api/v1/write", QueueDir: dir}, "user info"},
		{"scheme", Options{URL: "ftp://prom/", QueueDir: dir}, "http"},
		{"both auths", Options{URL: "http://prom/", QueueDir: dir, BasicAuth: &BasicAuth{Username: "u", PasswordFile: "/x"}, BearerTokenFile: "/y"}, "both"},
		{"half a client cert", Options{URL: "https://prom/", QueueDir: dir, TLS: TLS{CertFile: "/c"}}, "key_file"},
		{"missing CA", Options{URL: "https://prom/", QueueDir: dir, TLS: TLS{CAFile: filepath.Join(dir, "nope.pem")}}, "nope.pem"},
		{"no queue dir", Options{URL: "http://prom/"}, "queue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o, prometheus.NewRegistry(), zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the password is in the error: %v", err)
			}
		})
	}
}

func TestMTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caPEM := newCA(t)
	os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o600)
	srvCert := issue(t, ca, caKey, x509.ExtKeyUsageServerAuth, dir, "server")
	issue(t, ca, caKey, x509.ExtKeyUsageClientAuth, dir, "client")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	rcv := &receiver{t: t, got: map[string][]prompb.Sample{}}
	srv := httptest.NewUnstartedServer(rcv)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	reg, _ := testRegistry()

	// Without the client certificate the handshake fails: retried, kept.
	o := opts(srv.URL, t.TempDir())
	o.TLS = TLS{CAFile: filepath.Join(dir, "ca.pem")}
	p, _, stop := start(t, o, reg)
	waitFor(t, "a failed handshake", func() bool { return metric(t, p, "wardprobe_push_send_failures_total", "reason", "network") > 0 })
	o.TLS.CertFile, o.TLS.KeyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := p.Apply(o); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "samples over mTLS", func() bool { return rcv.total() > 30 })
	stop()
	if float64(rcv.total())+metric(t, p, "wardprobe_push_samples_pending") != metric(t, p, "wardprobe_push_samples_queued_total") {
		t.Error("samples lost before the client certificate was configured")
	}
}

func TestApplyNewURLAndQueueDir(t *testing.T) {
	rcv1, srv1 := newReceiver(t)
	rcv2, srv2 := newReceiver(t)
	reg, _ := testRegistry()
	o := opts(srv1.URL, t.TempDir())
	p, logs, _ := start(t, o, reg)
	waitFor(t, "samples at the first receiver", func() bool { return rcv1.total() > 10 })
	// A reload that leaves the section alone changes nothing and says nothing.
	if err := p.Apply(o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "options applied") {
		t.Errorf("unchanged options logged as applied:\n%s", logs)
	}
	o.URL = srv2.URL
	o.Interval = 10 * time.Millisecond
	if err := p.Apply(o); err != nil {
		t.Fatal(err)
	}
	if l := logs.String(); !strings.Contains(l, "options applied") || !strings.Contains(l, `"interval":"10ms"`) {
		t.Errorf("the new options not logged, with the interval's unit:\n%s", l)
	}
	waitFor(t, "samples at the second receiver", func() bool { return rcv2.total() > 10 })
	n1 := rcv1.total()
	o.QueueDir = t.TempDir()
	if err := p.Apply(o); err != nil {
		t.Fatal(err)
	}
	before := rcv2.total()
	waitFor(t, "samples from the new queue", func() bool { return rcv2.total() > before+30 })
	if rcv1.total() > n1+3 {
		t.Errorf("the first receiver still gets samples")
	}
	if _, err := os.Stat(filepath.Join(o.QueueDir, "00000000")); err != nil {
		t.Errorf("the new queue dir is not used: %v", err)
	}
	// A bad reload keeps the running options.
	bad := o
	bad.URL = "gopher://x"
	if err := p.Apply(bad); err == nil {
		t.Fatal("Apply took a bad URL")
	}
	before = rcv2.total()
	waitFor(t, "samples after the bad reload", func() bool { return rcv2.total() > before+9 })
	rcv1.check(t)
	rcv2.check(t)
}

func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "push test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return ca, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// issue writes name.pem and name.key signed by ca, for 127.0.0.1.
func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, use x509.ExtKeyUsage, dir, name string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{use},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	os.WriteFile(filepath.Join(dir, name+".pem"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, name+".key"), keyPEM, 0o600)
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status     int
		retryAfter string
		msg        string
		outcome    outcome
		reason     string
		wait       time.Duration
	}{
		{204, "", "", sent, "", 0},
		{200, "", "", sent, "", 0},
		{503, "7", "busy", retry, "http_5xx", 7 * time.Second},
		{500, "", "oops", retry, "http_5xx", 0},
		{429, "Mon, 30 Nov 2026 12:00:30 GMT", "", retry, "http_429", 30 * time.Second},
		{429, "999999", "", retry, "http_429", maxRetryAfter},
		{429, "soon", "", retry, "http_429", 0},
		{400, "", "out of order sample", rejected, "out_of_order", 0},
		{400, "", "out of bounds", rejected, "too_old", 0},
		{400, "", "err-mimir-sample-out-of-order", rejected, "out_of_order", 0},
		{400, "", "duplicate sample for timestamp", rejected, "duplicate", 0},
		{400, "", "cannot parse", rejected, "rejected", 0},
		{413, "", "too large", rejected, "rejected", 0},
		{401, "", "unauthorized", retry, "http_4xx", 0},
		{404, "", "not found", retry, "http_4xx", 0},
	} {
		t.Run(fmt.Sprint(tc.status, tc.msg), func(t *testing.T) {
			r := classify(result{}, tc.status, tc.retryAfter, tc.msg, "http://x/", now)
			if r.outcome != tc.outcome || r.reason != tc.reason || r.retryAfter != tc.wait {
				t.Errorf("got %v %q %v, want %v %q %v", r.outcome, r.reason, r.retryAfter, tc.outcome, tc.reason, tc.wait)
			}
		})
	}
}
