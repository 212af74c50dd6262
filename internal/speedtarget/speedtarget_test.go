package speedtarget

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/showwin/speedtest-go/speedtest"
	"github.com/showwin/speedtest-go/speedtest/transport"
)

// start runs a Server on a loopback port and returns it with its base URL.
func start(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l, "") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, "http://" + l.Addr().String()
}

// clientFrom returns an HTTP client whose connections come from the loopback
// address src, so that the target sees a distinct client.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true}, Timeout: 10 * time.Second}
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{MaxUploadBytes: 1 << 20, MaxSide: 1000})
	tests := []struct {
		name     string
		method   string
		path     string
		body     io.Reader
		bodyLen  int64 // -1: chunked
		wantCode int
		wantBody string // exact, when set
		wantLen  int64  // body length, when > 0
	}{
		{"latency", "GET", "/speedtest/latency.txt", nil, 0, 200, "test=test\n", 0},
		{"download 1000", "GET", "/speedtest/random1000x1000.jpg", nil, 0, 200, "", 2_000_000},
		{"download 350", "GET", "/speedtest/random350x350.jpg", nil, 0, 200, "", 245_000},
		{"download over max side", "GET", "/speedtest/random1001x1001.jpg", nil, 0, 413, "", 0},
		{"download not square", "GET", "/speedtest/random10x11.jpg", nil, 0, 404, "", 0},
		{"download zero", "GET", "/speedtest/random0x0.jpg", nil, 0, 404, "", 0},
		{"download leading zero", "GET", "/speedtest/random010x010.jpg", nil, 0, 404, "", 0},
		{"download garbage", "GET", "/speedtest/random-5x-5.jpg", nil, 0, 404, "", 0},
		{"download by POST", "POST", "/speedtest/random10x10.jpg", strings.NewReader("x"), 1, 405, "", 0},
		{"other speedtest path", "GET", "/speedtest/speedtest.php", nil, 0, 404, "", 0},
		{"upload", "POST", "/speedtest/upload.php", strings.NewReader(strings.Repeat("a", 999_490)), 999_490, 200, "size=999490", 0},
		{"upload empty", "POST", "/speedtest/upload.php", nil, 0, 200, "size=0", 0},
		{"upload too large by length", "POST", "/speedtest/upload.php", strings.NewReader(strings.Repeat("a", 2<<20)), 2 << 20, 413, "", 0},
		{"upload too large chunked", "POST", "/speedtest/upload.php", io.LimitReader(neverEnding('b'), 2<<20), -1, 413, "", 0},
		{"upload by GET", "GET", "/speedtest/upload.php", nil, 0, 405, "", 0},
		{"root", "GET", "/", nil, 0, 200, "", 0},
		{"unknown", "GET", "/nope", nil, 0, 404, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, base+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tc.bodyLen
			resp, err := clientFrom("127.0.0.1").Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (body %.100q)", resp.StatusCode, tc.wantCode, b)
			}
			if tc.wantBody != "" && string(b) != tc.wantBody {
				t.Errorf("body %.100q, want %q", b, tc.wantBody)
			}
			if tc.wantLen > 0 && (int64(len(b)) != tc.wantLen || resp.ContentLength != tc.wantLen) {
				t.Errorf("body %d bytes, Content-Length %d, want %d", len(b), resp.ContentLength, tc.wantLen)
			}
		})
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestPayloadIsNotConstant(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{})
	resp, err := clientFrom("127.0.0.1").Get(base + "/speedtest/random500x500.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	seen := map[byte]bool{}
	for _, c := range b[:4096] {
		seen[c] = true
	}
	if len(seen) < 200 {
		t.Errorf("payload uses %d distinct byte values in its first 4 KiB; want incompressible data", len(seen))
	}
}

