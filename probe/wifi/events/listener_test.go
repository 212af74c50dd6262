package events

import (
	"testing"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
)

// A station reading is timed within its query: the kernel reads the
// inactive time while it answers, so a slow query must not put the moment
// the AP was last heard (a roam's start) before the query began.
func TestSampleTimesReadingWithinQuery(t *testing.T) {
	const slow = 300 * time.Millisecond
	c := genltest.Dial(func(genetlink.Message, netlink.Message) ([]genetlink.Message, error) {
		time.Sleep(slow)
		return []genetlink.Message{{Data: stationAttrs(t, 0, 1, true)}}, nil
	})
	defer c.Close()
	for _, tt := range []struct {
		name  string
		asked time.Duration // the now given, before the query
		sync  bool
	}{
		{"timer", 0, false},
		{"after lost events handled late", -time.Second, true},
	} {
		l := NewListener(Config{})
		l.tr.connected, l.tr.bssid = true, apA.String()
		before := time.Now()
		l.sample(before.Add(tt.asked), &querier{c: c, family: 1}, 7, func(Event) {}, tt.sync)
		after := time.Now()
		// Heard with an inactive time of 0 at some moment of the query, which
		// began at or after before and lasted at least slow: its midpoint is
		// at least slow/2 from either end.
		if heard := l.tr.lastHeard; heard.Before(before.Add(slow/2)) || heard.After(after.Add(-slow/2)) {
			t.Errorf("%s: AP last heard %v after the query began (the query took %v), want its midpoint",
				tt.name, heard.Sub(before).Round(time.Millisecond), after.Sub(before).Round(time.Millisecond))
		}
	}
}
