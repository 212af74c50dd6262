// Package push is wardprobe's remote-write store-and-forward: every interval
// it takes a sample of every series a prometheus.Gatherer exposes (the same
// registry /metrics serves), writes the samples to a durable on-disk queue
// (package queue) and sends them, oldest first, to a remote-write 1.0
// receiver (Prometheus, VictoriaMetrics, Mimir, Thanos Receive). While the
// receiver cannot be reached the queue grows, bounded by MaxQueueBytes and
// MaxQueueAge, and when it can again the backlog goes first, each sample with
// its own timestamp. It measures nothing itself.
package push

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/config"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/exporters/push/queue"
	"github.com/wardprobe/wardprobe/internal/logging"
)

// Defaults for zero Options fields.
const (
	DefaultInterval          = 15 * time.Second
	DefaultTimeout           = 30 * time.Second
	DefaultMaxSamplesPerSend = 2000 // Prometheus' max_samples_per_send
	DefaultMinBackoff        = 250 * time.Millisecond
	DefaultMaxBackoff        = 5 * time.Second // Prometheus' max_backoff
	// shutdownGrace bounds how long a request in flight may go on once the
	// pusher stops.
	shutdownGrace = 5 * time.Second
	// splitBudget is how many extra requests one rejected batch may cost
	// while it is split in halves to find the samples the receiver refuses.
	splitBudget = 16
)

// Options configure a Pusher. Durations and sizes are in base units.
type Options struct {
	// URL is the receiver's remote-write endpoint (http or https), e.g.
	// http://prometheus:9090/api/v1/write. It must not hold user info:
	// credentials come from files.
	URL string
	// Interval is how often a sample of every series is queued (default 15s).
	Interval time.Duration
	// QueueDir holds the queue (created 0700 if missing).
	QueueDir string
	// MaxQueueBytes bounds the queue's files (0: no bound); past it the
	// oldest samples are dropped.
	MaxQueueBytes int64
	// MaxQueueAge bounds how old a queued sample may get (0: no bound).
	MaxQueueAge time.Duration
	// Timeout bounds one request (default 30s, Prometheus' remote_timeout).
	Timeout time.Duration
	// BasicAuth sends HTTP basic auth; the password is read from a file at
	// each request (never logged).
	BasicAuth *BasicAuth
	// BearerTokenFile holds a token sent as "Authorization: Bearer" (read at
	// each request, never logged). Not with BasicAuth.
	BearerTokenFile string
	// TLS configures a custom CA and a client certificate (mTLS).
	TLS TLS
	// MaxSamplesPerSend bounds one request (default 2000).
	MaxSamplesPerSend int
	// MinBackoff and MaxBackoff bound the wait between retries (defaults
	// 250ms and 5s); a Retry-After header may ask for longer (up to 10m).
	MinBackoff, MaxBackoff time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// BasicAuth is HTTP basic authentication with the password in a file.
type BasicAuth struct {
	Username     string
	PasswordFile string
}

// TLS configures the connection to an https URL. Files are re-read when
// they change (a renewed certificate needs no restart).
type TLS struct {
	// CAFile holds the CA certificates (PEM) the receiver's certificate must
	// chain to; empty: the system's.
	CAFile string
	// CertFile and KeyFile hold the client certificate and key (PEM) for mTLS.
	CertFile, KeyFile string
	// ServerName overrides the name checked in the receiver's certificate.
	ServerName string
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSamplesPerSend <= 0 {
		o.MaxSamplesPerSend = DefaultMaxSamplesPerSend
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.UserAgent == "" {
		o.UserAgent = "wardprobe"
	}
	return o
}

// newClient checks o and builds its HTTP client.
func newClient(o Options) (*client, error) {
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, errors.New("push: url does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("push: url %s: want http:// or https:// and a host", redactURL(u))
	}
	if u.User != nil {
		return nil, fmt.Errorf("push: url %s holds user info; give credentials in files (basic auth, bearer token)", redactURL(u))
	}
	if o.QueueDir == "" {
		return nil, errors.New("push: no queue directory")
	}
	if o.BasicAuth != nil && o.BearerTokenFile != "" {
		return nil, errors.New("push: basic auth and a bearer token cannot both be set")
	}
	if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
		return nil, errors.New("push: a client certificate needs both cert_file and key_file")
	}
	hc := config.HTTPClientConfig{
		TLSConfig: config.TLSConfig{
			CAFile: o.TLS.CAFile, CertFile: o.TLS.CertFile, KeyFile: o.TLS.KeyFile, ServerName: o.TLS.ServerName,
		},
		EnableHTTP2: true,
	}
	if o.BasicAuth != nil {
		hc.BasicAuth = &config.BasicAuth{Username: o.BasicAuth.Username, PasswordFile: o.BasicAuth.PasswordFile}
	}
	if o.BearerTokenFile != "" {
		hc.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: o.BearerTokenFile}
	}
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	h, err := config.NewClientFromConfig(hc, "wardprobe_push", config.WithUserAgent(o.UserAgent),
		config.WithDialContextFunc(dialAbortive))
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	return &client{url: o.URL, redacted: redactURL(u), hc: h, timeout: o.Timeout, userAgent: o.UserAgent}, nil
}

