package throughput

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wardprobe/wardprobe/probe"
)

// statusError is a non-2xx answer from the server.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("server answered HTTP %d", e.code) }

// classify maps an error of a test to a failure reason.
func classify(err error) probe.Reason {
	var se *statusError
	if errors.As(err, &se) {
		if se.code == http.StatusServiceUnavailable || se.code == http.StatusTooManyRequests {
			return ReasonBusy
		}
		return probe.ReasonHTTPStatus
	}
	return probe.Classify(err)
}

// newHTTPTransport returns a plain HTTP/1.1 transport dialling through set.
func newHTTPTransport(set *connSet, conns int) *http.Transport {
	return &http.Transport{
		DialContext:           set.dial,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
}

// roundTripper sets wardprobe's User-Agent, turns non-2xx answers into
// errors, reports transfer errors to its direction (nil for pings), and
// gives upload requests their body (body, when set).
type roundTripper struct {
	base *http.Transport
	ua   string
	dir  *dirState
	body func(n int64) io.ReadCloser

	mu      sync.Mutex
	lastErr error
	// made is when the round tripper was made (with the monotonic clock
	// reading); inflight is when the request in flight started, as
	// nanoseconds since made plus one, 0 when none.
	made     time.Time
	inflight atomic.Int64
}

func (t *roundTripper) note(err error) {
	if t.dir != nil {
		t.dir.fail(err)
		return
	}
	t.mu.Lock()
	t.lastErr = err
	t.mu.Unlock()
}

func (t *roundTripper) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}

// inflightFor returns how long the request in flight has waited (0: none).
func (t *roundTripper) inflightFor(now time.Time) time.Duration {
	if s := t.inflight.Load(); s != 0 {
		return now.Sub(t.made.Add(time.Duration(s - 1)))
	}
	return 0
}

// RoundTrip implements http.RoundTripper.
func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.dir != nil && (t.dir.isStopped() || req.Context().Err() != nil) {
		// Hold speedtest-go's worker until its direction ends (or, when the
		// test was cancelled, slow it to 100 tries a second) rather than let
		// it spin on failing requests.
		t.dir.park(req.Context())
		return nil, errStopped
	}
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.ua)
	if t.body != nil && r.Body != nil && r.ContentLength > 0 {
		req.Body.Close()
		r.Body, r.GetBody = t.body(r.ContentLength), nil
	}
	if t.dir == nil {
		t.inflight.Store(int64(time.Since(t.made)) + 1)
		defer t.inflight.Store(0)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		t.note(err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		serr := &statusError{resp.StatusCode}
		t.note(serr)
		return nil, serr
	}
	if t.dir != nil {
		resp.Body = &watchedBody{ReadCloser: resp.Body, dir: t.dir}
	}
	return resp, nil
}

// watchedBody reports a download body's read errors to its direction.
type watchedBody struct {
	io.ReadCloser
	dir *dirState
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.dir.fail(err)
	}
	return n, err
}

// Why a direction stopped.
const (
	stopNone   = iota
	stopStable // the rate settled
	stopCapped // the byte allowance was reached
	stopFailed // an error or a stall; reason says which
)

// dirState is the shared state of one direction of a test.
type dirState struct {
	deadline time.Time // when speedtest-go ends the direction
	onStop   func()    // aborts the direction's connections and pings

	mu      sync.Mutex
	why     int
	reason  probe.Reason
	detail  string
	stopped chan struct{}
}

func newDirState(deadline time.Time) *dirState {
	return &dirState{deadline: deadline, stopped: make(chan struct{})}
}

func (d *dirState) isStopped() bool {
	select {
	case <-d.stopped:
		return true
	default:
		return false
	}
}

// stop ends the direction's transfers; the first call wins.
func (d *dirState) stop(why int, reason probe.Reason, detail string) {
	d.mu.Lock()
	if d.why != stopNone {
		d.mu.Unlock()
		return
	}
	d.why, d.reason, d.detail = why, reason, detail
	close(d.stopped)
	d.mu.Unlock()
	if d.onStop != nil {
		d.onStop()
	}
}

// fail stops the direction with err's reason, unless err comes from the
// direction ending on purpose (stopped, capped, or speedtest-go's own end).
func (d *dirState) fail(err error) {
	switch {
	case err == nil, d.isStopped(), errors.Is(err, errStopped), errors.Is(err, context.Canceled):
		return
	case errors.Is(err, errCapped):
		d.stop(stopCapped, "", "")
		return
	}
	d.stop(stopFailed, classify(err), err.Error())
}

func (d *dirState) state() (why int, reason probe.Reason, detail string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.why, d.reason, d.detail
}

// park waits until the direction's end (or ctx's), then briefly more, so
// that a parked worker re-checks speedtest-go's running flag at most 100
// times a second.
func (d *dirState) park(ctx context.Context) {
	t := time.NewTimer(time.Until(d.deadline))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	time.Sleep(10 * time.Millisecond)
}
