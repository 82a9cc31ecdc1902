package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"hearth"
	"hearth/internal/awserr"
	"hearth/internal/awsjson"
	"hearth/internal/store"
)

type jsonRaw = json.RawMessage

// ---- Endpoint configs ----

// CreateEndpointConfigInput is CreateEndpointConfig's request.
type CreateEndpointConfigInput struct {
	EndpointConfigName       *string             `json:"EndpointConfigName"`
	ProductionVariants       []ProductionVariant `json:"ProductionVariants"`
	DataCaptureConfig        jsonRaw             `json:"DataCaptureConfig"`
	Tags                     []Tag               `json:"Tags"`
	KmsKeyId                 *string             `json:"KmsKeyId"`
	AsyncInferenceConfig     jsonRaw             `json:"AsyncInferenceConfig"`
	ExplainerConfig          jsonRaw             `json:"ExplainerConfig"`
	ShadowProductionVariants []ProductionVariant `json:"ShadowProductionVariants"`
	ExecutionRoleArn         *string             `json:"ExecutionRoleArn"`
	VpcConfig                jsonRaw             `json:"VpcConfig"`
	EnableNetworkIsolation   *bool               `json:"EnableNetworkIsolation"`
}

var memorySizes = []string{"1024", "2048", "3072", "4096", "5120", "6144"}

func checkVariant(v *awserr.Violations, pv *ProductionVariant, path string) {
	checkName(v, pv.VariantName, path+".variantName", entityNameRE, entityNamePattern)
	if pv.ModelName != nil {
		if len(*pv.ModelName) > 63 {
			v.Add(*pv.ModelName, path+".modelName", maxLen(63))
		} else if !modelNameRE.MatchString(*pv.ModelName) {
			v.Add(*pv.ModelName, path+".modelName", pattern(modelNamePattern))
		}
	}
	if pv.InitialInstanceCount != nil && *pv.InitialInstanceCount < 1 {
		v.Add(*pv.InitialInstanceCount, path+".initialInstanceCount", minVal(1))
	}
	if pv.InitialVariantWeight != nil && !weightOK(*pv.InitialVariantWeight) {
		v.Add(weightText(*pv.InitialVariantWeight), path+".initialVariantWeight", minVal(0))
	}
	if pv.InstanceType != nil && !instanceTypeRE.MatchString(*pv.InstanceType) {
		v.Add(*pv.InstanceType, path+".instanceType", "Member must satisfy enum value set: [ml.t2.medium, ml.m5.large, ml.m5.xlarge, ml.c5.large, ml.c5.xlarge, ml.g4dn.xlarge, …]")
	}
	checkRange := func(p *int32, lo, hi int32, field string) {
		if p == nil {
			return
		}
		if *p < lo {
			v.Add(*p, path+"."+field, minVal(lo))
		} else if *p > hi {
			v.Add(*p, path+"."+field, maxVal(hi))
		}
	}
	checkRange(pv.VolumeSizeInGB, 1, 512, "volumeSizeInGB")
	checkRange(pv.ModelDataDownloadTimeoutInSeconds, 60, 3600, "modelDataDownloadTimeoutInSeconds")
	checkRange(pv.ContainerStartupHealthCheckTimeoutInSeconds, 60, 3600, "containerStartupHealthCheckTimeoutInSeconds")
	if sc := pv.ServerlessConfig; sc != nil {
		sp := path + ".serverlessConfig"
		if sc.MemorySizeInMB == nil {
			v.Add(nil, sp+".memorySizeInMB", notNull)
		} else if m := *sc.MemorySizeInMB; m < 1024 {
			v.Add(m, sp+".memorySizeInMB", minVal(1024))
		} else if m > 6144 {
			v.Add(m, sp+".memorySizeInMB", maxVal(6144))
		} else if m%1024 != 0 {
			v.Add(m, sp+".memorySizeInMB", enum(memorySizes...))
		}
		if sc.MaxConcurrency == nil {
			v.Add(nil, sp+".maxConcurrency", notNull)
		} else {
			checkRange(sc.MaxConcurrency, 1, 200, "serverlessConfig.maxConcurrency")
		}
		checkRange(sc.ProvisionedConcurrency, 1, 200, "serverlessConfig.provisionedConcurrency")
	}
}