// dialAbortive dials TCP with SO_LINGER 0, so closing a connection (as the
// client does to a request that timed out) resets it at once. With a normal
// close the kernel would go on retransmitting the abandoned request until
// the path came back, and the receiver would take it late: after its retry,
// perhaps after newer samples (twice over, or out of order).
func dialAbortive(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return c, nil
}

// Pusher samples a Gatherer into a queue and sends the queue to a receiver.
// It is a prometheus.Collector of its own metrics (wardprobe_push_*).
type Pusher struct {
	g   prometheus.Gatherer
	log zerolog.Logger
	m   *metrics

	mu      sync.Mutex
	opts    Options
	cl      *client
	q       *queue.Queue
	newQ    *queue.Queue  // a queue Apply opened, for Run to switch to
	changed chan struct{} // Apply's signal to Run: a new queue
	reset   chan struct{} // Apply's signal to the sampler: a new interval
	wake    chan struct{} // the sampler's signal to the sender
	running bool
	flat    flattener
}

// New checks opts, opens the queue (reading what an earlier run left) and
// returns a Pusher; Run starts it. log gets state changes and failures
// (never a secret).
func New(opts Options, g prometheus.Gatherer, log zerolog.Logger) (*Pusher, error) {
	opts = opts.withDefaults()
	cl, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	q, err := openQueue(opts, log)
	if err != nil {
		return nil, err
	}
	p := &Pusher{g: g, log: log, m: newMetrics(), opts: opts, cl: cl, q: q,
		changed: make(chan struct{}, 1), reset: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	st := q.Stats()
	log.Info().Str("url", cl.redacted).Str("queue_dir", opts.QueueDir).Int64("pending_samples", st.Pending).
		Int64("queue_bytes", st.Bytes).Stringer("interval", opts.Interval).Msg("push: remote write starting")
	return p, nil
}

func openQueue(o Options, log zerolog.Logger) (*queue.Queue, error) {
	q, err := queue.Open(queue.Options{Dir: o.QueueDir, MaxBytes: o.MaxQueueBytes, MaxAge: o.MaxQueueAge,
		Logger: logging.Slog(log)})
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	return q, nil
}

// Apply switches to opts (a config reload) without losing queued samples: a
// new URL, credentials, interval or bounds take effect at once; a new
// QueueDir starts queueing there (what is left in the old one is sent when it
// is configured again). On error the running options stay.
func (p *Pusher) Apply(opts Options) error {
	opts = opts.withDefaults()
	cl, err := newClient(opts)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if opts.QueueDir != p.opts.QueueDir {
		q, err := openQueue(opts, p.log)
		if err != nil {
			return err
		}
		if p.newQ != nil {
			p.newQ.Close()
		}
		p.newQ = q
		signal(p.changed)
	} else {
		p.q.SetBounds(opts.MaxQueueBytes, opts.MaxQueueAge)
	}
	if opts.Interval != p.opts.Interval {
		signal(p.reset)
	}
	changed := !reflect.DeepEqual(opts, p.opts)
	p.opts, p.cl = opts, cl
	if changed { // a reload that left the push section alone says nothing
		p.log.Info().Str("url", cl.redacted).Str("queue_dir", opts.QueueDir).Stringer("interval", opts.Interval).Msg("push: options applied")
	}
	return nil
}

// signal sends on a 1-buffered channel without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// current returns the options and client in force.
func (p *Pusher) current() (Options, *client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opts, p.cl
}

// Run samples and sends until ctx ends, then syncs and closes the queue.
func (p *Pusher) Run(ctx context.Context) error {
	p.mu.Lock()
	if p.running {
		p.mu.Unlock()
		return errors.New("push: already running")
	}
	p.running = true
	p.mu.Unlock()
	for {
		p.mu.Lock()
		q := p.q
		p.mu.Unlock()
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { p.sample(rctx, q) })
		wg.Go(func() { p.send(rctx, q) })
		var err error
		select {
		case <-ctx.Done():
		case <-p.changed:
			cancel()
			wg.Wait()
			err = p.switchQueue()
			if err == nil {
				continue
			}
			p.log.Error().Err(err).Msg("push: reopening the queue failed; push stops")
		}
		cancel()
		wg.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.newQ != nil {
			p.newQ.Close()
		}
		if p.q != nil {
			if cerr := p.q.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("push: closing the queue: %w", cerr)
			}
		}
		p.running = false
		return err
	}
}

