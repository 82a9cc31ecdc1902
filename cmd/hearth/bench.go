package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"
)

const benchUsage = `Usage:
  hearth bench coldstart --endpoints A,B [--idle 10m] [--rounds 5] [flags]
  hearth bench load --endpoint E [--concurrency 1,2,4,8] [--requests 1000] [--output table|csv|json] [flags]

Both work against any SageMaker Runtime endpoint URL — Hearth
(--endpoint-url, default http://127.0.0.1:4327), or AWS itself
(https://runtime.sagemaker.<region>.amazonaws.com) — signing requests with the
usual AWS credential chain (environment, shared files, instance roles).
See hearth bench coldstart --help and hearth bench load --help.
`

const coldStartDescription = `
Times the first request to each endpoint after an idle gap, round after
round: on an on-demand endpoint whose idle gap is longer than the server's
keep-warm it is a cold start; on a provisioned one it is answered warm. A run
takes about rounds × idle: the seed's experiment (--idle 10m --rounds 5) takes
50 minutes; --idle 70s --rounds 1 shows the same in about a minute against a
server started with --keep-warm 60s or less (as --demo is). Requests go
through the AWS SDK for Go, signed, unless --raw sends them as plain HTTP.
`

const loadDescription = `
Sends --requests requests at each concurrency level and reports throughput,
throttles, errors and latency percentiles.
`

// benchEnv is what bench subcommands need from the outside world; tests
// replace sleep.
type benchEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	sleep          func(ctx context.Context, d time.Duration, progress func(elapsed time.Duration)) error
}

func benchCommand(ctx context.Context, args []string, env benchEnv) error {
	if env.sleep == nil {
		env.sleep = sleepWithProgress
	}
	if len(args) == 0 {
		fmt.Fprint(env.stderr, benchUsage)
		return usageError{errors.New("bench: name a benchmark (coldstart or load)")}
	}
	switch args[0] {
	case "coldstart":
		return benchColdStart(ctx, args[1:], env)
	case "load":
		return benchLoad(ctx, args[1:], env)
	case "-h", "--help", "help":
		fmt.Fprint(env.stdout, benchUsage)
		return nil
	}
	if len(args) > 1 && helpAsked(args[:1]) {
		fmt.Fprint(env.stdout, benchUsage)
		return nil
	}
	return usageError{fmt.Errorf("bench: unknown benchmark %q", args[0])}
}

// payloadFlags are the server and the request every benchmark sends.
type payloadFlags struct {
	clientFlags
	contentType, accept, body, bodyFile string
}

func (p *payloadFlags) register(fs *flag.FlagSet) {
	p.clientFlags.register(fs)
	fs.StringVar(&p.contentType, "content-type", "text/csv", "request Content-Type")
	fs.StringVar(&p.accept, "accept", "", "request Accept")
	fs.StringVar(&p.body, "body", "0.5,0.4,0.1,0.2,0.3,0.1,0.2,0.3", "request body")
	fs.StringVar(&p.bodyFile, "body-file", "", "read the request body from this file instead")
}

func (p *payloadFlags) payload() ([]byte, error) {
	if p.bodyFile != "" {
		return os.ReadFile(p.bodyFile)
	}
	return []byte(p.body), nil
}

func (p *payloadFlags) invoke(ctx context.Context, c *sagemakerruntime.Client, endpoint string, body []byte) error {
	in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), Body: body, ContentType: aws.String(p.contentType)}
	if p.accept != "" {
		in.Accept = aws.String(p.accept)
	}
	_, err := c.InvokeEndpoint(ctx, in)
	return err
}

