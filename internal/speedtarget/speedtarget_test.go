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
	grace := 5 * time.Second
	type step struct {
		op     string // "acquire" or "release"
		client string
		at     time.Duration
		wantOK bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"grace keeps a session", []step{
			{"acquire", "a", 0, true}, {"release", "a", time.Second, true},
			{"acquire", "b", 2 * time.Second, false}, // a is still testing
			{"acquire", "b", 7 * time.Second, true},  // a's grace passed
		}},
		{"own session survives grace", []step{
			{"acquire", "a", 0, true}, {"release", "a", time.Second, true},
			{"acquire", "a", 3 * time.Second, true},
		}},
		{"streams bound", []step{
			{"acquire", "a", 0, true}, {"acquire", "a", 0, true}, {"acquire", "a", 0, false},
			{"release", "a", time.Second, true}, {"acquire", "a", time.Second, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := newSessions(1, 2, grace)
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				if st.op == "release" {
					ss.release(st.client, now)
					continue
				}
				if ok, _ := ss.acquire(st.client, now); ok != st.wantOK {
					t.Fatalf("step %d: acquire %s at %s = %v, want %v", i, st.client, st.at, ok, st.wantOK)
				}
			}
			if tests, _ := ss.counts(t0.Add(time.Hour)); tests > 1 {
				t.Errorf("%d sessions left; the map must stay bounded", tests)
			}
		})
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
		{"hi", "HI\n", regexp.MustCompile(`^HELLO \S+ \(\S+\) wardprobe-test\n$`), 1},
		{"quit", "QUIT\n", nil, 1},
		{"over-long line", "PING " + strings.Repeat("9", 400) + "\n", nil, 1},
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
	if n := counterValue(t, s.m.pings); n != 4 {
		t.Errorf("pings_total = %v, want 4", n)
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