// switchQueue moves to the queue Apply opened.
func (p *Pusher) switchQueue() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.newQ == nil {
		return nil
	}
	err := p.q.Close()
	st := p.q.Stats()
	p.m.addBase(st.Written, st.Corruptions)
	p.q, p.newQ = p.newQ, nil
	return err
}

// sample queues a sample of every series each interval.
func (p *Pusher) sample(ctx context.Context, q *queue.Queue) {
	opts, _ := p.current()
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	var buf []queue.Sample
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.reset:
			opts, _ = p.current()
			t.Reset(opts.Interval)
		case now := <-t.C:
			buf = p.sampleOnce(q, now, buf[:0])
		}
	}
}

// sampleOnce gathers, queues, applies the bounds and syncs once.
func (p *Pusher) sampleOnce(q *queue.Queue, now time.Time, buf []queue.Sample) []queue.Sample {
	mfs, err := p.g.Gather()
	if err != nil {
		p.log.Warn().Err(err).Msg("push: gathering metrics (queueing what was gathered)")
	}
	buf = p.flat.flatten(mfs, now.UnixMilli(), buf)
	if err := q.Append(buf); err != nil {
		p.m.dropped.WithLabelValues("queue_error").Add(float64(len(buf)))
		p.log.Error().Err(err).Int("samples", len(buf)).Msg("push: queueing samples failed; they are lost")
	} else {
		p.m.queued.Add(float64(len(buf)))
	}
	d, err := q.Enforce(now)
	if err != nil {
		p.log.Error().Err(err).Msg("push: applying the queue bounds")
	}
	if d.MaxBytes > 0 {
		p.m.dropped.WithLabelValues("max_queue_bytes").Add(float64(d.MaxBytes))
		p.log.Warn().Int64("samples", d.MaxBytes).Msg("push: queue full (max_queue_bytes): dropped the oldest samples")
	}
	if d.MaxAge > 0 {
		p.m.dropped.WithLabelValues("max_queue_age").Add(float64(d.MaxAge))
	}
	if err := q.Sync(); err != nil {
		p.log.Error().Err(err).Msg("push: syncing the queue to disk")
	} else {
		p.m.syncs.Inc()
	}
	signal(p.wake)
	// Do not keep a burst's buffer.
	if cap(buf) > 8192 {
		buf = nil
	}
	return buf
}

