package control

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"hearth/internal/awsapi"
	"hearth/internal/awserr"
	"hearth/internal/store"
)

// TagsInput is the request of AddTags, ListTags and DeleteTags.
type TagsInput struct {
	ResourceArn *string  `json:"ResourceArn"`
	Tags        []Tag    `json:"Tags"`
	TagKeys     []string `json:"TagKeys"`
	MaxResults  *int32   `json:"MaxResults"`
	NextToken   *string  `json:"NextToken"`
}

// parseARN maps a SageMaker ARN of this server to a stored resource.
func (s *Service) parseARN(arn *string) (store.Kind, string, error) {
	if arn == nil {
		return "", "", awserr.Validation("1 validation error detected: Value null at 'resourceArn' failed to satisfy constraint: Member must not be null")
	}
	if len(*arn) > 256 {
		return "", "", awserr.Validation("1 validation error detected: Value '%s' at 'resourceArn' failed to satisfy constraint: %s", *arn, maxLen(256))
	}
	prefix := fmt.Sprintf("arn:aws:sagemaker:%s:%s:", s.opts.Region, s.opts.AccountID)
	rest, ok := strings.CutPrefix(*arn, prefix)
	if !ok {
		return "", "", awserr.Validation("Invalid resource ARN %q: expected an ARN of this region and account (%s…).", *arn, prefix)
	}
	kind, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		return "", "", awserr.Validation("Invalid resource ARN %q.", *arn)
	}
	switch store.Kind(kind) {
	case store.KindModel, store.KindEndpointConfig, store.KindEndpoint:
		return store.Kind(kind), name, nil
	}
	return "", "", awserr.Validation("Resource type %q of ARN %q does not support tags on this server.", kind, *arn)
}

// withTags loads the resource an ARN names, lets fn change its tags, and
// stores it back when fn reports a change.
func (s *Service) withTags(ctx context.Context, arn *string, write bool, fn func(tags *[]Tag) error) error {
	kind, name, err := s.parseARN(arn)
	if err != nil {
		return err
	}
	if write {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	run := s.store.View
	if write {
		run = s.store.Update
	}
	return run(ctx, func(tx *store.Tx) error {
		var doc map[string]any
		if err := tx.Get(kind, name, &doc); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return s.notFound(kind, name)
			}
			return err
		}
		tags := decodeTags(doc["Tags"])
		if err := fn(&tags); err != nil {
			return err
		}
		if !write {
			return nil
		}
		if len(tags) == 0 {
			delete(doc, "Tags")
		} else {
			doc["Tags"] = tags
		}
		created, _ := doc["CreationTime"].(float64)
		return tx.Put(kind, name, unixFloat(created), doc)
	})
}

// AddTags adds or overwrites tags on a model, endpoint config or endpoint.
func (s *Service) AddTags(ctx context.Context, in *TagsInput) (map[string]any, error) {
	var v awserr.Violations
	if in.Tags == nil {
		v.Add(nil, "tags", notNull)
	}
	checkTags(&v, in.Tags, "tags")
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.withTags(ctx, in.ResourceArn, true, func(tags *[]Tag) error {
		for _, t := range in.Tags {
			replaced := false
			for i := range *tags {
				if *(*tags)[i].Key == *t.Key {
					(*tags)[i].Value = t.Value
					replaced = true
				}
			}
			if !replaced {
				*tags = append(*tags, t)
			}
		}
		if len(*tags) > 50 {
			return awserr.New("ResourceLimitExceeded", 400, "Resource %s would have %d tags; at most 50 are allowed.", *in.ResourceArn, len(*tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": in.Tags}, nil
}

// ListTags lists a resource's tags.
func (s *Service) ListTags(ctx context.Context, in *TagsInput) (map[string]any, error) {
	var v awserr.Violations
	if in.MaxResults != nil && *in.MaxResults < 50 {
		v.Add(*in.MaxResults, "maxResults", minVal(50))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var all []Tag
	if err := s.withTags(ctx, in.ResourceArn, false, func(tags *[]Tag) error { all = *tags; return nil }); err != nil {
		return nil, err
	}
	hash := awsapi.RequestHash(in.ResourceArn)
	start, err := pageStart(in.NextToken, len(all), hash)
	if err != nil {
		return nil, err
	}
	limit := 50
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	end := min(start+limit, len(all))
	out := map[string]any{"Tags": append([]Tag{}, all[start:end]...)}
	if end < len(all) {
		out["NextToken"] = awsapi.PageToken{Offset: end, Hash: hash}.Encode()
	}
	return out, nil
}

// DeleteTags removes the named tags from a resource.
func (s *Service) DeleteTags(ctx context.Context, in *TagsInput) (struct{}, error) {
	var v awserr.Violations
	if in.TagKeys == nil {
		v.Add(nil, "tagKeys", notNull)
	} else if len(in.TagKeys) < 1 || len(in.TagKeys) > 50 {
		v.Add(fmt.Sprintf("%d keys", len(in.TagKeys)), "tagKeys", "Member must have length between 1 and 50")
	}
	if err := v.Err(); err != nil {
		return struct{}{}, err
	}
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		drop[k] = true
	}
	err := s.withTags(ctx, in.ResourceArn, true, func(tags *[]Tag) error {
		kept := (*tags)[:0]
		for _, t := range *tags {
			if !drop[*t.Key] {
				kept = append(kept, t)
			}
		}
		*tags = kept
		return nil
	})
	return struct{}{}, err
}

func decodeTags(v any) []Tag {
	list, _ := v.([]any)
	var out []Tag
	for _, x := range list {
		m, _ := x.(map[string]any)
		k, ok := m["Key"].(string)
		if !ok {
			continue
		}
		t := Tag{Key: &k}
		if val, ok := m["Value"].(string); ok {
			t.Value = &val
		}
		out = append(out, t)
	}
	return out
}
