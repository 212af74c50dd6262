package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/inventory"
)

// runInventory is `wardprobe inventory FILE [--out DIR]`: check an estate
// inventory (every error as FILE:LINE: path: message, exit 1) and, with
// --out, generate the probes' configs, file_sd targets, floor plans and
// Ansible inventory into DIR.
func runInventory(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inventory", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wardprobe inventory FILE [--out DIR]")
		fs.PrintDefaults()
	}
	out := fs.String("out", "", "directory to generate into (per-probe configs, file_sd, floor plans, Ansible inventory); without it the inventory is only checked")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) > 0 { // flags may follow FILE
		file := rest[0]
		if err := fs.Parse(rest[1:]); err != nil {
			return 2
		}
		rest = append([]string{file}, fs.Args()...)
	}
	if len(rest) != 1 {
		fs.Usage()
		return 2
	}
	file := rest[0]
	est, err := inventory.Load(file)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e.Error())
			}
		} else {
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
		}
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK: %d probes on %d floors\n", file, len(est.Probes), len(est.Floors))
	if *out == "" {
		return 0
	}
	notes, err := est.Write(*out)
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe inventory: %v\n", err)
		return 1
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "%s: wrote probes/*/wardprobe.yml and default, file_sd/*.json, floorplans.yml, ansible/hosts.yml\n", *out)
	return 0
}