// CreateEndpointConfig stores an endpoint configuration.
func (s *Service) CreateEndpointConfig(ctx context.Context, in *CreateEndpointConfigInput) (map[string]string, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointConfigName, "endpointConfigName", entityNameRE, entityNamePattern)
	if in.ProductionVariants == nil {
		v.Add(nil, "productionVariants", notNull)
	} else if len(in.ProductionVariants) < 1 {
		v.Add("[]", "productionVariants", minLen(1))
	} else if len(in.ProductionVariants) > 10 {
		v.Add(fmt.Sprintf("%d variants", len(in.ProductionVariants)), "productionVariants", maxLen(10))
	}
	for i := range in.ProductionVariants {
		checkVariant(&v, &in.ProductionVariants[i], fmt.Sprintf("productionVariants.%d.member", i+1))
	}
	if in.KmsKeyId != nil && len(*in.KmsKeyId) > 2048 {
		v.Add(*in.KmsKeyId, "kmsKeyId", maxLen(2048))
	}
	checkTags(&v, in.Tags, "tags")
	if err := v.Err(); err != nil {
		return nil, err
	}
	name := *in.EndpointConfigName
	seen := map[string]bool{}
	serverless := 0
	for _, pv := range in.ProductionVariants {
		vn := *pv.VariantName
		if seen[strings.ToLower(vn)] {
			return nil, awserr.Validation("The variant name(s) [%s] is/are repeated in the production variants of endpoint configuration %q.", vn, name)
		}
		seen[strings.ToLower(vn)] = true
		if pv.ModelName == nil {
			return nil, awserr.Validation("ModelName must be specified for production variant %s.", vn)
		}
		if sc := pv.ServerlessConfig; sc != nil {
			serverless++
			if pv.InstanceType != nil || pv.InitialInstanceCount != nil {
				return nil, awserr.Validation("Production variant %s specifies both ServerlessConfig and InstanceType/InitialInstanceCount; a variant is either serverless or instance-based.", vn)
			}
			if sc.ProvisionedConcurrency != nil && *sc.ProvisionedConcurrency > *sc.MaxConcurrency {
				return nil, awserr.Validation("ProvisionedConcurrency (%d) must be less than or equal to MaxConcurrency (%d) for production variant %s.", *sc.ProvisionedConcurrency, *sc.MaxConcurrency, vn)
			}
		} else {
			if pv.InstanceType == nil || pv.InitialInstanceCount == nil {
				return nil, awserr.Validation("Production variant %s must specify either ServerlessConfig, or InstanceType and InitialInstanceCount.", vn)
			}
		}
	}
	if serverless > 0 && len(in.ProductionVariants) > 1 {
		return nil, awserr.Validation("Serverless endpoint configuration %q must have exactly one production variant: serverless inference does not support multiple production variants.", name)
	}
	if serverless > 0 {
		for _, f := range []struct {
			set  bool
			what string
		}{
			{len(in.DataCaptureConfig) > 0, "DataCaptureConfig"},
			{in.VpcConfig != nil, "VpcConfig"},
			{in.EnableNetworkIsolation != nil && *in.EnableNetworkIsolation, "EnableNetworkIsolation"},
			{len(in.AsyncInferenceConfig) > 0, "AsyncInferenceConfig"},
			{len(in.ShadowProductionVariants) > 0, "ShadowProductionVariants"},
		} {
			if f.set {
				return nil, awserr.Validation("%s is not supported for serverless endpoint configuration %q.", f.what, name)
			}
		}
	}
	if len(in.AsyncInferenceConfig) > 0 {
		return nil, awserr.Validation("AsyncInferenceConfig is not supported by this server.")
	}
	if len(in.ShadowProductionVariants) > 0 {
		return nil, awserr.Validation("ShadowProductionVariants are not supported by this server.")
	}
	s.mu.Lock()
	defer s.unlock()
	rec := configRecord{EndpointConfig: EndpointConfig{
		EndpointConfigName:     in.EndpointConfigName,
		EndpointConfigArn:      s.ARN(store.KindEndpointConfig, name),
		ProductionVariants:     in.ProductionVariants,
		DataCaptureConfig:      in.DataCaptureConfig,
		KmsKeyId:               in.KmsKeyId,
		ExplainerConfig:        in.ExplainerConfig,
		ExecutionRoleArn:       in.ExecutionRoleArn,
		VpcConfig:              in.VpcConfig,
		EnableNetworkIsolation: in.EnableNetworkIsolation,
		CreationTime:           awsjson.Timestamp{Time: s.now()},
	}, Tags: in.Tags}
	for i := range rec.ProductionVariants {
		if rec.ProductionVariants[i].InitialVariantWeight == nil && rec.ProductionVariants[i].ServerlessConfig == nil {
			one := float32(1)
			rec.ProductionVariants[i].InitialVariantWeight = &one
		}
	}
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Exists(store.KindEndpointConfig, name)
		if err != nil {
			return err
		}
		if ok {
			return s.exists(store.KindEndpointConfig, name)
		}
		for _, pv := range in.ProductionVariants {
			ok, err := tx.Exists(store.KindModel, *pv.ModelName)
			if err != nil {
				return err
			}
			if !ok {
				return s.notFound(store.KindModel, *pv.ModelName)
			}
		}
		return tx.Put(store.KindEndpointConfig, name, rec.CreationTime.Time, rec)
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"EndpointConfigArn": rec.EndpointConfigArn}, nil
}

