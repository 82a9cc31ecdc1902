// Command echo-worker is a minimal model server honouring the SageMaker
// container contract — `echo-worker serve` listens on
// $SAGEMAKER_BIND_TO_PORT and answers GET /ping and POST /invocations — for
// trying Hearth's bring-your-own-worker path and for its tests.
//
// An invocation answers JSON naming the worker's process id and host name, the content of
// $SM_MODEL_DIR/model.txt (if any) and the request it received. The request
// body may instead be a command:
//
//	sleep <duration>   answer after the duration
//	status <code>      answer with that HTTP status and the body "status <code>"
//	crash              exit at once with status 3, without answering
//	hangup             close the connection without answering
//	alloc <MB>         allocate and touch that many megabytes, and keep them
//	env <NAME>         answer the value of an environment variable
//	log <text>         print the text (which may span lines) to stderr, then
//	                   answer as usual
//
// Once listening it prints "echo-worker: listening on <addr>" to stdout.
//
// At start, ECHO_START_DELAY delays listening, ECHO_EXIT_AT_START=<code>
// exits immediately, ECHO_NEVER_READY keeps /ping at 503, and
// ECHO_LISTEN_HOST sets the address to listen on (default 127.0.0.1; a
// container image sets 0.0.0.0). ECHO_IDLE_TIMEOUT closes kept-alive
// connections idle that long (as model servers do); ECHO_COUNT_FILE gets a
// line for every invocation received; ECHO_CHILD_PID_FILE starts a child
// process that outlives nothing on its own (as a server that forks its real
// server does) and writes its pid there.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
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
	if os.Getenv("ECHO_CHILD") != "" {
		// The forked child: it only lives.
		select {}
	}
	if f := os.Getenv("ECHO_CHILD_PID_FILE"); f != "" {
		child := exec.Command(os.Args[0], "serve")
		child.Env = append(os.Environ(), "ECHO_CHILD=1")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "echo-worker:", err)
			os.Exit(1)
		}
		_ = os.WriteFile(f, []byte(strconv.Itoa(child.Process.Pid)), 0o644)
	}
	hostname, _ := os.Hostname() // a container's id, in a container
	model, _ := os.ReadFile(filepath.Join(os.Getenv("SM_MODEL_DIR"), "model.txt"))
	ready := os.Getenv("ECHO_NEVER_READY") == ""
	var held []byte // what "alloc" allocated
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("POST /invocations", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if f := os.Getenv("ECHO_COUNT_FILE"); f != "" {
			if cf, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
				fmt.Fprintf(cf, "%s\n", body)
				cf.Close()
			}
		}
		cmd, arg, _ := strings.Cut(strings.TrimSpace(string(body)), " ")
		switch cmd {
		case "hangup":
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
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
		case "alloc":
			mb, _ := strconv.Atoi(arg)
			held = make([]byte, mb<<20)
			for i := 0; i < len(held); i += 4096 {
				held[i] = 1
			}
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
			"host":        hostname,
			"model":       string(model),
			"body":        string(body),
			"contentType": r.Header.Get("Content-Type"),
			"accept":      r.Header.Get("Accept"),
		})
	})
	host := os.Getenv("ECHO_LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo-worker:", err)
		os.Exit(1)
	}
	fmt.Println("echo-worker: listening on", ln.Addr())

	srv := &http.Server{Handler: mux}
	if d, err := time.ParseDuration(os.Getenv("ECHO_IDLE_TIMEOUT")); err == nil {
		srv.IdleTimeout = d
	}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "echo-worker:", err)
		os.Exit(1)
	}
}
