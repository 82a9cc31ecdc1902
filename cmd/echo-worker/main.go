// Command echo-worker is a minimal model server honouring the SageMaker
// container contract — `echo-worker serve` listens on
// $SAGEMAKER_BIND_TO_PORT and answers GET /ping and POST /invocations — for
// trying Hearth's bring-your-own-worker path and for its tests.
//
// An invocation answers JSON naming the worker's process id, the content of
// $SM_MODEL_DIR/model.txt (if any) and the request it received. The request
// body may instead be a command:
//
//	sleep <duration>   answer after the duration
//	status <code>      answer with that HTTP status and the body "status <code>"
//	crash              exit at once with status 3, without answering
//	env <NAME>         answer the value of an environment variable
//	log <text>         print the text (which may span lines) to stderr, then
//	                   answer as usual
//
// Once listening it prints "echo-worker: listening on <addr>" to stdout.
//
// At start, ECHO_START_DELAY delays listening, ECHO_EXIT_AT_START=<code>
// exits immediately, and ECHO_NEVER_READY keeps /ping at 503.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: echo-worker serve")
		os.Exit(2)
	}
	if code := os.Getenv("ECHO_EXIT_AT_START"); code != "" {
		n, _ := strconv.Atoi(code)
		fmt.Fprintln(os.Stderr, "echo-worker: exiting at start as asked")
		os.Exit(n)
	}
	if d, err := time.ParseDuration(os.Getenv("ECHO_START_DELAY")); err == nil {
		time.Sleep(d)
	}
	port := os.Getenv("SAGEMAKER_BIND_TO_PORT")
	if port == "" {
		port = "8080"
	}
	model, _ := os.ReadFile(filepath.Join(os.Getenv("SM_MODEL_DIR"), "model.txt"))
	ready := os.Getenv("ECHO_NEVER_READY") == ""
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cmd, arg, _ := strings.Cut(strings.TrimSpace(string(body)), " ")
		switch cmd {
		case "sleep":
			d, _ := time.ParseDuration(arg)
			time.Sleep(d)
		case "status":
			code, _ := strconv.Atoi(arg)
			w.WriteHeader(code)
			fmt.Fprintf(w, "status %d", code)
			return
		case "crash":
			os.Exit(3)
		case "log":
			fmt.Fprintln(os.Stderr, arg)
		case "env":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, os.Getenv(arg))
			return
		}
		if ca := r.Header.Get("X-Amzn-SageMaker-Custom-Attributes"); ca != "" {
			w.Header().Set("X-Amzn-SageMaker-Custom-Attributes", "echo:"+ca)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"pid":         os.Getpid(),
			"model":       string(model),
			"body":        string(body),
			"contentType": r.Header.Get("Content-Type"),
			"accept":      r.Header.Get("Accept"),
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo-worker:", err)
		os.Exit(1)
	}
	fmt.Println("echo-worker: listening on", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "echo-worker:", err)
		os.Exit(1)
	}
}
