package config

import (
	"os"
	"time"

	"github.com/wardprobe/wardprobe/internal/escape"
)

// Defaults applied where a file leaves a value unset.
const (
	DefaultNotSpotDBM      = -80.0
	DefaultWiFiPoll        = Duration(time.Second)
	DefaultMaxNeighbors    = 32
	DefaultThroughputEvery = Duration(30 * time.Minute)
	DefaultThroughputLimit = Duration(20 * time.Second)
	DefaultThroughputBytes = ByteSize(100 << 20)
	DefaultThroughputDaily = ByteSize(2 << 30)
	DefaultPushInterval    = Duration(15 * time.Second)
	DefaultConnectEvery    = Duration(15 * time.Minute)
	DefaultConnectTimeout  = Duration(30 * time.Second)
	DefaultConnectQuery    = "nhs.uk"
	DefaultPushTimeout     = Duration(30 * time.Second)
	DefaultPushQueueDir    = "/var/lib/wardprobe/queue"
	DefaultPushQueueBytes  = ByteSize(512 << 20)
	DefaultPushQueueAge    = Duration(168 * time.Hour)
	// UnknownLabel fills location labels a config leaves empty.
	UnknownLabel = "unknown"
)

func applyDefaults(c *Config, kinds Kinds) {
	if c.Probe.Name == "" {
		host, _ := os.Hostname()
		c.Probe.Name = escape.Text(host) // a host name is not always UTF-8
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
	if ct := c.WiFi.ConnectTest; ct != nil {
		setDur(&ct.Interval, DefaultConnectEvery)
		setDur(&ct.Timeout, DefaultConnectTimeout)
		if ct.Query == "" {
			ct.Query = DefaultConnectQuery
		}
		if e := ct.EAP; e != nil && e.Phase2 == "" && (e.Method == "peap" || e.Method == "ttls") {
			e.Phase2 = "mschapv2"
		}
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		kind, ok := kinds.find(t.Kind)
		if !ok {
			continue
		}
		setDur(&t.Interval, Duration(kind.DefaultInterval))
		setDur(&t.Timeout, Duration(kind.DefaultTimeout(t.Interval.D())))
		t.Spec.Default()
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
		setDur(&p.Timeout, DefaultPushTimeout)
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
standard: nhs
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
