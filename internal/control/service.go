package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"hearth"
	"hearth/internal/awsapi"
	"hearth/internal/awserr"
	"hearth/internal/awsjson"
	"hearth/internal/clock"
	"hearth/internal/image"
	"hearth/internal/store"
)

// Options configure a Service.
type Options struct {
	Region    string
	AccountID string
	Clock     clock.Clock
	Logger    *slog.Logger
	// ValidateModelDataURL, if set, vets a ModelDataUrl beyond the syntax
	// checks done here (e.g. the artifact fetcher's URL rules).
	ValidateModelDataURL func(string) error
	// CheckFramework, if set, says whether this server can run models of a
	// built-in framework ("sklearn", "pytorch"); its error, naming what is
	// missing, refuses the model.
	CheckFramework func(ctx context.Context, framework string) error
	// AllowLocal lists the directories under which a model's Image may be
	// a local executable and its ModelDataUrl a local file or directory.
	// When it is empty and RestrictLocal is false (dev mode), any absolute
	// path is allowed; when RestrictLocal is set (the server requires
	// signed requests), only paths under AllowLocal are.
	AllowLocal    []string
	RestrictLocal bool
	// ImageExists, if set, says whether a container image (an Image that
	// is neither a built-in runtime's nor a local executable) can be run:
	// CreateModel refuses the model with its error otherwise.
	ImageExists func(ctx context.Context, image string) error
}

// Service is the SageMaker control plane: it validates requests, keeps
// desired state in the store and hands deployments to the Deployer. It
// never waits for workers.
type Service struct {
	store    *store.Store
	deployer hearth.Deployer
	opts     Options
	log      *slog.Logger
	local    localPolicy

	// mu serialises mutations so that check-then-write sequences (exists?
	// then create) are atomic with respect to each other. Nothing that
	// holds it calls the deployer: calls are recorded as intents in the
	// same critical section as the store write and made, in order, after
	// mu is released (see unlock).
	mu      sync.Mutex
	intents []func()
	flushMu sync.Mutex // one flush at a time keeps intents in order

	// The fleet's reports queue here and are applied by one goroutine.
	repMu    sync.Mutex
	reports  []hearth.Report
	repReady chan struct{} // signalled when reports has items
	repOnce  sync.Once
	done     chan struct{}
	stopOnce sync.Once

	// changed is closed (and replaced) whenever a report changes an
	// endpoint, to wake WaitInService.
	changeMu sync.Mutex
	changed  chan struct{}
}

// New returns a Service. Call Start to resume the deployments stored by a
// previous run.
func New(st *store.Store, d hearth.Deployer, opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: st, deployer: d, opts: opts, log: opts.Logger, local: newLocalPolicy(opts),
		repReady: make(chan struct{}, 1), done: make(chan struct{}), changed: make(chan struct{})}
}

// intend records a call to the deployer, to be made once mu is released.
// Called with mu held.
func (s *Service) intend(call func()) { s.intents = append(s.intents, call) }

// unlock releases mu, then makes the deployer calls recorded under it, in
// the order they were recorded.
func (s *Service) unlock() {
	s.mu.Unlock()
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	calls := s.intents
	s.intents = nil
	s.mu.Unlock()
	for _, call := range calls {
		call()
	}
}

// Report takes the fleet's word on a deployment. It never blocks: reports
// queue and one goroutine applies them to the stored endpoints.
func (s *Service) Report(_ context.Context, r hearth.Report) {
	s.repOnce.Do(func() { go s.applyReports() })
	s.repMu.Lock()
	s.reports = append(s.reports, r)
	s.repMu.Unlock()
	select {
	case s.repReady <- struct{}{}:
	default:
	}
}

func (s *Service) applyReports() {
	for {
		select {
		case <-s.done:
			return
		case <-s.repReady:
		}
		s.repMu.Lock()
		batch := s.reports
		s.reports = nil
		s.repMu.Unlock()
		for _, r := range batch {
			s.apply(context.Background(), r)
		}
		s.changeMu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		s.changeMu.Unlock()
	}
}

