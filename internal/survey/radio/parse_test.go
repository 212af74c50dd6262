package radio

import (
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

type bssAttrs struct {
	bssid          []byte
	freq           uint32
	mbm            int32
	ago            uint32
	status         int
	ies, beaconIEs []byte
}

func msg(t *testing.T, b bssAttrs) genetlink.Message {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NL80211_ATTR_IFINDEX, 3)
	ae.Nested(unix.NL80211_ATTR_BSS, func(n *netlink.AttributeEncoder) error {
		if b.bssid != nil {
			n.Bytes(unix.NL80211_BSS_BSSID, b.bssid)
		}
		if b.freq != 0 {
			n.Uint32(unix.NL80211_BSS_FREQUENCY, b.freq)
		}
		n.Int32(unix.NL80211_BSS_SIGNAL_MBM, b.mbm)
		n.Uint32(unix.NL80211_BSS_SEEN_MS_AGO, b.ago)
		if b.status >= 0 {
			n.Uint32(unix.NL80211_BSS_STATUS, uint32(b.status))
		}
		if b.ies != nil {
			n.Bytes(unix.NL80211_BSS_INFORMATION_ELEMENTS, b.ies)
		}
		if b.beaconIEs != nil {
			n.Bytes(unix.NL80211_BSS_BEACON_IES, b.beaconIEs)
		}
		return nil
	})
	data, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return genetlink.Message{Data: data}
}

func ie(id byte, data string) []byte { return append([]byte{id, byte(len(data))}, data...) }

func TestParseScanDump(t *testing.T) {
	mac := []byte{2, 0, 0, 0, 1, 0}
	rates := ie(1, "\x82\x84")
	msgs := []genetlink.Message{
		msg(t, bssAttrs{bssid: mac, freq: 5180, mbm: -4550, ago: 120, status: statusAssociated,
			ies: append(append(rates, ie(0, "Ward\xff7")...), ie(221, "vendor")...)}),
		// Only beacon IEs: the SSID comes from them.
		msg(t, bssAttrs{bssid: []byte{2, 0, 0, 0, 2, 0}, freq: 2412, mbm: -8000, ago: 30000, status: -1, beaconIEs: ie(0, "CLINICAL")}),
		// No BSSID: skipped.
		msg(t, bssAttrs{freq: 2412, mbm: -5000, status: -1, ies: ie(0, "x")}),
		// Truncated IEs: kept, with no SSID.
		msg(t, bssAttrs{bssid: []byte{2, 0, 0, 0, 3, 0}, freq: 2437, mbm: -6000, status: -1, ies: []byte{0, 9, 'a'}}),
	}
	got, err := parseScanDump(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	want := bssEntry{bssid: "02:00:00:00:01:00", ssid: "Ward\xff7", freq: 5180, signal: -45.5, age: 120 * time.Millisecond, status: statusAssociated}
	if got[0] != want {
		t.Errorf("entry 0 %+v, want %+v", got[0], want)
	}
	if got[1].ssid != "CLINICAL" || got[1].signal != -80 || got[1].status != -1 || got[1].age != 30*time.Second {
		t.Errorf("entry 1 %+v", got[1])
	}
	if got[2].ssid != "" || got[2].freq != 2437 {
		t.Errorf("entry 2 %+v", got[2])
	}
	if _, err := parseScanDump([]genetlink.Message{{Data: []byte{1, 2, 3}}}); err == nil {
		t.Error("a malformed message was accepted")
	}
}
