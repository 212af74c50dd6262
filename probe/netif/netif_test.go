package netif

import (
	"errors"
	"strings"
	"testing"
)

const routes = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0100A8C0	0003	0	0	100	00000000	0	0	0
wlan0	00000000	0114A8C0	0003	0	0	600	00000000	0	0	0
wlan0	0014A8C0	00000000	0001	0	0	600	00FFFFFF	0	0	0
eth1	00000000	0200000A	0003	0	0	50	00000000	0	0	0
eth1	00000000	0300000A	0001	0	0	10	00000000	0	0	0
garbage line
`

func TestParseDefaultGateway(t *testing.T) {
	tests := []struct {
		iface, want string
		err         error
	}{
		{"", "10.0.0.2", nil},
		{"wlan0", "192.168.20.1", nil},
		{"eth0", "192.168.0.1", nil},
		{"wlan9", "", ErrNoGateway},
	}
	for _, tt := range tests {
		ip, err := ParseDefaultGateway(strings.NewReader(routes), tt.iface)
		if !errors.Is(err, tt.err) {
			t.Errorf("%q: err %v, want %v", tt.iface, err, tt.err)
			continue
		}
		if tt.err == nil && ip.String() != tt.want {
			t.Errorf("%q: gateway %s, want %s", tt.iface, ip, tt.want)
		}
	}
}

func TestSourceAddrMissing(t *testing.T) {
	if _, err := SourceAddr("nosuchif0"); !errors.Is(err, ErrNoInterface) {
		t.Errorf("err %v, want ErrNoInterface", err)
	}
	ip, err := SourceAddr("lo")
	if err != nil || ip.String() != "127.0.0.1" {
		t.Errorf("lo: %v %v", ip, err)
	}
}
