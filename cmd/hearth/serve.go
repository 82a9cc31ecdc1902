package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"hearth/internal/artifact"
	"hearth/internal/autoscaling"
	"hearth/internal/awserr"
	"hearth/internal/clock"
	"hearth/internal/cloudwatch"
	"hearth/internal/control"
	"hearth/internal/datadir"
	"hearth/internal/fleet"
	"hearth/internal/gateway"
	"hearth/internal/metrics"
	"hearth/internal/runtime"
	"hearth/internal/runtime/inprocess"
	"hearth/internal/runtime/process"
	"hearth/internal/sigv4"
	"hearth/internal/store"
)

// serveConfig is everything `hearth serve` is told.
type serveConfig struct {
	listen          string
	dataDir         string
	credentialsFile string
	region          string
	accountID       string
	insecure        bool
	keepWarm        time.Duration
	memoryBudget    string
	startupTimeout  time.Duration
	s3EndpointURL   string
	logLevel        string
	metricPeriod    time.Duration
	demo            bool
	builtinRuntime  string
}

// flagSet declares serve's flags; every flag has a HEARTH_* environment
// variable that sets its default.
func (c *serveConfig) flagSet(getenv func(string) string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hearth serve", flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envDur := func(name string, def time.Duration) time.Duration {
		if v := getenv(name); v != "" {
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
		}
		return def
	}
	fs.StringVar(&c.listen, "listen", env("HEARTH_LISTEN", "127.0.0.1:4327"), "address to serve every API on (HEARTH_LISTEN)")
	fs.StringVar(&c.dataDir, "data-dir", env("HEARTH_DATA_DIR", "./hearth-data"), "directory for the database, artifact cache and worker scratch space (HEARTH_DATA_DIR)")
	fs.StringVar(&c.credentialsFile, "credentials-file", env("HEARTH_CREDENTIALS_FILE", ""), "AWS shared-credentials file; when set every request must be SigV4-signed by one of its keys (HEARTH_CREDENTIALS_FILE)")
	fs.StringVar(&c.region, "region", env("HEARTH_REGION", "us-east-1"), "AWS region reported in ARNs (HEARTH_REGION)")
	fs.StringVar(&c.accountID, "account-id", env("HEARTH_ACCOUNT_ID", "000000000000"), "12-digit AWS account id reported in ARNs (HEARTH_ACCOUNT_ID)")
	fs.BoolVar(&c.insecure, "insecure", env("HEARTH_INSECURE", "") == "true", "allow a non-loopback --listen address without --credentials-file (HEARTH_INSECURE=true)")
	fs.DurationVar(&c.keepWarm, "keep-warm", envDur("HEARTH_KEEP_WARM", 5*time.Minute), "how long an idle on-demand worker stays warm (HEARTH_KEEP_WARM)")
	fs.StringVar(&c.memoryBudget, "memory-budget", env("HEARTH_MEMORY_BUDGET", "75%"), "memory all workers may use together: a share of RAM (75%) or a size (16GiB, 8192MiB) (HEARTH_MEMORY_BUDGET)")
	fs.DurationVar(&c.startupTimeout, "startup-timeout", envDur("HEARTH_STARTUP_TIMEOUT", 3*time.Minute), "how long a worker may take to answer its first /ping (HEARTH_STARTUP_TIMEOUT)")
	fs.StringVar(&c.s3EndpointURL, "s3-endpoint-url", env("HEARTH_S3_ENDPOINT_URL", ""), "S3-compatible endpoint for s3:// model artifacts (HEARTH_S3_ENDPOINT_URL)")
	fs.DurationVar(&c.metricPeriod, "metric-period", envDur("HEARTH_METRIC_PERIOD", time.Minute), "finest metric period, and the period auto scaling evaluates on (60s = AWS timing; 1s for demos and tests) (HEARTH_METRIC_PERIOD)")
	fs.BoolVar(&c.demo, "demo", env("HEARTH_DEMO", "") == "true", "deploy the seed example at start: the XGBoost abalone model on an on-demand and a provisioned serverless endpoint (HEARTH_DEMO=true)")
	fs.StringVar(&c.builtinRuntime, "builtin-runtime", env("HEARTH_BUILTIN_RUNTIME", "process"), "where the built-in XGBoost runtime serves models: process (a worker process each) or in-process (inside the server: sub-millisecond cold starts, no loopback hop; memory estimated, not enforced) (HEARTH_BUILTIN_RUNTIME)")
	fs.StringVar(&c.logLevel, "log-level", env("HEARTH_LOG_LEVEL", "info"), "debug, info, warn or error (HEARTH_LOG_LEVEL)")
	return fs
}

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := cfg.flagSet(getenv, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	srv, err := newServer(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return srv.run(ctx, stdout)
}

// server is a wired Hearth.
type server struct {
	cfg      serveConfig
	log      *slog.Logger
	lock     *datadir.Lock
	ln       net.Listener
	store    *store.Store
	fleet    *fleet.Fleet
	control  *control.Service
	scaling  *autoscaling.Service
	metrics  *metrics.Store
	recorder *metrics.Recorder
	targets  scalingTargets
	runtime  *process.Runtime
	guard    *process.Guard
	gateway  *gateway.Gateway
	devMode  bool
	budgetMB int
	dataDir  string
	// lastTick is when the background loop last ran (Unix nanoseconds),
	// for /healthz.
	lastTick atomic.Int64
}

// newServer validates the configuration, then takes the data directory
// (nothing in it is touched before it is locked), listens, opens the
// store and builds the parts. Each step undoes the previous ones if it
// fails, so a refused start changes nothing.
func newServer(ctx context.Context, cfg serveConfig, logger *slog.Logger) (_ *server, err error) {
	// Validate.
	if len(cfg.accountID) != 12 || strings.Trim(cfg.accountID, "0123456789") != "" {
		return nil, usageError{fmt.Errorf("--account-id %q: must be 12 digits", cfg.accountID)}
	}
	host, _, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		return nil, usageError{fmt.Errorf("--listen %q: %w", cfg.listen, err)}
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	if cfg.credentialsFile == "" && !loopback && !cfg.insecure {
		return nil, usageError{fmt.Errorf("--listen %s is not a loopback address: give --credentials-file so requests are authenticated, or --insecure to accept unsigned requests from the network", cfg.listen)}
	}
	switch cfg.metricPeriod {
	case time.Second, 5 * time.Second, 10 * time.Second, 20 * time.Second, 30 * time.Second, time.Minute:
	default:
		return nil, usageError{fmt.Errorf("--metric-period %s: give 1s, 5s, 10s, 20s, 30s or 60s", cfg.metricPeriod)}
	}
	if cfg.builtinRuntime != "process" && cfg.builtinRuntime != "in-process" {
		return nil, usageError{fmt.Errorf("--builtin-runtime %q: give process or in-process", cfg.builtinRuntime)}
	}
	budget, err := parseBudget(cfg.memoryBudget)
	if err != nil {
		return nil, usageError{fmt.Errorf("--memory-budget: %w", err)}
	}
	var auth gateway.Authenticator
	if cfg.credentialsFile != "" {
		creds, err := sigv4.LoadCredentialsFile(cfg.credentialsFile)
		if err != nil {
			return nil, fmt.Errorf("--credentials-file: %w", err)
		}
		v, err := sigv4.NewVerifier(creds, clock.Real{})
		if err != nil {
			return nil, fmt.Errorf("--credentials-file %s: %w", cfg.credentialsFile, err)
		}
		auth = sigv4Auth{v: v}
	}
	dataDir, err := filepath.Abs(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate own executable: %w", err)
	}
	s := &server{cfg: cfg, log: logger, devMode: auth == nil, budgetMB: budget, dataDir: dataDir}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	// Lock: one server per data directory.
	if s.lock, err = datadir.Acquire(dataDir); err != nil {
		return nil, err
	}
	// Listen.
	if s.ln, err = net.Listen("tcp", cfg.listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	// Open the store.
	if s.store, err = store.Open(ctx, dataDir); err != nil {
		return nil, err
	}
	s.store.SetLogger(logger)

	// Build. First clear what a previous run left: worker scratch space,
	// and worker processes still in this data directory's cgroups.
	scratch := filepath.Join(dataDir, "workers")
	_ = os.RemoveAll(scratch)
	cgroups := process.DetectCgroups("hearth-" + shortHash(dataDir))
	if n := cgroups.Sweep(); n > 0 {
		logger.Info("removed workers left by a previous run", "count", n)
	}
	if s.guard, err = process.StartGuard(self, "worker", "guard"); err != nil {
		return nil, err
	}
	// s3:// artifacts come from --s3-endpoint-url (path-style, as
	// self-hosted stores want), or from AWS S3 itself, with the usual
	// credential chain either way.
	s3c, err := artifact.NewS3Client(ctx, artifact.S3Config{EndpointURL: cfg.s3EndpointURL, Region: cfg.region, UsePathStyle: cfg.s3EndpointURL != ""})
	if err != nil {
		return nil, fmt.Errorf("--s3-endpoint-url: %w", err)
	}
	fetcher := artifact.New(artifact.Options{CacheDir: filepath.Join(dataDir, "artifacts"), S3: s3c, Logger: logger})
	// One standby process per built-in runtime makes its cold starts skip
	// process start-up; in-process built-in workers need none.
	s.runtime = &process.Runtime{Cgroups: cgroups, Logger: logger, Standby: 1, Guard: s.guard}
	var builtin runtime.Runtime
	if cfg.builtinRuntime == "in-process" {
		s.runtime.Standby = 0
		builtin = &inprocess.Runtime{Logger: logger}
	}
	if s.metrics, err = metrics.Open(ctx, s.store.DB(), metrics.Options{BasePeriod: cfg.metricPeriod, Logger: logger}); err != nil {
		return nil, err
	}
	census := &workerCounts{}
	s.recorder = metrics.NewRecorder(s.metrics, metrics.RecorderOptions{Workers: census})
	s.fleet = fleet.New(fleet.Options{
		Observer:       fleetMetrics{s.recorder},
		Runtime:        s.runtime,
		Builtin:        builtin,
		Artifacts:      fetchAdapter{fetcher},
		Clock:          clock.Real{},
		Logger:         logger,
		SelfPath:       self,
		KeepWarm:       cfg.keepWarm,
		MemoryBudgetMB: budget,
		StartupTimeout: cfg.startupTimeout,
		ScratchDir:     scratch,
		Region:         cfg.region,
		AccountID:      cfg.accountID,
	})
	s.control = control.New(s.store, s.fleet, control.Options{
		Region: cfg.region, AccountID: cfg.accountID, Logger: logger,
		ValidateModelDataURL: func(u string) error { return artifact.ValidateURL(u) },
	})
	s.fleet.SetReporter(s.control)
	census.f = s.fleet
	s.targets = scalingTargets{control: s.control, wait: cfg.startupTimeout}
	s.scaling = autoscaling.New(s.store, s.targets, autoscaling.Options{
		Region: cfg.region, AccountID: cfg.accountID, Logger: logger, MetricPeriod: cfg.metricPeriod,
	})
	s.gateway = gateway.New(gateway.Options{
		Control:         s.control,
		AutoScaling:     gateway.AutoScalingOps(s.scaling),
		Invoker:         &gateway.Runtime{Fleet: s.fleet, Region: cfg.region, AccountID: cfg.accountID},
		Metrics:         s.recorder.Handler(),
		CloudWatch:      cloudwatch.NewHandler(s.metrics, cloudwatch.Options{Logger: logger, Account: cfg.accountID}),
		CloudWatchMatch: cloudwatch.Match,
		Auth:            auth,
		Logger:          logger,
		Health:          s.health,
	})
	return s, nil
}

// close releases what newServer acquired, in reverse order.
func (s *server) close() {
	if s.control != nil {
		s.control.Close()
	}
	if s.runtime != nil {
		s.runtime.Close()
	}
	if s.guard != nil {
		_ = s.guard.Close()
	}
	if s.store != nil {
		_ = s.store.Close()
	}
	if s.ln != nil {
		_ = s.ln.Close()
	}
	_ = s.lock.Release()
}

// loopStall is how long the background loop (metric periods, auto
// scaling) may go without running before /healthz reports it stuck.
const loopStall = 2 * time.Minute

// health is /healthz's check: the control plane's lock can be taken, and
// the background loop is running.
func (s *server) health() error {
	if !s.control.Healthy(2 * time.Second) {
		return errors.New("the control plane's lock has been held for over 2s")
	}
	if last := s.lastTick.Load(); last != 0 && time.Since(time.Unix(0, last)) > loopStall {
		return fmt.Errorf("the metrics and auto scaling loop has not run for %s", time.Since(time.Unix(0, last)).Round(time.Second))
	}
	return nil
}

// shutdownGrace bounds how long in-flight requests may take to finish on
// SIGTERM before their workers are stopped.
const shutdownGrace = 30 * time.Second

func (s *server) run(ctx context.Context, stdout io.Writer) error {
	defer s.close()
	hs := &http.Server{Handler: s.gateway, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(s.ln) }()
	if err := s.control.Resume(ctx); err != nil {
		return err
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	s.lastTick.Store(time.Now().UnixNano())
	// One loop closes metric periods, then lets auto scaling act on them
	// and fire due scheduled actions.
	go s.scaling.Run(loopCtx, scalingMetrics{store: s.metrics, targets: s.targets}, time.Second, func(now time.Time) {
		s.lastTick.Store(time.Now().UnixNano())
		for _, m := range s.fleet.MemoryUse() {
			s.recorder.Variant(m.Endpoint, m.Variant).MemoryUtilization(now, 100*m.UsedMB/m.SizedMB)
		}
		if err := s.metrics.Flush(loopCtx, now); err != nil && loopCtx.Err() == nil {
			s.log.Warn("metrics flush", "err", err)
		}
	})
	s.gateway.SetReady(true)
	addr := s.ln.Addr().String()
	s.log.Info("hearth serving", "addr", addr, "data_dir", s.dataDir, "region", s.cfg.region,
		"account", s.cfg.accountID, "memory_budget_mb", s.budgetMB, "keep_warm", s.cfg.keepWarm, "pid", os.Getpid())
	if s.devMode {
		s.log.Warn("dev mode: no --credentials-file, so request signatures are not checked; only loopback clients can reach this server")
	}
	fmt.Fprintf(stdout, "Hearth is serving on http://%s\n  aws --endpoint-url http://%s sagemaker list-endpoints\n", addr, addr)
	if s.cfg.demo {
		payload, err := s.deployDemo(ctx)
		if err != nil {
			return fmt.Errorf("--demo: %w", err)
		}
		printDemo(stdout, addr, payload, s.cfg.keepWarm)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop taking requests, let those in flight finish (bounded), stop
	// the workers, then the loops, and flush metrics.
	s.log.Info("shutting down: finishing in-flight requests", "grace", shutdownGrace)
	s.gateway.SetReady(false)
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = hs.Shutdown(shutCtx)
	_ = s.fleet.Close(shutCtx)
	stopLoops()
	if err := s.metrics.Sync(context.Background()); err != nil {
		s.log.Warn("metrics sync", "err", err)
	}
	s.log.Info("stopped")
	return nil
}

// shortHash names a data directory in shared places (cgroups).
func shortHash(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// parseBudget reads "75%", "16GiB", "8192MiB", "8192MB" or "8192" (MB).
func parseBudget(s string) (int, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, err := strconv.ParseFloat(p, 64)
		if err != nil || pct <= 0 || pct > 100 {
			return 0, fmt.Errorf("%q: a percentage must be in (0, 100]", s)
		}
		total, err := totalMemoryMB()
		if err != nil {
			return 0, err
		}
		return int(float64(total) * pct / 100), nil
	}
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1024}, {"GB", 1024}, {"G", 1024}, {"MiB", 1}, {"MB", 1}, {"M", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q: give a share of RAM like 75%% or a size like 16GiB", s)
	}
	return int(n * float64(mult)), nil
}

// totalMemoryMB reads the host's RAM from /proc/meminfo.
func totalMemoryMB() (int, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read host memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, err := strconv.Atoi(f[0])
				if err == nil {
					return kb / 1024, nil
				}
			}
		}
	}
	return 0, errors.New("read host memory: no MemTotal in /proc/meminfo")
}

// fetchAdapter gives the fleet the artifact cache's model directories.
type fetchAdapter struct{ f *artifact.Fetcher }

func (a fetchAdapter) Fetch(ctx context.Context, url string) (string, error) {
	art, err := a.f.Fetch(ctx, url)
	if err != nil {
		return "", err
	}
	return art.Dir, nil
}

// sigv4Auth adapts the SigV4 verifier to the gateway.
type sigv4Auth struct{ v *sigv4.Verifier }

func (a sigv4Auth) Authenticate(r *http.Request, body []byte) error {
	if _, err := a.v.Verify(r, body); err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return &awserr.Error{Code: se.Code, Message: se.Message, Status: se.HTTPStatus(), Fault: "Sender"}
		}
		return &awserr.Error{Code: "InvalidSignatureException", Message: err.Error(), Status: http.StatusForbidden}
	}
	return nil
}
