// Package docker is the container runtime: it runs SageMaker
// bring-your-own-container images through the Docker Engine API, as
// SageMaker runs them — `docker run IMAGE serve`, the server on port 8080
// inside the container, the model artifact mounted read-only at
// /opt/ml/model, a hard memory limit without swap, CPU shares proportional
// to memory, a pids limit, and an internal network without egress for
// network-isolated models.
//
// Every container it makes carries the label LabelManaged, so Sweep can
// remove what a previous run left behind. A standby container per worker
// configuration, started ahead of need and frozen (docker pause) until a
// worker is asked for, makes a cold start an unpause rather than a create
// and start (see standby.go).
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/go-connections/nat"

	"hearth/internal/clock"
	"hearth/internal/runtime"
)

// Labels put on every container Hearth creates.
const (
	// LabelManaged marks a container as Hearth's.
	LabelManaged = "io.hearth.managed"
	// LabelScope says which Hearth server made the container (its
	// Options.Scope: the server's data directory), so that servers sharing
	// an engine sweep only their own.
	LabelScope = "io.hearth.scope"
	// LabelWorker names the worker the container was created for
	// ("standby" for a standby container).
	LabelWorker = "io.hearth.worker"
)

// The SageMaker container contract's fixed places inside the container.
const (
	ContainerPort = 8080
	ModelPath     = "/opt/ml/model"
)

// IsolatedNetwork is the internal bridge network, without egress, that
// network-isolated workers are attached to. The host still reaches them.
const IsolatedNetwork = "hearth-isolated"

// PullPolicy says whether a missing image is pulled.
type PullPolicy string

const (
	// PullNever refuses a model whose image is not in the engine.
	PullNever PullPolicy = "never"
	// PullMissing pulls an image the engine lacks when an endpoint that
	// uses it is created.
	PullMissing PullPolicy = "missing"
)

// ParsePullPolicy reads the --pull flag.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullNever, PullMissing:
		return p, nil
	}
	return "", fmt.Errorf("%q: give never or missing", s)
}

// Options configure a Runtime.
type Options struct {
	// Host is the engine's address (unix:///var/run/docker.sock,
	// tcp://host:2375); empty means DOCKER_HOST, else the local socket.
	Host string
	// Scope tells this server's containers from other servers' on the same
	// engine (Hearth uses its data directory); Sweep removes only these.
	Scope string
	// Pull says whether missing images are pulled.
	Pull PullPolicy
	// PidsLimit caps the processes in each container (default 4096).
	PidsLimit int64
	// Standby keeps a frozen standby container for each worker
	// configuration that has started a worker (see standby.go).
	Standby bool
	// StandbyIdle is how long a standby container is kept once no worker
	// of its configuration runs (default 15 minutes).
	StandbyIdle time.Duration
	// StartupTimeout bounds how long a standby container may take to
	// answer its first /ping (default 3 minutes).
	StartupTimeout time.Duration
	// StopTimeout is the grace period between SIGTERM and SIGKILL when a
	// worker is stopped without a deadline (default 10 seconds).
	StopTimeout time.Duration
	Clock       clock.Clock
	Logger      *slog.Logger
}

