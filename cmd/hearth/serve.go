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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hearth/internal/artifact"
	"hearth/internal/autoscaling"
	"hearth/internal/clock"
	"hearth/internal/cloudwatch"
	"hearth/internal/control"
	"hearth/internal/datadir"
	"hearth/internal/fleet"
	"hearth/internal/gateway"
	"hearth/internal/logs"
	"hearth/internal/metrics"
	"hearth/internal/runtime"
	"hearth/internal/runtime/docker"
	"hearth/internal/runtime/framework"
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
	logFormat       string
	metricPeriod    time.Duration
	demo            bool
	python          string
	allowLocal      []string
	tokenFile       string
	dockerHost      string
	pull            string
	builtinRuntime  string
}

const serveUsage = "hearth serve [flags]"

const serveDescription = `
Runs Hearth: the SageMaker control plane, SageMaker Runtime (InvokeEndpoint),
Application Auto Scaling and CloudWatch, on one port, with the workers that
serve your models. Point the AWS CLI, boto3 or an AWS SDK at it with
--endpoint-url. Stop it with Ctrl-C or SIGTERM: requests in flight finish,
workers stop, and everything stored in --data-dir stays for the next start.

  hearth serve --demo        deploy the seed's XGBoost example and print
                             commands that invoke it
`

// flagSet declares serve's flags.
func (c *serveConfig) flagSet() *flag.FlagSet {
	fs := newFlagSet("hearth serve", serveUsage, serveDescription)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:4327", "address to serve every API on")
	fs.StringVar(&c.dataDir, "data-dir", "./hearth-data", "directory for the database, artifact cache and worker scratch space (one server per directory)")
	fs.StringVar(&c.credentialsFile, "credentials-file", "", "AWS shared-credentials file; when set every request must be SigV4-signed by one of its keys")
	fs.StringVar(&c.region, "region", "us-east-1", "AWS region reported in ARNs")
	fs.StringVar(&c.accountID, "account-id", "000000000000", "12-digit AWS account id reported in ARNs")
	fs.BoolVar(&c.insecure, "insecure", false, "allow a non-loopback --listen address without --credentials-file")
	durationFlag(fs, &c.keepWarm, "keep-warm", 5*time.Minute, "how long an idle on-demand worker stays warm (seconds, or 90s, 5m)")
	fs.StringVar(&c.memoryBudget, "memory-budget", "75%", "memory all workers may use together: a share of RAM (75%) or a size (16GiB, 8192MiB); provisioned capacity is reserved from it")
	durationFlag(fs, &c.startupTimeout, "startup-timeout", 3*time.Minute, "how long a worker may take to answer its first /ping")
	fs.StringVar(&c.s3EndpointURL, "s3-endpoint-url", "", "S3-compatible endpoint for s3:// model artifacts")
	durationFlag(fs, &c.metricPeriod, "metric-period", time.Minute, "finest metric period, and the period auto scaling evaluates on (60s = AWS timing; 1s for demos and tests)")
	fs.BoolVar(&c.demo, "demo", false, "deploy the seed example at start: the XGBoost abalone model on an on-demand and a provisioned serverless endpoint")
	fs.StringVar(&c.python, "python", "python3", "Python interpreter (path, or name on PATH) for scikit-learn and PyTorch models; it needs the framework installed, e.g. Debian's python3-sklearn, python3-torch")
	fs.Var(listValue{&c.allowLocal}, "allow-local", "directory under which a model's Image may be a local executable and its ModelDataUrl a local path; repeatable (in the variable, a list separated by "+string(filepath.ListSeparator)+"); with --credentials-file no local path is allowed without it")
	fs.StringVar(&c.tokenFile, "metrics-token-file", "", "file holding a bearer token that lets GET /metrics in under --credentials-file, for Prometheus scrapers")
	fs.StringVar(&c.dockerHost, "docker-host", "", "Docker Engine that runs container-image models (default: DOCKER_HOST, else the local socket)")
	fs.StringVar(&c.pull, "pull", "never", "pull a model's container image the engine lacks when an endpoint uses it: never or missing")
	fs.StringVar(&c.builtinRuntime, "builtin-runtime", "process", "where the built-in XGBoost runtime serves models: process (a worker process each) or in-process (inside the server: sub-millisecond cold starts, no loopback hop; memory estimated, not enforced)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "the server's log on stderr: text, or json (one object a line, and nothing else)")
	return fs
}

func serveCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	fs := cfg.flagSet()
	if err := parseFlags(fs, args, getenv, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q (see hearth serve --help)", fs.Arg(0))}
	}
	if cfg.demo && !flagGiven(fs, "keep-warm") && getenv(envName("keep-warm")) == "" {
		// So the demo's printed cold-start bench shows a cold start after
		// a one-minute idle gap rather than five.
		cfg.keepWarm = demoKeepWarm
	}
	followGoRun()
	logOut := newLogWriter(stderr, clock.Real{})
	defer logOut.Close()
	logger, err := newLogger(cfg, logOut)
	if err != nil {
		return err
	}
	// Anything logged through the standard library's log package goes the
	// same way, so that stderr holds only lines of the chosen format.
	slog.SetDefault(logger)
	srv, err := newServer(ctx, cfg, logger)
	if err == nil {
		err = srv.run(ctx, stdout)
	}
	if err != nil {
		logger.Error("hearth serve failed", "err", err)
		return loggedError{err}
	}
	return nil
}