// DescribeEndpointConfig returns a stored endpoint configuration.
func (s *Service) DescribeEndpointConfig(ctx context.Context, in *NameInput) (*EndpointConfig, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointConfigName, "endpointConfigName", entityNameRE, entityNamePattern)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var rec configRecord
	if err := s.get(ctx, store.KindEndpointConfig, *in.EndpointConfigName, &rec); err != nil {
		return nil, err
	}
	return &rec.EndpointConfig, nil
}

// DeleteEndpointConfig removes an endpoint configuration. Endpoints created
// from it keep running, as on AWS.
func (s *Service) DeleteEndpointConfig(ctx context.Context, in *NameInput) (struct{}, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointConfigName, "endpointConfigName", entityNameRE, entityNamePattern)
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, s.del(ctx, store.KindEndpointConfig, *in.EndpointConfigName)
}

// ListEndpointConfigs lists endpoint configurations.
func (s *Service) ListEndpointConfigs(ctx context.Context, in *ListInput) (map[string]any, error) {
	var recs []configRecord
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		recs, err = store.ListInto[configRecord](tx, store.KindEndpointConfig)
		return err
	})
	if err != nil {
		return nil, err
	}
	items := make([]listItem, len(recs))
	for i, r := range recs {
		items[i] = listItem{name: *r.EndpointConfigName, created: r.CreationTime.Time, value: map[string]any{
			"EndpointConfigName": *r.EndpointConfigName, "EndpointConfigArn": r.EndpointConfigArn, "CreationTime": r.CreationTime,
		}}
	}
	out, next, err := page(in, items, []string{"Name", "CreationTime"})
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"EndpointConfigs": out}, next), nil
}

// ---- Endpoints ----

