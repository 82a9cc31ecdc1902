package autoscaling

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"hearth/internal/awsjson"
	"hearth/internal/store"
)

// capacityNoun is how activities name a dimension's capacity.
func capacityNoun(dim string) string {
	if dim == DimProvisioned {
		return "provisioned concurrency"
	}
	return "instance count"
}

// record stores an activity.
func (s *Service) record(ctx context.Context, a ScalingActivity) {
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		return tx.Put(kindActivity, a.ActivityId, a.StartTime.Time, a)
	})
	if err != nil {
		s.log.Error("record scaling activity", "resource", a.ResourceId, "err", err)
	}
}

func (s *Service) activity(t ScalableTarget, desc, cause string) ScalingActivity {
	return ScalingActivity{
		ActivityId:       activityID(),
		ServiceNamespace: t.ServiceNamespace, ResourceId: t.ResourceId, ScalableDimension: t.ScalableDimension,
		Description: desc, Cause: cause, StartTime: awsjson.Timestamp{Time: s.now()}, StatusCode: "InProgress",
	}
}

// activityID returns a time-ordered id, so activities recorded within the
// same millisecond keep their order.
func activityID() string {
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

// setCapacity changes the target's capacity to n and records the activity.
// Called with s.mu held.
func (s *Service) setCapacity(ctx context.Context, t ScalableTarget, n int, cause string) error {
	ep, variant, err := parseResourceID(t.ResourceId)
	if err != nil {
		return err
	}
	noun := capacityNoun(t.ScalableDimension)
	a := s.activity(t, fmt.Sprintf("Setting desired %s to %d.", noun, n), cause)
	err = s.targets.SetCapacity(ctx, ep, variant, t.ScalableDimension, n)
	settler, waits := s.targets.(Settler)
	if err != nil || !waits {
		s.finish(ctx, a, noun, n, err)
		return err
	}
	// Accepted: the activity is InProgress until the new capacity serves,
	// which is waited for without holding the service's lock.
	s.record(ctx, a)
	s.log.Info("scaling activity", "resource", t.ResourceId, "dimension", t.ScalableDimension, "capacity", n, "cause", cause, "status", a.StatusCode)
	id := targetID{t.ServiceNamespace, t.ResourceId, t.ScalableDimension}
	s.unsettled[id] = true
	s.settling.Add(1)
	go func() {
		defer s.settling.Done()
		wctx := context.WithoutCancel(ctx)
		s.finish(wctx, a, noun, n, settler.Settled(wctx, ep))
		s.mu.Lock()
		delete(s.unsettled, id)
		s.mu.Unlock()
	}()
	return nil
}

// finish records an activity's outcome.
func (s *Service) finish(ctx context.Context, a ScalingActivity, noun string, n int, err error) {
	end := awsjson.Timestamp{Time: s.now()}
	a.EndTime = &end
	if err != nil {
		a.StatusCode = "Failed"
		a.StatusMessage = fmt.Sprintf("Failed to set desired %s to %d. Reason: %v", noun, n, err)
	} else {
		a.StatusCode = "Successful"
		a.StatusMessage = fmt.Sprintf("Successfully set desired %s to %d. Change successfully fulfilled by sagemaker.", noun, n)
	}
	s.record(ctx, a)
	s.log.Info("scaling activity", "resource", a.ResourceId, "dimension", a.ScalableDimension, "capacity", n, "cause", a.Cause, "status", a.StatusCode)
}

// clampLocked brings the target's current capacity into [min, max]. cause
// overrides the default ("minimum capacity was set to N").
func (s *Service) clampLocked(ctx context.Context, t ScalableTarget, cause string) {
	ep, variant, err := parseResourceID(t.ResourceId)
	if err != nil {
		return
	}
	c, err := s.targets.Capacity(ctx, ep, variant)
	if err != nil || !c.InService {
		return
	}
	cur := c.Of(t.ScalableDimension)
	switch {
	case cur < int(t.MinCapacity):
		if cause == "" {
			cause = fmt.Sprintf("minimum capacity was set to %d", t.MinCapacity)
		}
		_ = s.setCapacity(ctx, t, int(t.MinCapacity), cause)
	case cur > int(t.MaxCapacity):
		if cause == "" {
			cause = fmt.Sprintf("maximum capacity was set to %d", t.MaxCapacity)
		}
		_ = s.setCapacity(ctx, t, int(t.MaxCapacity), cause)
	}
}

// fireScheduled performs one scheduled action fire at instant at: the
// target's bounds become the action's, then capacity is clamped into them.
func (s *Service) fireScheduled(ctx context.Context, t *ScalableTarget, a *scheduledRecord, at time.Time) error {
	min, max := t.MinCapacity, t.MaxCapacity
	if sta := a.ScalableTargetAction; sta != nil {
		if sta.MinCapacity != nil {
			min = *sta.MinCapacity
		}
		if sta.MaxCapacity != nil {
			max = *sta.MaxCapacity
		}
	}
	act := s.activity(*t, fmt.Sprintf("Setting min capacity to %d and max capacity to %d", min, max),
		fmt.Sprintf("scheduled action name %s was triggered", a.ScheduledActionName))
	fired := awsjson.Timestamp{Time: at}
	a.LastFired = &fired
	end := awsjson.Timestamp{Time: s.now()}
	act.EndTime = &end
	if min > max {
		act.StatusCode = "Failed"
		act.StatusMessage = fmt.Sprintf("Failed to set min capacity to %d and max capacity to %d: minimum capacity cannot be greater than maximum capacity", min, max)
	} else {
		t.MinCapacity, t.MaxCapacity = min, max
		act.StatusCode = "Successful"
		act.StatusMessage = fmt.Sprintf("Successfully set min capacity to %d and max capacity to %d", min, max)
	}
	key := exactKey(a.ServiceNamespace, a.ResourceId, a.ScalableDimension, a.ScheduledActionName)
	err := s.store.Update(ctx, func(tx *store.Tx) error {
		if err := tx.Put(kindAction, key, a.CreationTime.Time, a); err != nil {
			return err
		}
		if err := tx.Put(kindTarget, targetID{t.ServiceNamespace, t.ResourceId, t.ScalableDimension}.key(), t.CreationTime.Time, t); err != nil {
			return err
		}
		return tx.Put(kindActivity, act.ActivityId, act.StartTime.Time, act)
	})
	if err != nil {
		return fmt.Errorf("fire scheduled action %s: %w", a.ScheduledActionName, err)
	}
	if act.StatusCode == "Successful" {
		s.clampLocked(ctx, *t, "")
	}
	return nil
}