// holdDownload starts a download from src and reads only its first bytes, so
// that the transfer stays in flight until the returned func is called.
func holdDownload(t *testing.T, base, src string) (code int, release func()) {
	t.Helper()
	resp, err := clientFrom(src).Get(base + "/speedtest/random4000x4000.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == 200 {
		if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, func() { resp.Body.Close() }
}

func TestAdmission(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		maxTests   int
		maxStreams int
		holds      []string // sources of transfers held open first, all admitted
		next       string   // source of the transfer that is judged
		wantCode   int
		wantReason string
	}{
		{"second client within max tests", 2, 4, []string{"127.0.0.2"}, "127.0.0.3", 200, ""},
		{"second client over max tests", 1, 4, []string{"127.0.0.2"}, "127.0.0.3", 503, RejectMaxTests},
		{"same client over max streams", 4, 2, []string{"127.0.0.2", "127.0.0.2"}, "127.0.0.2", 503, RejectMaxStreams},
		{"same client within max streams", 1, 3, []string{"127.0.0.2", "127.0.0.2"}, "127.0.0.2", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, base := start(t, Options{MaxTests: tc.maxTests, MaxStreams: tc.maxStreams})
			for _, src := range tc.holds {
				code, release := holdDownload(t, base, src)
				defer release()
				if code != 200 {
					t.Fatalf("held transfer from %s: status %d", src, code)
				}
			}
			code, release := holdDownload(t, base, tc.next)
			release()
			if code != tc.wantCode {
				t.Errorf("status %d, want %d", code, tc.wantCode)
			}
			if tc.wantReason != "" {
				if n := counterValue(t, s.m.rejected.WithLabelValues(tc.wantReason)); n != 1 {
					t.Errorf("rejected_total{reason=%q} = %v, want 1", tc.wantReason, n)
				}
			}
		})
	}
}

func TestSessions(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	const (
		grace    = 5 * time.Second
		maxTest  = 60 * time.Second
		cooldown = 60 * time.Second
	)
	type step struct {
		op     string // "acquire", "release" (the client's oldest transfer), "cut" (a limit ends its test)
		client string
		at     time.Duration
		want   string // acquire: "" admitted, else the refusal reason
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"grace keeps a session", []step{
			{"acquire", "a", 0, ""}, {"release", "a", time.Second, ""},
			{"acquire", "b", 2 * time.Second, RejectMaxTests}, // a is still testing
			{"acquire", "b", 7 * time.Second, ""},             // a's grace passed
		}},
		{"own session survives grace", []step{
			{"acquire", "a", 0, ""}, {"release", "a", time.Second, ""},
			{"acquire", "a", 3 * time.Second, ""},
		}},
		{"streams bound", []step{
			{"acquire", "a", 0, ""}, {"acquire", "a", 0, ""}, {"acquire", "a", 0, RejectMaxStreams},
			{"release", "a", time.Second, ""}, {"acquire", "a", time.Second, ""},
		}},
		{"a test lasts at most maxTest, then the client waits", []step{
			{"acquire", "a", 0, ""}, {"release", "a", 50 * time.Second, ""},
			{"acquire", "a", 54 * time.Second, ""}, {"release", "a", 59 * time.Second, ""},
			{"acquire", "a", 61 * time.Second, RejectCooldown},
			{"acquire", "b", 61 * time.Second, ""}, // a's slot is free at once
			{"release", "b", 62 * time.Second, ""},
			{"acquire", "a", 110 * time.Second, RejectCooldown},
			{"acquire", "a", 122 * time.Second, ""}, // cooldown over
		}},
		{"a cut frees the slot and cools the client down", []step{
			{"acquire", "a", 0, ""}, {"cut", "a", 5 * time.Second, ""},
			{"acquire", "b", 5 * time.Second, ""},
			{"acquire", "a", 6 * time.Second, RejectCooldown}, // even with its transfer still closing
			{"release", "a", 6 * time.Second, ""},
			{"acquire", "a", 64 * time.Second, RejectCooldown},
			{"release", "b", 64 * time.Second, ""},
			{"acquire", "a", 70 * time.Second, ""},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := newSessions(1, 2, grace, maxTest, cooldown)
			held := map[string][]*session{}
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				switch st.op {
				case "release":
					ss.release(held[st.client][0], now)
					held[st.client] = held[st.client][1:]
				case "cut":
					ss.endTest(held[st.client][0], now, LimitTooSlow)
				case "acquire":
					s, reason := ss.acquire(st.client, now)
					if reason != st.want || (s == nil) != (reason != "") {
						t.Fatalf("step %d: acquire %s at %s = %v, %q; want %q", i, st.client, st.at, s != nil, reason, st.want)
					}
					if s != nil {
						held[st.client] = append(held[st.client], s)
					}
				}
			}
			for _, hs := range held {
				for _, s := range hs {
					ss.release(s, t0.Add(30*time.Minute))
				}
			}
			ss.mu.Lock()
			ss.prune(t0.Add(time.Hour))
			left := len(ss.m)
			ss.mu.Unlock()
			if left > 0 {
				t.Errorf("%d sessions left an hour later; the map must stay bounded", left)
			}
		})
	}
}