// watch returns a channel closed at the next applied report.
func (s *Service) watch() <-chan struct{} {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	return s.changed
}

// Close stops applying reports.
func (s *Service) Close() {
	s.stopOnce.Do(func() { close(s.done) })
}

// Healthy reports whether the control plane's lock can be taken within
// d: a stuck lock means every write hangs.
func (s *Service) Healthy(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if s.mu.TryLock() {
			s.mu.Unlock()
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// ARN builds arn:aws:sagemaker:{region}:{account}:{kind}/{lower-cased name}.
func (s *Service) ARN(kind store.Kind, name string) string {
	return fmt.Sprintf("arn:aws:sagemaker:%s:%s:%s/%s", s.opts.Region, s.opts.AccountID, kind, strings.ToLower(name))
}

func (s *Service) now() time.Time { return s.opts.Clock.Now().UTC().Truncate(time.Millisecond) }

func (s *Service) notFound(kind store.Kind, name string) error {
	noun := map[store.Kind]string{
		store.KindModel:          "model",
		store.KindEndpointConfig: "endpoint configuration",
		store.KindEndpoint:       "endpoint",
	}[kind]
	return awserr.Validation("Could not find %s %q.", noun, s.ARN(kind, name))
}

func (s *Service) exists(kind store.Kind, name string) error {
	noun := map[store.Kind]string{
		store.KindModel:          "model",
		store.KindEndpointConfig: "endpoint configuration",
		store.KindEndpoint:       "endpoint",
	}[kind]
	return awserr.Validation("Cannot create already existing %s %q.", noun, s.ARN(kind, name))
}

// ---- Models ----

// CreateModelInput is CreateModel's request.
type CreateModelInput struct {
	ModelName                *string               `json:"ModelName"`
	PrimaryContainer         *ContainerDefinition  `json:"PrimaryContainer"`
	Containers               []ContainerDefinition `json:"Containers"`
	InferenceExecutionConfig jsonRaw               `json:"InferenceExecutionConfig"`
	ExecutionRoleArn         *string               `json:"ExecutionRoleArn"`
	Tags                     []Tag                 `json:"Tags"`
	VpcConfig                jsonRaw               `json:"VpcConfig"`
	EnableNetworkIsolation   *bool                 `json:"EnableNetworkIsolation"`
}

// CreateModel stores a model after checking every field and that its image
// and artifact URL are ones Hearth can run.
func (s *Service) CreateModel(ctx context.Context, in *CreateModelInput) (map[string]string, error) {
	var v awserr.Violations
	checkName(&v, in.ModelName, "modelName", modelNameRE, modelNamePattern)
	if in.PrimaryContainer != nil {
		checkContainer(&v, in.PrimaryContainer, "primaryContainer")
	}
	if len(in.Containers) > 15 {
		v.Add(fmt.Sprintf("%d containers", len(in.Containers)), "containers", "Member must have length less than or equal to 15")
	}
	for i := range in.Containers {
		checkContainer(&v, &in.Containers[i], fmt.Sprintf("containers.%d.member", i+1))
	}
	if in.ExecutionRoleArn != nil {
		// Each constraint is reported on its own, as AWS does: a short
		// malformed ARN breaks both the length and the pattern.
		if len(*in.ExecutionRoleArn) < 20 {
			v.Add(*in.ExecutionRoleArn, "executionRoleArn", minLen(20))
		} else if len(*in.ExecutionRoleArn) > 2048 {
			v.Add(*in.ExecutionRoleArn, "executionRoleArn", maxLen(2048))
		}
		if !roleArnRE.MatchString(*in.ExecutionRoleArn) {
			v.Add(*in.ExecutionRoleArn, "executionRoleArn", pattern(roleArnPattern))
		}
	}
	checkTags(&v, in.Tags, "tags")
	if err := v.Err(); err != nil {
		return nil, err
	}
	name := *in.ModelName
	var c ContainerDefinition
	switch {
	case in.PrimaryContainer != nil && len(in.Containers) > 0:
		return nil, awserr.Validation("Only one of PrimaryContainer or Containers may be specified.")
	case in.PrimaryContainer != nil:
		c = *in.PrimaryContainer
	case len(in.Containers) == 1:
		c = in.Containers[0]
	case len(in.Containers) > 1:
		return nil, awserr.Validation("Model %q has %d containers: inference pipelines (more than one container) are not supported; use one container.", name, len(in.Containers))
	default:
		return nil, awserr.Validation("Either PrimaryContainer or Containers must be specified.")
	}
	if c.Image == nil {
		return nil, awserr.Validation("Image must be specified for the container of model %q.", name)
	}
	// A local path is judged before it is looked at, so that a caller
	// learns nothing of the host outside the allowed directories.
	if p, ok := localPath(*c.Image); ok {
		if err := s.local.check("Image", *c.Image, p); err != nil {
			return nil, err
		}
	}
	ref, err := image.Resolve(*c.Image)
	if err != nil {
		return nil, awserr.Validation("%s", upperFirst(err.Error()))
	}
	if ref.Kind == image.Container && s.opts.ImageExists != nil {
		if err := s.opts.ImageExists(ctx, ref.Image); err != nil {
			return nil, awserr.Validation("Image %s of model %q cannot be used: %s", ref.Image, name, err.Error())
		}
	}
	if (ref.Kind == image.SKLearn || ref.Kind == image.PyTorch) && s.opts.CheckFramework != nil {
		if err := s.opts.CheckFramework(ctx, ref.Kind.String()); err != nil {
			return nil, awserr.Validation("Image %q cannot be run here: %s", *c.Image, err.Error())
		}
	}
	if err := checkEnvironment(c.Environment, "Environment"); err != nil {
		return nil, err
	}
	if c.Mode != nil && *c.Mode == "MultiModel" {
		return nil, awserr.Validation("Mode MultiModel is not supported: a Hearth model serves one artifact (Mode SingleModel).")
	}
	if c.ModelDataUrl != nil {
		if err := s.checkModelDataURL(*c.ModelDataUrl); err != nil {
			return nil, err
		}
	}
	if len(c.ModelDataSource) > 0 {
		return nil, awserr.Validation("ModelDataSource is not supported; give the artifact as ModelDataUrl.")
	}
	s.mu.Lock()
	defer s.unlock()
	rec := modelRecord{Model: Model{
		ModelName:                in.ModelName,
		ModelArn:                 s.ARN(store.KindModel, name),
		PrimaryContainer:         in.PrimaryContainer,
		Containers:               in.Containers,
		InferenceExecutionConfig: in.InferenceExecutionConfig,
		ExecutionRoleArn:         in.ExecutionRoleArn,
		VpcConfig:                in.VpcConfig,
		EnableNetworkIsolation:   in.EnableNetworkIsolation,
		CreationTime:             awsjson.Timestamp{Time: s.now()},
	}, Tags: in.Tags}
	err = s.store.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Exists(store.KindModel, name)
		if err != nil {
			return err
		}
		if ok {
			return s.exists(store.KindModel, name)
		}
		return tx.Put(store.KindModel, name, rec.CreationTime.Time, rec)
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"ModelArn": rec.ModelArn}, nil
}

func (s *Service) checkModelDataURL(u string) error {
	switch {
	case strings.HasPrefix(u, "s3://"), strings.HasPrefix(u, "https://"):
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" {
			return awserr.Validation("1 validation error detected: Value '%s' at 'primaryContainer.modelDataUrl' failed to satisfy constraint: %s", u, pattern(modelDataURLPattern))
		}
	case strings.HasPrefix(u, "file://"):
		pu, err := url.Parse(u)
		if err != nil || pu.Path == "" || !filepath.IsAbs(pu.Path) {
			return awserr.Validation("ModelDataUrl %q is not a valid file:// URL: give an absolute path, as in file:///models/model.tar.gz.", u)
		}
	case filepath.IsAbs(u):
	default:
		return awserr.Validation("1 validation error detected: Value '%s' at 'primaryContainer.modelDataUrl' failed to satisfy constraint: %s (Hearth also accepts file:// URLs and absolute paths)", u, pattern(modelDataURLPattern))
	}
	if s.opts.ValidateModelDataURL != nil {
		if err := s.opts.ValidateModelDataURL(u); err != nil {
			return awserr.Validation("%s", upperFirst(err.Error()))
		}
	}
	if p, ok := localPath(u); ok {
		return s.local.check("ModelDataUrl", u, p)
	}
	return nil
}

