// Package throughput measures download and upload throughput, and latency
// idle and under load (bufferbloat), with showwin/speedtest-go against a
// `wardprobe target` on the trust's own network (mode onprem) or a
// speedtest.net server (mode ookla).
//
// speedtest-go drives the transfers (its request pattern, chunk sizes and
// worker pool, so that any speedtest.net-style server works). wardprobe
// supplies the HTTP transport and measures for itself:
//
//   - every connection is dialled from the Wi-Fi interface's address (and
//     bound to the device where the process may); names are resolved through
//     a resolver bound the same way, never through speedtest-go's option that
//     replaces the process-wide resolver;
//   - rates come from the kernel's TCP counters (bytes received for download,
//     bytes acknowledged by the target for upload), sampled every 10 ms, with
//     the warm-up skipped and a least-squares fit over the rest: speedtest-go's
//     own estimate ramps up from zero over a 5 s window and under-reads short
//     tests, and its upload count moves in 1 MB request steps;
//   - a direction stops as soon as its rate has settled, its share of the
//     byte allowance has been received (download) or sent (upload), it
//     stalls, or a transfer fails; its connections are then reset so that
//     nothing queued is sent after the stop;
//   - upload bodies are wardprobe's own (random data, written in large
//     pieces), of the length speedtest-go asks for;
//   - bytes used are the kernel's counts (retransmissions included) over
//     every connection of the test; every byte a connection reads or writes
//     is first reserved from the test's Charge, which a Budget keeps written
//     ahead in its state file (see Budget).
//
// probe never imports Prometheus: results leave as Result values.
package throughput

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/showwin/speedtest-go/speedtest"

	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// Modes.
const (
	ModeOnPrem = "onprem"
	ModeOokla  = "ookla"
)

// Failure reasons beyond probe's common set.
const (
	// ReasonStalled: a transfer started but made no progress for StallAfter.
	ReasonStalled probe.Reason = "stalled"
	// ReasonBusy: the target is at its limit of concurrent tests (HTTP 503).
	ReasonBusy probe.Reason = "busy"
	// ReasonNoServer: no speedtest.net server could be found or reached.
	ReasonNoServer probe.Reason = "no_server"
)

// Tuning of a test.
const (
	// DefaultStreams is the number of parallel transfers of a download, and
	// of an upload on a probe with at least as many CPUs (see Config.Streams).
	DefaultStreams = 4
	// DirectionMax bounds the time one direction may take.
	DirectionMax = 4 * time.Second
	// StallAfter fails a direction whose delivered bytes stop growing this long.
	StallAfter = 2 * time.Second
	// FirstByteTimeout fails a direction that delivers nothing this long.
	FirstByteTimeout = 3 * time.Second

	sampleEvery     = 10 * time.Millisecond
	fastSampleEvery = time.Millisecond
	fastSampling    = 250 * time.Millisecond
	warmupTime      = 300 * time.Millisecond
	minWindow       = 800 * time.Millisecond
	settleTime      = 300 * time.Millisecond
	settleTolerance = 0.01
	idlePings       = 5
	idlePingTimeout = 3 * time.Second
	loadedPingEvery = 100 * time.Millisecond
	serverCacheTTL  = 6 * time.Hour
	// minDirection is the least time worth measuring a direction for.
	minDirection = time.Second
)

// Config configures a Client.
type Config struct {
	Mode string
	// URL is the wardprobe target (onprem).
	URL string
	// ServerIDs are speedtest.net server ids to choose from (ookla; empty:
	// the nearest servers speedtest.net lists).
	ServerIDs []string
	// Interface is the interface under test; "" follows the routing table.
	Interface string
	// Timeout bounds one whole test.
	Timeout time.Duration
	// Streams is the number of parallel transfers of a download (0:
	// DefaultStreams); an upload has at most one per CPU, as speedtest-go
	// would enable no more in a test's few seconds.
	Streams int
	// UserAgent is sent with every request.
	UserAgent string
}

