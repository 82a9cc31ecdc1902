// Command hearth is a self-hosted serverless inference server whose API is
// AWS SageMaker's: `hearth serve` runs the SageMaker control plane,
// SageMaker Runtime, Application Auto Scaling and CloudWatch on one port;
// `hearth invoke` and `hearth status` talk to a running server through the
// same API the AWS clients use; `hearth bench` measures endpoints; and
// `hearth worker` holds the model servers the fleet starts.
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
  hearth serve [flags]                 run the server (hearth serve --demo deploys an example)
  hearth invoke ENDPOINT [flags]       invoke an endpoint of a running server
  hearth status [flags]                endpoints, variants, workers and memory of a running server
  hearth bench coldstart|load [flags]  measure endpoints (Hearth's or AWS's)
  hearth worker xgboost|guard          model servers and helpers the server starts itself
  hearth version                       print the version

Start here:
  go run ./cmd/hearth serve --demo     (or build once: go build -o hearth ./cmd/hearth)

Every command takes --help. Flags can also be set with HEARTH_* environment
variables (--keep-warm is HEARTH_KEEP_WARM); a flag on the command line wins.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes a command and returns the exit code: 0, 1 for a failure, 2
// for a bad invocation.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCommand(ctx, args[1:], getenv, stdout, stderr)
	case "invoke":
		err = invokeCommand(ctx, args[1:], getenv, stdout, stderr)
	case "status":
		err = statusCommand(ctx, args[1:], getenv, stdout)
	case "worker":
		err = workerCommand(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, args[1:], benchEnv{stdout: stdout, stderr: stderr, getenv: getenv})
	case "version", "--version":
		err = versionCommand(args[1:], getenv, stdout)
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

func (e usageError) Unwrap() error { return e.error }
