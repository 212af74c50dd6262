package wifi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	mdwifi "github.com/mdlayher/wifi"
	"golang.org/x/sys/unix"
)

// Source is the part of nl80211 the poller uses. *mdwifi.Client satisfies it;
// one Source is kept open for as long as it works.
type Source interface {
	Interfaces() ([]*mdwifi.Interface, error)
	// AccessPoints returns the cached scan results, the associated BSS
	// marked with mdwifi.BSSStatusAssociated.
	AccessPoints(ifi *mdwifi.Interface) ([]*mdwifi.BSS, error)
	StationInfo(ifi *mdwifi.Interface) ([]*mdwifi.StationInfo, error)
	SurveyInfo(ifi *mdwifi.Interface) ([]*mdwifi.SurveyInfo, error)
	// Scan triggers a scan and waits for its results (CAP_NET_ADMIN).
	Scan(ctx context.Context, ifi *mdwifi.Interface) error
	Close() error
}

// Opener opens a Source.
type Opener func() (Source, error)

// OpenNL80211 opens a Source on the kernel's nl80211 generic netlink
// family: mdlayher/wifi for interfaces, stations, survey data and scans,
// and wardprobe's own GET_SCAN dump (DumpScan) for the scan results, so
// that SSIDs keep their bytes.
func OpenNL80211() (Source, error) {
	c, err := mdwifi.New()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no Wi-Fi interface: the kernel has no nl80211 Wi-Fi stack loaded (%w)", err)
		}
		return nil, fmt.Errorf("opening nl80211: %w", err)
	}
	gc, err := genetlink.Dial(nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("opening generic netlink: %w", err)
	}
	fam, err := gc.GetFamily(unix.NL80211_GENL_NAME)
	if err != nil {
		c.Close()
		gc.Close()
		return nil, fmt.Errorf("finding nl80211: %w", err)
	}
	return &nl80211{Client: c, gc: gc, fam: fam}, nil
}

// nl80211 is the production Source.
type nl80211 struct {
	*mdwifi.Client
	gc  *genetlink.Conn
	fam genetlink.Family
}

// AccessPoints returns the cached scan results with their SSIDs escaped.
func (s *nl80211) AccessPoints(ifi *mdwifi.Interface) ([]*mdwifi.BSS, error) {
	es, err := DumpScan(s.gc, s.fam, ifi.Index)
	if err != nil {
		return nil, fmt.Errorf("reading the scan results of %s: %w", ifi.Name, err)
	}
	out := make([]*mdwifi.BSS, len(es))
	for i, e := range es {
		out[i] = e.bss()
	}
	return out, nil
}

// SetDeadline bounds the calls of both connections.
func (s *nl80211) SetDeadline(t time.Time) error {
	return errors.Join(s.Client.SetDeadline(t), s.gc.SetDeadline(t))
}

// Close closes both connections.
func (s *nl80211) Close() error { return errors.Join(s.Client.Close(), s.gc.Close()) }

// deadliner is implemented by Sources whose calls can be bounded in time.
type deadliner interface {
	SetDeadline(time.Time) error
}

// isGone reports whether err means the interface went away under a call.
func isGone(err error) bool {
	return errors.Is(err, syscall.ENODEV) || errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT)
}

// isUnsupported reports whether err means the driver does not do this.
func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, mdwifi.ErrNotSupported)
}

// isDenied reports whether err means the process lacks a privilege.
func isDenied(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission)
}