// Direction is the outcome of one direction of a test.
type Direction struct {
	// Ran is true when the direction was attempted.
	Ran bool
	// BitsPerSecond is the measured rate (0 when not measured).
	BitsPerSecond float64
	// Window is the time the rate was measured over (after the warm-up).
	Window time.Duration
	// Elapsed is the time from the direction's start to its stop.
	Elapsed time.Duration
	// Bytes is the direction's payload bytes on the wire (received for
	// download, sent for upload, retransmissions included).
	Bytes int64
	// Latency is the median HTTP round trip while loaded; LatencyLowerBound
	// is true when no ping completed and Latency is how long one had waited.
	Latency           time.Duration
	LatencyLowerBound bool
	// Settled is true when the rate settled; Capped when the byte allowance
	// ended the direction first.
	Settled, Capped bool
	// Reason and Detail say why the direction failed.
	Reason probe.Reason
	Detail string
	// SpeedtestGoBitsPerSecond is speedtest-go's own estimate, for comparison.
	SpeedtestGoBitsPerSecond float64
	// CPUUser and CPUSystem are the CPU time the whole process used, in user
	// space and in the kernel, while the direction ran: with nothing else
	// busy, the cost of measuring. (The kernel time of a sender on loopback
	// or veth includes the receiving side's TCP processing.)
	CPUUser, CPUSystem time.Duration
}

// Result is the outcome of one throughput test.
type Result struct {
	Start    time.Time
	Duration time.Duration
	Mode     string
	// Server names the server tested against (a URL without credentials, or
	// a speedtest.net server's id and name).
	Server  string
	Success bool
	Reason  probe.Reason
	Detail  string
	// Allowance is the bytes the test was allowed: both directions, pings
	// included, not counting what is in flight when a direction stops.
	Allowance int64
	// IdleLatency is the median HTTP round trip before the transfers.
	IdleLatency        time.Duration
	Download, Upload   Direction
	SentBytes          int64 // bytes the probe sent (TCP payload, retransmissions included)
	ReceivedBytes      int64 // bytes the probe received (TCP payload)
	SpeedtestGoVersion string
}

// Bytes returns the bytes the test moved in both directions.
func (r Result) Bytes() int64 { return r.SentBytes + r.ReceivedBytes }

// ooklaSource finds speedtest.net servers (*speedtest.Speedtest; a fake in tests).
type ooklaSource interface {
	FetchServerByIDContext(ctx context.Context, id string) (*speedtest.Server, error)
	FetchServerListContext(ctx context.Context) (speedtest.Servers, error)
}

// Client runs throughput tests, one at a time.
type Client struct {
	cfg Config
	// data and ping are the HTTP clients of speedtest-go's two instances:
	// transfers, and latency (a separate connection, so that pings under
	// load measure the queue and not a wait for a free connection).
	data, ping *http.Client
	st, pst    *speedtest.Speedtest
	source     ooklaSource

	// block is the incompressible data upload bodies are cut from.
	block []byte

	mu         sync.Mutex // one test at a time
	cached     *speedtest.Server
	cachedTill time.Time
	// lingering, when not nil, is closed once the transfers of a test
	// cancelled mid-direction have ended (see direction): the next test
	// waits for it before it uses the shared speedtest-go instance.
	lingering chan struct{}
}

// uploadBlock is the size of the random block upload bodies repeat: more
// than a compressor's window (deflate's is 32 KiB).
const uploadBlock = 64 << 10

// NewClient returns a Client for cfg.
func NewClient(cfg Config) (*Client, error) {
	switch cfg.Mode {
	case ModeOnPrem:
		if _, err := url.Parse(cfg.URL); err != nil || cfg.URL == "" {
			return nil, fmt.Errorf("throughput: bad target URL: %v", err)
		}
	case ModeOokla:
	default:
		return nil, fmt.Errorf("throughput: unknown mode %q", cfg.Mode)
	}
	if cfg.Streams <= 0 {
		cfg.Streams = DefaultStreams
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "wardprobe (speedtest-go " + speedtest.Version() + ")"
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		cfg:   cfg,
		data:  &http.Client{CheckRedirect: noRedirect},
		ping:  &http.Client{CheckRedirect: noRedirect},
		block: make([]byte, uploadBlock),
	}
	_, _ = crand.Read(c.block) // never fails (crypto/rand panics instead)
	// WithDoer makes each instance use our client (and so our transport);
	// no UserConfig is passed, so speedtest-go touches no resolver.
	c.st = speedtest.New(speedtest.WithDoer(c.data))
	c.pst = speedtest.New(speedtest.WithDoer(c.ping))
	c.source = c.pst
	return c, nil
}

