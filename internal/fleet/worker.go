package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"hearth"
	"hearth/internal/image"
	"hearth/internal/runtime"
	"hearth/internal/workerenv"
)

var errMemory = errors.New("memory budget exhausted")

// launch starts w's process and waits until it answers /ping.
func (pr *poolRunner) launch(ctx context.Context, w *worker) error {
	f := pr.f
	spec, err := f.spec(pr, w)
	if err != nil {
		return err
	}
	if f.opts.Logs != nil {
		out := f.opts.Logs.WorkerOutput(pr.endpoint, w.name)
		w.mu.Lock()
		w.output = out
		w.mu.Unlock()
		spec.Output = out
	}
	t0 := time.Now()
	w.started = t0
	proc, err := f.runtimeFor(spec).Start(ctx, spec)
	if err != nil {
		return err
	}
	pr.mu.Lock()
	w.proc = proc
	pr.mu.Unlock()
	w.conn.addr = proc.Addr()
	t1 := time.Now()
	if _, ok := proc.(runtime.Invoker); ok {
		// Ready once started: there is no /ping to poll.
		return nil
	}
	if err := f.waitReady(ctx, proc); err != nil {
		return err
	}
	f.log.LogAttrs(ctx, slog.LevelInfo, "worker started", slog.String("endpoint", pr.endpoint), slog.String("variant", w.variant.Name),
		slog.String("worker", w.name), slog.Bool("provisioned", w.warm), slog.Int("pid", proc.Pid()),
		slog.String("log_stream", w.name), slog.Float64("start_ms", ms(t1.Sub(t0))), slog.Float64("ready_ms", ms(time.Since(t1))))
	return nil
}

// spec builds the runtime spec of a worker per the SageMaker container
// contract: `<image> serve`, the model directory, the SageMaker variables
// and the model's environment.
func (f *Fleet) spec(pr *poolRunner, w *worker) (runtime.Spec, error) {
	v := w.variant
	s, err := f.programSpec(v)
	if err != nil {
		return runtime.Spec{}, err
	}
	s.Name = pr.endpoint + "-" + strings.ReplaceAll(w.name, "/", "-")
	s.ModelDir = pr.modelDir
	s.MemoryMB = v.MemoryMB()
	s.CPUWeight = 100 * v.MemoryMB() / 1024
	s.NetworkIsolation = v.Model.NetworkIsolation
	// The contract's variables, then the model's Environment; nothing
	// inherited from the server, and the contract wins (the runtime adds
	// the port and model directory last).
	contract := map[string]string{
		"PATH":                    os.Getenv("PATH"),
		"SAGEMAKER_REGION":        f.opts.Region,
		"AWS_REGION":              f.opts.Region,
		"SAGEMAKER_ENDPOINT_NAME": pr.endpoint,
		"SAGEMAKER_VARIANT_NAME":  v.Name,
	}
	// A worker inside this process has no working directory of its own.
	if !f.inServer(s) {
		scratch := filepath.Join(f.opts.ScratchDir, pr.endpoint+"-"+strconv.FormatInt(pr.generation, 10)+"-"+strings.ReplaceAll(w.name, "/", "-"))
		if err := os.MkdirAll(scratch, 0o700); err != nil {
			return runtime.Spec{}, fmt.Errorf("worker scratch dir: %w", err)
		}
		w.scratch, s.Dir = scratch, scratch
		contract["HOME"], contract["TMPDIR"] = scratch, scratch
	}
	s.Env = workerenv.Build(contract, v.Model.Environment)
	return s, nil
}

// programSpec says what a variant's workers run: the built-in runtime
// (`hearth worker xgboost serve`, which speaks the standby hand-off; run by
// Options.Builtin instead when set), a framework runtime ("sklearn",
// "pytorch") or the image's executable with `serve`.
func (f *Fleet) programSpec(v hearth.Variant) (runtime.Spec, error) {
	ref, err := image.Resolve(v.Model.Image)
	if err != nil {
		return runtime.Spec{}, err
	}
	switch ref.Kind {
	case image.XGBoost:
		return runtime.Spec{Path: f.opts.SelfPath, Args: []string{"worker", "xgboost", "serve"}, Standby: true}, nil
	case image.SKLearn, image.PyTorch:
		return runtime.Spec{Framework: ref.Kind.String()}, nil
	}
	if ref.Kind == image.Container {
		return runtime.Spec{Image: ref.Image, Args: []string{"serve"}}, nil
	}
	return runtime.Spec{Path: ref.Path, Args: []string{"serve"}}, nil
}

// inServer reports whether spec's worker runs inside this process
// (Options.Builtin).
func (f *Fleet) inServer(spec runtime.Spec) bool {
	return spec.Standby && f.opts.Builtin != nil
}

// runtimeFor is the runtime that starts spec: Options.Builtin for the
// built-in runtime's workers when set, else Options.Runtime.
func (f *Fleet) runtimeFor(spec runtime.Spec) runtime.Runtime {
	if f.inServer(spec) {
		return f.opts.Builtin
	}
	return f.opts.Runtime
}

// waitReady polls /ping until 200, the process exits, or ctx ends.
func (f *Fleet) waitReady(ctx context.Context, proc runtime.Process) error {
	// Poll every 250 µs for the first 50 ms — cold starts are measured in
	// milliseconds — then back off to 20 ms.
	delay, polls := 250*time.Microsecond, 0
	url := "http://" + proc.Addr() + "/ping"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := f.client.Do(req.WithContext(pctx))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		pcancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			return nil
		}
		select {
		case <-proc.Done():
			return exitedBeforePing(proc)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("worker did not answer /ping with 200 within %s", f.opts.StartupTimeout)
			}
			return ctx.Err()
		case <-time.After(delay):
		}
		if polls++; polls > 200 && delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

func exitedBeforePing(proc runtime.Process) error {
	reason := fmt.Sprintf("worker exited before answering /ping (%s)", runtime.ExitReason(proc.Err()))
	if out := strings.TrimSpace(proc.Output()); out != "" {
		reason += ": " + lastLines(out, 5)
	}
	return errors.New(reason)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