// send sends the queue, oldest first, one request at a time.
func (p *Pusher) send(ctx context.Context, q *queue.Queue) {
	var (
		down     bool // the receiver was unreachable: log recovery once
		backoffs int
	)
	for ctx.Err() == nil {
		opts, _ := p.current()
		b, err := q.Next(opts.MaxSamplesPerSend, time.Now())
		if err != nil {
			p.log.Error().Err(err).Msg("push: reading the queue")
			if !sleep(ctx, opts.MaxBackoff) {
				return
			}
			continue
		}
		if b.Dropped > 0 {
			p.m.dropped.WithLabelValues("max_queue_age").Add(float64(b.Dropped))
		}
		if len(b.Samples) == 0 {
			if b.Dropped > 0 {
				p.ack(q, b, 0)
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			}
			continue
		}
		budget := splitBudget
		if !p.deliver(ctx, b.Samples, &budget, &down, &backoffs) {
			return // ctx ended; the batch stays queued
		}
		p.ack(q, b, len(b.Samples))
	}
}

func (p *Pusher) ack(q *queue.Queue, b queue.Batch, n int) {
	if err := q.Ack(b.End, int64(n)+b.Dropped); err != nil {
		p.log.Error().Err(err).Msg("push: recording a sent batch in the queue")
	}
}

// deliver sends samples until the receiver takes them or rejects them for
// good, retrying the rest. A rejected batch is split in halves (older half
// first, so no series goes back in time) while budget lasts, to drop only
// what the receiver refuses. It returns false if ctx ended first.
func (p *Pusher) deliver(ctx context.Context, samples []queue.Sample, budget *int, down *bool, backoffs *int) bool {
	for {
		opts, cl := p.current()
		rctx, done := graceful(ctx)
		res := cl.send(rctx, samples)
		done()
		p.m.requestBytes.Add(float64(res.bytes))
		if res.outcome != sent && ctx.Err() != nil {
			return false
		}
		switch res.outcome {
		case sent:
			p.m.sent.Add(float64(len(samples)))
			p.m.lastSuccess.SetToCurrentTime()
			if *down {
				p.log.Info().Msg("push: the receiver takes samples again")
				*down = false
			}
			*backoffs = 0
			return true
		case rejected:
			p.m.failures.WithLabelValues(res.reason).Inc()
			if len(samples) > 1 && *budget > 0 {
				*budget--
				h := len(samples) / 2
				return p.deliver(ctx, samples[:h], budget, down, backoffs) &&
					p.deliver(ctx, samples[h:], budget, down, backoffs)
			}
			p.m.dropped.WithLabelValues(res.reason).Add(float64(len(samples)))
			p.log.Warn().Err(res.err).Int("samples", len(samples)).Str("reason", res.reason).
				Msg("push: the receiver rejected samples; dropped")
			return true
		}
		p.m.failures.WithLabelValues(res.reason).Inc()
		if !*down {
			p.log.Warn().Err(res.err).Str("reason", res.reason).Msg("push: the receiver cannot be reached; samples stay queued and are retried")
			*down = true
		} else {
			p.log.Debug().Err(res.err).Str("reason", res.reason).Msg("push: retrying")
		}
		wait := backoff(opts.MinBackoff, opts.MaxBackoff, *backoffs)
		*backoffs++
		wait = max(wait, res.retryAfter)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// graceful returns a context for one request that outlives ctx by
// shutdownGrace: when the pusher stops (SIGTERM, or a switch to a new queue
// directory) a request in flight may finish, so samples the receiver took
// are recorded as sent rather than sent again later (or, after a switch,
// behind newer ones).
func graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(shutdownGrace, cancel)
		context.AfterFunc(rctx, func() { t.Stop() })
	})
	return rctx, func() { stop(); cancel() }
}

// backoff is the wait before retry n (0, 1, ...): doubling from lo to hi,
// with ±10% jitter so a fleet of probes does not retry in step after a
// central outage.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 30 {
		d = min(lo<<n, hi)
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64()))
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
