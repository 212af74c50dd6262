package http

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/netif"
)

func fetch(t *testing.T, spec Spec, iface string) probe.Result {
	t.Helper()
	spec.Default()
	p, err := New("t", spec, netif.NewPath(iface))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Probe(ctx)
}

func observed(r probe.Result, metric string) (float64, bool) {
	for _, ob := range r.Observations {
		if ob.Metric == metric {
			return ob.Value, true
		}
	}
	return 0, false
}

// TestRedirects: a loop fails with reason redirects and the last status;
// a short chain is followed; with follow_redirects off the 302 is the
// status judged.
func TestRedirects(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch {
		case r.URL.Path == "/loop":
			nethttp.Redirect(w, r, "/loop?token=secret", nethttp.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/hop/"):
			var n int
			fmt.Sscanf(r.URL.Path, "/hop/%d", &n)
			if n == 0 {
				fmt.Fprint(w, "arrived")
				return
			}
			nethttp.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), nethttp.StatusMovedPermanently)
		}
	}))
	defer srv.Close()
	no := false
	tests := []struct {
		name    string
		spec    Spec
		iface   string
		ok      bool
		reason  probe.Reason
		status  float64
		summary string
	}{
		{"loop", Spec{URL: srv.URL + "/loop"}, "", false, probe.ReasonRedirects, 302, "HTTP 302 after 5 redirects"},
		{"loop, bound to lo", Spec{URL: srv.URL + "/loop"}, "lo", false, probe.ReasonRedirects, 302, "HTTP 302 after 5 redirects"},
		{"three hops", Spec{URL: srv.URL + "/hop/3"}, "lo", true, "", 200, "HTTP 200 after 3 redirects"},
		{"not followed", Spec{URL: srv.URL + "/hop/3", FollowRedirects: &no}, "", false, probe.ReasonHTTPStatus, 301, "HTTP 301"},
		{"not followed, expected", Spec{URL: srv.URL + "/hop/3", FollowRedirects: &no, ExpectStatus: []int{301}}, "", true, "", 301, "HTTP 301"},
	}
	for _, tt := range tests {
		r := fetch(t, tt.spec, tt.iface)
		status, _ := observed(r, metricStatus)
		if r.Success != tt.ok || r.Reason != tt.reason || status != tt.status || r.Summary != tt.summary {
			t.Errorf("%s: success %v reason %q status %v summary %q (%s); want %v %q %v %q",
				tt.name, r.Success, r.Reason, status, r.Summary, r.Detail, tt.ok, tt.reason, tt.status, tt.summary)
		}
		if strings.Contains(r.Detail, "secret") {
			t.Errorf("%s: the Location's query reached the detail: %q", tt.name, r.Detail)
		}
	}
}

// ca is a certificate and its key, able to sign others.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCert(t *testing.T, name string, notAfter time.Time, parent *ca, isCA bool) *ca {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: notAfter, IsCA: isCA, BasicConstraintsValid: true}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.DNSNames, tmpl.IPAddresses = []string{"localhost"}, nil
		tmpl.IPAddresses = append(tmpl.IPAddresses, []byte{127, 0, 0, 1})
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, signKey := tmpl, key
	if parent != nil {
		signer, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &ca{c, key}
}

// TestCertExpiryFromChainUsed: the server sends its leaf, its intermediate
// and an unrelated certificate that expired long ago. The expiry reported
// is the chain's (intermediate expires before the leaf), with and without
// verification; the unrelated certificate never counts.
func TestCertExpiryFromChainUsed(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	root := newCert(t, "Lab Root", now.Add(90*24*time.Hour), nil, true)
	inter := newCert(t, "Lab Intermediate", now.Add(20*24*time.Hour), root, true)
	leaf := newCert(t, "localhost", now.Add(60*24*time.Hour), inter, false)
	stray := newCert(t, "Stray Old CA", now.Add(-24*time.Hour), nil, true)
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, _ *nethttp.Request) { fmt.Fprint(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{
		Certificate: [][]byte{leaf.cert.Raw, stray.cert.Raw, inter.cert.Raw},
		PrivateKey:  leaf.key,
	}}}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	want := float64(inter.cert.NotAfter.Unix())
	for _, spec := range []Spec{{URL: srv.URL, CAFile: caFile}, {URL: srv.URL, InsecureSkipVerify: true}} {
		r := fetch(t, spec, "lo")
		exp, ok := observed(r, metricCertExpiry)
		if !r.Success || !ok || exp != want {
			t.Errorf("ca_file %q, insecure %v: success %v (%s), expiry %v (%v); want %v (the intermediate's), not the stray %v",
				spec.CAFile, spec.InsecureSkipVerify, r.Success, r.Detail, time.Unix(int64(exp), 0), ok, inter.cert.NotAfter, stray.cert.NotAfter)
		}
	}
	// Verification on without the CA: a TLS failure, no expiry.
	r := fetch(t, Spec{URL: srv.URL}, "")
	if _, ok := observed(r, metricCertExpiry); r.Success || r.Reason != probe.ReasonTLS || ok {
		t.Errorf("untrusted: success %v reason %s, expiry reported %v", r.Success, r.Reason, ok)
	}
}

func TestSigningChain(t *testing.T) {
	now := time.Now()
	root := newCert(t, "R", now.Add(time.Hour), nil, true)
	inter := newCert(t, "I", now.Add(time.Hour), root, true)
	leaf := newCert(t, "L", now.Add(time.Hour), inter, false)
	// An impostor with the intermediate's name but another key.
	impostor := newCert(t, "I", now.Add(-time.Hour), nil, true)
	got := signingChain([]*x509.Certificate{leaf.cert, impostor.cert, root.cert, inter.cert})
	if len(got) != 3 || got[0] != leaf.cert || got[1] != inter.cert || got[2] != root.cert {
		names := []string{}
		for _, c := range got {
			names = append(names, c.Subject.CommonName)
		}
		t.Errorf("chain %v, want L I R", names)
	}
	if signingChain(nil) != nil {
		t.Error("empty peers")
	}
}
