package wifi

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"time"

	mdwifi "github.com/mdlayher/wifi"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/wardprobe/wardprobe/internal/escape"
)

// StatusAssociated is nl80211's NL80211_BSS_STATUS_ASSOCIATED.
const StatusAssociated = 1

// ScanEntry is one BSS of an nl80211 GET_SCAN dump, its SSID as the raw
// bytes of the SSID element: mdlayher/wifi decodes SSIDs as UTF-8 and
// replaces every other byte with U+FFFD, which loses a Latin-1 "Café" for
// good, so wardprobe reads the dump itself.
type ScanEntry struct {
	BSSID string
	// SSID is the raw SSID element (any bytes; escape.String makes it text).
	SSID string
	// FrequencyMHz is the BSS's frequency, in MHz.
	FrequencyMHz int
	// Signal is the last beacon's or probe response's signal, in dBm.
	Signal float64
	// Age is how long ago the BSS was last heard.
	Age time.Duration
	// Status is NL80211_BSS_STATUS_* (StatusAssociated), -1 when absent.
	Status int
	// Load is the BSS Load element, when the AP sends one.
	Load mdwifi.BSSLoad
}

// ParseScanDump decodes the messages of an nl80211 GET_SCAN dump. Malformed
// entries are skipped; a malformed message is an error.
func ParseScanDump(msgs []genetlink.Message) ([]ScanEntry, error) {
	var out []ScanEntry
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return nil, fmt.Errorf("decoding a scan result: %w", err)
		}
		for ad.Next() {
			if ad.Type() != unix.NL80211_ATTR_BSS {
				continue
			}
			b := ScanEntry{Status: -1}
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
func parseBSS(ad *netlink.AttributeDecoder, b *ScanEntry) bool {
	var ies, beaconIEs []byte
	haveSignal := false
	for ad.Next() {
		data := ad.Bytes()
		switch ad.Type() {
		case unix.NL80211_BSS_BSSID:
			if len(data) == 6 {
				b.BSSID = net.HardwareAddr(data).String()
			}
		case unix.NL80211_BSS_FREQUENCY:
			if len(data) == 4 {
				b.FrequencyMHz = int(binary.NativeEndian.Uint32(data))
			}
		case unix.NL80211_BSS_SIGNAL_MBM:
			if len(data) == 4 {
				b.Signal = float64(int32(binary.NativeEndian.Uint32(data))) / 100
				haveSignal = true
			}
		case unix.NL80211_BSS_SEEN_MS_AGO:
			if len(data) == 4 {
				b.Age = time.Duration(binary.NativeEndian.Uint32(data)) * time.Millisecond
			}
		case unix.NL80211_BSS_STATUS:
			if len(data) == 4 {
				b.Status = int(binary.NativeEndian.Uint32(data))
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
	b.SSID, _ = element(ies, ieSSID)
	if load, ok := element(ies, ieBSSLoad); ok {
		b.Load = decodeBSSLoad([]byte(load))
	}
	return b.BSSID != "" && b.FrequencyMHz > 0 && haveSignal
}

// Information element IDs (IEEE 802.11-2020 Table 9-92).
const (
	ieSSID    = 0
	ieBSSLoad = 11
)

// element returns the raw bytes of the first information element with id
// in a list of elements.
func element(ies []byte, id byte) (string, bool) {
	for len(ies) >= 2 {
		eid, n := ies[0], int(ies[1])
		if len(ies) < 2+n {
			return "", false
		}
		if eid == id {
			return string(ies[2 : 2+n]), true
		}
		ies = ies[2+n:]
	}
	return "", false
}

// decodeBSSLoad decodes the BSS Load element (IEEE 802.11-2020 9.4.2.27:
// station count, channel utilization /255, available admission capacity;
// the 4-byte form of the 802.11e draft is version 1). It is the zero value
// for any other length.
func decodeBSSLoad(b []byte) mdwifi.BSSLoad {
	switch len(b) {
	case 5:
		return mdwifi.BSSLoad{Version: 2, StationCount: binary.LittleEndian.Uint16(b[0:2]), ChannelUtilization: b[2],
			AvailableAdmissionCapacity: binary.LittleEndian.Uint16(b[3:5])}
	case 4:
		return mdwifi.BSSLoad{Version: 1, StationCount: uint16(b[1])<<8 | uint16(b[0]), ChannelUtilization: b[2],
			AvailableAdmissionCapacity: uint16(b[3])}
	}
	return mdwifi.BSSLoad{}
}

// DumpScan runs an nl80211 GET_SCAN dump of the interface with index ifindex
// on c (of family fam): the kernel's cached scan results, no privilege needed.
func DumpScan(c *genetlink.Conn, fam genetlink.Family, ifindex int) ([]ScanEntry, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NL80211_ATTR_IFINDEX, uint32(ifindex))
	data, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	msgs, err := c.Execute(genetlink.Message{
		Header: genetlink.Header{Command: unix.NL80211_CMD_GET_SCAN, Version: fam.Version},
		Data:   data,
	}, fam.ID, netlink.Request|netlink.Dump)
	if err != nil {
		return nil, err
	}
	return ParseScanDump(msgs)
}

// bss turns an entry into mdlayher/wifi's BSS with the SSID escaped
// (escape.String), the form wardprobe labels and compares SSIDs in.
func (e ScanEntry) bss() *mdwifi.BSS {
	hw, _ := net.ParseMAC(e.BSSID)
	b := &mdwifi.BSS{SSID: escape.String([]byte(e.SSID)), BSSID: hw, Frequency: e.FrequencyMHz,
		Signal: int32(math.Round(e.Signal * 100)), LastSeen: e.Age, Load: e.Load, Status: mdwifi.BSSStatusNotAssociated}
	switch e.Status {
	case 0: // NL80211_BSS_STATUS_AUTHENTICATED
		b.Status = mdwifi.BSSStatusAuthenticated
	case StatusAssociated:
		b.Status = mdwifi.BSSStatusAssociated
	}
	return b
}