// CreateEndpointInput is CreateEndpoint's and UpdateEndpoint's request.
type CreateEndpointInput struct {
	EndpointName                     *string `json:"EndpointName"`
	EndpointConfigName               *string `json:"EndpointConfigName"`
	DeploymentConfig                 jsonRaw `json:"DeploymentConfig"`
	Tags                             []Tag   `json:"Tags"`
	RetainAllVariantProperties       *bool   `json:"RetainAllVariantProperties"`
	ExcludeRetainedVariantProperties jsonRaw `json:"ExcludeRetainedVariantProperties"`
	RetainDeploymentConfig           *bool   `json:"RetainDeploymentConfig"`
}

// deployment resolves a config and its models into a Deployment.
func (s *Service) deployment(tx *store.Tx, endpoint, configName string, gen int64) (*hearth.Deployment, *configRecord, error) {
	var cfg configRecord
	if err := tx.Get(store.KindEndpointConfig, configName, &cfg); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, s.notFound(store.KindEndpointConfig, configName)
		}
		return nil, nil, err
	}
	d := &hearth.Deployment{Endpoint: endpoint, ConfigName: *cfg.EndpointConfigName, Generation: gen}
	for _, pv := range cfg.ProductionVariants {
		var m modelRecord
		if err := tx.Get(store.KindModel, *pv.ModelName, &m); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, nil, s.notFound(store.KindModel, *pv.ModelName)
			}
			return nil, nil, err
		}
		c := m.Container()
		// A model stored before the server's policy was what it is now
		// (a restart with --credentials-file or other --allow-local) is
		// judged again before it runs.
		if err := s.checkRunnable(c); err != nil {
			return nil, nil, err
		}
		hv := hearth.Variant{
			Name:   *pv.VariantName,
			Weight: 1,
			Model: hearth.Model{
				Name:        *m.ModelName,
				Image:       deref(c.Image),
				Environment: c.Environment,
				// EnableNetworkIsolation: the worker gets no egress.
				NetworkIsolation: m.EnableNetworkIsolation != nil && *m.EnableNetworkIsolation,
			},
		}
		if c.ModelDataUrl != nil {
			hv.Model.ModelDataURL = *c.ModelDataUrl
		}
		if pv.InitialVariantWeight != nil {
			hv.Weight = float64(*pv.InitialVariantWeight)
		}
		if sc := pv.ServerlessConfig; sc != nil {
			hv.Serverless = &hearth.Serverless{MemorySizeInMB: int(*sc.MemorySizeInMB), MaxConcurrency: int(*sc.MaxConcurrency)}
			if sc.ProvisionedConcurrency != nil {
				hv.Serverless.ProvisionedConcurrency = int(*sc.ProvisionedConcurrency)
			}
		} else {
			hv.InstanceType = deref(pv.InstanceType)
			hv.InstanceCount = int(*pv.InitialInstanceCount)
		}
		d.Variants = append(d.Variants, hv)
	}
	return d, &cfg, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Service) admit(d *hearth.Deployment) error {
	if err := s.deployer.Admit(*d); err != nil {
		if _, ok := awserr.As(err); ok {
			return err
		}
		return ResourceLimit("%s", err.Error())
	}
	return nil
}

