package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/alecthomas/kingpin/v2"

	"github.com/wardprobe/wardprobe/config"
	"github.com/wardprobe/wardprobe/internal/inventory"
)

// inventoryCommand is `wardprobe inventory FILE [--out DIR]`: check an
// estate inventory (every error as FILE:LINE: path: message, exit 1) and,
// with --out, generate the probes' configs, file_sd targets, floor plans and
// Ansible inventory into DIR.
func inventoryCommand(app *kingpin.Application, stdout, stderr io.Writer) command {
	cmd := app.Command("inventory", "Check an estate inventory (sites, buildings, floors, wards and probes) and, with --out, "+
		"generate each probe's config, Prometheus file_sd targets, the floor plans and an Ansible inventory.")
	fileArg := cmd.Arg("file", "The inventory file.").Required().String()
	out := cmd.Flag("out", "Directory to generate into; without it the inventory is only checked.").PlaceHolder("DIR").String()
	return command{cmd, func() int { return runInventory(*fileArg, *out, stdout, stderr) }}
}

// runInventory checks file and generates into out ("" to only check).
func runInventory(file, out string, stdout, stderr io.Writer) int {
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
	if out == "" {
		return 0
	}
	notes, err := est.Write(out)
	if err != nil {
		fmt.Fprintf(stderr, "wardprobe inventory: %v\n", err)
		return 1
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "%s: wrote probes/*/wardprobe.yml and default, file_sd/*.json, floorplans.yml, ansible/hosts.yml\n", out)
	return 0
}
