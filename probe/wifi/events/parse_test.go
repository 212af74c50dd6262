package events

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

var (
	apA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0}
	apB = net.HardwareAddr{0x02, 0, 0, 0, 1, 0}
	sta = net.HardwareAddr{0x02, 0, 0, 0, 2, 0}
)

// attrs encodes nl80211 attributes as the kernel would.
func attrs(t testing.TB, f func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	f(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mgmtFrame builds a management frame of subtype st from src to dst in BSS
// bssid, with body.
func mgmtFrame(st uint8, dst, src, bssid net.HardwareAddr, body ...byte) []byte {
	f := make([]byte, 24, 24+len(body))
	binary.LittleEndian.PutUint16(f[0:2], uint16(st)<<4)
	copy(f[4:10], dst)
	copy(f[10:16], src)
	copy(f[16:22], bssid)
	return append(f, body...)
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

func TestParseMessage(t *testing.T) {
	ssidIE := append([]byte{0, 8}, "CLINICAL"...)
	tests := []struct {
		name string
		cmd  Command
		data []byte
		want func(t *testing.T, m Message)
	}{{
		name: "disconnect by the AP",
		cmd:  CmdDisconnect,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_WIPHY, 2)
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Uint16(unix.NL80211_ATTR_REASON_CODE, 5)
			ae.Flag(unix.NL80211_ATTR_DISCONNECTED_BY_AP, true)
		}),
		want: func(t *testing.T, m Message) {
			if m.Ifindex != 7 || !m.HasReason || m.Reason != 5 || !m.ByAP {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "locally generated disconnect",
		cmd:  CmdDisconnect,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Uint16(unix.NL80211_ATTR_REASON_CODE, 3)
		}),
		want: func(t *testing.T, m Message) {
			if m.Reason != 3 || m.ByAP {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "connect with the SSID from the request IEs",
		cmd:  CmdConnect,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Bytes(unix.NL80211_ATTR_MAC, apB)
			ae.Uint16(unix.NL80211_ATTR_STATUS_CODE, 0)
			ae.Bytes(unix.NL80211_ATTR_REQ_IE, append([]byte{1, 2, 0x82, 0x84}, ssidIE...))
			ae.Uint32(unix.NL80211_ATTR_WIPHY_FREQ, 5180)
		}),
		want: func(t *testing.T, m Message) {
			if m.BSSID.String() != apB.String() || m.SSID != "CLINICAL" || !m.HasStatus || m.Status != 0 || m.FrequencyMHz != 5180 {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "connect timed out",
		cmd:  CmdConnect,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Uint16(unix.NL80211_ATTR_STATUS_CODE, 1)
			ae.Flag(unix.NL80211_ATTR_TIMED_OUT, true)
		}),
		want: func(t *testing.T, m Message) {
			if !m.TimedOut || m.Status != 1 {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "deauthentication frame from the AP",
		cmd:  CmdDeauthenticate,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Bytes(unix.NL80211_ATTR_FRAME, mgmtFrame(subtypeDeauth, sta, apA, apA, le16(34)...))
		}),
		want: func(t *testing.T, m Message) {
			if !m.Frame.Present || m.Frame.Subtype != subtypeDeauth || m.Reason != 34 || !m.HasReason ||
				m.BSSID.String() != apA.String() || m.Frame.SA.String() != apA.String() {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "disassociation frame",
		cmd:  CmdDisassociate,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Bytes(unix.NL80211_ATTR_FRAME, mgmtFrame(subtypeDisassoc, sta, apA, apA, le16(8)...))
		}),
		want: func(t *testing.T, m Message) {
			if m.Frame.Subtype != subtypeDisassoc || m.Reason != 8 {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "association response status",
		cmd:  CmdAssociate,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Bytes(unix.NL80211_ATTR_FRAME, mgmtFrame(subtypeAssocResp, sta, apA, apA, 0x11, 0x04, 17, 0, 1, 0))
		}),
		want: func(t *testing.T, m Message) {
			if !m.Frame.HasCode || m.Frame.Code != 17 || m.HasReason {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "port authorized",
		cmd:  CmdPortAuthorized,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Bytes(unix.NL80211_ATTR_MAC, apA)
		}),
		want: func(t *testing.T, m Message) {
			if m.BSSID.String() != apA.String() {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "unknown attributes are skipped",
		cmd:  CmdDisconnect,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(0x3ff, []byte{1, 2, 3})
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 9)
		}),
		want: func(t *testing.T, m Message) {
			if m.Ifindex != 9 {
				t.Errorf("got %+v", m)
			}
		},
	}, {
		name: "a frame too short to parse is ignored",
		cmd:  CmdDeauthenticate,
		data: attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
			ae.Bytes(unix.NL80211_ATTR_FRAME, []byte{0xc0, 0})
		}),
		want: func(t *testing.T, m Message) {
			if m.Frame.Present || m.HasReason {
				t.Errorf("got %+v", m)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMessage(tc.cmd, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			tc.want(t, m)
		})
	}
}