// Redact returns u without credentials, for logs and labels.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	p.RawQuery, p.Fragment = "", ""
	return p.String()
}

// dialer returns the dialer of the interface under test (netif.Path): its
// sockets bound to the interface, and its name lookups too.
func (c *Client) dialer() (*net.Dialer, error) {
	d, err := netif.NewPath(c.cfg.Interface).Dialer()
	if err != nil {
		return nil, err
	}
	d.Timeout = 5 * time.Second
	return d, nil
}

// uploadBody returns a request body of n bytes cut from c.block. It
// replaces speedtest-go's own (0xAA bytes handed out 1 KiB per Read, which
// the HTTP transport passes on as one 1 KiB write, and so one small TCP
// segment, each): the same length to the same endpoint, written in large
// pieces of data no compressor on the path can shrink.
func (c *Client) uploadBody(n int64) io.ReadCloser { return &repeatBody{block: c.block, left: n} }

// repeatBody reads left bytes of block, repeated.
type repeatBody struct {
	block []byte
	off   int
	left  int64
}

func (b *repeatBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n := copy(p, b.block[b.off:])
	b.off = (b.off + n) % len(b.block)
	b.left -= int64(n)
	return n, nil
}

func (b *repeatBody) Close() error { return nil }

// Test runs one test, moving at most about allowance bytes (what is in
// flight when a direction stops comes on top), drawn on no budget. It
// returns by the Timeout.
func (c *Client) Test(ctx context.Context, allowance int64) Result {
	return c.TestCharged(ctx, Unmetered(allowance))
}

// TestCharged runs one test within ch's allowance, reserving every byte its
// connections read or write from ch (see Budget). It does not end ch.
func (c *Client) TestCharged(ctx context.Context, ch *Charge) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	allowance := ch.Allowance()
	res := Result{Start: time.Now(), Mode: c.cfg.Mode, Allowance: allowance, SpeedtestGoVersion: speedtest.Version()}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	finish := func(reason probe.Reason, detail string) Result {
		res.Duration = time.Since(res.Start)
		res.Success, res.Reason, res.Detail = reason == "", reason, detail
		return res
	}
	if c.lingering != nil {
		select {
		case <-c.lingering:
			c.lingering = nil
		case <-ctx.Done():
			return finish(probe.ReasonTimeout, "the transfers of the cancelled test before are still ending")
		}
	}

	dialer, err := c.dialer()
	if err != nil {
		return finish(probe.Classify(err), err.Error())
	}
	pingConns := newConnSet(dialer, ch, 0, false, nil)
	pingRT := &roundTripper{base: newHTTPTransport(pingConns, 4), ua: c.cfg.UserAgent, made: time.Now()}
	c.ping.Transport = pingRT
	defer func() {
		pingConns.closeAll()
		v := pingConns.counters()
		res.SentBytes += v.sent
		res.ReceivedBytes += v.received
	}()

	srv, err := c.server(ctx)
	if err != nil {
		return finish(ReasonNoServer, err.Error())
	}
	if c.cfg.Mode == ModeOnPrem {
		res.Server = Redact(c.cfg.URL)
	} else {
		res.Server = fmt.Sprintf("%s %s (%s)", srv.ID, srv.Name, srv.Sponsor)
	}
	dataSrv, pingSrv := *srv, *srv
	dataSrv.Context, pingSrv.Context = c.st, c.pst

	ictx, icancel := context.WithTimeout(ctx, idlePingTimeout)
	lat, err := pingSrv.HTTPPing(ictx, idlePings, 50*time.Millisecond, nil)
	icancel()
	if len(lat) == 0 {
		c.forgetServer()
		if perr := pingRT.err(); perr != nil {
			err = perr
		} else if err == nil || ctx.Err() != nil || ictx.Err() != nil {
			err = context.DeadlineExceeded
		}
		return finish(classify(err), "latency: "+err.Error())
	}
	res.IdleLatency = median(lat)

	for i, up := range []bool{false, true} {
		left := time.Until(deadline) - 200*time.Millisecond
		dur := min(DirectionMax, left/time.Duration(2-i))
		if dur < minDirection {
			return finish(probe.ReasonTimeout, "too little of the test's timeout left to measure")
		}
		share := allowance / 2
		if up {
			share = allowance - res.ReceivedBytes - res.SentBytes
		}
		share = max(share, 1) // a share of 0 would mean no cap at all
		d, v := c.direction(ctx, up, &dataSrv, &pingSrv, pingRT, dialer, ch, share, res.Bytes(), dur)
		res.SentBytes += v.sent
		res.ReceivedBytes += v.received
		if up {
			res.Upload = d
		} else {
			res.Download = d
		}
		if d.Reason != "" {
			c.forgetServer()
			name := map[bool]string{false: "download", true: "upload"}[up]
			return finish(d.Reason, name+": "+d.Detail)
		}
	}
	return finish("", "")
}