// CreateEndpoint stores the endpoint as Creating and hands its deployment
// to the fleet; the fleet's report moves it to InService or Failed.
func (s *Service) CreateEndpoint(ctx context.Context, in *CreateEndpointInput) (map[string]string, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointName, "endpointName", entityNameRE, entityNamePattern)
	checkName(&v, in.EndpointConfigName, "endpointConfigName", entityNameRE, entityNamePattern)
	checkTags(&v, in.Tags, "tags")
	if err := v.Err(); err != nil {
		return nil, err
	}
	name := *in.EndpointName
	s.mu.Lock()
	defer s.unlock()
	now := s.now()
	var dep *hearth.Deployment
	rec := endpointRecord{Endpoint: Endpoint{
		EndpointName:     name,
		EndpointArn:      s.ARN(store.KindEndpoint, name),
		EndpointStatus:   StatusCreating,
		CreationTime:     awsjson.Timestamp{Time: now},
		LastModifiedTime: awsjson.Timestamp{Time: now},
	}, Tags: in.Tags}
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		ok, err := tx.Exists(store.KindEndpoint, name)
		if err != nil {
			return err
		}
		if ok {
			return s.exists(store.KindEndpoint, name)
		}
		d, _, err := s.deployment(tx, name, *in.EndpointConfigName, 1)
		if err != nil {
			return err
		}
		if err := s.admit(d); err != nil {
			return err
		}
		dep = d
		rec.EndpointConfigName = d.ConfigName
		rec.Desired = d
		rec.ProductionVariants = summaries(nil, d)
		return tx.Put(store.KindEndpoint, name, now, rec)
	})
	if err != nil {
		return nil, err
	}
	d := *dep
	s.intend(func() { s.deployer.Deploy(d) })
	return map[string]string{"EndpointArn": rec.EndpointArn}, nil
}

// summaries renders DescribeEndpoint's ProductionVariants from the current
// and desired deployments.
func summaries(cur, want *hearth.Deployment) []VariantSummary {
	byName := map[string]*VariantSummary{}
	var out []VariantSummary
	var order []string
	add := func(d *hearth.Deployment, current bool) {
		if d == nil {
			return
		}
		for _, v := range d.Variants {
			vs, ok := byName[v.Name]
			if !ok {
				vs = &VariantSummary{VariantName: v.Name}
				byName[v.Name] = vs
				order = append(order, v.Name)
			}
			w := float32(v.Weight)
			if v.Serverless != nil {
				sc := toServerless(v.Serverless)
				if current {
					vs.CurrentServerlessConfig = sc
				} else {
					vs.DesiredServerlessConfig = sc
				}
			} else {
				n := int32(v.InstanceCount)
				if current {
					vs.CurrentInstanceCount, vs.CurrentWeight = &n, &w
				} else {
					vs.DesiredInstanceCount, vs.DesiredWeight = &n, &w
				}
			}
			if current && len(vs.DeployedImages) == 0 {
				vs.DeployedImages = []DeployedImage{{SpecifiedImage: v.Model.Image, ResolvedImage: v.Model.Image}}
			}
		}
	}
	add(cur, true)
	add(want, false)
	for _, n := range order {
		vs := byName[n]
		if vs.CurrentWeight == nil && vs.DesiredWeight != nil && cur != nil {
			// A variant only in the desired deployment has no current weight yet.
			zero := float32(0)
			vs.CurrentWeight = &zero
		}
		out = append(out, *vs)
	}
	return out
}

func toServerless(s *hearth.Serverless) *ServerlessConfig {
	m, c := int32(s.MemorySizeInMB), int32(s.MaxConcurrency)
	sc := &ServerlessConfig{MemorySizeInMB: &m, MaxConcurrency: &c}
	if s.ProvisionedConcurrency > 0 {
		p := int32(s.ProvisionedConcurrency)
		sc.ProvisionedConcurrency = &p
	}
	return sc
}

// DescribeEndpoint returns an endpoint with its variants' current and
// desired capacity.
func (s *Service) DescribeEndpoint(ctx context.Context, in *NameInput) (*Endpoint, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointName, "endpointName", entityNameRE, entityNamePattern)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var rec endpointRecord
	if err := s.get(ctx, store.KindEndpoint, *in.EndpointName, &rec); err != nil {
		return nil, err
	}
	return &rec.Endpoint, nil
}