func TestParseMessageRejectsBadData(t *testing.T) {
	tests := map[string][]byte{
		"truncated attribute": {8, 0, 3, 0, 1},
		"ifindex of 2 bytes": attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint16(unix.NL80211_ATTR_IFINDEX, 7)
		}),
		"mac of 5 bytes": attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(unix.NL80211_ATTR_MAC, []byte{1, 2, 3, 4, 5})
		}),
		"reason of 4 bytes": attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(unix.NL80211_ATTR_REASON_CODE, 3)
		}),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseMessage(CmdDisconnect, data); !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v, want ErrMalformed", err)
			}
		})
	}
}

func TestSSIDElement(t *testing.T) {
	tests := []struct {
		ies  []byte
		want string
		ok   bool
	}{
		{append([]byte{0, 4}, "WARD"...), "WARD", true},
		{[]byte{1, 1, 0x82, 0, 2, 'h', 'i'}, "hi", true},
		{[]byte{0, 0}, "", true},                                // hidden SSID
		{[]byte{0, 40}, "", false},                              // longer than the data
		{append([]byte{0, 33}, make([]byte, 33)...), "", false}, // longer than 32
		{[]byte{1}, "", false},
		{nil, "", false},
	}
	for _, tc := range tests {
		got, ok := ssidElement(tc.ies)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ssidElement(%v) = %q %v, want %q %v", tc.ies, got, ok, tc.want, tc.ok)
		}
	}
}

func stationAttrs(t testing.TB, inactiveMS uint32, beacons uint64, authorized bool) []byte {
	info := attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(unix.NL80211_STA_INFO_INACTIVE_TIME, inactiveMS)
		ae.Uint64(unix.NL80211_STA_INFO_BEACON_RX, beacons)
		ae.Uint32(unix.NL80211_STA_INFO_TX_FAILED, 4)
		flags := make([]byte, 8)
		binary.NativeEndian.PutUint32(flags[0:4], 1<<unix.NL80211_STA_FLAG_AUTHORIZED|1<<unix.NL80211_STA_FLAG_WME)
		if authorized {
			binary.NativeEndian.PutUint32(flags[4:8], 1<<unix.NL80211_STA_FLAG_AUTHORIZED)
		}
		ae.Bytes(unix.NL80211_STA_INFO_STA_FLAGS, flags)
	})
	return attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
		ae.Bytes(unix.NL80211_ATTR_MAC, apA)
		ae.Bytes(unix.NL80211_ATTR_STA_INFO, info)
	})
}

func TestParseStation(t *testing.T) {
	for _, auth := range []bool{false, true} {
		s, idx, err := ParseStation(stationAttrs(t, 250, 1234, auth))
		if err != nil {
			t.Fatal(err)
		}
		if idx != 7 || s.BSSID.String() != apA.String() || s.Inactive != 250*time.Millisecond || s.BeaconRx != 1234 ||
			s.TxFailed != 4 || !s.HasAuthorized || s.Authorized != auth {
			t.Errorf("authorized=%v: got %+v (ifindex %d)", auth, s, idx)
		}
	}
	bad := attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(unix.NL80211_ATTR_STA_INFO, attrs(t, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(unix.NL80211_STA_INFO_STA_FLAGS, []byte{1, 2, 3})
		}))
	})
	if _, _, err := ParseStation(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("short station flags: error %v, want ErrMalformed", err)
	}
}

