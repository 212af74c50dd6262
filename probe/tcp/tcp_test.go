package tcp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/probe"
)

// TestZones: a zone other than wifi.interface is refused when the config
// is loaded (at the address's line, so check-config --syntax-only sees it);
// a zone naming no interface fails the probe with no_interface; IPv6 over
// the interface works.
func TestZones(t *testing.T) {
	build := func(addr, iface string) (probe.Job, error) {
		return Kind().New(config.Target{Name: "t", Spec: &Spec{Address: addr}}, probe.Env{Interface: iface})
	}
	_, err := config.Parse("t.yml", []byte("wifi: {interface: wlan9}\ntargets:\n  - {name: t, kind: tcp, address: \"[fe80::1%eth0]:22\"}\n"),
		config.Kinds{Kind().Kind})
	if want := "t.yml:3: targets[0].address: zone %eth0 is not the interface under test (wifi.interface wlan9)"; err == nil || err.Error() != want {
		t.Errorf("zone eth0 with wifi.interface wlan9: %v, want %s", err, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	job, err := build("[fe80::1%nosuchif0]:22", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := job.Prober.Probe(ctx); r.Reason != probe.ReasonNoInterface {
		t.Errorf("zone naming no interface: %s %q, want no_interface", r.Reason, r.Detail)
	}
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	job, err = build(ln.Addr().String(), "lo")
	if err != nil {
		t.Fatal(err)
	}
	if r := job.Prober.Probe(ctx); !r.Success || r.Addr != ln.Addr().String() {
		t.Errorf("IPv6 bound to lo: %v %s %q", r.Success, r.Reason, r.Detail)
	}
}