// UpdateEndpoint deploys a new config to an endpoint. The new deployment is
// brought up before the old one drains, so no request fails because of it.
func (s *Service) UpdateEndpoint(ctx context.Context, in *CreateEndpointInput) (map[string]string, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointName, "endpointName", entityNameRE, entityNamePattern)
	checkName(&v, in.EndpointConfigName, "endpointConfigName", entityNameRE, entityNamePattern)
	if err := v.Err(); err != nil {
		return nil, err
	}
	name := *in.EndpointName
	s.mu.Lock()
	defer s.unlock()
	var rec endpointRecord
	var dep *hearth.Deployment
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Get(store.KindEndpoint, name, &rec); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return s.notFound(store.KindEndpoint, name)
			}
			return err
		}
		if rec.EndpointStatus != StatusInService && rec.EndpointStatus != StatusFailed {
			return s.inProgress(name)
		}
		gen := int64(1)
		if rec.Desired != nil {
			gen = rec.Desired.Generation + 1
		}
		if rec.Current != nil && rec.Current.Generation >= gen {
			gen = rec.Current.Generation + 1
		}
		d, _, err := s.deployment(tx, rec.EndpointName, *in.EndpointConfigName, gen)
		if err != nil {
			return err
		}
		if rec.Current != nil {
			if err := checkUpdate(rec.Current, d); err != nil {
				return err
			}
		}
		if err := s.admit(d); err != nil {
			return err
		}
		dep = d
		rec.Desired = d
		rec.EndpointStatus = StatusUpdating
		rec.FailureReason = ""
		rec.LastModifiedTime = awsjson.Timestamp{Time: s.now()}
		rec.ProductionVariants = summaries(rec.Current, d)
		return tx.Put(store.KindEndpoint, name, rec.CreationTime.Time, rec)
	})
	if err != nil {
		return nil, err
	}
	d := *dep
	s.intend(func() { s.deployer.Deploy(d) })
	return map[string]string{"EndpointArn": rec.EndpointArn}, nil
}

// checkUpdate enforces AWS's rule that an instance-based endpoint cannot
// become serverless.
func checkUpdate(cur, next *hearth.Deployment) error {
	wasServerless := len(cur.Variants) > 0 && cur.Variants[0].Serverless != nil
	isServerless := len(next.Variants) > 0 && next.Variants[0].Serverless != nil
	if !wasServerless && isServerless {
		return awserr.Validation("Cannot update endpoint %q from instance-based to serverless: create a new endpoint for serverless inference.", cur.Endpoint)
	}
	return nil
}

// DeleteEndpoint marks the endpoint Deleting and asks the fleet to drain
// it; the record goes once the fleet reports the workers stopped.
func (s *Service) DeleteEndpoint(ctx context.Context, in *NameInput) (struct{}, error) {
	var v awserr.Violations
	checkName(&v, in.EndpointName, "endpointName", entityNameRE, entityNamePattern)
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	name := *in.EndpointName
	s.mu.Lock()
	defer s.unlock()
	var rec endpointRecord
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Get(store.KindEndpoint, name, &rec); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return s.notFound(store.KindEndpoint, name)
			}
			return err
		}
		if rec.EndpointStatus == StatusDeleting {
			return s.inProgress(name)
		}
		rec.EndpointStatus = StatusDeleting
		rec.LastModifiedTime = awsjson.Timestamp{Time: s.now()}
		return tx.Put(store.KindEndpoint, name, rec.CreationTime.Time, rec)
	})
	if err != nil {
		return struct{}{}, err
	}
	name, gen := rec.EndpointName, rec.generation()
	s.intend(func() { s.deployer.Remove(name, gen) })
	return struct{}{}, nil
}

func (r *endpointRecord) generation() int64 {
	var g int64
	if r.Current != nil {
		g = r.Current.Generation
	}
	if r.Desired != nil && r.Desired.Generation > g {
		g = r.Desired.Generation
	}
	return g
}