// server returns the server to test against.
func (c *Client) server(ctx context.Context) (*speedtest.Server, error) {
	if c.cfg.Mode == ModeOnPrem {
		return c.st.CustomServer(c.cfg.URL)
	}
	if c.cached != nil && time.Now().Before(c.cachedTill) {
		return c.cached, nil
	}
	srv, err := pickOokla(ctx, c.source, c.cfg.ServerIDs, c.pingOnce)
	if err != nil {
		return nil, err
	}
	c.cached, c.cachedTill = srv, time.Now().Add(serverCacheTTL)
	return srv, nil
}

func (c *Client) forgetServer() { c.cached = nil }

// pingOnce returns one HTTP round trip to srv.
func (c *Client) pingOnce(ctx context.Context, srv *speedtest.Server) (time.Duration, error) {
	p := *srv
	p.Context = c.pst
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	lat, err := p.HTTPPing(ctx, 1, 0, nil)
	if len(lat) == 0 {
		if err == nil {
			err = speedtest.ErrConnectTimeout
		}
		return 0, err
	}
	return time.Duration(lat[0]), nil
}

// pickOokla chooses the speedtest.net server: among ids, the one with the
// lowest latency; without ids, the lowest-latency server of speedtest.net's
// list of nearby servers.
func pickOokla(ctx context.Context, src ooklaSource, ids []string, ping func(context.Context, *speedtest.Server) (time.Duration, error)) (*speedtest.Server, error) {
	var cands speedtest.Servers
	if len(ids) > 0 {
		var lastErr error
		for _, id := range ids {
			s, err := src.FetchServerByIDContext(ctx, id)
			if err != nil {
				lastErr = err
				continue
			}
			lat, err := ping(ctx, s)
			if err != nil {
				lastErr = err
				continue
			}
			s.Latency = lat
			cands = append(cands, s)
		}
		if len(cands) == 0 {
			return nil, fmt.Errorf("none of the speedtest.net servers %v answered (last error: %v)", ids, lastErr)
		}
	} else {
		list, err := src.FetchServerListContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing speedtest.net servers: %w", err)
		}
		cands = list
	}
	avail := *cands.Available() // sorted by latency, unreachable ones dropped
	if len(avail) == 0 {
		return nil, fmt.Errorf("no speedtest.net server answered")
	}
	return avail[0], nil
}

func median(ns []int64) time.Duration {
	if len(ns) == 0 {
		return 0
	}
	s := slices.Clone(ns)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return time.Duration(s[len(s)/2])
	}
	return time.Duration((s[len(s)/2-1] + s[len(s)/2]) / 2)
}
