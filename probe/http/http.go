// Package http is the http target kind: it fetches a URL and times its
// phases (resolve, connect, tls, first_byte, total), with the status code and
// the TLS certificate expiry.
package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// MaxRedirects bounds the redirects followed.
const MaxRedirects = 5

// UserAgent is sent with every request.
const UserAgent = "wardprobe"

// MaxBodyBytes bounds max_body_bytes.
const MaxBodyBytes = 1 << 30

// Spec is an http target's own settings.
type Spec struct {
	// URL is the http(s) URL fetched.
	URL string `yaml:"url"`
	// Method is GET (default) or HEAD.
	Method string `yaml:"method"`
	// ExpectStatus lists acceptable status codes (empty: any 2xx).
	ExpectStatus []int `yaml:"expect_status"`
	// MaxBodyBytes caps how much of the body is read (default 1MiB).
	MaxBodyBytes config.ByteSize `yaml:"max_body_bytes"`
	// CAFile is a PEM bundle of extra CAs to trust (e.g. the trust's own CA).
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify disables certificate verification (expiry is still reported).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// FollowRedirects follows up to MaxRedirects redirects (default true).
	FollowRedirects *bool `yaml:"follow_redirects"`
	// BasicAuth sends basic authentication, the password read from a file.
	BasicAuth *config.BasicAuth `yaml:"basic_auth"`
	// BearerTokenFile holds a token sent as Authorization: Bearer.
	BearerTokenFile config.SecretFile `yaml:"bearer_token_file"`
}

// Default implements config.Spec.
func (s *Spec) Default() {
	if s.Method == "" {
		s.Method = "GET"
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = 1 << 20
	}
	if s.FollowRedirects == nil {
		yes := true
		s.FollowRedirects = &yes
	}
}

// Validate implements config.Spec.
func (s *Spec) Validate(c *config.Checker) {
	if s.URL == "" {
		c.Errorf("url", "is required")
	} else {
		c.Check("url", config.CheckURL(s.URL))
	}
	if s.Method != "GET" && s.Method != "HEAD" {
		c.Errorf("method", "%q is not GET or HEAD", s.Method)
	}
	for j, code := range s.ExpectStatus {
		if code < 100 || code > 599 {
			c.Errorf(fmt.Sprintf("expect_status[%d]", j), "%d is not an HTTP status code", code)
		}
	}
	if s.MaxBodyBytes < 0 || s.MaxBodyBytes > MaxBodyBytes {
		c.Errorf("max_body_bytes", "must be between 0 and 1GiB")
	}
	if a := s.BasicAuth; a != nil {
		if a.Username == "" {
			c.Errorf("basic_auth.username", "is required")
		}
		if a.PasswordFile == "" {
			c.Errorf("basic_auth.password_file", "is required (a file holding the password)")
		}
		if s.BearerTokenFile != "" {
			c.Errorf("bearer_token_file", "cannot be used with basic_auth")
		}
	}
}

// Phases of a fetch, in order: the values of the "phase" label.
func Phases() [numPhases]string {
	return [numPhases]string{"resolve", "connect", "tls", "first_byte", "total"}
}

const (
	phaseResolve = iota
	phaseConnect
	phaseTLS
	phaseFirstByte
	phaseTotal
	numPhases
)

// Metric names.
const (
	metricPhase      = "wardprobe_http_duration_seconds"
	metricStatus     = "wardprobe_http_status_code"
	metricCertExpiry = "wardprobe_http_tls_cert_expiry_timestamp_seconds"
	metricBody       = "wardprobe_http_body_bytes"
)