// ListEndpoints lists endpoints.
func (s *Service) ListEndpoints(ctx context.Context, in *ListInput) (map[string]any, error) {
	var recs []endpointRecord
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		recs, err = store.ListInto[endpointRecord](tx, store.KindEndpoint)
		return err
	})
	if err != nil {
		return nil, err
	}
	items := make([]listItem, len(recs))
	for i, r := range recs {
		items[i] = listItem{name: r.EndpointName, created: r.CreationTime.Time, modified: r.LastModifiedTime.Time,
			status: r.EndpointStatus, value: map[string]any{
				"EndpointName": r.EndpointName, "EndpointArn": r.EndpointArn, "CreationTime": r.CreationTime,
				"LastModifiedTime": r.LastModifiedTime, "EndpointStatus": r.EndpointStatus,
			}}
	}
	out, next, err := page(in, items, []string{"Name", "CreationTime", "Status"})
	if err != nil {
		return nil, err
	}
	return withToken(map[string]any{"Endpoints": out}, next), nil
}

// apply applies the fleet's word on a deployment to the stored endpoint.
// Reports about a generation the endpoint has moved past are ignored.
func (s *Service) apply(ctx context.Context, r hearth.Report) {
	s.mu.Lock()
	defer s.unlock()
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		var rec endpointRecord
		if err := tx.Get(store.KindEndpoint, r.Endpoint, &rec); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		if r.Outcome == hearth.Removed {
			if rec.EndpointStatus != StatusDeleting {
				return nil
			}
			_, err := tx.Delete(store.KindEndpoint, r.Endpoint)
			return err
		}
		if rec.Desired == nil && rec.Current != nil && rec.Current.Generation == r.Generation &&
			r.Outcome == hearth.Failed && rec.EndpointStatus == StatusInService {
			// The serving deployment could not be brought back after a
			// restart.
			rec.EndpointStatus = StatusFailed
			rec.FailureReason = truncate(r.Reason, 1024)
			rec.LastModifiedTime = awsjson.Timestamp{Time: s.now()}
			return tx.Put(store.KindEndpoint, r.Endpoint, rec.CreationTime.Time, rec)
		}
		if rec.Desired == nil || rec.Desired.Generation != r.Generation || rec.EndpointStatus == StatusDeleting {
			return nil
		}
		switch r.Outcome {
		case hearth.Ready:
			rec.Current, rec.Desired = rec.Desired, nil
			rec.EndpointConfigName = rec.Current.ConfigName
			rec.EndpointStatus = StatusInService
			rec.FailureReason = ""
			rec.ProductionVariants = summaries(rec.Current, rec.Current)
		case hearth.Failed:
			rec.FailureReason = truncate(r.Reason, 1024)
			if rec.Current != nil {
				// A failed update leaves the endpoint serving its
				// previous deployment, as AWS rolls back.
				rec.Desired = nil
				rec.EndpointStatus = StatusInService
				rec.ProductionVariants = summaries(rec.Current, rec.Current)
			} else {
				rec.EndpointStatus = StatusFailed
			}
		}
		rec.LastModifiedTime = awsjson.Timestamp{Time: s.now()}
		return tx.Put(store.KindEndpoint, r.Endpoint, rec.CreationTime.Time, rec)
	})
	if err != nil {
		s.log.Error("record deployment report", "endpoint", r.Endpoint, "generation", r.Generation, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Resume re-issues, after a restart, the work stored endpoints were waiting
// on: it redeploys what was running or being deployed and finishes deletes.
func (s *Service) Resume(ctx context.Context) error {
	var recs []endpointRecord
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		recs, err = store.ListInto[endpointRecord](tx, store.KindEndpoint)
		return err
	})
	if err != nil {
		return fmt.Errorf("resume endpoints: %w", err)
	}
	for _, rec := range recs {
		switch {
		case rec.EndpointStatus == StatusDeleting:
			s.deployer.Remove(rec.EndpointName, rec.generation())
		case rec.Desired != nil:
			if rec.Current != nil {
				s.deployer.Restore(*rec.Current)
			}
			s.deployer.Deploy(*rec.Desired)
		case rec.Current != nil:
			s.deployer.Restore(*rec.Current)
		}
	}
	return nil
}