// NameInput is the request of operations that take one resource name.
type NameInput struct {
	ModelName          *string `json:"ModelName"`
	EndpointConfigName *string `json:"EndpointConfigName"`
	EndpointName       *string `json:"EndpointName"`
}

// DescribeModel returns a stored model.
func (s *Service) DescribeModel(ctx context.Context, in *NameInput) (*Model, error) {
	var v awserr.Violations
	checkName(&v, in.ModelName, "modelName", modelNameRE, modelNamePattern)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var rec modelRecord
	if err := s.get(ctx, store.KindModel, *in.ModelName, &rec); err != nil {
		return nil, err
	}
	return &rec.Model, nil
}

// DeleteModel removes a model. Endpoints already running it are unaffected:
// they hold their own copy of what they deploy, as on AWS.
func (s *Service) DeleteModel(ctx context.Context, in *NameInput) (struct{}, error) {
	var v awserr.Violations
	checkName(&v, in.ModelName, "modelName", modelNameRE, modelNamePattern)
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, s.del(ctx, store.KindModel, *in.ModelName)
}

func (s *Service) get(ctx context.Context, kind store.Kind, name string, v any) error {
	err := s.store.View(ctx, func(tx *store.Tx) error { return tx.Get(kind, name, v) })
	if errors.Is(err, store.ErrNotFound) {
		return s.notFound(kind, name)
	}
	return err
}

