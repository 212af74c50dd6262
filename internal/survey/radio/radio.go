// Package radio is the survey's Scanner on a real Wi-Fi interface, through
// the kernel's nl80211 interface: scans are triggered with
// mdlayher/wifi's Scan (NL80211_CMD_TRIGGER_SCAN, which needs
// CAP_NET_ADMIN), and their results read with an nl80211 GET_SCAN dump of
// its own, because mdlayher/wifi's AccessPoints replaces an SSID's
// non-UTF-8 bytes with U+FFFD and the survey must show them as \xNN.
// The link and noise floor come from mdlayher/wifi's StationInfo and
// SurveyInfo, which need no privilege.
package radio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/mdlayher/genetlink"
	mdwifi "github.com/mdlayher/wifi"
	"golang.org/x/sys/unix"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

// Timeouts.
const (
	// ScanTimeout bounds one triggered scan, retries on a busy radio included.
	ScanTimeout = 20 * time.Second
	// CallTimeout bounds one nl80211 dump.
	CallTimeout = 5 * time.Second
	// freshSlack is how much older than the scan an entry may be and still
	// count as heard by it (the kernel's ages are in milliseconds).
	freshSlack = 250 * time.Millisecond
)

// Radio reads one Wi-Fi interface. It is safe for concurrent use; calls are
// serialised.
type Radio struct {
	name string

	mu  sync.Mutex
	c   *mdwifi.Client
	gc  *genetlink.Conn
	fam genetlink.Family
}

// Open opens nl80211 and finds the interface name (the first station
// interface when name is empty).
func Open(name string) (*Radio, error) {
	r := &Radio{name: name}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return nil, err
	}
	ifi, err := r.ifi()
	if err != nil {
		r.close()
		return nil, err
	}
	r.name = ifi.Name
	return r, nil
}

func (r *Radio) open() error {
	if r.c != nil {
		return nil
	}
	c, err := mdwifi.New()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no Wi-Fi interface: the kernel has no nl80211 Wi-Fi stack loaded (%w)", err)
		}
		return fmt.Errorf("opening nl80211: %w", err)
	}
	gc, err := genetlink.Dial(nil)
	if err != nil {
		c.Close()
		return fmt.Errorf("opening generic netlink: %w", err)
	}
	fam, err := gc.GetFamily(unix.NL80211_GENL_NAME)
	if err != nil {
		c.Close()
		gc.Close()
		return fmt.Errorf("finding nl80211: %w", err)
	}
	r.c, r.gc, r.fam = c, gc, fam
	return nil
}

func (r *Radio) close() {
	if r.c != nil {
		_ = r.c.Close()
		_ = r.gc.Close()
		r.c, r.gc = nil, nil
	}
}

// reset closes nl80211 after an error; the next call reopens it.
func (r *Radio) reset() { r.close() }

// Close closes nl80211.
func (r *Radio) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.close()
	return nil
}

// Interface returns the interface's name.
func (r *Radio) Interface() string { return r.name }

// ifi finds the interface.
func (r *Radio) ifi() (*mdwifi.Interface, error) {
	if err := r.open(); err != nil {
		return nil, err
	}
	// The client's deadline persists across calls: set it for each.
	_ = r.c.SetDeadline(time.Now().Add(CallTimeout))
	ifis, err := r.c.Interfaces()
	if err != nil {
		r.reset()
		return nil, fmt.Errorf("listing Wi-Fi interfaces: %w", err)
	}
	var first *mdwifi.Interface
	for _, ifi := range ifis {
		if ifi == nil || ifi.Name == "" {
			continue
		}
		if r.name != "" && ifi.Name == r.name {
			return ifi, nil
		}
		if r.name == "" && ifi.Type == mdwifi.InterfaceTypeStation && (first == nil || ifi.Index < first.Index) {
			first = ifi
		}
	}
	if first != nil {
		return first, nil
	}
	if r.name == "" {
		return nil, errors.New("no Wi-Fi station interface on this machine")
	}
	if _, err := net.InterfaceByName(r.name); err == nil {
		return nil, fmt.Errorf("%s is not a Wi-Fi interface (nl80211 does not know it)", r.name)
	}
	return nil, fmt.Errorf("Wi-Fi interface %s is missing (unplugged, renamed or its driver unloaded)", r.name)
}

func denied(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission)
}

// Scan triggers a scan of every channel and returns what it heard: the
// entries the kernel updated since the scan began. A busy radio (EBUSY,
// e.g. the supplicant scanning) is retried until ScanTimeout.
func (r *Radio) Scan(ctx context.Context) ([]survey.Heard, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ifi, err := r.ifi()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ScanTimeout)
	defer cancel()
	start := time.Now()
	for {
		err = r.c.Scan(ctx, ifi)
		if !errors.Is(err, syscall.EBUSY) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
			continue
		}
		break
	}
	switch {
	case err == nil:
	case denied(err):
		return nil, fmt.Errorf("nl80211 TRIGGER_SCAN on %s: %v: %w", ifi.Name, err, survey.ErrNoPermission)
	case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
		// The results may be there even if the notification was missed
		// (seen under emulation): read them and keep what is fresh.
	default:
		return nil, fmt.Errorf("scan on %s: %w", ifi.Name, err)
	}
	hs, derr := r.dump(ifi)
	if derr != nil {
		return nil, derr
	}
	// The kernel gives each entry's age as of its answer to the dump, not
	// as of the scan's end: count from the scan's start to the dump's end,
	// so that a slow dump does not make fresh entries look older than the
	// scan.
	elapsed := time.Since(start)
	fresh := hs[:0]
	for _, h := range hs {
		if h.Age <= elapsed+freshSlack {
			fresh = append(fresh, h)
		}
	}
	if err != nil && len(fresh) == 0 {
		return nil, fmt.Errorf("scan on %s did not finish within %s: %w", ifi.Name, ScanTimeout, err)
	}
	return fresh, nil
}

// Cached returns the kernel's cached scan results.
func (r *Radio) Cached(context.Context) ([]survey.Heard, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ifi, err := r.ifi()
	if err != nil {
		return nil, err
	}
	return r.dump(ifi)
}

// Link returns the association: the BSS the kernel marks associated, with
// the station's average signal (or last signal).
func (r *Radio) Link(context.Context) (survey.Link, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ifi, err := r.ifi()
	if err != nil {
		return survey.Link{}, false, err
	}
	bss, err := r.dumpBSS(ifi)
	if err != nil {
		return survey.Link{}, false, err
	}
	i := slices.IndexFunc(bss, func(b wifi.ScanEntry) bool { return b.Status == wifi.StatusAssociated })
	if i < 0 {
		return survey.Link{}, false, nil
	}
	b := bss[i]
	l := survey.Link{Interface: ifi.Name, SSID: b.SSID, BSSID: b.BSSID, FrequencyMHz: b.FrequencyMHz, SignalDBM: b.Signal}
	_ = r.c.SetDeadline(time.Now().Add(CallTimeout))
	sts, err := r.c.StationInfo(ifi)
	if err == nil {
		for _, st := range sts {
			if st == nil || st.HardwareAddr.String() != b.BSSID {
				continue
			}
			switch {
			case st.SignalAverage != 0:
				l.SignalDBM = float64(st.SignalAverage)
			case st.Signal != 0:
				l.SignalDBM = float64(st.Signal)
			}
			l.TxBitrate = float64(st.TransmitBitrate)
		}
	}
	return l, true, nil
}

// Noise returns the noise floor per frequency from the survey dump.
func (r *Radio) Noise(context.Context) (map[int]float64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ifi, err := r.ifi()
	if err != nil {
		return nil, err
	}
	_ = r.c.SetDeadline(time.Now().Add(CallTimeout))
	svs, err := r.c.SurveyInfo(ifi)
	if err != nil {
		if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, mdwifi.ErrNotSupported) {
			return map[int]float64{}, nil
		}
		r.reset()
		return nil, fmt.Errorf("survey dump of %s: %w", ifi.Name, err)
	}
	out := map[int]float64{}
	for _, sv := range svs {
		if sv != nil && sv.Noise != 0 && sv.Frequency > 0 {
			out[sv.Frequency] = float64(sv.Noise)
		}
	}
	return out, nil
}

func (r *Radio) dump(ifi *mdwifi.Interface) ([]survey.Heard, error) {
	bss, err := r.dumpBSS(ifi)
	if err != nil {
		return nil, err
	}
	out := make([]survey.Heard, 0, len(bss))
	for _, b := range bss {
		out = append(out, survey.Heard{BSSID: b.BSSID, SSID: b.SSID, FrequencyMHz: b.FrequencyMHz, SignalDBM: b.Signal, Age: b.Age})
	}
	return out, nil
}

// dumpBSS runs an nl80211 GET_SCAN dump.
func (r *Radio) dumpBSS(ifi *mdwifi.Interface) ([]wifi.ScanEntry, error) {
	_ = r.gc.SetDeadline(time.Now().Add(CallTimeout))
	es, err := wifi.DumpScan(r.gc, r.fam, ifi.Index)
	if err != nil {
		r.reset()
		return nil, fmt.Errorf("reading the scan results of %s: %w", ifi.Name, err)
	}
	return es, nil
}
