package cloudwatch

import (
	"fmt"
	"net/http"

	"hearth/internal/awserr"
)

// errorKind is one CloudWatch error: its model shape name, its awsQuery
// code and its HTTP status.
type errorKind struct {
	shape  string // model shape; "" for errors outside the CloudWatch model
	code   string // awsQuery error code (also the JSON/CBOR code when shape is "")
	status int
	sender bool // client fault (Sender) or server fault (Receiver)
}

var (
	errInvalidParameterValue       = errorKind{"InvalidParameterValueException", "InvalidParameterValue", http.StatusBadRequest, true}
	errMissingParameter            = errorKind{"MissingRequiredParameterException", "MissingParameter", http.StatusBadRequest, true}
	errInvalidParameterCombination = errorKind{"InvalidParameterCombinationException", "InvalidParameterCombination", http.StatusBadRequest, true}
	errInvalidNextToken            = errorKind{"InvalidNextToken", "InvalidNextToken", http.StatusBadRequest, true}
	errInternal                    = errorKind{"InternalServiceFault", "InternalServiceError", http.StatusInternalServerError, false}
	errSerialization               = errorKind{"", "SerializationException", http.StatusBadRequest, true}
	errUnknownOperation            = errorKind{"", "UnknownOperationException", http.StatusBadRequest, true}
	errInvalidAction               = errorKind{"", "InvalidAction", http.StatusBadRequest, true}
	errTooLarge                    = errorKind{"", "RequestEntityTooLarge", http.StatusRequestEntityTooLarge, true}
)

// apiError is an error answered to the client in the request's protocol:
// the one AWS error type every Hearth API uses.
type apiError = awserr.Error

func newError(k errorKind, format string, a ...any) *apiError {
	e := &apiError{Code: k.code, Status: k.status, Fault: k.faultType(), Message: fmt.Sprintf(format, a...)}
	if k.shape != "" {
		e.Type = k.typeName()
	}
	return e
}

func invalidValue(format string, a ...any) *apiError {
	return newError(errInvalidParameterValue, format, a...)
}

func missing(param string) *apiError {
	return newError(errMissingParameter, "The parameter %s is required.", param)
}

func combination(format string, a ...any) *apiError {
	return newError(errInvalidParameterCombination, format, a...)
}

// typeName is the value of __type in JSON and CBOR error bodies.
func (k errorKind) typeName() string {
	if k.shape == "" {
		return k.code
	}
	return "com.amazonaws.cloudwatch#" + k.shape
}

func (k errorKind) faultType() string {
	if k.sender {
		return "Sender"
	}
	return "Receiver"
}