// newLogger builds the server's logger from --log-level and --log-format.
func newLogger(cfg serveConfig, stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return nil, usageError{fmt.Errorf("--log-level: %w", err)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: give text or json", cfg.logFormat)}
}

// flagGiven reports whether flag name was on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// followGoRun makes a server started by `go run` stop when `go run` does:
// otherwise killing `go run` leaves the server running, orphaned.
func followGoRun() {
	ppid := os.Getppid()
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/comm")
	if err != nil || strings.TrimSpace(string(comm)) != "go" {
		return
	}
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if os.Getppid() != ppid {
		// It exited before we asked.
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
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
	alarms   *cloudwatch.Alarms
	metrics  *metrics.Store
	logs     *logs.Store
	recorder *metrics.Recorder
	targets  scalingTargets
	runtime  *process.Runtime
	guard    *process.Guard
	frames   *framework.Runtime
	// containers runs container-image models; nil without a Docker Engine.
	containers *docker.Runtime
	gateway    *gateway.Gateway
	devMode    bool
	budgetMB   int
	// budgetFrom says how budgetMB was derived ("75% of the host's … MB").
	budgetFrom string
	dataDir    string
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
	budget, budgetFrom, err := parseBudgetFrom(cfg.memoryBudget)
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
		auth = gateway.SigV4(v, cfg.region)
	}
	allowLocal, metricsToken, err := securityConfig(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.demo && (auth != nil || len(allowLocal) > 0) {
		// The demo model is written under the data dir by the server itself.
		allowLocal = append(allowLocal, filepath.Join(cfg.dataDir, "demo"))
	}
	dataDir, err := filepath.Abs(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("locate own executable: %w", err)
	}
	s := &server{cfg: cfg, log: logger, devMode: auth == nil, budgetMB: budget, budgetFrom: budgetFrom, dataDir: dataDir}
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
		// In-process built-in workers need no standby process.
		s.runtime.Standby = 0
		builtin = &inprocess.Runtime{Logger: logger}
	}
	// scikit-learn and PyTorch models fork from a fork server per framework.
	s.frames = framework.New(framework.Options{Python: cfg.python, Cgroups: cgroups, Logger: logger})
	if s.containers, err = newContainerRuntime(ctx, cfg, dataDir, logger); err != nil {
		return nil, err
	}
	workers := runtime.Router{Processes: s.runtime, Frameworks: s.frames}
	if s.containers != nil {
		workers.Containers = s.containers
	}
	if s.metrics, err = metrics.Open(ctx, s.store.DB(), metrics.Options{BasePeriod: cfg.metricPeriod, Logger: logger}); err != nil {
		return nil, err
	}
	// Workers' output, as CloudWatch Logs keeps it.
	if s.logs, err = logs.Open(ctx, s.store.DB(), logs.Options{Logger: logger}); err != nil {
		return nil, err
	}
	census := &workerCounts{}
	s.recorder = metrics.NewRecorder(s.metrics, metrics.RecorderOptions{Workers: census})
	s.fleet = fleet.New(fleet.Options{
		Observer:       fleetMetrics{s.recorder},
		Logs:           workerLogs{s.logs},
		Runtime:        workers,
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
	for _, g := range []struct {
		name, help string
		value      func() int
	}{
		{"hearth_memory_budget_megabytes", "The memory all workers may use together (--memory-budget).", s.fleet.MemoryBudgetMB},
		{"hearth_memory_reserved_megabytes", "The part of the budget reserved for provisioned concurrency and instances.", s.fleet.MemoryReservedMB},
		{"hearth_memory_used_megabytes", "The memory held by running workers (their MemorySizeInMB).", s.fleet.MemoryUsedMB},
	} {
		s.recorder.Registry().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: g.name, Help: g.help},
			func() float64 { return float64(g.value()) }))
	}
	s.control = control.New(s.store, s.fleet, control.Options{
		Region: cfg.region, AccountID: cfg.accountID, Logger: logger,
		ValidateModelDataURL: func(u string) error { return artifact.ValidateURL(u) },
		CheckFramework:       s.frames.Check,
		AllowLocal:           allowLocal, RestrictLocal: auth != nil,
		ImageExists: imageExists(s.containers),
	})
	s.fleet.SetReporter(s.control)
	census.f = s.fleet
	s.targets = scalingTargets{control: s.control, wait: cfg.startupTimeout}
	s.alarms = cloudwatch.NewAlarms(s.store, s.metrics, cloudwatch.AlarmOptions{
		Region: cfg.region, Account: cfg.accountID, BasePeriod: cfg.metricPeriod, Logger: logger,
	})
	s.scaling = autoscaling.New(s.store, s.targets, autoscaling.Options{
		Region: cfg.region, AccountID: cfg.accountID, Logger: logger, MetricPeriod: cfg.metricPeriod, Alarms: policyAlarms{s.alarms},
	})
	s.alarms.SetActions(alarmActions{s.scaling})
	s.gateway = gateway.New(gateway.Options{
		Control:         s.control,
		AutoScaling:     gateway.AutoScalingOps(s.scaling),
		Invoker:         &gateway.Runtime{Fleet: s.fleet, Region: cfg.region, AccountID: cfg.accountID},
		Metrics:         s.recorder.Handler(),
		CloudWatch:      cloudwatch.NewHandler(s.metrics, cloudwatch.Options{Logger: logger, Account: cfg.accountID, Alarms: s.alarms}),
		CloudWatchMatch: cloudwatch.Match,
		Logs:            gateway.LogsOps(logs.NewService(s.logs, cfg.region, cfg.accountID)),
		Auth:            auth,
		MetricsToken:    metricsToken,
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
	if s.frames != nil {
		s.frames.Close()
	}
	if s.containers != nil {
		s.containers.Close()
	}
	if s.guard != nil {
		_ = s.guard.Close()
	}
	if s.logs != nil {
		_ = s.logs.Close() // after the workers: their last lines are written
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
	hs := gateway.NewServer(s.gateway, s.log)
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
		if err := s.alarms.Evaluate(loopCtx, now); err != nil && loopCtx.Err() == nil {
			s.log.Warn("alarm evaluation", "err", err)
		}
	})
	s.gateway.SetReady(true)
	addr := s.ln.Addr().String()
	s.log.Info("hearth serving", "addr", addr, "data_dir", s.dataDir, "region", s.cfg.region,
		"account", s.cfg.accountID, "memory_budget_mb", s.budgetMB, "keep_warm", s.cfg.keepWarm, "pid", os.Getpid())
	if s.devMode {
		s.log.Warn("dev mode: no --credentials-file, so request signatures are not checked; only loopback clients can reach this server")
	}
	s.printBanner(stdout, addr)
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

// printBanner says, once, where the server is, where its data goes, how
// much memory its workers may use and why, who may call it, and how to
// stop it — with a command that works pasted into a fresh shell.
func (s *server) printBanner(w io.Writer, addr string) {
	url := "http://" + addr
	auth := "dev mode: any signature is accepted, from loopback only (give --credentials-file to require SigV4)"
	creds := "AWS_ACCESS_KEY_ID=dev AWS_SECRET_ACCESS_KEY=dev "
	if !s.devMode {
		auth = "SigV4: requests must be signed with a key from " + s.cfg.credentialsFile
		creds = "" // the caller's own profile holds a key of that file
	}
	fmt.Fprintf(w, `Hearth is serving on %s (pid %d)
  data:    %s (one server per directory; stop the server and remove it to start afresh)
  memory:  workers may use %d MB together (%s; --memory-budget); provisioned capacity is reserved from it
  auth:    %s
  stop:    Ctrl-C, or kill %d (requests in flight finish first)
  try:     %saws --region %s --endpoint-url %s sagemaker list-endpoints
`, url, os.Getpid(), s.dataDir, s.budgetMB, s.budgetFrom, auth, os.Getpid(), creds, s.cfg.region, url)
}

// shortHash names a data directory in shared places (cgroups).
func shortHash(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// parseBudget reads "75%", "16GiB", "8192MiB", "8192MB" or "8192" (MB).
func parseBudget(s string) (int, error) {
	mb, _, err := parseBudgetFrom(s)
	return mb, err
}

// parseBudgetFrom is parseBudget that also says how the figure was
// derived, for the start-up banner.
func parseBudgetFrom(s string) (int, string, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, err := strconv.ParseFloat(p, 64)
		if err != nil || pct <= 0 || pct > 100 {
			return 0, "", fmt.Errorf("%q: a percentage must be in (0, 100]", s)
		}
		total, err := totalMemoryMB()
		if err != nil {
			return 0, "", err
		}
		return int(float64(total) * pct / 100), fmt.Sprintf("%s of the host's %d MB", s, total), nil
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
	given := s
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || n <= 0 {
		return 0, "", fmt.Errorf("%q: give a share of RAM like 75%% or a size like 16GiB", given)
	}
	return int(n * float64(mult)), "as given", nil
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

// securityConfig checks --allow-local (existing directories, made
// absolute) and reads --metrics-token-file.
func securityConfig(cfg serveConfig) (allowLocal []string, metricsToken string, err error) {
	for _, dir := range cfg.allowLocal {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, "", usageError{fmt.Errorf("--allow-local %q: %w", dir, err)}
		}
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			return nil, "", usageError{fmt.Errorf("--allow-local %q: not a directory", dir)}
		}
		allowLocal = append(allowLocal, abs)
	}
	if cfg.tokenFile != "" {
		b, err := os.ReadFile(cfg.tokenFile)
		if err != nil {
			return nil, "", fmt.Errorf("--metrics-token-file: %w", err)
		}
		metricsToken = strings.TrimSpace(string(b))
		if metricsToken == "" {
			return nil, "", fmt.Errorf("--metrics-token-file %s: the file is empty", cfg.tokenFile)
		}
	}
	return allowLocal, metricsToken, nil
}
