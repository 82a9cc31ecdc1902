package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// versionCommand prints the module's version from its build information:
// the module version for an installed release, else the VCS revision the
// binary was built from (and whether the tree had changes), and the Go
// version.
func versionCommand(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet("hearth version", "hearth version", "Prints the version of this binary, read from its build information.")
	if err := parseFlags(fs, args, getenv, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionString())
	return nil
}

func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "hearth (no build information)"
	}
	v := bi.Main.Version
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	parts := []string{"hearth", v}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		r := "revision " + rev
		if modified {
			r += " with local changes"
		}
		if at != "" {
			r += " (" + at + ")"
		}
		parts = append(parts, r)
	}
	parts = append(parts, bi.GoVersion)
	return strings.Join(parts, " ")
}
