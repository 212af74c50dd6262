package icmp

import (
	"encoding/binary"
	"time"
)

// ICMP message types of echo (RFC 792 for IPv4, RFC 4443 for IPv6).
const (
	typeEchoRequest4 = 8
	typeEchoReply4   = 0
	typeEchoRequest6 = 128
	typeEchoReply6   = 129
)

// headerLen is the ICMP echo header: type, code, checksum, identifier, sequence.
const headerLen = 8

// MinPacketSize is the smallest payload: the echo's wall-clock send time,
// the socket's token and the echo's serial, 8 bytes each.
const MinPacketSize = 24

// Payload layout, after the 8-byte header:
//
//	[0:8]   wall-clock send time in Unix nanoseconds, big-endian, as ping and
//	        pro-bing write it: for people reading packet captures only, never
//	        used to time anything (a reply may carry any value here)
//	[8:16]  the socket's random token: a reply without it is not ours
//	[16:24] the echo's 64-bit serial (the wire sequence number is its low 16 bits)
//	[24:]   0xA5 padding up to the packet size
const (
	offWall   = headerLen
	offToken  = headerLen + 8
	offSerial = headerLen + 16
)

// echo builds echo requests into one reused buffer.
type echo struct {
	buf   []byte
	v6    bool
	token uint64
}

// newEcho returns an echo builder for payloads of size bytes (at least
// MinPacketSize), with the identifier id (raw sockets; the kernel sets it on
// datagram sockets).
func newEcho(size int, v6 bool, id uint16, token uint64) *echo {
	size = max(size, MinPacketSize)
	e := &echo{buf: make([]byte, headerLen+size), v6: v6, token: token}
	e.buf[0] = typeEchoRequest4
	if v6 {
		e.buf[0] = typeEchoRequest6
	}
	binary.BigEndian.PutUint16(e.buf[4:], id)
	binary.BigEndian.PutUint64(e.buf[offToken:], token)
	for i := offSerial + 8; i < len(e.buf); i++ {
		e.buf[i] = 0xA5
	}
	return e
}

// request returns the echo request with serial, sent at wall-clock time
// wall. The slice is reused by the next call.
func (e *echo) request(serial uint64, wall time.Time) []byte {
	b := e.buf
	binary.BigEndian.PutUint16(b[6:], uint16(serial))
	binary.BigEndian.PutUint64(b[offWall:], uint64(wall.UnixNano()))
	binary.BigEndian.PutUint64(b[offSerial:], serial)
	b[2], b[3] = 0, 0
	if !e.v6 {
		// The kernel fills in the checksum of datagram (ping) sockets and of
		// every ICMPv6 socket; an IPv4 raw socket sends what it is given.
		binary.BigEndian.PutUint16(b[2:], checksum(b))
	}
	return b
}

// reply is what a received echo reply says.
type reply struct {
	id     uint16
	seq    uint16
	token  uint64
	serial uint64
}

// parseReply parses msg, an ICMP message (any IPv4 header already removed),
// and reports whether it is an echo reply long enough to carry our payload.
func parseReply(msg []byte, v6 bool) (reply, bool) {
	want := byte(typeEchoReply4)
	if v6 {
		want = typeEchoReply6
	}
	if len(msg) < headerLen+MinPacketSize || msg[0] != want || msg[1] != 0 {
		return reply{}, false
	}
	return reply{
		id:     binary.BigEndian.Uint16(msg[4:]),
		seq:    binary.BigEndian.Uint16(msg[6:]),
		token:  binary.BigEndian.Uint64(msg[offToken:]),
		serial: binary.BigEndian.Uint64(msg[offSerial:]),
	}, true
}

// stripIPv4 returns the ICMP message inside an IPv4 packet as a raw socket
// reads it (header included), or nil when b is not one.
func stripIPv4(b []byte) []byte {
	if len(b) < 20 || b[0]>>4 != 4 {
		return nil
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || ihl > len(b) {
		return nil
	}
	return b[ihl:]
}

// checksum is the Internet checksum (RFC 1071) of b.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