// TestSessionsBounded: clients cut off one after another leave at most
// maxCooling entries behind.
func TestSessionsBounded(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	ss := newSessions(2, 1, time.Second, time.Minute, time.Minute)
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * time.Millisecond)
		s, reason := ss.acquire(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
		if s == nil {
			t.Fatalf("client %d refused (%s) although every earlier test was cut", i, reason)
		}
		ss.endTest(s, now, LimitTooSlow)
		ss.release(s, now)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if n := len(ss.m); n > ss.maxCooling+1 {
		t.Errorf("%d sessions kept, want at most %d", n, ss.maxCooling+1)
	}
}

func TestPingProtocol(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{Version: "test"})
	addr := strings.TrimPrefix(base, "http://")
	pong := regexp.MustCompile(`^PONG \d{13}\n$`)
	tests := []struct {
		name   string
		send   string
		want   *regexp.Regexp // nil: the connection is closed without a reply
		repeat int
	}{
		{"ping", "PING 1700000000000\n", pong, 3},
		{"ping with CRLF", "PING 1\r\n", pong, 1},
		{"hi", "HI\n", regexp.MustCompile(`^HELLO 2\.11 \(2\.11\.0\) wardprobe\n$`), 1},
		{"hi with a client id", "HI 1f0e2b9c-5d8a-4e51-9b0a-3c2d1e0f9a8b\n", regexp.MustCompile(`^HELLO 2\.11 \(2\.11\.0\) wardprobe\n$`), 1},
		{"quit", "QUIT\n", nil, 1},
		{"over-long line", "PING " + strings.Repeat("9", 400) + "\n", nil, 1},
		{"line just over the bound", "PING " + strings.Repeat("9", pingMaxLine-5) + "\n", nil, 1},
		{"longest line", "PING " + strings.Repeat("9", pingMaxLine-6) + "\n", pong, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			for range tc.repeat {
				if _, err := io.WriteString(c, tc.send); err != nil {
					t.Fatal(err)
				}
				line, err := br.ReadString('\n')
				if tc.want == nil {
					if err == nil {
						t.Fatalf("got %q, want the connection closed", line)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !tc.want.MatchString(line) {
					t.Fatalf("reply %q does not match %s", line, tc.want)
				}
			}
		})
	}
	// A PING is counted once its PONG is written, so the last one may be
	// counted just after the client read it.
	if n := waitCounter(t, s.m.pings, 5); n != 5 {
		t.Errorf("pings_total = %v, want 5", n)
	}
}

