package wifi

import (
	"testing"
	"time"

	mdwifi "github.com/mdlayher/wifi"

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
		msg(t, bssAttrs{bssid: mac, freq: 5180, mbm: -4550, ago: 120, status: StatusAssociated,
			ies: append(append(rates, ie(0, "Ward\xff7")...), ie(221, "vendor")...)}),
		// Only beacon IEs: the SSID comes from them.
		msg(t, bssAttrs{bssid: []byte{2, 0, 0, 0, 2, 0}, freq: 2412, mbm: -8000, ago: 30000, status: -1, beaconIEs: ie(0, "CLINICAL")}),
		// No BSSID: skipped.
		msg(t, bssAttrs{freq: 2412, mbm: -5000, status: -1, ies: ie(0, "x")}),
		// Truncated IEs: kept, with no SSID.
		msg(t, bssAttrs{bssid: []byte{2, 0, 0, 0, 3, 0}, freq: 2437, mbm: -6000, status: -1, ies: []byte{0, 9, 'a'}}),
	}
	got, err := ParseScanDump(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries: %+v", len(got), got)
	}
	want := ScanEntry{BSSID: "02:00:00:00:01:00", SSID: "Ward\xff7", FrequencyMHz: 5180, Signal: -45.5, Age: 120 * time.Millisecond, Status: StatusAssociated}
	if got[0] != want {
		t.Errorf("entry 0 %+v, want %+v", got[0], want)
	}
	if got[1].SSID != "CLINICAL" || got[1].Signal != -80 || got[1].Status != -1 || got[1].Age != 30*time.Second {
		t.Errorf("entry 1 %+v", got[1])
	}
	if got[2].SSID != "" || got[2].FrequencyMHz != 2437 {
		t.Errorf("entry 2 %+v", got[2])
	}
	if _, err := ParseScanDump([]genetlink.Message{{Data: []byte{1, 2, 3}}}); err == nil {
		t.Error("a malformed message was accepted")
	}
}

// TestScanEntryKeepsSSIDBytes: a Latin-1 SSID reaches the poller as the
// reversible escape `Caf\xe9`, not as "Caf\uFFFD" (what mdlayher/wifi's
// own decoding gives), with the BSS Load element decoded.
func TestScanEntryKeepsSSIDBytes(t *testing.T) {
	msgs := []genetlink.Message{msg(t, bssAttrs{bssid: []byte{2, 0, 0, 0, 1, 0}, freq: 2412, mbm: -6100, status: StatusAssociated,
		ies: append(ie(0, "Caf\xe9"), ie(11, "\x0c\x00\x4d\x00\x00")...)})}
	got, err := ParseScanDump(msgs)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	b := got[0].bss()
	if b.SSID != `Caf\xe9` || b.Status != mdwifi.BSSStatusAssociated || b.Signal != -6100 || b.Load.StationCount != 12 || b.Load.ChannelUtilization != 0x4d {
		t.Errorf("BSS %+v", b)
	}
}

// FuzzParseScanDump: no netlink data from the kernel crashes the parser.
func FuzzParseScanDump(f *testing.F) {
	f.Add([]byte{8, 0, 3, 0, 3, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := ParseScanDump([]genetlink.Message{{Data: data}})
		for _, e := range es {
			_ = e.bss()
		}
		_ = err
	})
}
