package autoscaling

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"hearth/internal/awserr"
	"hearth/internal/store"
)

// Tags are kept beside a scalable target, under its key, so that
// DescribeScalableTargets renders the target's own members only (AWS's
// ScalableTarget shape has no tags).
const kindTags store.Kind = "scalable-target-tags"

// Tagging limits, as Application Auto Scaling (and AWS tagging generally)
// applies them.
const (
	MaxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
	maxARNLen      = 1011
)

var (
	tagPattern = regexp.MustCompile(`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
	arnPattern = regexp.MustCompile(`^arn:.+:application-autoscaling:.+:[0-9]+:scalable-target/[a-zA-Z0-9-]+$`)
)

const tagPatternText = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`

type tagRecord struct {
	ScalableTargetARN string            `json:"ScalableTargetARN"`
	Tags              map[string]string `json:"Tags"`
}

// checkTags validates a tag map's keys and values (not their count).
func checkTags(v *awserr.Violations, tags map[string]string, field string) {
	for k, val := range tags {
		switch n := utf8.RuneCountInString(k); {
		case n < 1:
			v.Add(k, field, "Map keys must satisfy constraint: [Member must have length greater than or equal to 1]")
		case n > maxTagKeyLen:
			v.Add(k, field, fmt.Sprintf("Map keys must satisfy constraint: [Member must have length less than or equal to %d]", maxTagKeyLen))
		case !tagPattern.MatchString(k):
			v.Add(k, field, "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "+tagPatternText+"]")
		}
		switch {
		case utf8.RuneCountInString(val) > maxTagValueLen:
			v.Add(val, field, fmt.Sprintf("Map value must satisfy constraint: [Member must have length less than or equal to %d]", maxTagValueLen))
		case !tagPattern.MatchString(val):
			v.Add(val, field, "Map value must satisfy constraint: [Member must satisfy regular expression pattern: "+tagPatternText+"]")
		}
	}
}

// reservedTag refuses keys in AWS's reserved aws: prefix.
func reservedTag(tags map[string]string) error {
	for k := range tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return validation("Tag keys starting with aws: are reserved for AWS use: %s", k)
		}
	}
	return nil
}

func tooManyTags(arn string) error {
	e := awserr.New("TooManyTagsException", http.StatusBadRequest,
		"The scalable target %s would have more than %d tags, the most allowed.", arn, MaxTags)
	e.Fields = map[string]any{"ResourceName": arn}
	return e
}

func resourceNotFound(arn string) error {
	e := awserr.New("ResourceNotFoundException", http.StatusBadRequest, "No scalable target found for ARN: %s", arn)
	e.Fields = map[string]any{"ResourceName": arn}
	return e
}

func checkARN(v *awserr.Violations, arn *string) {
	switch {
	case arn == nil:
		v.Add(nil, "resourceARN", "Member must not be null")
	case len(*arn) < 1:
		v.Add(*arn, "resourceARN", "Member must have length greater than or equal to 1")
	case len(*arn) > maxARNLen:
		v.Add(*arn, "resourceARN", fmt.Sprintf("Member must have length less than or equal to %d", maxARNLen))
	case !arnPattern.MatchString(*arn):
		v.Add(*arn, "resourceARN", "Member must satisfy regular expression pattern: ^arn:.+:application-autoscaling:.+:[0-9]+:scalable-target\\/[a-zA-Z0-9-]+$")
	}
}

// targetByARN finds the scalable target whose ARN is arn.
func targetByARN(tx *store.Tx, arn string) (*ScalableTarget, error) {
	targets, err := store.ListInto[ScalableTarget](tx, kindTarget)
	if err != nil {
		return nil, err
	}
	for i := range targets {
		if targets[i].ScalableTargetARN == arn {
			return &targets[i], nil
		}
	}
	return nil, resourceNotFound(arn)
}

func getTags(tx *store.Tx, t *ScalableTarget) (map[string]string, error) {
	var rec tagRecord
	err := tx.Get(kindTags, targetID{t.ServiceNamespace, t.ResourceId, t.ScalableDimension}.key(), &rec)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.Tags == nil {
		rec.Tags = map[string]string{}
	}
	return rec.Tags, nil
}