// TestSpeedtestGoPings checks the target with speedtest-go's own TCP ping
// client and HTTP ping, unmodified.
func TestSpeedtestGoPings(t *testing.T) {
	// Not parallel until speedtest.New ran: it writes http.DefaultClient.Transport.
	st := speedtest.New(speedtest.WithDoer(&http.Client{Timeout: 10 * time.Second}))
	t.Parallel()
	_, base := start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, err := transport.NewClient(&net.Dialer{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx, strings.TrimPrefix(base, "http://")); err != nil {
		t.Fatal(err)
	}
	if v := c.Version(); !strings.HasPrefix(v, "2.") {
		t.Errorf("HI: version %q", v)
	}
	for i := range 3 {
		rtt, err := c.PingContext(ctx)
		if err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
		if rtt <= 0 || time.Duration(rtt) > time.Second {
			t.Errorf("ping %d: rtt %v", i, time.Duration(rtt))
		}
	}

	srv, err := st.CustomServer(base)
	if err != nil {
		t.Fatal(err)
	}
	lat, err := srv.HTTPPing(ctx, 3, 10*time.Millisecond, nil)
	if err != nil || len(lat) != 3 {
		t.Fatalf("HTTPPing: %v, %d results", err, len(lat))
	}
	lat, err = srv.TCPPing(ctx, 3, 10*time.Millisecond, nil)
	if err != nil || len(lat) != 3 {
		t.Fatalf("TCPPing: %v, %d results", err, len(lat))
	}
}

func TestHTTPAndTLSBytesPassThrough(t *testing.T) {
	t.Parallel()
	_, base := start(t, Options{})
	addr := strings.TrimPrefix(base, "http://")
	// A request whose method starts like a PING command still reaches HTTP.
	for _, method := range []string{"PUT", "PATCH", "HEAD", "POST"} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "%s /speedtest/latency.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method)
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 ") {
			t.Errorf("%s: reply %q, %v; want an HTTP status line", method, line, err)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// waitCounter returns c's value once it reaches want, or after 5 s, for a
// counter the target moves just after the client saw the effect.
func waitCounter(t *testing.T, c prometheus.Counter, want float64) float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := counterValue(t, c)
		if v >= want || time.Now().After(deadline) {
			return v
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dripUpload sends the headers of a 30 MB upload from src, then one byte
// every period until the target cuts it off or stop is closed. It returns
// when the connection fails.
func dripUpload(addr, src string, period time.Duration, stop <-chan struct{}) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "POST /speedtest/upload.php HTTP/1.1\r\nHost: t\r\nContent-Length: 30000000\r\n\r\n"); err != nil {
		return err
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		if _, err := c.Write([]byte{'x'}); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// slowDownload reads a large download from src at about 1 KiB/s.
func slowDownload(base, src string, stop <-chan struct{}) error {
	resp, err := clientFrom(src).Get(base + "/speedtest/random4000x4000.jpg")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	buf := make([]byte, 1024)
	for {
		if _, err := resp.Body.Read(buf); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-time.After(time.Second):
		}
	}
}

// TestSlowClientsCannotPin: four clients that hold every test slot by moving
// almost nothing (a 30 MB upload dripped a byte at a time, or a download read
// at 1 KiB/s) are cut off after the rate window and refused afterwards, so
// that a fifth client, retrying, is admitted within the rate window plus two
// watchdog ticks.
func TestSlowClientsCannotPin(t *testing.T) {
	t.Parallel()
	opts := Options{MaxTests: 4, MinRate: 8 << 10, RateWindow: time.Second, MaxTestTime: 20 * time.Second, StallTimeout: time.Minute}
	s, base := start(t, opts)
	addr := strings.TrimPrefix(base, "http://")
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for i, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
		go func() {
			if i == 3 {
				errs <- slowDownload(base, src, stop)
				return
			}
			errs <- dripUpload(addr, src, 300*time.Millisecond, stop)
		}()
	}
	defer close(stop)
	// Wait until the four hold every slot.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if tests, _ := s.sessions.counts(time.Now()); tests == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow clients did not take the four slots")
		}
		time.Sleep(10 * time.Millisecond)
	}
	pinned := time.Now()
	var admitted time.Duration
	for {
		code, release := holdDownload(t, base, "127.0.0.9")
		release()
		if code == 200 {
			admitted = time.Since(pinned)
			break
		}
		if code != 503 {
			t.Fatalf("status %d", code)
		}
		if time.Since(pinned) > 10*time.Second {
			t.Fatal("a fifth client was refused for 10 s while four slow clients held the slots")
		}
		time.Sleep(50 * time.Millisecond)
	}
	bound := opts.RateWindow + 2*watchEvery + 250*time.Millisecond
	t.Logf("fifth client admitted %v after four slow clients held every slot (bound %v)", admitted.Round(time.Millisecond), bound)
	if admitted > bound {
		t.Errorf("admitted after %v, want within %v", admitted, bound)
	}
	// The uploads fail at once; the download client still has its socket
	// buffer to read (the target reset the connection and moved on).
	for range 3 {
		select {
		case err := <-errs:
			if err == nil {
				t.Error("a slow upload was not cut off")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a slow upload is still running")
		}
	}
	// The download is cut at its own rate check, which may come a watch
	// period after the uploads' under load.
	if cut := waitCounter(t, s.m.limits.WithLabelValues(LimitTooSlow), 4); cut != 4 {
		t.Errorf("transfer_limits_total{reason=too_slow} = %v, want 4", cut)
	}
	if n := waitStreams(s, 0); n != 0 {
		t.Errorf("%d transfers in flight after the cuts", n)
	}
	// Cut-off clients are refused for a while.
	if code, release := holdDownload(t, base, "127.0.0.2"); code != 503 {
		t.Errorf("a cut-off client got %d, want 503", code)
		release()
	}
	if n := counterValue(t, s.m.rejected.WithLabelValues(RejectCooldown)); n < 1 {
		t.Errorf("rejected_total{reason=cooldown} = %v, want ≥ 1", n)
	}
}

