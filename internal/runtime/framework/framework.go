// Package framework runs SageMaker framework models — scikit-learn and
// PyTorch, as the SageMaker Python SDK packs them — on the host's Python,
// without containers. For each framework a fork server (a Python process,
// child of Hearth, that has imported numpy and the framework) forks one
// worker per Start; the worker applies its environment, working directory
// and cgroup, imports the model's inference script, runs model_fn and
// serves the SageMaker container contract with the handler chain and
// defaults of the framework's SageMaker container. Forking skips Python's
// start-up and the framework's import; and each fork server keeps one
// worker forked ahead of need, already in its cgroup, waiting for its
// assignment (environment, limits, working directory), so a cold start
// costs little more than loading the model.
package framework

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"hearth/internal/runtime"
	"hearth/internal/runtime/process"
)

// python holds the fork server, the model server and the modules that
// inference scripts written for the SageMaker containers import.
//
//go:embed all:python
var python embed.FS

// Frameworks Hearth runs, as named in runtime.Spec.Framework.
const (
	SKLearn = "sklearn"
	PyTorch = "pytorch"
)

// requirement is a Python module a framework needs and the Debian package
// that provides it.
type requirement struct{ module, debian string }

var requirements = map[string][]requirement{
	SKLearn: {{"numpy", "python3-numpy"}, {"scipy", "python3-scipy"}, {"sklearn", "python3-sklearn"}, {"joblib", "python3-joblib"}},
	PyTorch: {{"numpy", "python3-numpy"}, {"torch", "python3-torch"}},
}

// Runtime starts framework workers from fork servers, one per framework.
// Close it to stop the fork servers (and so every worker).
type Runtime struct {
	python  string
	cgroups *process.Cgroups
	log     *slog.Logger

	mu      sync.Mutex
	dir     string // where the embedded Python files are written
	servers map[string]*server
	checks  map[string]*check
	closed  bool
}

// Options configure a Runtime.
type Options struct {
	// Python is the interpreter to run (a path, or a name looked up on
	// PATH); "python3" if empty.
	Python string
	// Cgroups, if set, is where workers get cgroups of their own, as in
	// package process.
	Cgroups *process.Cgroups
	Logger  *slog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime. It starts nothing until asked.
func New(opts Options) *Runtime {
	if opts.Python == "" {
		opts.Python = "python3"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runtime{python: opts.Python, cgroups: opts.Cgroups, log: opts.Logger,
		servers: map[string]*server{}, checks: map[string]*check{}}
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("framework runtime closed")

// Start forks a worker for spec.Framework's model in spec.ModelDir.
func (rt *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Process, error) {
	if _, ok := requirements[spec.Framework]; !ok {
		return nil, fmt.Errorf("framework %q: Hearth runs %q and %q models", spec.Framework, SKLearn, PyTorch)
	}
	srv, err := rt.server(ctx, spec.Framework)
	if err != nil {
		return nil, err
	}
	return srv.spawn(ctx, spec)
}

// Prewarm starts the fork server for spec's framework in the background,
// and has it fork a spare worker, so that even the first worker's start
// waits neither for the framework's import nor for a fork.
func (rt *Runtime) Prewarm(spec runtime.Spec) {
	if _, ok := requirements[spec.Framework]; !ok {
		return
	}
	go func() {
		srv, err := rt.server(context.Background(), spec.Framework)
		if err != nil {
			rt.log.Warn("framework fork server failed to start", "framework", spec.Framework, "err", err)
			return
		}
		srv.fillSpare()
	}()
}

// server returns the framework's running fork server, starting one if
// there is none (or the last one died).
func (rt *Runtime) server(ctx context.Context, framework string) (*server, error) {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil, ErrClosed
	}
	srv := rt.servers[framework]
	if srv != nil && srv.dead() {
		srv = nil
	}
	if srv == nil {
		dir, err := rt.extractLocked()
		if err != nil {
			rt.mu.Unlock()
			return nil, err
		}
		srv = startServer(rt.python, dir, framework, rt.cgroups, rt.log)
		rt.servers[framework] = srv
	}
	rt.mu.Unlock()
	select {
	case <-srv.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := srv.startErr; err != nil {
		return nil, err
	}
	return srv, nil
}

// extractLocked writes the embedded Python files to a directory of their
// own, once.
func (rt *Runtime) extractLocked() (string, error) {
	if rt.dir != "" {
		return rt.dir, nil
	}
	dir, err := os.MkdirTemp("", "hearth-framework-")
	if err != nil {
		return "", fmt.Errorf("framework runtime: %w", err)
	}
	err = fs.WalkDir(python, "python", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, strings.TrimPrefix(path, "python"))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := python.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("framework runtime: write Python files: %w", err)
	}
	rt.dir = dir
	return dir, nil
}

// Close stops the fork servers, which kills their workers, and removes
// the Python files.
func (rt *Runtime) Close() error {
	rt.mu.Lock()
	rt.closed = true
	servers := rt.servers
	rt.servers = map[string]*server{}
	dir := rt.dir
	rt.mu.Unlock()
	for _, s := range servers {
		s.close()
	}
	if dir != "" {
		return os.RemoveAll(dir)
	}
	return nil
}

// check is one cached answer of Check.
type check struct {
	once sync.Once
	err  error
}

// Check says whether the runtime's Python can run framework's models: nil,
// or an error naming the missing module and the Debian package that
// provides it. The answer is computed once per framework.
func (rt *Runtime) Check(ctx context.Context, framework string) error {
	reqs, ok := requirements[framework]
	if !ok {
		return fmt.Errorf("framework %q is not one Hearth runs (%s, %s)", framework, SKLearn, PyTorch)
	}
	rt.mu.Lock()
	c := rt.checks[framework]
	if c == nil {
		c = &check{}
		rt.checks[framework] = c
	}
	rt.mu.Unlock()
	c.once.Do(func() { c.err = rt.check(ctx, framework, reqs) })
	return c.err
}

func (rt *Runtime) check(ctx context.Context, framework string, reqs []requirement) error {
	var script strings.Builder
	script.WriteString("import importlib, sys\n")
	for _, r := range reqs {
		fmt.Fprintf(&script, "try:\n    importlib.import_module(%q)\nexcept Exception as e:\n    print(%q, e)\n    sys.exit(3)\n", r.module, r.module)
	}
	cmd := exec.CommandContext(ctx, rt.python, "-c", script.String())
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		return fmt.Errorf("%s models run on Python %q, which cannot be run: %v %s", framework, rt.python, err, strings.TrimSpace(string(out)))
	}
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	mod, why, _ := strings.Cut(line, " ")
	for _, r := range reqs {
		if r.module == mod {
			return fmt.Errorf("%s models need the Python module %s, which %s cannot import (%s): install the Debian package %s, or give hearth serve --python naming a Python that has it", framework, mod, rt.python, why, r.debian)
		}
	}
	return fmt.Errorf("%s models cannot run on %s: %s", framework, rt.python, line)
}
