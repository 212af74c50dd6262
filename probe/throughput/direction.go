package throughput

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/showwin/speedtest-go/speedtest"
	"golang.org/x/sys/unix"

	"github.com/wardprobe/wardprobe/probe"
)

// timedLatency is a ping's round trip and when it completed.
type timedLatency struct {
	at  time.Duration // since the direction began
	rtt time.Duration
}

// dirRun is one direction of a test while it runs: speedtest-go's transfers
// on their own connections, HTTP pings on the test's ping connection, and a
// sampler of the transfers' kernel counters that decides when to stop.
type dirRun struct {
	up      bool
	streams int
	begin   time.Time
	share   int64 // the direction's byte allowance (wire bytes)
	prior   int64 // bytes the test moved before this direction
	charge  *Charge
	ds      *dirState
	conns   *connSet
	rt      *roundTripper
	pingRT  *roundTripper
	est     *estimator
	cpu0    cpuTimes

	stopPings   context.CancelFunc
	pendingOnce sync.Once
	pending     time.Duration // how long the ping in flight had waited when the load stopped
	pingsDone   chan struct{}
	latMu       sync.Mutex
	lats        []timedLatency
}

// direction runs one direction for at most dur, moving about share bytes,
// and returns it with its connections' kernel counters.
func (c *Client) direction(ctx context.Context, up bool, srv, pingSrv *speedtest.Server, pingRT *roundTripper,
	dialer *net.Dialer, ch *Charge, share, prior int64, dur time.Duration) (Direction, tcpCounters) {
	r := c.newDirRun(up, pingRT, dialer, ch, share, prior, dur)
	pctx, stopPings := context.WithCancel(ctx)
	defer stopPings()
	r.stopPings = stopPings
	r.measureLoadedLatency(pctx, pingSrv, dur)
	stopSampling, sampled := r.sample()
	var (
		sgo       float64
		cancelled bool
	)
	transferred, ended := make(chan float64, 1), make(chan struct{})
	go func() {
		defer close(ended)
		transferred <- r.transfer(ctx, srv, dur)
	}()
	select {
	case sgo = <-transferred:
	case <-ctx.Done():
		// Cancelled (a shutdown or a reload): speedtest-go's workers end on
		// its own timer only, up to dur from now, since they do not watch
		// the context. The transport refuses their requests meanwhile and
		// finish closes every connection, so none moves a byte; the
		// client's next test waits for them instead of this one, and this
		// test ends here whatever the direction measured.
		c.lingering, cancelled = ended, true
	}
	close(stopSampling)
	<-sampled
	d, v := r.finish(ctx, sgo)
	if cancelled && d.Reason == "" {
		d.Reason, d.Detail = probe.ReasonTimeout, "the test was stopped"
	}
	return d, v
}

// newDirRun sets up a direction: its connections, its transport (installed
// in speedtest-go's data client) and its estimator.
func (c *Client) newDirRun(up bool, pingRT *roundTripper, dialer *net.Dialer, ch *Charge, share, prior int64, dur time.Duration) *dirRun {
	r := &dirRun{up: up, streams: c.cfg.Streams, begin: time.Now(), share: share, prior: prior, charge: ch, pingRT: pingRT,
		pingsDone: make(chan struct{}), cpu0: cpuTime()}
	r.ds = newDirState(r.begin.Add(dur))
	r.conns = newConnSet(dialer, ch, share, up, func(why int) {
		// A download stops as soon as its share is read. An upload's
		// writers wait instead, until the sampler sees the share sent.
		if !up || why == limitCharge {
			r.ds.stop(stopCapped, "", "")
		}
	})
	r.ds.onStop = func() {
		r.endPings()
		r.conns.closeAll()
	}
	r.rt = &roundTripper{base: newHTTPTransport(r.conns, 2*c.cfg.Streams), ua: c.cfg.UserAgent, dir: r.ds, made: time.Now()}
	if up {
		r.rt.body = c.uploadBody
	}
	c.data.Transport = r.rt
	r.est = newEstimator(warmupTime, share/5, minWindow, settleTime, settleTolerance)
	return r
}

