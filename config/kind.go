package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Spec is a target kind's own settings: a pointer to a struct whose fields
// carry yaml tags. It is decoded strictly from the target's keys other than
// the common ones (name, kind, interval, timeout).
type Spec interface {
	// Default fills the values the file left unset.
	Default()
	// Validate reports every problem through c. It runs after Default.
	Validate(c *Checker)
}

// Kind is what the config needs to know of a target kind. Each kind
// package defines its Kind once; the table of kinds (probe/kinds) is passed
// to Load and Parse.
type Kind struct {
	// Name is the value of a target's "kind" key.
	Name string
	// NewSpec returns a new, empty Spec of the kind.
	NewSpec func() Spec
	// DefaultInterval and MinInterval bound the time between probes.
	DefaultInterval, MinInterval time.Duration
	// DefaultTimeout returns the timeout of a target with interval when the
	// file sets none.
	DefaultTimeout func(interval time.Duration) time.Duration
	// TimeoutPerPacket says the timeout bounds one packet, not one probe, and
	// may exceed the interval (icmp).
	TimeoutPerPacket bool
}

// keys returns the YAML keys of the kind's spec.
func (k Kind) keys() []string { return yamlKeys(reflect.TypeOf(k.NewSpec()).Elem()) }

// Kinds is the table of target kinds a config may use.
type Kinds []Kind

// find returns the kind named name.
func (ks Kinds) find(name string) (Kind, bool) {
	for _, k := range ks {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// names lists the kinds in words: "icmp, dns, http or tcp".
func (ks Kinds) names() string {
	n := make([]string, len(ks))
	for i, k := range ks {
		n[i] = k.Name
	}
	if len(n) < 2 {
		return strings.Join(n, "")
	}
	return strings.Join(n[:len(n)-1], ", ") + " or " + n[len(n)-1]
}

// yamlKeys returns the yaml tag names of a struct type's fields.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

// Checker collects the problems a Spec finds, each at its key.
type Checker struct {
	v    *validator
	path string // of the target, "targets[3]"
	seen map[string]bool

	interval, timeout Duration // the target's, defaults filled in
}

// Interval returns the target's interval (its default when unset).
func (c *Checker) Interval() Duration { return c.interval }

// Timeout returns the target's timeout (its default when unset).
func (c *Checker) Timeout() Duration { return c.timeout }

// Interface returns wifi.interface, the interface every probe is bound to
// ("" when unset).
func (c *Checker) Interface() string { return c.v.cfg.WiFi.Interface }

// Errorf reports a problem with key (relative to the target: "address",
// "expect_status[1]").
func (c *Checker) Errorf(key, format string, args ...any) {
	c.v.errorf(c.path+"."+key, format, args...)
}

// Has reports whether key was written in the file.
func (c *Checker) Has(key string) bool { return c.seen[c.path+"."+key] }

// Path returns the dotted path of key, for errors found later (Build).
func (c *Checker) Path(key string) string { return c.path + "." + key }

// Check reports err at key when it is not nil, and returns whether it was nil.
func (c *Checker) Check(key string, err error) bool {
	if err != nil {
		c.Errorf(key, "%v", err)
	}
	return err == nil
}

// FieldError is an error in one key of a target, found when wardprobe
// builds what the config describes (a file that cannot be read, say).
// Build turns it into an Error at the key's line.
type FieldError struct {
	Key string
	Err error
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }
