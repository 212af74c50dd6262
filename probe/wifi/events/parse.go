package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Command is an nl80211 command number of the "mlme" multicast group (the
// NL80211_CMD_* values of include/uapi/linux/nl80211.h).
type Command uint8

// The nl80211 MLME commands the listener understands. Every other command of
// the group is ignored.
const (
	CmdAuthenticate   Command = unix.NL80211_CMD_AUTHENTICATE
	CmdAssociate      Command = unix.NL80211_CMD_ASSOCIATE
	CmdDeauthenticate Command = unix.NL80211_CMD_DEAUTHENTICATE
	CmdDisassociate   Command = unix.NL80211_CMD_DISASSOCIATE
	CmdConnect        Command = unix.NL80211_CMD_CONNECT
	CmdRoam           Command = unix.NL80211_CMD_ROAM
	CmdDisconnect     Command = unix.NL80211_CMD_DISCONNECT
	CmdUnprotDeauth   Command = unix.NL80211_CMD_UNPROT_DEAUTHENTICATE
	CmdUnprotDisassoc Command = unix.NL80211_CMD_UNPROT_DISASSOCIATE
	CmdPortAuthorized Command = unix.NL80211_CMD_PORT_AUTHORIZED
	cmdGetStation     Command = unix.NL80211_CMD_GET_STATION
)

// String is the command's name in nl80211.h, lower case.
func (c Command) String() string {
	switch c {
	case CmdAuthenticate:
		return "authenticate"
	case CmdAssociate:
		return "associate"
	case CmdDeauthenticate:
		return "deauthenticate"
	case CmdDisassociate:
		return "disassociate"
	case CmdConnect:
		return "connect"
	case CmdRoam:
		return "roam"
	case CmdDisconnect:
		return "disconnect"
	case CmdUnprotDeauth:
		return "unprot_deauthenticate"
	case CmdUnprotDisassoc:
		return "unprot_disassociate"
	case CmdPortAuthorized:
		return "port_authorized"
	}
	return fmt.Sprintf("cmd_%d", uint8(c))
}

// known reports whether c is a command the listener acts on.
func (c Command) known() bool {
	switch c {
	case CmdAuthenticate, CmdAssociate, CmdDeauthenticate, CmdDisassociate, CmdConnect, CmdRoam,
		CmdDisconnect, CmdUnprotDeauth, CmdUnprotDisassoc, CmdPortAuthorized:
		return true
	}
	return false
}

// Message is one nl80211 MLME event as the kernel sent it. Fields the
// message does not carry are zero; the Has* flags tell a zero value from an
// absent one.
type Message struct {
	Command Command
	// Ifindex is the interface the event is about (NL80211_ATTR_IFINDEX).
	Ifindex int
	// BSSID is the peer (NL80211_ATTR_MAC): the AP connected to, roamed to,
	// authorized with; for deauthenticate/disassociate, the frame's BSSID.
	BSSID net.HardwareAddr
	// Reason is the IEEE 802.11 reason code (NL80211_ATTR_REASON_CODE, or
	// the Reason Code field of a deauthentication/disassociation frame).
	Reason    uint16
	HasReason bool
	// ByAP is NL80211_ATTR_DISCONNECTED_BY_AP: the AP sent the
	// deauthentication or disassociation; otherwise it was generated locally.
	ByAP bool
	// Status is the IEEE 802.11 status code of a connect result
	// (NL80211_ATTR_STATUS_CODE); 0 is success.
	Status    uint16
	HasStatus bool
	// TimedOut is NL80211_ATTR_TIMED_OUT: a connect attempt got no answer.
	TimedOut bool
	// Authorized is NL80211_ATTR_PORT_AUTHORIZED on a connect or roam: the
	// driver did the 4-way handshake, the port is open already.
	Authorized bool
	// SSID is from the SSID element of the (re)association request
	// (NL80211_ATTR_REQ_IE) of a connect or roam, when present.
	SSID string
	// FrequencyMHz is NL80211_ATTR_WIPHY_FREQ, when present.
	FrequencyMHz int
	// Frame holds the management frame of an authenticate, associate,
	// deauthenticate or disassociate event (NL80211_ATTR_FRAME), parsed.
	Frame Frame
}

// Frame is the part of an IEEE 802.11 management frame the listener uses.
type Frame struct {
	// Present is whether the message carried a frame long enough to parse.
	Present bool
	// Subtype is the management frame subtype (IEEE 802.11-2020 Table 9-1):
	// 0 association request, 1 association response, 2 reassociation
	// request, 3 reassociation response, 10 disassociation, 11
	// authentication, 12 deauthentication.
	Subtype uint8
	// DA, SA and BSSID are the address fields.
	DA, SA, BSSID net.HardwareAddr
	// Code is the Reason Code of a deauthentication or disassociation frame,
	// or the Status Code of an authentication or (re)association response.
	Code    uint16
	HasCode bool
}

// Management frame subtypes (IEEE 802.11-2020 Table 9-1).
const (
	subtypeAssocResp   = 1
	subtypeReassocResp = 3
	subtypeDisassoc    = 10
	subtypeAuth        = 11
	subtypeDeauth      = 12
)

// ErrMalformed wraps every error ParseMessage returns for bad data.
var ErrMalformed = errors.New("malformed nl80211 message")

// maxIEs bounds the information elements scanned for the SSID.
const maxIEs = 256

// ParseMessage parses the attributes of one nl80211 MLME event. It never
// panics on bad input: truncated, oversized or mistyped attributes give an
// error wrapping ErrMalformed, unknown attributes are skipped.
func ParseMessage(cmd Command, data []byte) (Message, error) {
	m := Message{Command: cmd}
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var bad error
	fail := func(what string, n int) {
		if bad == nil {
			bad = fmt.Errorf("%w: %s attribute has %d bytes", ErrMalformed, what, n)
		}
	}
	for ad.Next() {
		b := ad.Bytes()
		switch ad.Type() {
		case unix.NL80211_ATTR_IFINDEX:
			if len(b) != 4 {
				fail("ifindex", len(b))
				continue
			}
			m.Ifindex = int(binary.NativeEndian.Uint32(b))
		case unix.NL80211_ATTR_MAC:
			if len(b) != 6 {
				fail("mac", len(b))
				continue
			}
			m.BSSID = net.HardwareAddr(append([]byte(nil), b...))
		case unix.NL80211_ATTR_REASON_CODE:
			if len(b) != 2 {
				fail("reason code", len(b))
				continue
			}
			m.Reason, m.HasReason = binary.NativeEndian.Uint16(b), true
		case unix.NL80211_ATTR_STATUS_CODE:
			if len(b) != 2 {
				fail("status code", len(b))
				continue
			}
			m.Status, m.HasStatus = binary.NativeEndian.Uint16(b), true
		case unix.NL80211_ATTR_DISCONNECTED_BY_AP:
			m.ByAP = true
		case unix.NL80211_ATTR_TIMED_OUT:
			m.TimedOut = true
		case unix.NL80211_ATTR_PORT_AUTHORIZED:
			m.Authorized = true
		case unix.NL80211_ATTR_WIPHY_FREQ:
			if len(b) != 4 {
				fail("frequency", len(b))
				continue
			}
			m.FrequencyMHz = int(binary.NativeEndian.Uint32(b))
		case unix.NL80211_ATTR_REQ_IE:
			if s, ok := ssidElement(b); ok {
				m.SSID = s
			}
		case unix.NL80211_ATTR_FRAME:
			m.Frame = parseFrame(b)
		}
	}
	if err := ad.Err(); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if bad != nil {
		return m, bad
	}
	// Deauthentication and disassociation events carry the reason in the
	// frame only.
	if !m.HasReason && m.Frame.HasCode && (m.Frame.Subtype == subtypeDeauth || m.Frame.Subtype == subtypeDisassoc) {
		m.Reason, m.HasReason = m.Frame.Code, true
	}
	if m.BSSID == nil && m.Frame.Present {
		m.BSSID = m.Frame.BSSID
	}
	return m, nil
}

// parseFrame reads the header of an IEEE 802.11 management frame and the
// reason or status code that follows it (IEEE 802.11-2020 9.3.3).
func parseFrame(b []byte) Frame {
	const hdr = 24
	if len(b) < hdr {
		return Frame{}
	}
	fc := binary.LittleEndian.Uint16(b[0:2])
	if (fc>>2)&3 != 0 { // not a management frame
		return Frame{}
	}
	f := Frame{
		Present: true,
		Subtype: uint8((fc >> 4) & 0xf),
		DA:      net.HardwareAddr(append([]byte(nil), b[4:10]...)),
		SA:      net.HardwareAddr(append([]byte(nil), b[10:16]...)),
		BSSID:   net.HardwareAddr(append([]byte(nil), b[16:22]...)),
	}
	body := b[hdr:]
	switch f.Subtype {
	case subtypeDeauth, subtypeDisassoc:
		if len(body) >= 2 {
			f.Code, f.HasCode = binary.LittleEndian.Uint16(body[0:2]), true
		}
	case subtypeAuth: // algorithm, transaction, status
		if len(body) >= 6 {
			f.Code, f.HasCode = binary.LittleEndian.Uint16(body[4:6]), true
		}
	case subtypeAssocResp, subtypeReassocResp: // capability, status
		if len(body) >= 4 {
			f.Code, f.HasCode = binary.LittleEndian.Uint16(body[2:4]), true
		}
	}
	return f
}

// ssidElement returns the SSID element (ID 0) of a list of information
// elements (IEEE 802.11-2020 9.4.2.1).
func ssidElement(ies []byte) (string, bool) {
	for i := 0; i < maxIEs && len(ies) >= 2; i++ {
		id, n := ies[0], int(ies[1])
		if len(ies) < 2+n {
			return "", false
		}
		if id == 0 {
			if n > 32 {
				return "", false
			}
			return string(ies[2 : 2+n]), true
		}
		ies = ies[2+n:]
	}
	return "", false
}

// Station is one GET_STATION reading of the AP a station interface is
// associated with.
type Station struct {
	BSSID net.HardwareAddr
	// Inactive is how long ago the AP last delivered a unicast frame to the
	// station or acknowledged one of its frames (NL80211_STA_INFO_INACTIVE_TIME).
	Inactive    time.Duration
	HasInactive bool
	// BeaconRx counts the beacons received from the AP
	// (NL80211_STA_INFO_BEACON_RX).
	BeaconRx    uint64
	HasBeaconRx bool
	// TxFailed counts frames to the AP that failed after all retries
	// (NL80211_STA_INFO_TX_FAILED).
	TxFailed    uint32
	HasTxFailed bool
	// Authorized is the NL80211_STA_FLAG_AUTHORIZED flag: keys are installed
	// and the 802.1X port is open, the link carries traffic.
	Authorized    bool
	HasAuthorized bool
}

// ParseStation parses one GET_STATION reply. Like ParseMessage it never
// panics; bad data gives an error wrapping ErrMalformed.
func ParseStation(data []byte) (Station, int, error) {
	var s Station
	ifindex := 0
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return s, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	for ad.Next() {
		b := ad.Bytes()
		switch ad.Type() {
		case unix.NL80211_ATTR_IFINDEX:
			if len(b) != 4 {
				return s, 0, fmt.Errorf("%w: ifindex attribute has %d bytes", ErrMalformed, len(b))
			}
			ifindex = int(binary.NativeEndian.Uint32(b))
		case unix.NL80211_ATTR_MAC:
			if len(b) != 6 {
				return s, 0, fmt.Errorf("%w: mac attribute has %d bytes", ErrMalformed, len(b))
			}
			s.BSSID = net.HardwareAddr(append([]byte(nil), b...))
		case unix.NL80211_ATTR_STA_INFO:
			if err := parseStaInfo(b, &s); err != nil {
				return s, 0, err
			}
		}
	}
	if err := ad.Err(); err != nil {
		return s, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return s, ifindex, nil
}

func parseStaInfo(data []byte, s *Station) error {
	ad, err := netlink.NewAttributeDecoder(data)
	if err != nil {
		return fmt.Errorf("%w: station info: %v", ErrMalformed, err)
	}
	for ad.Next() {
		b := ad.Bytes()
		switch ad.Type() {
		case unix.NL80211_STA_INFO_INACTIVE_TIME:
			if len(b) != 4 {
				return fmt.Errorf("%w: inactive time has %d bytes", ErrMalformed, len(b))
			}
			s.Inactive, s.HasInactive = time.Duration(binary.NativeEndian.Uint32(b))*time.Millisecond, true
		case unix.NL80211_STA_INFO_BEACON_RX:
			if len(b) != 8 {
				return fmt.Errorf("%w: beacon count has %d bytes", ErrMalformed, len(b))
			}
			s.BeaconRx, s.HasBeaconRx = binary.NativeEndian.Uint64(b), true
		case unix.NL80211_STA_INFO_TX_FAILED:
			if len(b) != 4 {
				return fmt.Errorf("%w: tx failed has %d bytes", ErrMalformed, len(b))
			}
			s.TxFailed, s.HasTxFailed = binary.NativeEndian.Uint32(b), true
		case unix.NL80211_STA_INFO_STA_FLAGS: // struct nl80211_sta_flag_update {u32 mask, set}
			if len(b) != 8 {
				return fmt.Errorf("%w: station flags have %d bytes", ErrMalformed, len(b))
			}
			mask, set := binary.NativeEndian.Uint32(b[0:4]), binary.NativeEndian.Uint32(b[4:8])
			const auth = 1 << unix.NL80211_STA_FLAG_AUTHORIZED
			if mask&auth != 0 {
				s.Authorized, s.HasAuthorized = set&auth != 0, true
			}
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("%w: station info: %v", ErrMalformed, err)
	}
	return nil
}

// Link is what the listener reads of an RTM_NEWLINK message: the
// interface and its RFC 2863 operational state (IFLA_OPERSTATE).
type Link struct {
	Ifindex   int
	Operstate uint8
	// HasOperstate is false when the message carries no operational state.
	HasOperstate bool
}

// OperUp is IF_OPER_UP: a supplicant sets it (from IF_OPER_DORMANT) once
// the 4-way handshake is done and the port authorized.
const OperUp = 6

// ParseLink parses the body of an RTM_NEWLINK message (struct ifinfomsg
// and its attributes). Like ParseMessage it never panics.
func ParseLink(data []byte) (Link, error) {
	const ifinfomsgLen = 16
	if len(data) < ifinfomsgLen {
		return Link{}, fmt.Errorf("%w: ifinfomsg of %d bytes", ErrMalformed, len(data))
	}
	l := Link{Ifindex: int(int32(binary.NativeEndian.Uint32(data[4:8])))}
	ad, err := netlink.NewAttributeDecoder(data[ifinfomsgLen:])
	if err != nil {
		return l, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	for ad.Next() {
		if ad.Type() == unix.IFLA_OPERSTATE {
			b := ad.Bytes()
			if len(b) != 1 {
				return l, fmt.Errorf("%w: operstate of %d bytes", ErrMalformed, len(b))
			}
			l.Operstate, l.HasOperstate = b[0], true
		}
	}
	if err := ad.Err(); err != nil {
		return l, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return l, nil
}
