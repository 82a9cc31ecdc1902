package awserr

import (
	"fmt"
	"testing"
)

func TestViolationsMessage(t *testing.T) {
	var v Violations
	if v.Err() != nil {
		t.Fatal("no violations must be no error")
	}
	v.Add(int32(1500), "productionVariants.1.member.serverlessConfig.memorySizeInMB", "Member must have value less than or equal to 6144")
	want := "1 validation error detected: Value '1500' at 'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to satisfy constraint: Member must have value less than or equal to 6144"
	if e, _ := As(v.Err()); e.Message != want || e.Code != "ValidationException" || e.HTTPStatus() != 400 {
		t.Fatalf("got %q", e.Message)
	}
	v.Add(nil, "modelName", "Member must not be null")
	var nilStr *string
	v.Add(nilStr, "endpointName", "Member must not be null")
	e, _ := As(fmt.Errorf("wrapped: %w", v.Err()))
	want = want[len("1 validation error detected: "):]
	if e.Message != "3 validation errors detected: "+want+
		"; Value null at 'modelName' failed to satisfy constraint: Member must not be null"+
		"; Value null at 'endpointName' failed to satisfy constraint: Member must not be null" {
		t.Fatalf("got %q", e.Message)
	}
}
