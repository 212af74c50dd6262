// Package config holds wardprobe's configuration types, their defaults, strict
// YAML loading and validation. Every problem in a file is reported, each as
// "FILE:LINE: dotted.path: message".
package config

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is one problem in a config file.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

func (e Error) Error() string {
	path := e.Path
	if path == "" {
		path = "(top)"
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, path, e.Msg)
}

// Errors is every problem found in a config file, in line order.
type Errors []Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// MaxFileBytes bounds the size of a config file.
const MaxFileBytes = 1 << 20

// Load reads, decodes, defaults and validates the config file at path.
// A returned error is either an I/O error or an Errors listing every problem.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, Errors{{File: path, Line: 1, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}}
	}
	return Parse(path, data)
}

// Parse decodes, defaults and validates a config held in data; file names it
// in error messages.
func Parse(file string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{yamlSyntaxError(file, err)}
	}
	d := &decoder{file: file, lines: map[string]int{}}
	cfg := &Config{}
	if root.Kind == 0 {
		d.errorf(1, "", "config is empty")
		return nil, d.errs
	}
	d.decode(&root, reflect.ValueOf(cfg).Elem(), "")
	cfg.File = file
	applyDefaults(cfg)
	v := &validator{file: file, lines: d.lines}
	v.config(cfg)
	errs := append(d.errs, v.errs...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return cfg, nil
}

// yamlSyntaxError turns a yaml.v3 parse error ("yaml: line 3: ...") into an Error.
func yamlSyntaxError(file string, err error) Error {
	msg := err.Error()
	line := 1
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		var n int
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &n); scanErr == nil {
			line = n
			if i := strings.Index(msg, ":"); i >= 0 {
				msg = strings.TrimSpace(msg[i+1:])
			}
		}
	}
	return Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}