func TestReasonName(t *testing.T) {
	tests := map[uint16]string{
		0: "other", 1: "unspecified_reason", 3: "leaving_network_deauth", 4: "reason_inactivity",
		8: "leaving_network_disassoc", 15: "4way_handshake_timeout", 23: "802_1_x_auth_failed",
		34: "missing_acks", 40: "other", 44: "other", 45: "peerkey_mismatch", 66: "mesh_channel_switch_unspecified",
		67: "other", 65535: "other",
	}
	for code, want := range tests {
		if got := ReasonName(code); got != want {
			t.Errorf("ReasonName(%d) = %q, want %q", code, got, want)
		}
	}
	names := ReasonNames()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("name %q twice", n)
		}
		seen[n] = true
	}
	if len(names) != 62 || names[len(names)-1] != ReasonOther {
		t.Errorf("%d names (last %q), want 61 codes and other", len(names), names[len(names)-1])
	}
}

// FuzzParseMessage checks that no input makes the parsers panic, and that
// what they accept is self-consistent.
func FuzzParseMessage(f *testing.F) {
	f.Add(uint8(CmdDisconnect), attrs(f, func(ae *netlink.AttributeEncoder) {
		ae.Uint32(unix.NL80211_ATTR_IFINDEX, 7)
		ae.Uint16(unix.NL80211_ATTR_REASON_CODE, 5)
		ae.Flag(unix.NL80211_ATTR_DISCONNECTED_BY_AP, true)
	}))
	f.Add(uint8(CmdDeauthenticate), attrs(f, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(unix.NL80211_ATTR_FRAME, mgmtFrame(subtypeDeauth, sta, apA, apA, le16(34)...))
	}))
	f.Add(uint8(CmdConnect), attrs(f, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(unix.NL80211_ATTR_REQ_IE, append([]byte{0, 4}, "WARD"...))
		ae.Bytes(unix.NL80211_ATTR_MAC, apB)
	}))
	f.Add(uint8(cmdGetStation), stationAttrs(f, 10, 20, true))
	f.Add(uint8(0), []byte{})
	f.Add(uint8(0), linkMsg(f, 7, OperUp))
	f.Fuzz(func(t *testing.T, cmd uint8, data []byte) {
		if lk, err := ParseLink(data); err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("link error %v does not wrap ErrMalformed", err)
		} else if err == nil {
			NewTracker(Config{Interface: "wlan0"}).Operstate(time.Unix(1, 0), lk)
		}
		m, err := ParseMessage(Command(cmd), data)
		if err == nil {
			if m.BSSID != nil && len(m.BSSID) != 6 {
				t.Errorf("BSSID of %d bytes", len(m.BSSID))
			}
			if len(m.SSID) > 32 {
				t.Errorf("SSID of %d bytes", len(m.SSID))
			}
			_ = ReasonName(m.Reason)
		} else if !errors.Is(err, ErrMalformed) {
			t.Errorf("error %v does not wrap ErrMalformed", err)
		}
		if _, _, err := ParseStation(data); err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("station error %v does not wrap ErrMalformed", err)
		}
		// Whatever was parsed, the tracker takes it without panicking.
		tr := NewTracker(Config{Interface: "wlan0"})
		now := time.Unix(1000, 0)
		tr.Message(now, m)
		if s, _, err := ParseStation(data); err == nil {
			tr.Sample(now, s)
			tr.Sync(now, s, m.SSID)
		}
		tr.Tick(now.Add(time.Minute))
	})
}

// linkMsg builds an RTM_NEWLINK body for ifindex with an operational state.
func linkMsg(t testing.TB, ifindex int32, oper uint8) []byte {
	hdr := make([]byte, 16)
	binary.NativeEndian.PutUint32(hdr[4:8], uint32(ifindex))
	return append(hdr, attrs(t, func(ae *netlink.AttributeEncoder) {
		ae.String(unix.IFLA_IFNAME, "wlan2")
		ae.Uint8(unix.IFLA_OPERSTATE, oper)
	})...)
}

func TestParseLink(t *testing.T) {
	l, err := ParseLink(linkMsg(t, 7, OperUp))
	if err != nil || l.Ifindex != 7 || !l.HasOperstate || l.Operstate != OperUp {
		t.Errorf("got %+v, %v", l, err)
	}
	for name, data := range map[string][]byte{
		"short header":      {1, 2, 3},
		"operstate 2 bytes": append(make([]byte, 16), attrs(t, func(ae *netlink.AttributeEncoder) { ae.Uint16(unix.IFLA_OPERSTATE, 6) })...),
	} {
		if _, err := ParseLink(data); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}
