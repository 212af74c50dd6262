package radio

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// statusAssociated is nl80211's NL80211_BSS_STATUS_ASSOCIATED.
const statusAssociated = 1

// bssEntry is one BSS of a GET_SCAN dump.
type bssEntry struct {
	bssid string
	// ssid is the raw SSID element (any bytes).
	ssid   string
	freq   int
	signal float64 // dBm
	age    time.Duration
	status int // -1 when absent
}

// parseScanDump decodes the messages of an nl80211 GET_SCAN dump. Malformed
// entries are skipped; a malformed message is an error.
func parseScanDump(msgs []genetlink.Message) ([]bssEntry, error) {
	var out []bssEntry
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return nil, fmt.Errorf("decoding a scan result: %w", err)
		}
		for ad.Next() {
			if ad.Type() != unix.NL80211_ATTR_BSS {
				continue
			}
			b := bssEntry{status: -1}
			ok := false
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				ok = parseBSS(nad, &b)
				return nil
			})
			if ok {
				out = append(out, b)
			}
		}
		if err := ad.Err(); err != nil {
			return nil, fmt.Errorf("decoding a scan result: %w", err)
		}
	}
	return out, nil
}

// parseBSS fills b from the attributes of NL80211_ATTR_BSS; it reports
// false for an entry without a BSSID or frequency.
func parseBSS(ad *netlink.AttributeDecoder, b *bssEntry) bool {
	var ies, beaconIEs []byte
	haveSignal := false
	for ad.Next() {
		data := ad.Bytes()
		switch ad.Type() {
		case unix.NL80211_BSS_BSSID:
			if len(data) == 6 {
				b.bssid = net.HardwareAddr(data).String()
			}
		case unix.NL80211_BSS_FREQUENCY:
			if len(data) == 4 {
				b.freq = int(binary.NativeEndian.Uint32(data))
			}
		case unix.NL80211_BSS_SIGNAL_MBM:
			if len(data) == 4 {
				b.signal = float64(int32(binary.NativeEndian.Uint32(data))) / 100
				haveSignal = true
			}
		case unix.NL80211_BSS_SEEN_MS_AGO:
			if len(data) == 4 {
				b.age = time.Duration(binary.NativeEndian.Uint32(data)) * time.Millisecond
			}
		case unix.NL80211_BSS_STATUS:
			if len(data) == 4 {
				b.status = int(binary.NativeEndian.Uint32(data))
			}
		case unix.NL80211_BSS_INFORMATION_ELEMENTS:
			ies = data
		case unix.NL80211_BSS_BEACON_IES:
			beaconIEs = data
		}
	}
	if ies == nil {
		ies = beaconIEs
	}
	b.ssid, _ = ssidElement(ies)
	return b.bssid != "" && b.freq > 0 && haveSignal
}

// ssidElement returns the raw bytes of the SSID element (ID 0) of a list of
// information elements.
func ssidElement(ies []byte) (string, bool) {
	for len(ies) >= 2 {
		id, n := ies[0], int(ies[1])
		if len(ies) < 2+n {
			return "", false
		}
		if id == 0 {
			return string(ies[2 : 2+n]), true
		}
		ies = ies[2+n:]
	}
	return "", false
}
