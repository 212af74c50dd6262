package daemon

import (
	"context"

	"github.com/wardprobe/wardprobe/probe/netif"
	"github.com/wardprobe/wardprobe/probe/wifi"
)

func (d *Daemon) runWiFi(ctx context.Context) {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	p := &wifi.Poller{Interface: cfg.WiFi.Interface, Interval: cfg.WiFi.PollInterval.D(), List: netif.WirelessInterfaces}
	var last wifi.Snapshot
	first := true
	p.Run(ctx, func(s wifi.Snapshot) {
		d.exp.SetWiFi(s)
		if first || s.Present != last.Present || s.Connected != last.Connected || s.Interface != last.Interface {
			ev := d.log.Info()
			if !s.Connected {
				ev = d.log.Warn()
			}
			ev.Str("interface", s.Interface).Bool("present", s.Present).Bool("connected", s.Connected).Msg("Wi-Fi: " + s.Detail)
		}
		last, first = s, false
	})
}
