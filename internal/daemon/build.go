package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/secret"
	"github.com/wardprobe/wardprobe/probe"
	"github.com/wardprobe/wardprobe/probe/kinds"
)

// Plan is what a config builds to: the config and the jobs that probe its
// targets, with everything run would refuse already refused.
type Plan struct {
	Config *config.Config
	Jobs   []probe.Job
	// Notes are what building found worth saying once (the ICMP socket
	// mode, say), in order.
	Notes []Note
}

// Note is one thing building found worth logging once.
type Note struct {
	Level zerolog.Level
	Msg   string
}

// Build builds cfg: the job of every target (reading the files it names:
// a ca_file, say), through the constructor of its kind, and reads the files
// the push section names. It is the one step
// both `wardprobe run` (at start and on every reload) and `wardprobe
// check-config` take, so that check-config refuses whatever run would.
// Errors are config.Errors, each at its file and line. Credential files are
// read through redact, which then masks their content in every output.
func Build(cfg *config.Config, iface string, log zerolog.Logger, redact *secret.Redactor) (*Plan, error) {
	p := &Plan{Config: cfg}
	var mu sync.Mutex
	env := probe.Env{Interface: iface, Log: log, Secrets: redact, Note: func(level zerolog.Level, msg string) {
		mu.Lock()
		defer mu.Unlock()
		n := Note{level, msg}
		if !slices.Contains(p.Notes, n) {
			p.Notes = append(p.Notes, n)
		}
	}}
	var errs config.Errors
	for _, s := range cfg.Strings() {
		if strings.Contains(s, "://") {
			redact.AddURL(s) // credentials written in a URL are masked wherever they turn up
		}
	}
	for _, sf := range cfg.SecretFiles() {
		if _, err := redact.ReadFile(string(sf.File)); err != nil {
			errs = append(errs, cfg.Errorf(sf.Path, "%v", err))
		}
	}
	for i, t := range cfg.Targets {
		path := fmt.Sprintf("targets[%d]", i)
		kind, ok := kinds.Find(t.Kind)
		if !ok { // validation rules this out
			errs = append(errs, cfg.Errorf(path+".kind", "unknown kind %q", t.Kind))
			continue
		}
		job, err := kind.New(t, env)
		if err != nil {
			var fe *config.FieldError
			if errors.As(err, &fe) {
				errs = append(errs, cfg.Errorf(path+"."+fe.Key, "%v", redact.Error(fe.Err)))
			} else {
				errs = append(errs, cfg.Errorf(path, "%v", redact.Error(err)))
			}
			continue
		}
		spec, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		job.Name, job.Interval, job.Timeout = t.Name, t.Interval.D(), t.Timeout.D()
		// A job whose whole settings, interface and constructor's key are
		// unchanged keeps running across a reload.
		job.Key = fmt.Sprintf("%s|%s|%s", spec, iface, job.Key)
		p.Jobs = append(p.Jobs, job)
	}
	errs = append(errs, buildConnect(cfg)...)
	errs = append(errs, checkPush(cfg, redact)...)
	if len(errs) > 0 {
		return nil, uniqueErrors(errs)
	}
	return p, nil
}

// uniqueErrors drops repeats of an error, keeping the first: a credential
// file is read once with every other and again by its kind's constructor,
// and the same problem should be listed once.
func uniqueErrors(errs config.Errors) config.Errors {
	seen := make(map[config.Error]bool, len(errs))
	out := errs[:0]
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// Check loads the config file at path and builds it, as run would: the
// whole of `wardprobe check-config`. It returns the plan's notes.
func Check(path string, redact *secret.Redactor) ([]Note, error) {
	cfg, err := kinds.Load(path)
	if err != nil {
		return nil, err
	}
	p, err := Build(cfg, cfg.WiFi.Interface, zerolog.Nop(), redact)
	if err != nil {
		return nil, err
	}
	return p.Notes, nil
}
