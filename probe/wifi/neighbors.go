package wifi

import (
	"sort"
	"time"

	mdwifi "github.com/mdlayher/wifi"
)

// MinNeighborHold is the least time a neighbour stays listed after it was
// last heard. The kernel drops a BSS from its cache 30 s after the last scan
// that saw it; supplicants scan every few minutes at most while connected,
// so wardprobe remembers what they found for longer.
const MinNeighborHold = 5 * time.Minute

// neighbors remembers the BSSs of the configured SSIDs.
type neighbors struct {
	byBSSID map[string]Neighbor
}

// update folds in the scan results read at now and forgets BSSs not heard
// for hold. wanted says whether an SSID counts.
func (n *neighbors) update(now time.Time, aps []*mdwifi.BSS, wanted func(string) bool, hold time.Duration) {
	if n.byBSSID == nil {
		n.byBSSID = map[string]Neighbor{}
	}
	for _, ap := range aps {
		if ap == nil || len(ap.BSSID) == 0 || !wanted(ap.SSID) {
			continue
		}
		ch, band := Channel(ap.Frequency)
		nb := Neighbor{
			SSID: ap.SSID, BSSID: ap.BSSID.String(), FrequencyMHz: ap.Frequency, Channel: ch, Band: band,
			Signal:  float64(ap.Signal) / 100, // mBm
			Current: ap.Status == mdwifi.BSSStatusAssociated,
			Seen:    now.Add(-ap.LastSeen),
		}
		if ap.Load.Version != 0 {
			nb.HasLoad = true
			nb.Stations = int(ap.Load.StationCount)
			nb.Utilization = float64(ap.Load.ChannelUtilization) / 255
		}
		if old, ok := n.byBSSID[nb.BSSID]; ok && old.Seen.After(nb.Seen) {
			continue // the kernel's entry is older than what we have
		}
		n.byBSSID[nb.BSSID] = nb
	}
	current := ""
	for _, ap := range aps {
		if ap != nil && ap.Status == mdwifi.BSSStatusAssociated {
			current = ap.BSSID.String()
		}
	}
	for k, nb := range n.byBSSID {
		nb.Current = k == current
		n.byBSSID[k] = nb
		if now.Sub(nb.Seen) > hold || !wanted(nb.SSID) {
			delete(n.byBSSID, k)
		}
	}
}

// list returns at most limit neighbours, the current one first, then strongest first.
func (n *neighbors) list(limit int) []Neighbor {
	out := make([]Neighbor, 0, len(n.byBSSID))
	for _, nb := range n.byBSSID {
		out = append(out, nb)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Current != b.Current {
			return a.Current
		}
		if a.Signal != b.Signal {
			return a.Signal > b.Signal
		}
		return a.BSSID < b.BSSID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (n *neighbors) reset() { n.byBSSID = nil }