// Runtime runs workers as containers of the Docker Engine.
type Runtime struct {
	cli  *client.Client
	opts Options
	log  *slog.Logger
	http *http.Client

	netMu sync.Mutex // serialises creation of IsolatedNetwork

	pulls pulls

	// ctx is cancelled by Close, ending standby containers being made;
	// fills counts them.
	ctx    context.Context
	cancel context.CancelFunc
	fills  sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	standbys map[string]*standbySet
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the engine and checks that it answers.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		copts = append(copts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s: %w", cli.DaemonHost(), err)
	}
	if opts.Pull == "" {
		opts.Pull = PullNever
	}
	if opts.PidsLimit == 0 {
		opts.PidsLimit = 4096
	}
	if opts.StandbyIdle == 0 {
		opts.StandbyIdle = 15 * time.Minute
	}
	if opts.StartupTimeout == 0 {
		opts.StartupTimeout = 3 * time.Minute
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	rctx, cancel := context.WithCancel(context.Background())
	return &Runtime{
		cli: cli, opts: opts, log: opts.Logger, ctx: rctx, cancel: cancel,
		http:     &http.Client{Transport: &http.Transport{DisableKeepAlives: true}},
		standbys: map[string]*standbySet{},
	}, nil
}

// Client is the engine client, for tools and tests that inspect what the
// runtime made.
func (r *Runtime) Client() *client.Client { return r.cli }

// Host is the engine's address.
func (r *Runtime) Host() string { return r.cli.DaemonHost() }

// Start runs spec.Image with spec.Args. A standby container made for the
// same configuration is used when there is one; otherwise the container is
// created and started, and a standby is made for the next cold start.
func (r *Runtime) Start(ctx context.Context, spec runtime.Spec) (runtime.Process, error) {
	if spec.Image == "" {
		return nil, errors.New("container runtime: spec has no image")
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, errors.New("container runtime is closed")
	}
	if p := r.takeStandby(ctx, spec); p != nil {
		return p, nil
	}
	if err := r.ensureImage(ctx, spec.Image); err != nil {
		return nil, err
	}
	id, err := r.create(ctx, spec, spec.Name)
	if err != nil {
		return nil, err
	}
	p, err := r.startContainer(ctx, id, spec)
	if err != nil {
		r.remove(id)
		return nil, err
	}
	r.refill(p, spec)
	return p, nil
}

// startContainer starts a created container and follows it as a Process.
func (r *Runtime) startContainer(ctx context.Context, id string, spec runtime.Spec) (*proc, error) {
	if err := r.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return nil, fmt.Errorf("start container for image %s: %w", spec.Image, err)
	}
	addr, pid, err := r.address(ctx, id, spec)
	if err != nil {
		return nil, err
	}
	return r.follow(id, addr, pid, spec), nil
}

// address reads where the host reaches the container's port 8080: its IP
// on the network it is attached to. (Reaching it directly rather than
// through a published port spares a docker-proxy process per worker and
// works on internal networks, where ports cannot be published.)
func (r *Runtime) address(ctx context.Context, id string, spec runtime.Spec) (addr string, pid int, err error) {
	ins, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return "", 0, fmt.Errorf("inspect container for image %s: %w", spec.Image, err)
	}
	if ins.NetworkSettings != nil {
		if n, ok := ins.NetworkSettings.Networks[networkName(spec)]; ok && n.IPAddress != "" {
			addr = n.IPAddress
		}
	}
	if addr == "" {
		if ins.State != nil && !ins.State.Running {
			// Exited already, and detached from its network: the process
			// reports how it ended; nothing listens.
			return "", 0, nil
		}
		return "", 0, fmt.Errorf("container for image %s has no address on network %s", spec.Image, networkName(spec))
	}
	if ins.State != nil {
		pid = ins.State.Pid
	}
	return addr + ":" + strconv.Itoa(ContainerPort), pid, nil
}

func networkName(spec runtime.Spec) string {
	if spec.NetworkIsolation {
		return IsolatedNetwork
	}
	return "bridge"
}

// create makes (without starting) spec's container per the SageMaker
// contract.
func (r *Runtime) create(ctx context.Context, spec runtime.Spec, worker string) (string, error) {
	netName := networkName(spec)
	if spec.NetworkIsolation {
		if err := r.ensureIsolatedNetwork(ctx); err != nil {
			return "", err
		}
	}
	port := nat.Port(strconv.Itoa(ContainerPort) + "/tcp")
	cfg := &container.Config{
		Image:        spec.Image,
		Cmd:          spec.Args,
		Env:          containerEnv(spec),
		ExposedPorts: nat.PortSet{port: {}},
		Labels:       map[string]string{LabelManaged: "true", LabelScope: r.opts.Scope, LabelWorker: worker},
	}
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(netName),
		Resources:   resources(spec, r.opts.PidsLimit),
	}
	if spec.ModelDir != "" {
		hc.Mounts = []mount.Mount{{Type: mount.TypeBind, Source: spec.ModelDir, Target: ModelPath, ReadOnly: true}}
	}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{netName: {}}}
	resp, err := r.cli.ContainerCreate(ctx, cfg, hc, nc, nil, "")
	if err != nil {
		if errdefs.IsNotFound(err) {
			return "", fmt.Errorf("image %s is not in the Docker engine: %w", spec.Image, err)
		}
		return "", fmt.Errorf("create container for image %s: %w", spec.Image, err)
	}
	return resp.ID, nil
}