func benchColdStart(ctx context.Context, args []string, env benchEnv) error {
	fs := newFlagSet("hearth bench coldstart", "hearth bench coldstart --endpoints A,B [--idle 10m] [--rounds 5] [flags]", coldStartDescription)
	var p payloadFlags
	p.register(fs)
	endpoints := fs.String("endpoints", "", "comma-separated endpoint names to time (required)")
	idle := new(time.Duration)
	durationFlag(fs, idle, "idle", 10*time.Minute, "idle gap before each round")
	rounds := fs.Int("rounds", 5, "number of rounds")
	raw := fs.Bool("raw", false, "send plain, unsigned HTTP requests (POST /endpoints/NAME/invocations) over one kept-alive connection instead of the AWS SDK's: what the server takes, without the SDK's own time; for a Hearth without --credentials-file")
	if err := parseFlags(fs, args, env.getenv, env.stdout); err != nil {
		return err
	}
	names := splitList(*endpoints)
	if len(names) == 0 || *rounds < 1 || *idle < 0 {
		return usageError{errors.New("bench coldstart: give --endpoints, --rounds ≥ 1 and --idle ≥ 0")}
	}
	body, err := p.payload()
	if err != nil {
		return err
	}
	var invoke func(ctx context.Context, endpoint string) error
	if *raw {
		rc := &rawClient{base: strings.TrimRight(p.endpointURL, "/"), http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: *idle + time.Minute}}}
		defer rc.http.CloseIdleConnections()
		invoke = func(ctx context.Context, endpoint string) error { return rc.invoke(ctx, &p, endpoint, body) }
	} else {
		client, err := p.runtimeClient(ctx)
		if err != nil {
			return err
		}
		invoke = func(ctx context.Context, endpoint string) error { return p.invoke(ctx, client, endpoint, body) }
	}
	if *idle > 0 {
		fmt.Fprintf(env.stderr, "%d rounds of %s idle: this takes about %s (Ctrl-C stops it)\n", *rounds, *idle, time.Duration(*rounds)*(*idle))
	}
	times := make(map[string][]time.Duration, len(names))
	for r := 1; r <= *rounds; r++ {
		if *idle > 0 {
			err := env.sleep(ctx, *idle, func(elapsed time.Duration) {
				fmt.Fprintf(env.stderr, "\rround %d/%d: idle %s %s", r, *rounds, progressBar(elapsed, *idle, 30), elapsed.Truncate(time.Second))
			})
			fmt.Fprintln(env.stderr)
			if err != nil {
				return err
			}
		}
		var line []string
		for _, ep := range names {
			t0 := time.Now()
			err := invoke(ctx, ep)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("round %d, endpoint %s: %w", r, ep, err)
			}
			times[ep] = append(times[ep], d)
			line = append(line, fmt.Sprintf("%s %s", ep, fmtDur(d)))
		}
		fmt.Fprintf(env.stdout, "round %d: %s\n", r, strings.Join(line, "  "))
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "endpoint\tmean\tp50\tmax")
	for _, ep := range names {
		s := summarize(times[ep])
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ep, fmtDur(s.mean), fmtDur(s.p50), fmtDur(s.max))
	}
	return tw.Flush()
}

// rawClient sends InvokeEndpoint as a plain HTTP request, unsigned, over
// kept-alive connections.
type rawClient struct {
	base string
	http *http.Client
}

