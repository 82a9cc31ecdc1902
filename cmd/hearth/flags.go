package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Every command parses its flags with parseFlags: the command line first,
// then, for each flag not given there, its environment variable
// (HEARTH_ and the flag's name in capitals, dashes as underscores), read
// by the flag's own parser — one code path, the same rules for both.
// `-h`/`--help` anywhere before `--` prints the command's help to stdout
// and does nothing else.

// envName is the environment variable that sets flag name.
func envName(name string) string {
	return "HEARTH_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// listValue is a repeatable flag; its environment variable holds a list
// separated by the OS's path-list separator.
type listValue struct{ items *[]string }

func (l listValue) String() string {
	if l.items == nil {
		return ""
	}
	return strings.Join(*l.items, string(filepath.ListSeparator))
}

func (l listValue) Set(s string) error {
	*l.items = append(*l.items, s)
	return nil
}

// durationValue is a duration given with a unit ("90s", "5m") or as a
// plain number of seconds ("30").
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string {
	if v.d == nil {
		return ""
	}
	return v.d.String()
}

func (v durationValue) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return errors.New("must not be negative")
		}
		*v.d = time.Duration(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: give seconds (30) or a number with a unit (30s, 5m)", s)
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*v.d = d
	return nil
}

func durationFlag(fs *flag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var(durationValue{p}, name, usage)
}

// helpAsked reports whether args ask for help.
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}

// command describes a command's flag set for its help: usage line and
// description, then the flags with their environment variables.
func newFlagSet(name, usage, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: %s\n\n%s\n", usage, strings.TrimSpace(description))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return
		}
		fmt.Fprintf(out, "\nFlags (each also read from the environment variable named beside it):\n")
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0s" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(out, "  --%s  [%s]%s\n      %s\n", f.Name, envName(f.Name), def, f.Usage)
		})
	}
	return fs
}

// parseFlags parses args, then the environment, into fs. It returns
// flag.ErrHelp after printing help to stdout, and a usageError for bad
// flags or variables.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer) error {
	if helpAsked(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return flag.ErrHelp
	}
	if err := fs.Parse(args); err != nil {
		return usageError{fmt.Errorf("%s: %w (see %s --help)", fs.Name(), err, fs.Name())}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v := getenv(name)
		if given[f.Name] || v == "" {
			return
		}
		vals := []string{v}
		if _, ok := f.Value.(listValue); ok {
			vals = filepath.SplitList(v)
		}
		for _, x := range vals {
			if err := f.Value.Set(x); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", name, v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}
