package config

import (
	"os"
	"time"
)

// Defaults applied where a file leaves a value unset.
const (
	DefaultStandard        = "voice"
	DefaultNotSpotDBM      = -80.0
	DefaultWiFiPoll        = Duration(time.Second)
	DefaultMaxNeighbors    = 32
	DefaultICMPInterval    = Duration(time.Second)
	DefaultICMPTimeout     = Duration(2 * time.Second)
	DefaultICMPPacketSize  = 56
	DefaultOtherInterval   = Duration(30 * time.Second)
	DefaultOtherTimeout    = Duration(10 * time.Second)
	DefaultMaxBodyBytes    = ByteSize(1 << 20)
	DefaultThroughputEvery = Duration(30 * time.Minute)
	DefaultThroughputLimit = Duration(20 * time.Second)
	DefaultThroughputBytes = ByteSize(100 << 20)
	DefaultThroughputDaily = ByteSize(2 << 30)
	DefaultPushInterval    = Duration(15 * time.Second)
	DefaultPushQueueDir    = "/var/lib/wardprobe/queue"
	DefaultPushQueueBytes  = ByteSize(512 << 20)
	DefaultPushQueueAge    = Duration(168 * time.Hour)
	// UnknownLabel fills location labels a config leaves empty.
	UnknownLabel = "unknown"
)

func f64(v float64) *float64 { return &v }

// BuiltinStandards returns the minimum standards wardprobe knows by name.
// voice follows voice-over-Wi-Fi design guidance commonly used for clinical
// handsets; data is a looser standard for data-only devices.
func BuiltinStandards() map[string]Standard {
	return map[string]Standard{
		"voice": {SignalDBM: f64(-67), SNRDB: f64(25), SecondAPDBM: f64(-67), LossRatio: f64(0.01), JitterSeconds: f64(0.030)},
		"data":  {SignalDBM: f64(-72), SNRDB: f64(20), LossRatio: f64(0.02)},
	}
}

// ResolveStandard returns the standard named name: a built-in one with any values a
// custom profile of the same name overrides, or a custom one.
func (c *Config) ResolveStandard(name string) (Standard, bool) {
	b, builtin := BuiltinStandards()[name]
	custom, isCustom := c.Standards[name]
	if !builtin && !isCustom {
		return Standard{}, false
	}
	if isCustom {
		for _, p := range []struct{ dst, src **float64 }{
			{&b.SignalDBM, &custom.SignalDBM}, {&b.SNRDB, &custom.SNRDB},
			{&b.SecondAPDBM, &custom.SecondAPDBM}, {&b.LossRatio, &custom.LossRatio},
			{&b.RTTSeconds, &custom.RTTSeconds}, {&b.JitterSeconds, &custom.JitterSeconds},
		} {
			if *p.src != nil {
				*p.dst = *p.src
			}
		}
	}
	return b, true
}

func applyDefaults(c *Config) {
	if c.Probe.Name == "" {
		c.Probe.Name, _ = os.Hostname()
	}
	for _, s := range []*string{&c.Location.Site, &c.Location.Building, &c.Location.Floor, &c.Location.Ward} {
		if *s == "" {
			*s = UnknownLabel
		}
	}
	if c.Standard == "" {
		c.Standard = DefaultStandard
	}
	if c.WiFi.NotSpotDBM == 0 {
		c.WiFi.NotSpotDBM = DefaultNotSpotDBM
	}
	if c.WiFi.PollInterval == 0 {
		c.WiFi.PollInterval = DefaultWiFiPoll
	}
	if c.WiFi.MaxNeighbors == 0 {
		c.WiFi.MaxNeighbors = DefaultMaxNeighbors
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		switch t.Kind {
		case KindICMP:
			setDur(&t.Interval, DefaultICMPInterval)
			setDur(&t.Timeout, DefaultICMPTimeout)
			if t.PacketSize == 0 {
				t.PacketSize = DefaultICMPPacketSize
			}
		default:
			setDur(&t.Interval, DefaultOtherInterval)
			setDur(&t.Timeout, min(DefaultOtherTimeout, t.Interval))
		}
		switch t.Kind {
		case KindDNS:
			if t.RecordType == "" {
				t.RecordType = "A"
			}
			if t.Transport == "" {
				t.Transport = "udp"
			}
		case KindHTTP:
			if t.Method == "" {
				t.Method = "GET"
			}
			if t.MaxBodyBytes == 0 {
				t.MaxBodyBytes = DefaultMaxBodyBytes
			}
			if t.FollowRedirects == nil {
				yes := true
				t.FollowRedirects = &yes
			}
		}
	}
	if tp := c.Throughput; tp != nil {
		if tp.Mode == "" {
			tp.Mode = "onprem"
		}
		setDur(&tp.Interval, DefaultThroughputEvery)
		setDur(&tp.Timeout, DefaultThroughputLimit)
		if tp.MaxBytes == 0 {
			tp.MaxBytes = DefaultThroughputBytes
		}
		if tp.DailyBudget == 0 {
			tp.DailyBudget = DefaultThroughputDaily
		}
	}
	if p := c.Push; p != nil {
		setDur(&p.Interval, DefaultPushInterval)
		if p.QueueDir == "" {
			p.QueueDir = DefaultPushQueueDir
		}
		if p.MaxQueueBytes == 0 {
			p.MaxQueueBytes = DefaultPushQueueBytes
		}
		setDur(&p.MaxQueueAge, DefaultPushQueueAge)
	}
}

func setDur(d *Duration, def Duration) {
	if *d == 0 {
		*d = def
	}
}

// DefaultYAML is the built-in config used when wardprobe runs with no file:
// ping the default gateway every second, resolve a name through the system
// resolver every 30 s, report the first Wi-Fi interface if there is one.
const DefaultYAML = `# wardprobe built-in default config
standard: voice
targets:
  - name: gateway
    kind: icmp
    address: gateway
    interval: 1s
  - name: dns-system
    kind: dns
    query: nhs.uk
    interval: 30s
`

// DefaultFile is the name the built-in config goes by in messages.
const DefaultFile = "(built-in default)"

// Default returns the built-in default config.
func Default() *Config {
	c, err := Parse(DefaultFile, []byte(DefaultYAML))
	if err != nil {
		panic("built-in default config is invalid: " + err.Error()) // a programming error, caught by tests
	}
	return c
}