// TestTransferAndTestTimeLimits: a transfer faster than the minimum rate is
// still cut off at the longest transfer time, and a client's test at the
// longest test time.
func TestTransferAndTestTimeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		// The rate window is long: a client reading 1 KiB a second over
		// loopback acknowledges nothing until it has read a window's worth
		// (64 KiB), which would be "too slow" over a short one.
		{"transfer time", Options{MaxTransferTime: 1500 * time.Millisecond, MinRate: 1, RateWindow: time.Minute}, LimitTransferTime},
		{"test time", Options{MaxTestTime: 1500 * time.Millisecond, MinRate: 1, RateWindow: time.Minute}, LimitTestTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, base := start(t, tc.opts)
			stop := make(chan struct{})
			defer close(stop)
			began := time.Now()
			go func() { _ = slowDownload(base, "127.0.0.2", stop) }()
			for counterValue(t, s.m.limits.WithLabelValues(tc.want)) == 0 {
				if time.Since(began) > 10*time.Second {
					t.Fatalf("not cut off within 10 s:\n%v", s.m.limits)
				}
				time.Sleep(10 * time.Millisecond)
			}
			took := time.Since(began)
			t.Logf("cut off after %v", took.Round(time.Millisecond))
			if took < 1500*time.Millisecond {
				t.Errorf("cut off after %v, before the 1.5 s limit", took)
			}
			if n := waitStreams(s, 0); n != 0 {
				t.Errorf("%d transfers still in flight after the cut", n)
			}
		})
	}
}

// waitStreams waits up to 2 s for the transfers in flight to drop to want
// (a cut transfer's handler returns just after the cut) and returns them.
func waitStreams(s *Server, want int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, n := s.sessions.counts(time.Now())
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPingBoundedInTime: a PING connection whose line dribbles in slower
// than the line time, or that keeps pinging past its lifetime, is closed.
func TestPingBoundedInTime(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{})
	s.ping = pingTimes{line: 300 * time.Millisecond, lifetime: time.Second}
	addr := strings.TrimPrefix(base, "http://")
	tests := []struct {
		name     string
		every    time.Duration // between writes
		send     string        // written in pieces of chunk bytes, repeated
		chunk    int
		min, max time.Duration // the connection must be closed in between
	}{
		{"dribbled line", 100 * time.Millisecond, "PING 1700000000000\n", 1, 300 * time.Millisecond, time.Second},
		{"pings past the lifetime", 100 * time.Millisecond, "PING 1\n", 7, time.Second, 2 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			closed := make(chan time.Duration, 1)
			began := time.Now()
			go func() {
				_, _ = io.Copy(io.Discard, c)
				closed <- time.Since(began)
			}()
			for i := 0; ; i += tc.chunk {
				select {
				case took := <-closed:
					t.Logf("closed after %v", took.Round(time.Millisecond))
					if took < tc.min || took > tc.max {
						t.Errorf("closed after %v, want between %v and %v", took, tc.min, tc.max)
					}
					return
				case <-time.After(tc.every):
				}
				j := i % len(tc.send)
				_, _ = c.Write([]byte(tc.send[j : j+tc.chunk]))
				if time.Since(began) > tc.max+time.Second {
					t.Fatalf("still open after %v", time.Since(began))
				}
			}
		})
	}
}
