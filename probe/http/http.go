// Package http is the http target kind: it fetches a URL by the interface
// under test and times its phases (resolve, connect, tls, first_byte,
// total), with the status code and the expiry of the TLS certificate chain
// the connection used.
package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/escape"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// MaxRedirects bounds the redirects followed: a fetch that would follow
// more fails with reason "redirects" and the status of the last response.
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
	} else if c.Check("url", config.CheckURL(s.URL)) {
		if u, err := url.Parse(s.URL); err == nil {
			c.Check("url", netif.ZoneIs(u.Host, c.Interface()))
		}
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
			spec := *t.Spec.(*Spec)
			p, err := New(t.Name, spec, netif.NewPath(env.Interface))
			if err != nil {
				return probe.Job{}, err
			}
			if err := p.authenticate(env.Secrets); err != nil {
				return probe.Job{}, err
			}
			probe.NoteBinding(env, p.path)
			return probe.Job{Prober: p}, nil
		},
		Metrics: []probe.Metric{
			{Name: metricPhase, Help: "Duration of each phase of the last HTTP probe, in seconds.", Type: probe.Gauge, Labels: []string{"phase"}},
			{Name: metricStatus, Help: "Status code of the last HTTP probe (0 when no response).", Type: probe.Gauge},
			{Name: metricCertExpiry, Help: "Earliest expiry of the TLS certificate chain the last HTTP probe used, in seconds since the Unix epoch.", Type: probe.Gauge},
			{Name: metricBody, Help: "Bytes of body read by the last HTTP probe (capped by max_body_bytes).", Type: probe.Gauge},
			probe.BindingMetric(),
		},
	}
}

// Prober fetches a target's URL. Every probe opens fresh connections, so each
// measures name resolution, connection and TLS set-up as a new client would.
type Prober struct {
	name  string
	spec  Spec
	path  *netif.Path
	roots *x509.CertPool
	// auth is the Authorization header value ("" for none).
	auth string
}

