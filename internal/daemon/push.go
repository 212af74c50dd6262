package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/exporters/push"
	"github.com/wardprobe/wardprobe/internal/secret"
)

// pushOptions turns the config's push section into the pusher's options.
func pushOptions(p *config.Push, version string) push.Options {
	o := push.Options{
		URL: p.URL, Interval: p.Interval.D(), Timeout: p.Timeout.D(), QueueDir: p.QueueDir,
		MaxQueueBytes: int64(p.MaxQueueBytes), MaxQueueAge: p.MaxQueueAge.D(),
		BearerTokenFile: string(p.BearerTokenFile), UserAgent: "wardprobe/" + version,
	}
	if a := p.BasicAuth; a != nil {
		o.BasicAuth = &push.BasicAuth{Username: a.Username, PasswordFile: string(a.PasswordFile)}
	}
	if t := p.TLSConfig; t != nil {
		o.TLS = push.TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName}
	}
	return o
}

// checkPush reads the certificate files the push section names, as a
// request will, so that check-config (and a reload) refuses one that cannot
// be used, at its line. (Its credential files, SecretFiles, are read with
// every other.)
func checkPush(cfg *config.Config, redact *secret.Redactor) config.Errors {
	p := cfg.Push
	if p == nil {
		return nil
	}
	var errs config.Errors
	fail := func(key string, err error) {
		errs = append(errs, cfg.Errorf("push."+key, "%v", redact.Error(err)))
	}
	if t := p.TLSConfig; t != nil {
		if t.CAFile != "" {
			if b, err := secret.ReadRegular(t.CAFile, secret.MaxPEMBytes); err != nil {
				fail("tls_config.ca_file", err)
			} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
				fail("tls_config.ca_file", fmt.Errorf("%s holds no PEM certificate", t.CAFile))
			}
		}
		if t.CertFile != "" && t.KeyFile != "" {
			cert, err := secret.ReadRegular(t.CertFile, secret.MaxPEMBytes)
			if err != nil {
				fail("tls_config.cert_file", fmt.Errorf("loading the client certificate: %w", err))
			}
			key, kerr := secret.ReadRegular(t.KeyFile, secret.MaxPEMBytes)
			if kerr != nil {
				fail("tls_config.key_file", fmt.Errorf("loading the client key: %w", kerr))
			}
			if err == nil && kerr == nil {
				if _, err := tls.X509KeyPair(cert, key); err != nil {
					fail("tls_config.cert_file", fmt.Errorf("loading the client certificate and key: %w", err))
				}
			}
		}
	}
	return errs
}

// pushWorker runs remote-write push while the config has a push section:
// it starts a pusher, hands it each new push section (a new URL, new
// credentials, bounds or queue directory take effect without losing queued
// samples) and stops it when the section goes. It is a prometheus.Collector
// of the running pusher's metrics (none while push is off).
type pushWorker struct {
	log      zerolog.Logger
	version  string
	gatherer func() prometheus.Gatherer
	mailbox

	mu sync.Mutex
	p  *push.Pusher
}

func newPushWorker(log zerolog.Logger, version string) *pushWorker {
	return &pushWorker{log: log.With().Str("component", "push").Logger(), version: version, mailbox: newMailbox()}
}

// Describe implements prometheus.Collector. It describes nothing: the
// pusher's series come and go with the config, so the collector is unchecked.
func (w *pushWorker) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (w *pushWorker) Collect(ch chan<- prometheus.Metric) {
	w.mu.Lock()
	p := w.p
	w.mu.Unlock()
	if p != nil {
		p.Collect(ch)
	}
}

// run starts, reconfigures and stops the pusher as configs arrive, until
// ctx ends.
func (w *pushWorker) run(ctx context.Context) {
	var cur job
	stop := func() {
		if !cur.running() {
			return
		}
		cur.stop()
		w.mu.Lock()
		w.p = nil
		w.mu.Unlock()
		w.log.Info().Msg("push stopped")
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case cfg := <-w.ch:
			if cfg.Push == nil {
				stop()
				continue
			}
			opts := pushOptions(cfg.Push, w.version)
			if w.p != nil {
				if err := w.p.Apply(opts); err != nil {
					w.log.Error().Err(err).Msg("push: keeping the previous push settings")
				}
				continue
			}
			p, err := push.New(opts, w.gatherer(), w.log)
			if err != nil {
				w.log.Error().Err(err).Msg("push cannot start; it is off until the next config reload")
				continue
			}
			w.mu.Lock()
			w.p = p
			w.mu.Unlock()
			// p runs until stopped; its queue is synced and closed when
			// the job ends.
			cur = goJob(ctx, func(ctx context.Context) {
				if err := p.Run(ctx); err != nil {
					w.log.Error().Err(err).Msg("push stopped with an error")
				}
			})
		}
	}
}