// Kind returns the http kind.
func Kind() probe.Kind {
	return probe.Kind{
		Kind: config.Kind{
			Name: "http", NewSpec: func() config.Spec { return &Spec{} },
			DefaultInterval: 30 * time.Second, MinInterval: time.Second, DefaultTimeout: probe.TimeoutUpTo(10 * time.Second),
		},
		New: func(t config.Target, env probe.Env) (probe.Job, error) {
			p, err := New(t.Name, *t.Spec.(*Spec), env.Interface)
			if err != nil {
				return probe.Job{}, err
			}
			if err := p.authenticate(env.Secrets); err != nil {
				return probe.Job{}, err
			}
			return probe.Job{Prober: p}, nil
		},
		Metrics: []probe.Metric{
			{Name: metricPhase, Help: "Duration of each phase of the last HTTP probe, in seconds.", Type: probe.Gauge, Labels: []string{"phase"}},
			{Name: metricStatus, Help: "Status code of the last HTTP probe (0 when no response).", Type: probe.Gauge},
			{Name: metricCertExpiry, Help: "Earliest expiry of the TLS certificate chain the last HTTP probe used, in seconds since the Unix epoch.", Type: probe.Gauge},
			{Name: metricBody, Help: "Bytes of body read by the last HTTP probe (capped by max_body_bytes).", Type: probe.Gauge},
		},
	}
}

// Prober fetches a target's URL. Every probe opens fresh connections, so each
// measures name resolution, connection and TLS set-up as a new client would.
type Prober struct {
	name  string
	spec  Spec
	iface string
	roots *x509.CertPool
	// auth is the Authorization header value ("" for none).
	auth string
}

// New returns a Prober for the target name with spec, bound to iface when
// set. It fails with a *config.FieldError when spec.CAFile cannot be read.
func New(name string, spec Spec, iface string) (*Prober, error) {
	p := &Prober{name: name, spec: spec, iface: iface}
	if spec.CAFile != "" {
		pem, err := os.ReadFile(spec.CAFile)
		if err != nil {
			return nil, &config.FieldError{Key: "ca_file", Err: err}
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &config.FieldError{Key: "ca_file", Err: fmt.Errorf("%s holds no PEM certificate", spec.CAFile)}
		}
		p.roots = pool
	}
	return p, nil
}

// timings collects phase times from httptrace callbacks, which may come from
// other goroutines.
type timings struct {
	mu                                      sync.Mutex
	start                                   time.Time
	dnsStart, connStart, tlsStart, wroteReq time.Time
	phases                                  [numPhases]time.Duration
	connectedAddr                           string
}

func (t *timings) add(phase int, since time.Time) {
	if since.IsZero() {
		return
	}
	t.phases[phase] += time.Since(since)
}

func (t *timings) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.mu.Lock(); t.dnsStart = time.Now(); t.mu.Unlock() },
		DNSDone: func(httptrace.DNSDoneInfo) {
			t.mu.Lock()
			t.add(phaseResolve, t.dnsStart)
			t.mu.Unlock()
		},
		ConnectStart: func(_, _ string) { t.mu.Lock(); t.connStart = time.Now(); t.mu.Unlock() },
		ConnectDone: func(_, addr string, err error) {
			t.mu.Lock()
			t.add(phaseConnect, t.connStart)
			if err == nil {
				t.connectedAddr = addr
			}
			t.mu.Unlock()
		},
		TLSHandshakeStart: func() { t.mu.Lock(); t.tlsStart = time.Now(); t.mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			t.mu.Lock()
			t.add(phaseTLS, t.tlsStart)
			t.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { t.mu.Lock(); t.wroteReq = time.Now(); t.mu.Unlock() },
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.add(phaseFirstByte, t.wroteReq)
			t.mu.Unlock()
		},
	}
}

