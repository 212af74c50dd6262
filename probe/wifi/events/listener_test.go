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
	l := NewListener(Config{})
	l.tr.connected, l.tr.bssid = true, apA.String()
	before := time.Now()
	l.sample(before, &querier{c: c, family: 1}, 7, func(Event) {}, false)
	after := time.Now()
	// Heard with an inactive time of 0 at some moment of the query: the
	// midpoint is off by at most half of it.
	if heard := l.tr.lastHeard; heard.Before(before.Add(slow/4)) || heard.After(after) {
		t.Errorf("AP last heard %v after the query began (the query took %v), want about %v (its midpoint)",
			heard.Sub(before).Round(time.Millisecond), after.Sub(before).Round(time.Millisecond), slow/2)
	}
}
