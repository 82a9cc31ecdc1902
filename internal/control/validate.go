package control

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"hearth/internal/awserr"
	"hearth/internal/awsjson"
)

// Field constraints from the SageMaker API model, with the exact constraint
// wording AWS's validation layer uses.
var (
	modelNamePattern    = `^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$`
	modelNameRE         = regexp.MustCompile(modelNamePattern)
	entityNamePattern   = `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`
	entityNameRE        = regexp.MustCompile(entityNamePattern + `$`)
	nameContainsPattern = `[a-zA-Z0-9-]+`
	nameContainsRE      = regexp.MustCompile(`^` + nameContainsPattern + `$`)
	roleArnPattern      = `^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`
	roleArnRE           = regexp.MustCompile(roleArnPattern)
	envKeyPattern       = `[a-zA-Z_][a-zA-Z0-9_]*`
	envKeyRE            = regexp.MustCompile(`^` + envKeyPattern + `$`)
	imagePattern        = `[\S]+`
	imageRE             = regexp.MustCompile(`^` + imagePattern + `$`)
	modelDataURLPattern = `^(https|s3)://([^/]+)/?(.*)$`
	kmsKeyPattern       = `[a-zA-Z0-9:/_-]*`
	tagKeyPattern       = `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
	tagKeyRE            = regexp.MustCompile(tagKeyPattern)
	instanceTypeRE      = regexp.MustCompile(`^ml\.[a-z0-9]+[a-z0-9-]*\.[a-z0-9]+$`)
)

const (
	notNull = "Member must not be null"
)

func maxLen(n int) string { return fmt.Sprintf("Member must have length less than or equal to %d", n) }
func minLen(n int) string {
	return fmt.Sprintf("Member must have length greater than or equal to %d", n)
}
func maxVal(n any) string { return fmt.Sprintf("Member must have value less than or equal to %v", n) }

// weightOK reports whether a variant weight is a finite number ≥ 0: the
// JSON protocol can carry NaN and the infinities, which no weight is.
func weightOK(w float32) bool {
	return w >= 0 && !math.IsInf(float64(w), 1)
}

// weightText renders a weight for a message; NaN and the infinities get
// the names the AWS JSON protocols give them.
func weightText(w float32) any {
	if f := float64(w); math.IsNaN(f) || math.IsInf(f, 0) {
		return strings.Trim(awsjson.FloatText(f), `"`)
	}
	return w
}

func minVal(n any) string {
	return fmt.Sprintf("Member must have value greater than or equal to %v", n)
}
func pattern(p string) string {
	return "Member must satisfy regular expression pattern: " + p
}
func enum(vals ...string) string {
	return "Member must satisfy enum value set: [" + strings.Join(vals, ", ") + "]"
}

// checkName validates a required resource name.
func checkName(v *awserr.Violations, name *string, path string, re *regexp.Regexp, pat string) {
	if name == nil {
		v.Add(nil, path, notNull)
		return
	}
	if len(*name) > 63 {
		v.Add(*name, path, maxLen(63))
	}
	if !re.MatchString(*name) {
		v.Add(*name, path, pattern(pat))
	}
}

func checkTags(v *awserr.Violations, tags []Tag, path string) {
	if len(tags) > 50 {
		v.Add(fmt.Sprintf("%d tags", len(tags)), path, "Member must have length less than or equal to 50")
	}
	for i, t := range tags {
		p := fmt.Sprintf("%s.%d.member", path, i+1)
		switch {
		case t.Key == nil:
			v.Add(nil, p+".key", notNull)
		case len(*t.Key) < 1:
			v.Add(*t.Key, p+".key", minLen(1))
		case len(*t.Key) > 128:
			v.Add(*t.Key, p+".key", maxLen(128))
		case !tagKeyRE.MatchString(*t.Key):
			v.Add(*t.Key, p+".key", pattern(tagKeyPattern))
		}
		if t.Value != nil && len(*t.Value) > 256 {
			v.Add(*t.Value, p+".value", maxLen(256))
		}
	}
}

func checkContainer(v *awserr.Violations, c *ContainerDefinition, path string) {
	if c.Image != nil {
		if len(*c.Image) > 255 {
			v.Add(*c.Image, path+".image", maxLen(255))
		}
		if !imageRE.MatchString(*c.Image) {
			v.Add(*c.Image, path+".image", pattern(imagePattern))
		}
	}
	if c.ModelDataUrl != nil && len(*c.ModelDataUrl) > 1024 {
		v.Add(*c.ModelDataUrl, path+".modelDataUrl", maxLen(1024))
	}
	if c.Mode != nil && *c.Mode != "SingleModel" && *c.Mode != "MultiModel" {
		v.Add(*c.Mode, path+".mode", enum("SingleModel", "MultiModel"))
	}
	if c.ContainerHostname != nil && (len(*c.ContainerHostname) > 63 || !entityNameRE.MatchString(*c.ContainerHostname)) {
		v.Add(*c.ContainerHostname, path+".containerHostname", pattern(entityNamePattern))
	}
	if len(c.Environment) > 100 {
		v.Add(fmt.Sprintf("%d entries", len(c.Environment)), path+".environment", "Member must have length less than or equal to 100")
	}
	for k, val := range c.Environment {
		if len(k) > 1024 {
			v.Add(k, path+".environment", "Map keys must satisfy constraint: [Member must have length less than or equal to 1024]")
		} else if !envKeyRE.MatchString(k) {
			v.Add(k, path+".environment", "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "+envKeyPattern+"]")
		}
		if len(val) > 1024 {
			v.Add(val, path+".environment", "Map value must satisfy constraint: [Member must have length less than or equal to 1024]")
		}
	}
}

func checkSort(v *awserr.Violations, sortBy, sortOrder *string, by []string) {
	if sortBy != nil && !contains(by, *sortBy) {
		v.Add(*sortBy, "sortBy", enum(by...))
	}
	if sortOrder != nil && *sortOrder != "Ascending" && *sortOrder != "Descending" {
		v.Add(*sortOrder, "sortOrder", enum("Ascending", "Descending"))
	}
}

func checkListCommon(v *awserr.Violations, in *listInput) {
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 100) {
		if *in.MaxResults < 1 {
			v.Add(*in.MaxResults, "maxResults", minVal(1))
		} else {
			v.Add(*in.MaxResults, "maxResults", maxVal(100))
		}
	}
	if in.NextToken != nil && len(*in.NextToken) > 8192 {
		v.Add(*in.NextToken, "nextToken", maxLen(8192))
	}
	if in.NameContains != nil {
		if len(*in.NameContains) > 63 {
			v.Add(*in.NameContains, "nameContains", maxLen(63))
		}
		if !nameContainsRE.MatchString(*in.NameContains) {
			v.Add(*in.NameContains, "nameContains", pattern(nameContainsPattern))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
