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
//     byte allowance is used, it stalls, or a transfer fails; its connections
//     are then reset so that nothing queued is sent after the stop;
//   - bytes used are the kernel's counts (retransmissions included) over
//     every connection of the test.
//
// probe never imports Prometheus: results leave as Result values.
package throughput

import (
	"context"
	"fmt"
	"math/rand/v2"
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
	// DefaultStreams is the number of parallel transfers per direction.
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
	// Streams is the number of parallel transfers per direction (0: DefaultStreams).
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
	// Allowance is the bytes the test was allowed.
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

	mu         sync.Mutex // one test at a time
	cached     *speedtest.Server
	cachedTill time.Time
}

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
		cfg:  cfg,
		data: &http.Client{CheckRedirect: noRedirect},
		ping: &http.Client{CheckRedirect: noRedirect},
	}
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

// Test runs one test, moving at most about allowance bytes (what is in
// flight when a direction stops comes on top). It returns by the Timeout.
func (c *Client) Test(ctx context.Context, allowance int64) Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{Start: time.Now(), Mode: c.cfg.Mode, Allowance: allowance, SpeedtestGoVersion: speedtest.Version()}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	finish := func(reason probe.Reason, detail string) Result {
		res.Duration = time.Since(res.Start)
		res.Success, res.Reason, res.Detail = reason == "", reason, detail
		return res
	}

	dialer, err := c.dialer()
	if err != nil {
		return finish(probe.Classify(err), err.Error())
	}
	pingConns := newConnSet(dialer, 0, nil)
	pingRT := &roundTripper{base: newHTTPTransport(pingConns, 4), ua: c.cfg.UserAgent}
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
		d, sent, received := c.direction(ctx, up, &dataSrv, &pingSrv, pingRT, dialer, share, dur)
		res.SentBytes += sent
		res.ReceivedBytes += received
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

// timedLatency is a ping's round trip and when it completed.
type timedLatency struct {
	at  time.Duration // since the direction began
	rtt time.Duration
}

// direction runs one direction and returns it with the bytes its
// connections sent and received.
func (c *Client) direction(ctx context.Context, up bool, srv, pingSrv *speedtest.Server, pingRT *roundTripper,
	dialer *net.Dialer, allowance int64, dur time.Duration) (d Direction, sent, received int64) {
	d.Ran = true
	begin := time.Now()
	ds := newDirState(begin.Add(dur))
	pctx, stopPings := context.WithCancel(ctx)
	defer stopPings()
	conns := newConnSet(dialer, allowance, func() { ds.stop(stopCapped, "", "") })
	// pending is how long the ping in flight had waited when the load
	// stopped: a lower bound of the loaded latency when no ping completed.
	var pending time.Duration
	var pendingOnce sync.Once
	endPings := func() {
		pendingOnce.Do(func() { pending = pingRT.inflightFor(time.Now()) })
		stopPings()
	}
	ds.onStop = func() {
		endPings()
		conns.closeAll()
	}
	rt := &roundTripper{base: newHTTPTransport(conns, 2*c.cfg.Streams), ua: c.cfg.UserAgent, dir: ds}
	c.data.Transport = rt
	dm := speedtest.NewDataManager()
	dm.SetNThread(c.cfg.Streams)
	dm.SetCaptureTime(dur)
	c.st.Manager = dm

	// Latency under load, on the ping connection.
	var latMu sync.Mutex
	var lats []timedLatency
	pingsDone := make(chan struct{})
	go func() {
		defer close(pingsDone)
		_, _ = pingSrv.HTTPPing(pctx, int(dur/loadedPingEvery)+1, loadedPingEvery, func(l time.Duration) {
			latMu.Lock()
			lats = append(lats, timedLatency{time.Since(begin), l})
			latMu.Unlock()
		})
	}()

	est := newEstimator(warmupTime, allowance/5, minWindow, settleTime, settleTolerance)
	flow := func(v tcpCounters) (delivered, wire int64) {
		if up {
			return v.acked, v.sent
		}
		return v.received, v.received
	}
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTimer(fastSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-sampling:
				return
			case <-ds.stopped:
				if why, _, _ := ds.state(); why == stopCapped {
					// The allowance ran out, perhaps before any sample saw a
					// byte on a fast link: sample the moment it ended.
					delivered, _ := flow(conns.counters())
					est.add(sample{time.Since(begin), delivered})
				}
				return
			case <-tick.C:
			}
			now := time.Since(begin)
			// Sample finely at first, so that a fast link which uses up its
			// allowance in a few tens of milliseconds still gives a window.
			if now < fastSampling {
				tick.Reset(fastSampleEvery)
			} else {
				tick.Reset(sampleEvery)
			}
			delivered, wire := flow(conns.counters())
			est.add(sample{now, delivered})
			switch {
			case wire >= allowance:
				ds.stop(stopCapped, "", "")
			case est.settled():
				ds.stop(stopStable, "", "")
			case est.started() && now-est.lastProgress() >= StallAfter:
				ds.stop(stopFailed, ReasonStalled, fmt.Sprintf("no progress for %s", StallAfter))
			case !est.started() && now >= FirstByteTimeout:
				ds.stop(stopFailed, probe.ReasonTimeout, fmt.Sprintf("no data within %s", FirstByteTimeout))
			}
		}
	}()

	if up {
		_ = srv.UploadTestContext(ctx)
		d.SpeedtestGoBitsPerSecond = float64(srv.ULSpeed) * 8
	} else {
		_ = srv.DownloadTestContext(ctx)
		d.SpeedtestGoBitsPerSecond = float64(srv.DLSpeed) * 8
	}
	close(sampling)
	<-sampled
	why, reason, detail := ds.state()
	if why == stopNone && ctx.Err() != nil {
		why, reason, detail = stopFailed, probe.ReasonTimeout, "the test's timeout passed"
	}
	if why == stopNone {
		// speedtest-go's time ended it: take the last sample now.
		delivered, _ := flow(conns.counters())
		est.add(sample{time.Since(begin), delivered})
	}
	endPings()
	conns.closeAll()
	rt.base.CloseIdleConnections()
	<-pingsDone
	d.Elapsed = time.Since(begin)
	if w := est.window(); len(w) > 0 {
		d.Elapsed = w[len(w)-1].t
	}
	v := conns.counters()
	sent, received = v.sent, v.received
	_, d.Bytes = flow(v)
	d.Settled, d.Capped = why == stopStable, why == stopCapped

	if why == stopFailed {
		d.Reason, d.Detail = reason, detail
		return d, sent, received
	}
	r, window, ok := est.rate()
	if (!ok || r <= 0) && est.started() {
		// A link so fast that the allowance went between two samples: take
		// the rate from the first payload byte to the last sample.
		if first := conns.firstData.Load(); first != 0 {
			last := est.s[len(est.s)-1]
			if span := begin.Add(last.t).Sub(time.Unix(0, first)); span > 0 {
				r, window, ok = float64(last.b)/span.Seconds(), span, true
			}
		}
	}
	if !ok || r <= 0 {
		d.Reason, d.Detail = probe.ReasonTimeout, "too little data to measure a rate"
		if !est.started() {
			d.Detail = "no data"
		}
		return d, sent, received
	}
	d.BitsPerSecond, d.Window = r*8, window

	// Median latency of pings that completed in the measurement window (all
	// of them if none did); a lower bound if none completed at all.
	latMu.Lock()
	defer latMu.Unlock()
	var from time.Duration
	if w := est.window(); len(w) > 0 {
		from = w[0].t
	}
	var in, all []int64
	for _, l := range lats {
		all = append(all, int64(l.rtt))
		if l.at >= from {
			in = append(in, int64(l.rtt))
		}
	}
	switch {
	case len(in) > 0:
		d.Latency = median(in)
	case len(all) > 0:
		d.Latency = median(all)
	case pending > 0:
		d.Latency, d.LatencyLowerBound = pending, true
	}
	return d, sent, received
}