// endPings stops the pings under load, first noting how long the ping in
// flight had waited.
func (r *dirRun) endPings() {
	r.pendingOnce.Do(func() { r.pending = r.pingRT.inflightFor(time.Now()) })
	r.stopPings()
}

// measureLoadedLatency sends HTTP pings every loadedPingEvery until the
// direction ends.
func (r *dirRun) measureLoadedLatency(ctx context.Context, pingSrv *speedtest.Server, dur time.Duration) {
	go func() {
		defer close(r.pingsDone)
		_, _ = pingSrv.HTTPPing(ctx, int(dur/loadedPingEvery)+1, loadedPingEvery, func(l time.Duration) {
			r.latMu.Lock()
			r.lats = append(r.lats, timedLatency{time.Since(r.begin), l})
			r.latMu.Unlock()
		})
	}()
}

// flow returns the direction's delivered bytes (received by the probe, or
// acknowledged by the target) and its wire bytes (received, or sent).
func (r *dirRun) flow(v tcpCounters) (delivered, wire int64) {
	if r.up {
		return v.acked, v.sent
	}
	return v.received, v.received
}

// sample samples the kernel's counters (every millisecond at first, then
// every 10 ms) until stop is closed or the direction stops, and stops the
// direction when its share is on the wire, its rate has settled, or it
// stalls. sampled is closed when it returns.
func (r *dirRun) sample() (stop, sampled chan struct{}) {
	stop, sampled = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTimer(fastSampleEvery)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-r.ds.stopped:
				if why, _, _ := r.ds.state(); why == stopCapped {
					// The share ran out, perhaps before any sample saw a
					// byte on a fast link: sample the moment it ended.
					delivered, _ := r.flow(r.conns.counters())
					r.est.add(sample{time.Since(r.begin), delivered})
				}
				return
			case <-tick.C:
			}
			// Time the counters as read (TCP_INFO of every connection, under
			// a lock), as the other samples are: not before the read.
			v := r.conns.counters()
			now := time.Since(r.begin)
			// Sample finely at first, so that a fast link which uses up its
			// share in a few tens of milliseconds still gives a window.
			if now < fastSampling {
				tick.Reset(fastSampleEvery)
			} else {
				tick.Reset(sampleEvery)
			}
			r.charge.observe(r.prior + v.sent + v.received)
			delivered, wire := r.flow(v)
			r.est.add(sample{now, delivered})
			r.judge(now, wire)
		}
	}()
	return stop, sampled
}

// judge stops the direction if a sample at now with wire bytes on the wire
// says it should.
func (r *dirRun) judge(now time.Duration, wire int64) {
	switch {
	case wire >= r.share:
		r.ds.stop(stopCapped, "", "")
	case r.est.settled():
		r.ds.stop(stopStable, "", "")
	case r.est.started() && now-r.est.lastProgress() >= StallAfter:
		r.ds.stop(stopFailed, ReasonStalled, fmt.Sprintf("no progress for %s", StallAfter))
	case !r.est.started() && now >= FirstByteTimeout:
		r.ds.stop(stopFailed, probe.ReasonTimeout, fmt.Sprintf("no data within %s", FirstByteTimeout))
	}
}

// transfer runs speedtest-go's transfers for dur (its own timer ends them;
// ours stop them sooner through the transport) and returns its own rate
// estimate in bits per second.
func (r *dirRun) transfer(ctx context.Context, srv *speedtest.Server, dur time.Duration) float64 {
	dm := speedtest.NewDataManager()
	streams := r.streams
	if r.up {
		// speedtest-go starts an upload with one worker per CPU and enables
		// more only as the rate grows by 5% a second; the others poll every
		// millisecond until its timer ends the direction (the direction's
		// whole slot: ~0.15 s of CPU per upload on 2 CPUs, more than the
		// transfer itself). Workers it would not enable are not made.
		streams = min(streams, runtime.NumCPU())
	}
	dm.SetNThread(streams)
	dm.SetCaptureTime(dur)
	srv.Context.Manager = dm
	if r.up {
		_ = srv.UploadTestContext(ctx)
		return float64(srv.ULSpeed) * 8
	}
	_ = srv.DownloadTestContext(ctx)
	return float64(srv.DLSpeed) * 8
}

