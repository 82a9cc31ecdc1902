package control

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"hearth/internal/awserr"
	"hearth/internal/workerenv"
)

// localPolicy says which host paths a model may name as its Image or
// ModelDataUrl.
type localPolicy struct {
	restrict bool     // only paths under dirs are allowed
	dirs     []string // absolute, symlinks resolved
}

func newLocalPolicy(opts Options) localPolicy {
	p := localPolicy{restrict: opts.RestrictLocal || len(opts.AllowLocal) > 0}
	for _, d := range opts.AllowLocal {
		if abs, err := filepath.Abs(d); err == nil {
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				abs = real
			}
			p.dirs = append(p.dirs, filepath.Clean(abs))
		}
	}
	return p
}

// check refuses path, named by field, unless it lies under an allowed
// directory once symbolic links are resolved.
func (p localPolicy) check(field, value, path string) error {
	if !p.restrict {
		return nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = filepath.Clean(path) // judged as written; fetching will fail later
	}
	if slices.ContainsFunc(p.dirs, func(dir string) bool { return within(dir, real) }) {
		return nil
	}
	if len(p.dirs) == 0 {
		return awserr.Validation("%s %q names a path on the server's host, which this server does not allow: its operator allows local paths only under directories given with --allow-local DIR.", field, value)
	}
	return awserr.Validation("%s %q is not under a directory this server allows local paths from (given with --allow-local DIR): %s.", field, value, strings.Join(p.dirs, ", "))
}

// within reports whether path is dir or lies below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// localPath returns the host path a ModelDataUrl names, if it names one.
func localPath(u string) (string, bool) {
	switch {
	case strings.HasPrefix(u, "file://"):
		pu, err := url.Parse(u)
		if err != nil {
			return "", false
		}
		return pu.Path, true
	case filepath.IsAbs(u):
		return u, true
	}
	return "", false
}

// checkEnvironment refuses variables a model may not set (see workerenv).
func checkEnvironment(env map[string]string, field string) error {
	names := make([]string, 0, len(env))
	for k := range env {
		if _, refused := workerenv.Refused(k); refused {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	why, _ := workerenv.Refused(names[0])
	return awserr.Validation("%s may not set %s: %s. HEARTH_* variables, PATH and variables that make a loader, shell or language runtime load code are refused.",
		field, strings.Join(quoteAll(names), ", "), why)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// checkRunnable applies the local-path policy and the Environment rules to
// a stored model's container.
func (s *Service) checkRunnable(c ContainerDefinition) error {
	if c.Image != nil {
		if p, ok := localPath(*c.Image); ok {
			if err := s.local.check("Image", *c.Image, p); err != nil {
				return err
			}
		}
	}
	if c.ModelDataUrl != nil {
		if p, ok := localPath(*c.ModelDataUrl); ok {
			if err := s.local.check("ModelDataUrl", *c.ModelDataUrl, p); err != nil {
				return err
			}
		}
	}
	return checkEnvironment(c.Environment, "Environment")
}