// Probe implements probe.Prober.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	name := p.name
	fail := func(reason probe.Reason, detail string) probe.Result {
		return probe.Fail(name, "http", reason, detail)
	}
	d, err := netif.Dialer(p.iface, "tcp")
	if err != nil {
		return fail(probe.Classify(err), err.Error())
	}
	tr := &nethttp.Transport{
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: p.roots, InsecureSkipVerify: p.spec.InsecureSkipVerify}, //nolint:gosec // opt-in per target
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &nethttp.Client{Transport: tr, CheckRedirect: func(req *nethttp.Request, via []*nethttp.Request) error {
		if !*p.spec.FollowRedirects {
			return nethttp.ErrUseLastResponse
		}
		if len(via) > MaxRedirects {
			return fmt.Errorf("more than %d redirects", MaxRedirects)
		}
		return nil
	}}
	tm := &timings{start: time.Now()}
	req, err := nethttp.NewRequestWithContext(httptrace.WithClientTrace(ctx, tm.trace()), p.spec.Method, p.spec.URL, nil)
	if err != nil {
		return fail(probe.ReasonOther, err.Error())
	}
	req.Header.Set("User-Agent", UserAgent)
	if p.auth != "" {
		req.Header.Set("Authorization", p.auth)
	}
	resp, err := client.Do(req)
	var (
		res    probe.Result
		status int
		body   int64
	)
	if err != nil {
		res = fail(probe.Classify(err), err.Error())
	} else {
		n, readErr := io.Copy(io.Discard, io.LimitReader(resp.Body, int64(p.spec.MaxBodyBytes)))
		resp.Body.Close()
		res = probe.Result{Target: name, Kind: "http", Time: time.Now(), Summary: "HTTP " + strconv.Itoa(resp.StatusCode)}
		status, body = resp.StatusCode, n
		if resp.TLS != nil {
			if exp := earliestExpiry(resp.TLS); !exp.IsZero() {
				res.Observations = append(res.Observations, probe.Ob(metricCertExpiry, float64(exp.Unix())))
			}
		}
		switch {
		case readErr != nil:
			res.Reason, res.Detail = probe.Classify(readErr), "reading body: "+readErr.Error()
		case !p.statusOK(resp.StatusCode):
			res.Reason, res.Detail = probe.ReasonHTTPStatus, fmt.Sprintf("status %d", resp.StatusCode)
		default:
			res.Success = true
		}
	}
	tm.mu.Lock()
	tm.phases[phaseTotal] = time.Since(tm.start)
	phases := tm.phases
	res.Addr = tm.connectedAddr
	tm.mu.Unlock()
	res.Duration = phases[phaseTotal]
	res.Observations = append(res.Observations, probe.Ob(metricStatus, float64(status)), probe.Ob(metricBody, float64(body)))
	for i, name := range Phases() {
		res.Observations = append(res.Observations, probe.Ob(metricPhase, phases[i].Seconds(), name))
	}
	return res
}

// authenticate reads the credential files through secrets, which masks
// their content in every output from then on.
func (p *Prober) authenticate(secrets *secret.Redactor) error {
	switch {
	case p.spec.BasicAuth != nil:
		pw, err := secrets.ReadFile(string(p.spec.BasicAuth.PasswordFile))
		if err != nil {
			return &config.FieldError{Key: "basic_auth.password_file", Err: err}
		}
		p.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(p.spec.BasicAuth.Username+":"+pw))
		secrets.Add(p.auth)
	case p.spec.BearerTokenFile != "":
		tok, err := secrets.ReadFile(string(p.spec.BearerTokenFile))
		if err != nil {
			return &config.FieldError{Key: "bearer_token_file", Err: err}
		}
		p.auth = "Bearer " + tok
	}
	return nil
}

func (p *Prober) statusOK(code int) bool {
	if len(p.spec.ExpectStatus) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(p.spec.ExpectStatus, code)
}

// earliestExpiry is the earliest NotAfter in the verified chains, or in the
// peer certificates when verification was skipped.
func earliestExpiry(cs *tls.ConnectionState) time.Time {
	var t time.Time
	consider := func(c *x509.Certificate) {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	if len(cs.VerifiedChains) > 0 {
		for _, c := range cs.VerifiedChains[0] {
			consider(c)
		}
		return t
	}
	for _, c := range cs.PeerCertificates {
		consider(c)
	}
	return t
}