func (s *Service) del(ctx context.Context, kind store.Kind, name string) error {
	s.mu.Lock()
	defer s.unlock()
	return s.store.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Delete(kind, name)
		if err != nil {
			return err
		}
		if !ok {
			return s.notFound(kind, name)
		}
		return nil
	})
}

// ---- Listing ----

type listInput struct {
	SortBy                 *string            `json:"SortBy"`
	SortOrder              *string            `json:"SortOrder"`
	NextToken              *string            `json:"NextToken"`
	MaxResults             *int32             `json:"MaxResults"`
	NameContains           *string            `json:"NameContains"`
	CreationTimeBefore     *awsjson.Timestamp `json:"CreationTimeBefore"`
	CreationTimeAfter      *awsjson.Timestamp `json:"CreationTimeAfter"`
	LastModifiedTimeBefore *awsjson.Timestamp `json:"LastModifiedTimeBefore"`
	LastModifiedTimeAfter  *awsjson.Timestamp `json:"LastModifiedTimeAfter"`
	StatusEquals           *string            `json:"StatusEquals"`
}

// ListInput is the request of the List* operations.
type ListInput = listInput

type listItem struct {
	name     string
	created  time.Time
	modified time.Time
	status   string
	value    any
}

// page filters, sorts and pages items per the list request.
func page(in *listInput, items []listItem, sortKeys []string) ([]any, *string, error) {
	var v awserr.Violations
	checkListCommon(&v, in)
	checkSort(&v, in.SortBy, in.SortOrder, sortKeys)
	if in.StatusEquals != nil && !contains(endpointStatuses, *in.StatusEquals) {
		v.Add(*in.StatusEquals, "statusEquals", enum(endpointStatuses...))
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	var kept []listItem
	for _, it := range items {
		if in.NameContains != nil && !strings.Contains(strings.ToLower(it.name), strings.ToLower(*in.NameContains)) {
			continue
		}
		if in.CreationTimeBefore != nil && !it.created.Before(in.CreationTimeBefore.Time) {
			continue
		}
		if in.CreationTimeAfter != nil && !it.created.After(in.CreationTimeAfter.Time) {
			continue
		}
		if in.LastModifiedTimeBefore != nil && !it.modified.Before(in.LastModifiedTimeBefore.Time) {
			continue
		}
		if in.LastModifiedTimeAfter != nil && !it.modified.After(in.LastModifiedTimeAfter.Time) {
			continue
		}
		if in.StatusEquals != nil && it.status != *in.StatusEquals {
			continue
		}
		kept = append(kept, it)
	}
	by := "CreationTime"
	if in.SortBy != nil {
		by = *in.SortBy
	}
	desc := in.SortOrder == nil || *in.SortOrder == "Descending"
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		var less bool
		switch by {
		case "Name":
			less = a.name < b.name
		case "Status":
			less = a.status < b.status || (a.status == b.status && a.name < b.name)
		default:
			less = a.created.Before(b.created) || (a.created.Equal(b.created) && a.name < b.name)
		}
		if desc {
			// Reverse order, keeping ties deterministic.
			switch by {
			case "Name":
				return a.name > b.name
			case "Status":
				return a.status > b.status || (a.status == b.status && a.name > b.name)
			default:
				return a.created.After(b.created) || (a.created.Equal(b.created) && a.name > b.name)
			}
		}
		return less
	})
	// The token is bound to what decides the listing: its filters and order.
	hash := awsapi.RequestHash(in.NameContains, in.CreationTimeBefore, in.CreationTimeAfter,
		in.LastModifiedTimeBefore, in.LastModifiedTimeAfter, in.StatusEquals, by, desc)
	start, err := pageStart(in.NextToken, len(kept), hash)
	if err != nil {
		return nil, nil, err
	}
	limit := 10
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	end := min(start+limit, len(kept))
	out := make([]any, 0, end-start)
	for _, it := range kept[start:end] {
		out = append(out, it.value)
	}
	var next *string
	if end < len(kept) {
		t := awsapi.PageToken{Offset: end, Hash: hash}.Encode()
		next = &t
	}
	return out, next, nil
}

