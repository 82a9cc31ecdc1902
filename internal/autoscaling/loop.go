package autoscaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"hearth/internal/autoscaling/schedule"
	"hearth/internal/autoscaling/tracking"
	"hearth/internal/store"
)

const kindTracking store.Kind = "tracking-state"

// MetricQuery names the metric a target-tracking policy follows.
type MetricQuery struct {
	Namespace, MetricName string
	Dimensions            map[string]string
	Statistic             string
}

// Metrics reads metric windows for target tracking.
type Metrics interface {
	// Window returns the metric's per-period values for the n periods
	// ending at end (exclusive), oldest first; periods without data are
	// absent or NaN.
	Window(ctx context.Context, q MetricQuery, period time.Duration, end time.Time, n int) ([]tracking.Datapoint, error)
}

// metricFor maps a policy to the metric it tracks.
func metricFor(p *ScalingPolicy, endpoint, variant string) MetricQuery {
	tt := p.TargetTrackingScalingPolicyConfiguration
	dims := map[string]string{"EndpointName": endpoint, "VariantName": variant}
	if pm := tt.PredefinedMetricSpecification; pm != nil {
		if *pm.PredefinedMetricType == MetricInvocationsPerInst {
			return MetricQuery{Namespace: "AWS/SageMaker", MetricName: "InvocationsPerInstance", Dimensions: dims, Statistic: "Sum"}
		}
		return MetricQuery{Namespace: "AWS/SageMaker", MetricName: "ServerlessProvisionedConcurrencyUtilization", Dimensions: dims, Statistic: "Average"}
	}
	cm := tt.CustomizedMetricSpecification
	q := MetricQuery{Namespace: *cm.Namespace, MetricName: *cm.MetricName, Statistic: *cm.Statistic, Dimensions: map[string]string{}}
	for _, d := range cm.Dimensions {
		if d.Name != nil && d.Value != nil {
			q.Dimensions[*d.Name] = *d.Value
		}
	}
	return q
}

func (p *ScalingPolicy) trackingPolicy(period time.Duration) tracking.Policy {
	tt := p.TargetTrackingScalingPolicyConfiguration
	tp := tracking.Policy{TargetValue: *tt.TargetValue, ScaleOutCooldown: tracking.DefaultCooldown, ScaleInCooldown: tracking.DefaultCooldown, Period: period}
	if tt.ScaleOutCooldown != nil {
		tp.ScaleOutCooldown = time.Duration(*tt.ScaleOutCooldown) * time.Second
	}
	if tt.ScaleInCooldown != nil {
		tp.ScaleInCooldown = time.Duration(*tt.ScaleInCooldown) * time.Second
	}
	tp.DisableScaleIn = tt.DisableScaleIn != nil && *tt.DisableScaleIn
	return tp
}

