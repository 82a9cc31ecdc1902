// Command hearth is a self-hosted serverless inference server whose API is
// AWS SageMaker's: `hearth serve` runs the SageMaker control plane,
// SageMaker Runtime, Application Auto Scaling and CloudWatch on one port,
// and `hearth worker xgboost` is the built-in XGBoost model server the
// fleet starts for SageMaker XGBoost images.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // scheduled actions name IANA time zones; hosts may lack zoneinfo
)

const usage = `Hearth — serverless inference with the AWS SageMaker API, on your own machine.

Usage:
  hearth serve [flags]          run the server (see hearth serve --help)
  hearth bench coldstart|load   measure an endpoint (see hearth bench --help)
  hearth worker xgboost serve   run the built-in XGBoost model server (started by the fleet)
  hearth version                print the version
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes a subcommand and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCommand(ctx, args[1:], getenv, stdout, stderr)
	case "worker":
		err = workerCommand(ctx, args[1:], getenv, stderr)
	case "bench":
		err = benchCommand(ctx, args[1:], benchEnv{stdout: stdout, stderr: stderr, getenv: getenv})
	case "version", "--version":
		fmt.Fprintln(stdout, "hearth", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "hearth: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var le loggedError
		if !errors.As(err, &le) {
			fmt.Fprintln(stderr, "hearth:", err)
		}
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// loggedError marks an error already written to the server's log, in its
// format, so it is not printed again.
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// usageError marks a bad invocation (exit code 2).
type usageError struct{ error }