// resources are the container's limits: a hard memory limit with no swap,
// CPU shares proportional to the worker's weight (1024 = weight 100, a
// 1 GB worker), and a pids limit.
func resources(spec runtime.Spec, pids int64) container.Resources {
	var res container.Resources
	if spec.MemoryMB > 0 {
		res.Memory = int64(spec.MemoryMB) << 20
		res.MemorySwap = res.Memory
	}
	if spec.CPUWeight > 0 {
		w := min(max(spec.CPUWeight, 1), 10000)
		res.CPUShares = int64(max(2, w*1024/100))
	}
	res.PidsLimit = &pids
	return res
}

// hostOnly are variables a worker's environment starts with that describe
// the Hearth host (its PATH, home and scratch directories) and mean nothing
// inside an image, whose own values they would override.
var hostOnly = []string{"PATH", "HOME", "TMPDIR"}

// containerEnv is the model's environment plus what SageMaker sets for a
// hosted container: the port to serve on, and where the model is. The
// first PATH, HOME and TMPDIR of spec.Env are the host's and are left
// out; a later one is the model's own and is kept.
func containerEnv(spec runtime.Spec) []string {
	env := make([]string, 0, len(spec.Env)+3)
	seen := map[string]bool{}
	for _, kv := range spec.Env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(hostOnly, k) && !seen[k] {
			seen[k] = true
			continue
		}
		env = append(env, kv)
	}
	port := strconv.Itoa(ContainerPort)
	return append(env,
		"SAGEMAKER_BIND_TO_PORT="+port,
		"SAGEMAKER_SAFE_PORT_RANGE="+port+"-"+port,
		"SM_MODEL_DIR="+ModelPath,
	)
}

// ensureIsolatedNetwork creates the internal network network-isolated
// workers use, once.
func (r *Runtime) ensureIsolatedNetwork(ctx context.Context) error {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	if _, err := r.cli.NetworkInspect(ctx, IsolatedNetwork, network.InspectOptions{}); err == nil {
		return nil
	}
	_, err := r.cli.NetworkCreate(ctx, IsolatedNetwork, network.CreateOptions{
		Driver:   "bridge",
		Internal: true,
		Labels:   map[string]string{LabelManaged: "true"},
	})
	if err != nil && !errdefs.IsConflict(err) {
		return fmt.Errorf("create network %s: %w", IsolatedNetwork, err)
	}
	return nil
}

// remove force-removes a container, in the background of nothing: it uses
// its own deadline so that a cancelled request still cleans up.
func (r *Runtime) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("remove container", "id", shortID(id), "err", err)
	}
}

// Sweep removes every container labelled as Hearth's in this runtime's
// scope: what a previous run left behind when it was killed. Call it at
// start-up, before any worker starts. It returns how many it removed.
func (r *Runtime) Sweep(ctx context.Context) (int, error) {
	list, err := r.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"), filters.Arg("label", LabelScope+"="+r.opts.Scope)),
	})
	if err != nil {
		return 0, fmt.Errorf("list Hearth's containers: %w", err)
	}
	n := 0
	for _, c := range list {
		err := r.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) {
			return n, fmt.Errorf("remove container %s: %w", shortID(c.ID), err)
		}
		n++
	}
	return n, nil
}

// Close removes the standby containers and stops making new ones. Stop
// the workers first: their containers are followed through the client
// that Close closes.
func (r *Runtime) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	sets := r.standbys
	r.standbys = map[string]*standbySet{}
	r.mu.Unlock()
	r.cancel()
	r.fills.Wait()
	for _, s := range sets {
		s.close(r)
	}
	r.cli.Close()
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
