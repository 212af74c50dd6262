package dns

import (
	"fmt"
	"net"
	"strings"

	mdns "github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// Name limits (RFC 1035 section 2.3.4): a name is at most 253 characters
// written without its final dot (255 octets on the wire), a label at most 63.
const (
	MaxNameLen  = 253
	MaxLabelLen = 63
)

// idnaProfile converts internationalised names as a browser's lookup does
// (UTS #46 non-transitional mapping, Bidi rule, label checks), but without
// the STD3 rules, so that service labels such as _dmarc and _sip._tcp keep
// their underscore; QueryName checks the ASCII characters itself.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.StrictDomainName(false))

// QueryName returns the name a dns target asks, fully qualified: q in
// ASCII, with internationalised labels in their xn-- (Punycode) form
// (golang.org/x/net/idna). For record type PTR an IP address becomes its
// reverse name (in-addr.arpa or ip6.arpa). It fails when q has an empty
// label, a character other than letters, digits, hyphen and underscore, a
// label over MaxLabelLen or a name over MaxNameLen characters. "." is the
// root.
func QueryName(q, recordType string) (string, error) {
	if q == "." {
		return ".", nil
	}
	if strings.EqualFold(recordType, "PTR") && net.ParseIP(q) != nil {
		return mdns.ReverseAddr(q)
	}
	if q == "" {
		return "", fmt.Errorf("is empty")
	}
	name := strings.TrimSuffix(q, ".")
	if strings.HasPrefix(name, ".") || strings.Contains(name, "..") || name == "" {
		return "", fmt.Errorf("%q has an empty label", q)
	}
	ascii := name
	if !isASCII(name) {
		var err error
		if ascii, err = idnaProfile.ToASCII(name); err != nil {
			return "", fmt.Errorf("%q is not a valid internationalised name: %v", q, err)
		}
	}
	if len(ascii) > MaxNameLen {
		return "", fmt.Errorf("%q is %d characters long in ASCII; a name is at most %d", q, len(ascii), MaxNameLen)
	}
	for _, label := range strings.Split(ascii, ".") {
		switch {
		case label == "":
			return "", fmt.Errorf("%q has an empty label", q)
		case len(label) > MaxLabelLen:
			return "", fmt.Errorf("label %q is %d characters long; a label is at most %d", label, len(label), MaxLabelLen)
		}
		for _, c := range label {
			if !(c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return "", fmt.Errorf("%q holds %q: a name is letters, digits, hyphens and underscores in labels separated by dots", q, c)
			}
		}
	}
	return mdns.Fqdn(ascii), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