func (c *rawClient) invoke(ctx context.Context, p *payloadFlags, endpoint string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/endpoints/"+url.PathEscape(endpoint)+"/invocations", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", p.contentType)
	if p.accept != "" {
		req.Header.Set("Accept", p.accept)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

func benchLoad(ctx context.Context, args []string, env benchEnv) error {
	fs := newFlagSet("hearth bench load", "hearth bench load --endpoint E [--concurrency 1,2,4,8] [--requests 1000] [--output table|csv|json] [flags]", loadDescription)
	var p payloadFlags
	p.register(fs)
	endpoint := fs.String("endpoint", "", "endpoint name (required)")
	levels := fs.String("concurrency", "1,2,4,8", "comma-separated concurrency levels")
	requests := fs.Int("requests", 1000, "requests per concurrency level")
	output := fs.String("output", "table", "table, csv or json")
	if err := parseFlags(fs, args, env.getenv, env.stdout); err != nil {
		return err
	}
	if *endpoint == "" || *requests < 1 {
		return usageError{errors.New("bench load: give --endpoint and --requests ≥ 1")}
	}
	var concs []int
	for _, s := range splitList(*levels) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return usageError{fmt.Errorf("bench load: bad concurrency %q", s)}
		}
		concs = append(concs, n)
	}
	if *output != "table" && *output != "csv" && *output != "json" {
		return usageError{fmt.Errorf("bench load: --output %q: want table, csv or json", *output)}
	}
	body, err := p.payload()
	if err != nil {
		return err
	}
	client, err := p.runtimeClient(ctx)
	if err != nil {
		return err
	}
	var results []loadResult
	for _, c := range concs {
		r := runLoad(ctx, c, *requests, func(ctx context.Context) error { return p.invoke(ctx, client, *endpoint, body) })
		results = append(results, r)
		fmt.Fprintf(env.stderr, "concurrency %d: %.0f req/s\n", c, r.Throughput)
	}
	return writeLoad(env.stdout, *output, results)
}

// loadResult is one concurrency level's outcome.
type loadResult struct {
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	OK          int     `json:"ok"`
	Throttled   int     `json:"throttled"`
	Errors      int     `json:"errors"`
	Throughput  float64 `json:"throughput_rps"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
}

// runLoad sends n requests from c goroutines and measures each.
func runLoad(ctx context.Context, c, n int, do func(context.Context) error) loadResult {
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	r := loadResult{Concurrency: c, Requests: n}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				err := do(ctx)
				d := time.Since(t0)
				mu.Lock()
				switch {
				case err == nil:
					r.OK++
					lat = append(lat, d)
				case isThrottle(err):
					r.Throttled++
				default:
					r.Errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.Throughput = float64(r.OK) / time.Since(start).Seconds()
	s := summarize(lat)
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }
	r.P50ms, r.P90ms, r.P99ms, r.MaxMs = ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)
	return r
}

func isThrottle(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "ThrottlingException" || ae.ErrorCode() == "Throttling")
}

func writeLoad(w io.Writer, format string, rs []loadResult) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rs)
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write([]string{"concurrency", "requests", "ok", "throttled", "errors", "throughput_rps", "p50_ms", "p90_ms", "p99_ms", "max_ms"})
		for _, r := range rs {
			cw.Write([]string{strconv.Itoa(r.Concurrency), strconv.Itoa(r.Requests), strconv.Itoa(r.OK), strconv.Itoa(r.Throttled), strconv.Itoa(r.Errors),
				fmt.Sprintf("%.1f", r.Throughput), fmt.Sprint(r.P50ms), fmt.Sprint(r.P90ms), fmt.Sprint(r.P99ms), fmt.Sprint(r.MaxMs)})
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\trequests\tok\tthrottled\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", r.Concurrency, r.Requests, r.OK, r.Throttled, r.Errors, r.Throughput, r.P50ms, r.P90ms, r.P99ms, r.MaxMs)
	}
	return tw.Flush()
}

type summary struct{ mean, p50, p90, p99, max time.Duration }

func summarize(d []time.Duration) summary {
	if len(d) == 0 {
		return summary{}
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	at := func(p float64) time.Duration { return s[int(math.Ceil(p*float64(len(s))))-1] }
	return summary{mean: sum / time.Duration(len(s)), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[len(s)-1]}
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func progressBar(done, total time.Duration, width int) string {
	n := width
	if total > 0 {
		n = int(float64(width) * float64(done) / float64(total))
	}
	n = min(max(n, 0), width)
	return "[" + strings.Repeat("#", n) + strings.Repeat(" ", width-n) + "]"
}

// sleepWithProgress sleeps d, reporting progress every second.
func sleepWithProgress(ctx context.Context, d time.Duration, progress func(time.Duration)) error {
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	progress(0)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			progress(d)
			return nil
		case <-tick.C:
			progress(time.Since(start))
		}
	}
}