// New returns a Prober for the target name with spec, fetching through
// path. It fails with a *config.FieldError when spec.CAFile cannot be read.
func New(name string, spec Spec, path *netif.Path) (*Prober, error) {
	p := &Prober{name: name, spec: spec, path: path}
	if spec.CAFile != "" {
		pem, err := secret.ReadRegular(spec.CAFile, secret.MaxPEMBytes)
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

// Probe implements probe.Prober: Duration is the whole fetch, Addr the
// address last connected to, Summary the status (and redirects followed).
// A redirect beyond MaxRedirects fails with reason "redirects", reporting
// the status of the last response.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	name := p.name
	fail := func(reason probe.Reason, detail string) probe.Result {
		return probe.Fail(name, "http", reason, detail)
	}
	u := p.spec.URL
	if pu, err := url.Parse(u); err == nil {
		if err := netif.CheckZone(pu.Host, p.path.Interface()); err != nil {
			return p.finish(fail(probe.Classify(err), err.Error()), nil, 0, 0)
		}
	}
	d, err := p.path.Dialer()
	if err != nil {
		return p.finish(fail(probe.Classify(err), err.Error()), nil, 0, 0)
	}
	tr := &nethttp.Transport{
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: p.roots, InsecureSkipVerify: p.spec.InsecureSkipVerify}, //nolint:gosec // opt-in per target
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections()
	redirects := 0
	client := &nethttp.Client{Transport: tr, CheckRedirect: func(req *nethttp.Request, via []*nethttp.Request) error {
		if !*p.spec.FollowRedirects {
			return nethttp.ErrUseLastResponse
		}
		if len(via) > MaxRedirects {
			return errTooManyRedirects
		}
		redirects = len(via)
		return nil
	}}
	tm := &timings{start: time.Now()}
	req, err := nethttp.NewRequestWithContext(httptrace.WithClientTrace(ctx, tm.trace()), p.spec.Method, u, nil)
	if err != nil {
		return p.finish(fail(probe.ReasonOther, err.Error()), tm, 0, 0)
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
	switch {
	case errors.Is(err, errTooManyRedirects) && resp != nil:
		// Do returns the last response (its body closed) with the error.
		status = resp.StatusCode
		res = fail(probe.ReasonRedirects, fmt.Sprintf("HTTP %d: more than %d redirects (last to %s)",
			status, MaxRedirects, secret.StripURL(resp.Header.Get("Location"))))
		res.Summary = fmt.Sprintf("HTTP %d after %d redirects", status, MaxRedirects)
	case err != nil:
		res = fail(probe.Classify(err), err.Error())
	default:
		n, readErr := io.Copy(io.Discard, io.LimitReader(resp.Body, int64(p.spec.MaxBodyBytes)))
		resp.Body.Close()
		res = probe.Result{Target: name, Kind: "http", Time: time.Now(), Summary: "HTTP " + strconv.Itoa(resp.StatusCode)}
		if redirects > 0 {
			res.Summary += fmt.Sprintf(" after %d redirects", redirects)
		}
		status, body = resp.StatusCode, n
		if resp.TLS != nil {
			if exp := ChainExpiry(resp.TLS); !exp.IsZero() {
				res.Observations = append(res.Observations, probe.Ob(metricCertExpiry, float64(exp.Unix())))
			}
		}
		switch {
		case readErr != nil:
			res.Reason, res.Detail = probe.Classify(readErr), "reading body: "+escape.Text(readErr.Error())
		case !p.statusOK(resp.StatusCode):
			res.Reason, res.Detail = probe.ReasonHTTPStatus, fmt.Sprintf("status %d", resp.StatusCode)
		default:
			res.Success = true
		}
	}
	return p.finish(res, tm, status, body)
}

// errTooManyRedirects stops a fetch after MaxRedirects redirects.
var errTooManyRedirects = fmt.Errorf("more than %d redirects", MaxRedirects)

// finish adds the phase times (none when tm is nil: nothing was sent),
// status, body size and binding to res.
func (p *Prober) finish(res probe.Result, tm *timings, status int, body int64) probe.Result {
	var phases [numPhases]time.Duration
	if tm != nil {
		tm.mu.Lock()
		tm.phases[phaseTotal] = time.Since(tm.start)
		phases = tm.phases
		res.Addr = tm.connectedAddr
		tm.mu.Unlock()
	}
	res.Duration = phases[phaseTotal]
	res.Observations = append(res.Observations, probe.BindingObservations(p.path)...)
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

// ChainExpiry is when the certificate chain a TLS connection used stops
// being valid: the earliest NotAfter of a verified chain, taking the chain
// that stays valid longest when several verify. With verification skipped
// (insecure_skip_verify) the chain is the leaf and, in turn, the
// certificate among those the server sent that signs the previous one
// (same issuer name and a valid signature), up to a self-signed one: a
// certificate the server sends but that signs nothing in the chain does not
// count. Zero when the peer sent no certificate.
func ChainExpiry(cs *tls.ConnectionState) time.Time {
	if len(cs.VerifiedChains) > 0 {
		var best time.Time
		for _, chain := range cs.VerifiedChains {
			if t := earliest(chain); best.IsZero() || t.After(best) {
				best = t
			}
		}
		return best
	}
	return earliest(signingChain(cs.PeerCertificates))
}

// signingChain returns the leaf peers[0] followed by the certificates of
// peers that sign it, each the issuer of the one before; at most
// len(peers) long, every certificate used once.
func signingChain(peers []*x509.Certificate) []*x509.Certificate {
	if len(peers) == 0 {
		return nil
	}
	chain := []*x509.Certificate{peers[0]}
	used := make([]bool, len(peers))
	used[0] = true
	for cur := peers[0]; !bytes.Equal(cur.RawIssuer, cur.RawSubject); {
		next := -1
		for i, c := range peers {
			if !used[i] && bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		cur = peers[next]
		chain = append(chain, cur)
	}
	return chain
}

// earliest is the earliest NotAfter of chain; zero for an empty chain.
func earliest(chain []*x509.Certificate) time.Time {
	var t time.Time
	for _, c := range chain {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}
