// Package workerenv decides what environment a model's worker process
// starts with. A worker sees the variables of the SageMaker container
// contract and the model's own Environment, nothing inherited from the
// server; and a model's Environment may not set the variables that would
// turn it into more than configuration: Hearth's own (HEARTH_*), the
// server's PATH, and those that make the dynamic loader, a shell or a
// language runtime load code from elsewhere (LD_PRELOAD, BASH_ENV,
// PYTHONSTARTUP, NODE_OPTIONS, ...).
package workerenv

import (
	"maps"
	"slices"
	"strings"
)

// refusedNames are variables a model's Environment may not set, with why.
var refusedNames = map[string]string{
	"PATH": "the worker's PATH is the server's",
	// Shells.
	"BASH_ENV":       "it makes a shell run a file at start",
	"ENV":            "it makes a shell run a file at start",
	"SHELLOPTS":      "it changes how a shell runs",
	"BASHOPTS":       "it changes how a shell runs",
	"PS4":            "it makes a shell evaluate code",
	"PROMPT_COMMAND": "it makes a shell evaluate code",
	"IFS":            "it changes how a shell splits words",
	// C library.
	"GCONV_PATH":      "it makes the C library load code",
	"GLIBC_TUNABLES":  "it changes how the C library and loader behave",
	"LOCPATH":         "it makes the C library read files from elsewhere",
	"NLSPATH":         "it makes the C library read files from elsewhere",
	"HOSTALIASES":     "it makes the resolver read files from elsewhere",
	"OPENSSL_CONF":    "it makes OpenSSL load code",
	"OPENSSL_ENGINES": "it makes OpenSSL load code",
	// Python.
	"PYTHONSTARTUP":    "it makes Python run a file",
	"PYTHONPATH":       "it makes Python import code from elsewhere",
	"PYTHONHOME":       "it makes Python import code from elsewhere",
	"PYTHONUSERBASE":   "it makes Python import code from elsewhere",
	"PYTHONPLATLIBDIR": "it makes Python import code from elsewhere",
	"PYTHONWARNINGS":   "it makes Python import modules",
	"PYTHONBREAKPOINT": "it makes Python import modules",
	"PYTHONINSPECT":    "it makes Python read code from its input",
	"PYTHONEXECUTABLE": "it changes what program Python runs",
	// Other runtimes.
	"PERL5LIB":          "it makes Perl load code from elsewhere",
	"PERLLIB":           "it makes Perl load code from elsewhere",
	"PERL5OPT":          "it makes Perl load code",
	"PERL5DB":           "it makes Perl run code",
	"RUBYOPT":           "it makes Ruby load code",
	"RUBYLIB":           "it makes Ruby load code from elsewhere",
	"NODE_OPTIONS":      "it makes Node.js load code",
	"NODE_PATH":         "it makes Node.js load code from elsewhere",
	"JAVA_TOOL_OPTIONS": "it makes the JVM load code",
	"_JAVA_OPTIONS":     "it makes the JVM load code",
	"JDK_JAVA_OPTIONS":  "it makes the JVM load code",
	"CLASSPATH":         "it makes the JVM load code from elsewhere",
}

// refusedPrefixes are families of variables refused, with why.
var refusedPrefixes = []struct{ prefix, why string }{
	{"HEARTH_", "HEARTH_* variables configure Hearth itself"},
	{"LD_", "it makes the dynamic loader load code"},
	{"DYLD_", "it makes the dynamic loader load code"},
	{"BASH_FUNC_", "it defines shell functions"},
}

// Refused reports whether a model's Environment may not set name, and if
// so a reason to give the user. Names compare exactly, as the environment
// does.
func Refused(name string) (reason string, refused bool) {
	if why, ok := refusedNames[name]; ok {
		return why, true
	}
	for _, p := range refusedPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.why, true
		}
	}
	return "", false
}

// Build returns a worker's environment as "NAME=value" entries sorted by
// name: every variable of contract (the container contract: port, model
// directory, region, ...), then every variable of model that is neither
// refused nor one contract sets, so a model never overrides the contract.
// Nothing else from the server's own environment is passed on.
func Build(contract, model map[string]string) []string {
	env := make(map[string]string, len(contract)+len(model))
	for k, v := range model {
		if _, refused := Refused(k); !refused {
			env[k] = v
		}
	}
	maps.Copy(env, contract)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}
