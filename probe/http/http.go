// Package http fetches a URL and times its phases (resolve, connect, tls,
// first_byte, total), with the status code and the TLS certificate expiry.
package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	nethttp "net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

// MaxRedirects bounds the redirects followed.
const MaxRedirects = 5

// UserAgent is sent with every request.
const UserAgent = "wardprobe"

// Prober fetches a target's URL. Every probe opens fresh connections, so each
// measures name resolution, connection and TLS set-up as a new client would.
type Prober struct {
	target config.Target
	iface  string
	roots  *x509.CertPool
}

// New returns a Prober for t, sourced from iface when set. It fails when
// t.CAFile cannot be read.
func New(t config.Target, iface string) (*Prober, error) {
	p := &Prober{target: t, iface: iface}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("target %s: reading ca_file: %w", t.Name, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("target %s: ca_file %s holds no PEM certificate", t.Name, t.CAFile)
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
	phases                                  [probe.NumPhases]time.Duration
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
			t.add(probe.PhaseResolve, t.dnsStart)
			t.mu.Unlock()
		},
		ConnectStart: func(_, _ string) { t.mu.Lock(); t.connStart = time.Now(); t.mu.Unlock() },
		ConnectDone: func(_, addr string, err error) {
			t.mu.Lock()
			t.add(probe.PhaseConnect, t.connStart)
			if err == nil {
				t.connectedAddr = addr
			}
			t.mu.Unlock()
		},
		TLSHandshakeStart: func() { t.mu.Lock(); t.tlsStart = time.Now(); t.mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			t.mu.Lock()
			t.add(probe.PhaseTLS, t.tlsStart)
			t.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { t.mu.Lock(); t.wroteReq = time.Now(); t.mu.Unlock() },
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.add(probe.PhaseFirstByte, t.wroteReq)
			t.mu.Unlock()
		},
	}
}

// Probe implements probe.Prober.
func (p *Prober) Probe(ctx context.Context) probe.Result {
	name := p.target.Name
	fail := func(reason probe.Reason, detail string) probe.Result {
		return probe.Fail(name, config.KindHTTP, reason, detail)
	}
	d, err := netif.Dialer(p.iface, "tcp")
	if err != nil {
		return fail(probe.Classify(err), err.Error())
	}
	tr := &nethttp.Transport{
		DialContext:            d.DialContext,
		TLSClientConfig:        &tls.Config{RootCAs: p.roots, InsecureSkipVerify: p.target.InsecureSkipVerify}, //nolint:gosec // opt-in per target
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &nethttp.Client{Transport: tr, CheckRedirect: func(req *nethttp.Request, via []*nethttp.Request) error {
		if !*p.target.FollowRedirects {
			return nethttp.ErrUseLastResponse
		}
		if len(via) > MaxRedirects {
			return fmt.Errorf("more than %d redirects", MaxRedirects)
		}
		return nil
	}}
	tm := &timings{start: time.Now()}
	req, err := nethttp.NewRequestWithContext(httptrace.WithClientTrace(ctx, tm.trace()), p.target.Method, p.target.URL, nil)
	if err != nil {
		return fail(probe.ReasonOther, err.Error())
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := client.Do(req)
	var res probe.Result
	if err != nil {
		res = fail(probe.Classify(err), err.Error())
	} else {
		n, readErr := io.Copy(io.Discard, io.LimitReader(resp.Body, int64(p.target.MaxBodyBytes)))
		resp.Body.Close()
		res = probe.Result{Target: name, Kind: config.KindHTTP, Time: time.Now(), StatusCode: resp.StatusCode, BodyBytes: n}
		if resp.TLS != nil {
			res.CertExpiry = earliestExpiry(resp.TLS)
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
	tm.phases[probe.PhaseTotal] = time.Since(tm.start)
	res.Phases = tm.phases
	res.Addr = tm.connectedAddr
	tm.mu.Unlock()
	res.Duration = res.Phases[probe.PhaseTotal]
	return res
}

func (p *Prober) statusOK(code int) bool {
	if len(p.target.ExpectStatus) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(p.target.ExpectStatus, code)
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