// pageStart is where a listing of n items continues: at the offset its
// NextToken names (none: the start). A token is bound to hash, the
// awsapi.RequestHash of what decides the listing, so one replayed on
// another listing is refused.
func pageStart(token *string, n int, hash string) (int, error) {
	if token == nil || *token == "" {
		return 0, nil
	}
	t, ok := awsapi.DecodePageToken(*token, hash)
	if !ok || t.Offset > n {
		return 0, awserr.Validation("Invalid pagination token %q.", *token)
	}
	return t.Offset, nil
}

var endpointStatuses = []string{"OutOfService", "Creating", "Updating", "SystemUpdating", "RollingBack", "InService", "Deleting", "Failed", "UpdateRollbackFailed"}

// ListModels lists models.
func (s *Service) ListModels(ctx context.Context, in *ListInput) (map[string]any, error) {
	var recs []modelRecord
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		recs, err = store.ListInto[modelRecord](tx, store.KindModel)
		return err
	})
	if err != nil {
		return nil, err
	}
	items := make([]listItem, len(recs))
	for i, r := range recs {
		items[i] = listItem{name: *r.ModelName, created: r.CreationTime.Time, value: map[string]any{
			"ModelName": *r.ModelName, "ModelArn": r.ModelArn, "CreationTime": r.CreationTime,
		}}
	}
	out, next, err := page(in, items, []string{"Name", "CreationTime"})
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"Models": out}, next), nil
}

func withToken(m map[string]any, next *string) map[string]any {
	if next != nil {
		m["NextToken"] = *next
	}
	return m
}

// statusError builds a ValidationException for an in-progress resource.
func (s *Service) inProgress(name string) error {
	return awserr.Validation("Cannot update in-progress endpoint %q.", s.ARN(store.KindEndpoint, name))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ResourceLimit returns the ResourceLimitExceeded error.
func ResourceLimit(format string, args ...any) error {
	return awserr.New("ResourceLimitExceeded", http.StatusBadRequest, format, args...)
}

func unixFloat(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}
