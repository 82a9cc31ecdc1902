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

func TestTypeFaultAndQueryHeader(t *testing.T) {
	e := New("InvalidParameterValue", 400, "bad")
	e.Type = "com.amazonaws.cloudwatch#InvalidParameterValueException"
	if e.TypeName() != e.Type || e.FaultName() != "Sender" || e.QueryHeader() != "InvalidParameterValue;Sender" {
		t.Fatalf("%s %s %s", e.TypeName(), e.FaultName(), e.QueryHeader())
	}
	v := Validation("x")
	if v.TypeName() != "ValidationException" {
		t.Fatalf("TypeName without Type = %s", v.TypeName())
	}
	if in := Internal("InternalFailure"); in.FaultName() != "Receiver" || New("X", 503, "down").FaultName() != "Receiver" {
		t.Fatal("server errors are the Receiver's fault")
	}
}