// Tick does everything due at now: fires scheduled actions whose time has
// come (each exactly once, also across restarts) and evaluates every
// target's tracking policies on the metric periods completed by now.
func (s *Service) Tick(ctx context.Context, m Metrics, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []ScalableTarget
	var policies []policyRecord
	var actions []scheduledRecord
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		if targets, err = store.ListInto[ScalableTarget](tx, kindTarget); err != nil {
			return err
		}
		if policies, err = store.ListInto[policyRecord](tx, kindPolicy); err != nil {
			return err
		}
		actions, err = store.ListInto[scheduledRecord](tx, kindAction)
		return err
	})
	if err != nil {
		return fmt.Errorf("autoscaling tick: %w", err)
	}
	var errs []error
	for i := range targets {
		t := &targets[i]
		id := targetID{t.ServiceNamespace, t.ResourceId, t.ScalableDimension}
		if s.unsettled[id] {
			// Its last change is still coming up: decide again once it
			// serves.
			continue
		}
		if err := s.runSchedules(ctx, t, id, actions, now); err != nil {
			errs = append(errs, err)
		}
		var mine []*ScalingPolicy
		for j := range policies {
			p := &policies[j].ScalingPolicy
			if (targetID{p.ServiceNamespace, p.ResourceId, p.ScalableDimension}) == id {
				mine = append(mine, p)
			}
		}
		if len(mine) > 0 && m != nil {
			if err := s.track(ctx, m, t, id, mine, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// runSchedules fires t's due scheduled actions in the order of their fire
// instants.
func (s *Service) runSchedules(ctx context.Context, t *ScalableTarget, id targetID, actions []scheduledRecord, now time.Time) error {
	if t.SuspendedState.scheduled() {
		return nil
	}
	type due struct {
		a  *scheduledRecord
		at time.Time
	}
	var list []due
	for i := range actions {
		a := &actions[i]
		if (targetID{a.ServiceNamespace, a.ResourceId, a.ScalableDimension}) != id {
			continue
		}
		sch, err := schedule.Parse(a.Schedule)
		if err != nil {
			continue // validated on Put; an unparsable stored schedule never fires
		}
		act := schedule.Action{Schedule: sch, Created: a.CreationTime.Time}
		if a.Timezone != "" {
			if loc, err := schedule.LoadTimezone(a.Timezone); err == nil {
				act.Location = loc
			}
		}
		if a.StartTime != nil {
			act.Start = a.StartTime.Time
		}
		if a.EndTime != nil {
			act.End = a.EndTime.Time
		}
		var last time.Time
		if a.LastFired != nil {
			last = a.LastFired.Time
		}
		if at, ok := act.Due(last, now); ok {
			list = append(list, due{a, at})
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].at.Before(list[j].at) })
	var errs []error
	for _, d := range list {
		if err := s.fireScheduled(ctx, t, d.a, d.at); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// track evaluates a target's tracking policies and applies the decision.
func (s *Service) track(ctx context.Context, m Metrics, t *ScalableTarget, id targetID, pols []*ScalingPolicy, now time.Time) error {
	ep, variant, err := parseResourceID(t.ResourceId)
	if err != nil {
		return nil
	}
	c, err := s.targets.Capacity(ctx, ep, variant)
	if err != nil || !c.InService {
		return nil // deleted, or busy updating: evaluate next time
	}
	period := s.opts.MetricPeriod
	end := now.Truncate(period)
	inputs := make([]tracking.Input, 0, len(pols))
	for _, p := range pols {
		if p.TargetTrackingScalingPolicyConfiguration == nil {
			continue
		}
		window, err := m.Window(ctx, metricFor(p, ep, variant), period, end, tracking.LowDatapoints)
		if err != nil {
			return fmt.Errorf("metrics for %s: %w", p.PolicyName, err)
		}
		in := tracking.Input{Policy: p.trackingPolicy(period), Window: window}
		if a, ok := s.activeAlarm(ctx, p); ok {
			in.Alarm = &a
		}
		inputs = append(inputs, in)
	}
	var st tracking.State
	key := id.key()
	err = s.store.View(ctx, func(tx *store.Tx) error {
		var raw json.RawMessage
		if err := tx.Get(kindTracking, key, &raw); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		return json.Unmarshal(raw, &st)
	})
	if err != nil {
		return err
	}
	d, next := tracking.DecideAll(inputs, st, tracking.Target{
		Current: c.Of(t.ScalableDimension), Min: int(t.MinCapacity), Max: int(t.MaxCapacity),
		DynamicScalingOutSuspended: t.SuspendedState.out(), DynamicScalingInSuspended: t.SuspendedState.in(),
	}, now)
	if next != st {
		if err := s.store.Update(ctx, func(tx *store.Tx) error { return tx.Put(kindTracking, key, now, next) }); err != nil {
			return err
		}
	}
	if d.Policy < 0 {
		return nil
	}
	p := pols[d.Policy]
	alarm := d.Alarm.String()
	for _, a := range p.Alarms {
		if strings.Contains(a.AlarmName, "-"+d.Alarm.String()+"-") {
			alarm = a.AlarmName
		}
	}
	cause := fmt.Sprintf("monitor alarm %s in state ALARM triggered policy %s", alarm, p.PolicyName)
	if !d.Scale {
		if d.Reason.NotScaledCode() {
			s.recordNotScaled(ctx, *t, key, cause, d.Reason, c.Of(t.ScalableDimension))
		}
		return nil
	}
	delete(s.notScaled, key)
	return s.setCapacity(ctx, *t, d.Desired, cause)
}

// recordNotScaled records that an alarm in ALARM could not scale (shown
// with IncludeNotScaledActivities), once per reason and capacity while the
// situation lasts, not once per period.
func (s *Service) recordNotScaled(ctx context.Context, t ScalableTarget, key, cause string, reason tracking.Reason, current int) {
	seen := string(reason) + "/" + strconv.Itoa(current)
	if s.notScaled[key] == seen {
		return
	}
	s.notScaled[key] = seen
	a := s.activity(t, "Attempting to scale due to alarm triggered", cause)
	a.StatusCode = "Failed"
	end := a.StartTime
	a.EndTime = &end
	cur, lo, hi := int32(current), t.MinCapacity, t.MaxCapacity
	r := NotScaledReason{Code: string(reason), CurrentCapacity: &cur}
	switch reason {
	case tracking.ReasonAlreadyAtMaxCapacity:
		r.MaxCapacity = &hi
	case tracking.ReasonAlreadyAtMinCapacity:
		r.MinCapacity = &lo
	}
	a.NotScaledReasons = []NotScaledReason{r}
	s.record(ctx, a)
}

// Run ticks every step on the service's clock until ctx is done; before
// each tick it calls before (e.g. to close finished metric periods).
func (s *Service) Run(ctx context.Context, m Metrics, step time.Duration, before func(now time.Time)) {
	if step <= 0 {
		step = time.Second
	}
	for {
		now := s.opts.Clock.Now()
		next := now.Truncate(step).Add(step)
		wake := make(chan struct{})
		timer := s.opts.Clock.AfterFunc(next.Sub(now), func() { close(wake) })
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
		}
		now = s.opts.Clock.Now()
		if before != nil {
			before(now)
		}
		if err := s.Tick(ctx, m, now); err != nil {
			s.log.Warn("autoscaling tick", "err", err)
		}
	}
}