// Runner runs tests at an interval with jitter, never two at once, within
// a daily byte budget.
type Runner struct {
	client   *Client
	budget   *Budget
	interval time.Duration
	maxBytes int64
	// Stagger returns the delay before the first test; Jitter the offset
	// added to each interval; Backoff the wait after the target was busy.
	Stagger func(interval time.Duration) time.Duration
	Jitter  func(interval time.Duration) time.Duration
	Backoff func(interval time.Duration) time.Duration
}

// NewRunner returns a Runner testing with cfg every interval, each test
// moving at most maxBytes, drawing on budget.
func NewRunner(cfg Config, interval time.Duration, maxBytes int64, budget *Budget) (*Runner, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Runner{client: c, budget: budget, interval: interval, maxBytes: maxBytes,
		Stagger: DefaultStagger, Jitter: DefaultJitter, Backoff: DefaultBackoff}, nil
}

// DefaultStagger spreads first tests uniformly over [0, min(interval, 10s)).
func DefaultStagger(interval time.Duration) time.Duration {
	return rand.N(max(min(interval, 10*time.Second), 1))
}

// DefaultJitter is uniform in ±10% of the interval, so that a fleet of
// probes drifts apart rather than testing a target in lock-step.
func DefaultJitter(interval time.Duration) time.Duration {
	span := max(interval/10, 1)
	return rand.N(2*span) - span
}

// DefaultBackoff waits uniformly 1 to 5 minutes (at most the interval)
// after a busy target before trying again.
func DefaultBackoff(interval time.Duration) time.Duration {
	return min(interval, time.Minute+rand.N(4*time.Minute))
}

// statusEvery is how often the budget's status is reported between tests.
const statusEvery = 30 * time.Second

// Run tests until ctx ends. It reports each test's result to emit and the
// budget's status to status (after each test and at least every 30 s).
func (r *Runner) Run(ctx context.Context, emit func(Result), status func(BudgetStatus)) {
	wait := r.Stagger(r.interval)
	for {
		until := time.Now().Add(wait)
		for {
			status(r.budget.Status(r.maxBytes))
			left := time.Until(until)
			if left <= 0 {
				break
			}
			if !probe.Sleep(ctx, min(left, statusEvery)) {
				return
			}
		}
		wait = r.interval + r.Jitter(r.interval)
		allowance, ok := r.budget.Grant(r.maxBytes)
		if !ok {
			continue
		}
		res := r.client.Test(ctx, allowance)
		r.budget.Spend(res.Bytes())
		if ctx.Err() != nil {
			status(r.budget.Status(r.maxBytes))
			return // stopped mid-test: the result says nothing about the network
		}
		emit(res)
		if res.Reason == ReasonBusy {
			wait = r.Backoff(r.interval)
		}
	}
}
