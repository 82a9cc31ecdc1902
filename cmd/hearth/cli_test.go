package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// Every command's --help prints its usage to stdout, exits 0, and does
// nothing else: no data directory, no server, no worker.
func TestEveryCommandHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"},
		{"serve", "--help"}, {"serve", "-h"}, {"serve", "--demo", "--help"},
		{"invoke", "--help"}, {"invoke", "my-endpoint", "--help"},
		{"status", "--help"},
		{"bench", "--help"}, {"bench", "coldstart", "--help"}, {"bench", "load", "--help"},
		{"worker", "--help"}, {"worker", "xgboost", "--help"}, {"worker", "guard", "--help"},
		{"version", "--help"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			getenv := func(string) string { return "" }
			if code := run(ctx, args, getenv, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "Usage") {
				t.Fatalf("no usage on stdout:\n%s", stdout.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("--help created %v", entries)
			}
		})
	}
}

// serve's help names every flag it accepts with its variable.
func TestServeHelpListsEveryFlagWithItsVariable(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"serve", "--help"}, func(string) string { return "" }, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatal(code)
	}
	var cfg serveConfig
	cfg.flagSet().VisitAll(func(f *flag.Flag) {
		if !strings.Contains(stdout.String(), "--"+f.Name+"  ["+envName(f.Name)+"]") {
			t.Errorf("serve --help does not list --%s with %s", f.Name, envName(f.Name))
		}
	})
}

// A flag and its environment variable are read by the same parser, so they
// accept and refuse the same values.
func TestFlagsAndVariablesFollowOneRule(t *testing.T) {
	parse := func(args []string, env map[string]string) (serveConfig, error) {
		var cfg serveConfig
		err := parseFlags(cfg.flagSet(), args, func(k string) string { return env[k] }, &bytes.Buffer{})
		return cfg, err
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		check func(serveConfig) bool
	}{
		{"seconds as a flag", []string{"--keep-warm", "30"}, nil, func(c serveConfig) bool { return c.keepWarm == 30*time.Second }},
		{"seconds as a variable", nil, map[string]string{"HEARTH_KEEP_WARM": "30"}, func(c serveConfig) bool { return c.keepWarm == 30*time.Second }},
		{"a unit as a variable", nil, map[string]string{"HEARTH_KEEP_WARM": "2m"}, func(c serveConfig) bool { return c.keepWarm == 2*time.Minute }},
		{"1 is true", nil, map[string]string{"HEARTH_INSECURE": "1"}, func(c serveConfig) bool { return c.insecure }},
		{"the flag wins", []string{"--listen", "127.0.0.1:1"}, map[string]string{"HEARTH_LISTEN": "127.0.0.1:2"}, func(c serveConfig) bool { return c.listen == "127.0.0.1:1" }},
		{"a list variable", nil, map[string]string{"HEARTH_ALLOW_LOCAL": "/a:/b"}, func(c serveConfig) bool { return strings.Join(c.allowLocal, ",") == "/a,/b" }},
		{"repeated flags replace the variable", []string{"--allow-local", "/c", "--allow-local", "/d"}, map[string]string{"HEARTH_ALLOW_LOCAL": "/a"}, func(c serveConfig) bool { return strings.Join(c.allowLocal, ",") == "/c,/d" }},
	} {
		cfg, err := parse(tc.args, tc.env)
		if err != nil || !tc.check(cfg) {
			t.Errorf("%s: %+v, %v", tc.name, cfg, err)
		}
	}
	for _, bad := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--keep-warm", "30x"}, nil},
		{nil, map[string]string{"HEARTH_KEEP_WARM": "30x"}},
		{nil, map[string]string{"HEARTH_INSECURE": "yes please"}},
	} {
		_, err := parse(bad.args, bad.env)
		var ue usageError
		if err == nil || !asUsage(err, &ue) {
			t.Errorf("%v %v: err %v, want a usage error", bad.args, bad.env, err)
		}
	}
}

func asUsage(err error, ue *usageError) bool {
	u, ok := err.(usageError)
	*ue = u
	return ok
}

func TestVersionComesFromBuildInfo(t *testing.T) {
	var stdout bytes.Buffer
	if code := run(context.Background(), []string{"version"}, func(string) string { return "" }, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatal(code)
	}
	if s := stdout.String(); !strings.HasPrefix(s, "hearth ") || strings.Contains(s, "dev\n") || !strings.Contains(s, "go1.") {
		t.Fatalf("version %q", s)
	}
}