// finish stops what still runs and returns the direction's outcome, given
// speedtest-go's own estimate sgo.
func (r *dirRun) finish(ctx context.Context, sgo float64) (Direction, tcpCounters) {
	why, reason, detail := r.ds.state()
	if why == stopNone && ctx.Err() != nil {
		why, reason, detail = stopFailed, probe.ReasonTimeout, "the test's timeout passed"
	}
	if why == stopNone {
		// speedtest-go's time ended it: take the last sample now.
		delivered, _ := r.flow(r.conns.counters())
		r.est.add(sample{time.Since(r.begin), delivered})
	}
	r.endPings()
	r.conns.closeAll()
	r.rt.base.CloseIdleConnections()
	<-r.pingsDone

	cpu := cpuTime()
	d := Direction{Ran: true, SpeedtestGoBitsPerSecond: sgo, Elapsed: time.Since(r.begin),
		CPUUser: cpu.user - r.cpu0.user, CPUSystem: cpu.system - r.cpu0.system}
	if w := r.est.window(); len(w) > 0 {
		d.Elapsed = w[len(w)-1].t
	}
	v := r.conns.counters()
	_, d.Bytes = r.flow(v)
	d.Settled, d.Capped = why == stopStable, why == stopCapped
	if why == stopFailed {
		d.Reason, d.Detail = reason, detail
		return d, v
	}
	rate, window, ok := r.rate()
	if !ok {
		d.Reason, d.Detail = probe.ReasonTimeout, "too little data to measure a rate"
		if !r.est.started() {
			d.Detail = "no data"
		}
		return d, v
	}
	d.BitsPerSecond, d.Window = rate*8, window
	d.Latency, d.LatencyLowerBound = r.loadedLatency()
	return d, v
}

// rate returns the direction's rate in bytes per second and the window it
// was measured over.
func (r *dirRun) rate() (float64, time.Duration, bool) {
	rate, window, ok := r.est.rate()
	if (!ok || rate <= 0) && r.est.started() {
		// A link so fast that the share went between two samples: take
		// the rate from the first payload byte to the last sample.
		if first, moved := r.conns.first(); moved {
			last := r.est.s[len(r.est.s)-1]
			if span := r.begin.Add(last.t).Sub(first); span > 0 {
				rate, window, ok = float64(last.b)/span.Seconds(), span, true
			}
		}
	}
	return rate, window, ok && rate > 0
}

// loadedLatency is the median of the pings that completed in the
// measurement window (all of them if none did); when none completed at all,
// how long the one in flight had waited, as a lower bound.
func (r *dirRun) loadedLatency() (lat time.Duration, lowerBound bool) {
	r.latMu.Lock()
	defer r.latMu.Unlock()
	var from time.Duration
	if w := r.est.window(); len(w) > 0 {
		from = w[0].t
	}
	var in, all []int64
	for _, l := range r.lats {
		all = append(all, int64(l.rtt))
		if l.at >= from {
			in = append(in, int64(l.rtt))
		}
	}
	switch {
	case len(in) > 0:
		return median(in), false
	case len(all) > 0:
		return median(all), false
	case r.pending > 0:
		return r.pending, true
	}
	return 0, false
}

// cpuTimes is CPU time a process used in user space and in the kernel.
type cpuTimes struct{ user, system time.Duration }

// cpuTime returns the CPU time the process has used.
func cpuTime() cpuTimes {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}
	}
	return cpuTimes{time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())}
}