func putTags(tx *store.Tx, t *ScalableTarget, tags map[string]string) error {
	key := targetID{t.ServiceNamespace, t.ResourceId, t.ScalableDimension}.key()
	if len(tags) == 0 {
		_, err := tx.Delete(kindTags, key)
		return err
	}
	return tx.Put(kindTags, key, t.CreationTime.Time, tagRecord{ScalableTargetARN: t.ScalableTargetARN, Tags: tags})
}

// TagResourceInput is TagResource's request.
type TagResourceInput struct {
	ResourceARN *string           `json:"ResourceARN"`
	Tags        map[string]string `json:"Tags"`
}

// TagResource adds or replaces tags on a scalable target.
func (s *Service) TagResource(ctx context.Context, in *TagResourceInput) (struct{}, error) {
	var v awserr.Violations
	checkARN(&v, in.ResourceARN)
	if in.Tags == nil {
		v.Add(nil, "tags", "Member must not be null")
	} else {
		checkTags(&v, in.Tags, "tags")
	}
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	if err := reservedTag(in.Tags); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, s.editTags(ctx, *in.ResourceARN, func(tags map[string]string) error {
		maps.Copy(tags, in.Tags)
		if len(tags) > MaxTags {
			return tooManyTags(*in.ResourceARN)
		}
		return nil
	})
}

// editTags changes the tags of the target arn names in one transaction.
func (s *Service) editTags(ctx context.Context, arn string, edit func(tags map[string]string) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.Update(ctx, func(tx *store.Tx) error {
		t, err := targetByARN(tx, arn)
		if err != nil {
			return err
		}
		tags, err := getTags(tx, t)
		if err != nil {
			return err
		}
		if err := edit(tags); err != nil {
			return err
		}
		return putTags(tx, t, tags)
	})
}

// UntagResourceInput is UntagResource's request.
type UntagResourceInput struct {
	ResourceARN *string  `json:"ResourceARN"`
	TagKeys     []string `json:"TagKeys"`
}

// UntagResource removes tags from a scalable target; keys it does not
// have are ignored, as on AWS.
func (s *Service) UntagResource(ctx context.Context, in *UntagResourceInput) (struct{}, error) {
	var v awserr.Violations
	checkARN(&v, in.ResourceARN)
	if in.TagKeys == nil {
		v.Add(nil, "tagKeys", "Member must not be null")
	} else if len(in.TagKeys) > 200 {
		v.Add(fmt.Sprintf("[%d keys]", len(in.TagKeys)), "tagKeys", "Member must have length less than or equal to 200")
	}
	for i, k := range in.TagKeys {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxTagKeyLen {
			v.Add(k, fmt.Sprintf("tagKeys.%d.member", i+1), fmt.Sprintf("Member must have length less than or equal to %d", maxTagKeyLen))
		}
	}
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, s.editTags(ctx, *in.ResourceARN, func(tags map[string]string) error {
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		return nil
	})
}

// ListTagsInput is ListTagsForResource's request.
type ListTagsInput struct {
	ResourceARN *string `json:"ResourceARN"`
}

// ListTagsOutput is ListTagsForResource's response.
type ListTagsOutput struct {
	Tags map[string]string `json:"Tags"`
}

// ListTagsForResource returns a scalable target's tags.
func (s *Service) ListTagsForResource(ctx context.Context, in *ListTagsInput) (ListTagsOutput, error) {
	var v awserr.Violations
	checkARN(&v, in.ResourceARN)
	if err := v.Err(); err != nil {
		return ListTagsOutput{}, err
	}
	var out ListTagsOutput
	err := s.store.View(ctx, func(tx *store.Tx) error {
		t, err := targetByARN(tx, *in.ResourceARN)
		if err != nil {
			return err
		}
		out.Tags, err = getTags(tx, t)
		return err
	})
	return out, err
}
