package control

import (
	"encoding/json"

	"hearth"
	"hearth/internal/awsjson"
)

// The types below mirror the SageMaker API shapes member for member, so that
// requests decode and responses encode exactly as the AWS SDKs expect.
// Optional scalars are pointers: nil means the member was absent.

// Tag is a resource tag.
type Tag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

// ContainerDefinition describes one model container.
type ContainerDefinition struct {
	ContainerHostname *string           `json:"ContainerHostname,omitempty"`
	Image             *string           `json:"Image,omitempty"`
	ImageConfig       json.RawMessage   `json:"ImageConfig,omitempty"`
	Mode              *string           `json:"Mode,omitempty"`
	ModelDataUrl      *string           `json:"ModelDataUrl,omitempty"`
	ModelDataSource   json.RawMessage   `json:"ModelDataSource,omitempty"`
	Environment       map[string]string `json:"Environment,omitempty"`
	ModelPackageName  *string           `json:"ModelPackageName,omitempty"`
	MultiModelConfig  json.RawMessage   `json:"MultiModelConfig,omitempty"`
	InferenceSpecName *string           `json:"InferenceSpecificationName,omitempty"`
}

// Model is a stored model, in DescribeModel's shape.
type Model struct {
	ModelName                *string               `json:"ModelName"`
	ModelArn                 string                `json:"ModelArn"`
	PrimaryContainer         *ContainerDefinition  `json:"PrimaryContainer,omitempty"`
	Containers               []ContainerDefinition `json:"Containers,omitempty"`
	InferenceExecutionConfig json.RawMessage       `json:"InferenceExecutionConfig,omitempty"`
	ExecutionRoleArn         *string               `json:"ExecutionRoleArn,omitempty"`
	VpcConfig                json.RawMessage       `json:"VpcConfig,omitempty"`
	EnableNetworkIsolation   *bool                 `json:"EnableNetworkIsolation,omitempty"`
	CreationTime             awsjson.Timestamp     `json:"CreationTime"`
}

// Container returns the model's single container.
func (m *Model) Container() ContainerDefinition {
	if m.PrimaryContainer != nil {
		return *m.PrimaryContainer
	}
	if len(m.Containers) > 0 {
		return m.Containers[0]
	}
	return ContainerDefinition{}
}

// ServerlessConfig is a serverless variant's capacity.
type ServerlessConfig struct {
	MemorySizeInMB         *int32 `json:"MemorySizeInMB,omitempty"`
	MaxConcurrency         *int32 `json:"MaxConcurrency,omitempty"`
	ProvisionedConcurrency *int32 `json:"ProvisionedConcurrency,omitempty"`
}

// ProductionVariant is one variant of an endpoint config.
type ProductionVariant struct {
	VariantName                                 *string           `json:"VariantName,omitempty"`
	ModelName                                   *string           `json:"ModelName,omitempty"`
	InitialInstanceCount                        *int32            `json:"InitialInstanceCount,omitempty"`
	InstanceType                                *string           `json:"InstanceType,omitempty"`
	InitialVariantWeight                        *float32          `json:"InitialVariantWeight,omitempty"`
	AcceleratorType                             *string           `json:"AcceleratorType,omitempty"`
	VolumeSizeInGB                              *int32            `json:"VolumeSizeInGB,omitempty"`
	ModelDataDownloadTimeoutInSeconds           *int32            `json:"ModelDataDownloadTimeoutInSeconds,omitempty"`
	ContainerStartupHealthCheckTimeoutInSeconds *int32            `json:"ContainerStartupHealthCheckTimeoutInSeconds,omitempty"`
	EnableSSMAccess                             *bool             `json:"EnableSSMAccess,omitempty"`
	RoutingConfig                               json.RawMessage   `json:"RoutingConfig,omitempty"`
	ManagedInstanceScaling                      json.RawMessage   `json:"ManagedInstanceScaling,omitempty"`
	CoreDumpConfig                              json.RawMessage   `json:"CoreDumpConfig,omitempty"`
	InferenceAmiVersion                         *string           `json:"InferenceAmiVersion,omitempty"`
	ServerlessConfig                            *ServerlessConfig `json:"ServerlessConfig,omitempty"`
}

// EndpointConfig is a stored endpoint configuration.
type EndpointConfig struct {
	EndpointConfigName       *string             `json:"EndpointConfigName"`
	EndpointConfigArn        string              `json:"EndpointConfigArn"`
	ProductionVariants       []ProductionVariant `json:"ProductionVariants"`
	DataCaptureConfig        json.RawMessage     `json:"DataCaptureConfig,omitempty"`
	KmsKeyId                 *string             `json:"KmsKeyId,omitempty"`
	AsyncInferenceConfig     json.RawMessage     `json:"AsyncInferenceConfig,omitempty"`
	ExplainerConfig          json.RawMessage     `json:"ExplainerConfig,omitempty"`
	ShadowProductionVariants []ProductionVariant `json:"ShadowProductionVariants,omitempty"`
	ExecutionRoleArn         *string             `json:"ExecutionRoleArn,omitempty"`
	VpcConfig                json.RawMessage     `json:"VpcConfig,omitempty"`
	EnableNetworkIsolation   *bool               `json:"EnableNetworkIsolation,omitempty"`
	CreationTime             awsjson.Timestamp   `json:"CreationTime"`
}

// DeployedImage names the image a variant runs.
type DeployedImage struct {
	SpecifiedImage string             `json:"SpecifiedImage,omitempty"`
	ResolvedImage  string             `json:"ResolvedImage,omitempty"`
	ResolutionTime *awsjson.Timestamp `json:"ResolutionTime,omitempty"`
}

// VariantStatus is one in-progress step of a variant.
type VariantStatus struct {
	Status        string             `json:"Status"`
	StatusMessage string             `json:"StatusMessage,omitempty"`
	StartTime     *awsjson.Timestamp `json:"StartTime,omitempty"`
}

// VariantSummary is a variant as DescribeEndpoint reports it.
type VariantSummary struct {
	VariantName             string            `json:"VariantName"`
	DeployedImages          []DeployedImage   `json:"DeployedImages,omitempty"`
	CurrentWeight           *float32          `json:"CurrentWeight,omitempty"`
	DesiredWeight           *float32          `json:"DesiredWeight,omitempty"`
	CurrentInstanceCount    *int32            `json:"CurrentInstanceCount,omitempty"`
	DesiredInstanceCount    *int32            `json:"DesiredInstanceCount,omitempty"`
	VariantStatus           []VariantStatus   `json:"VariantStatus,omitempty"`
	CurrentServerlessConfig *ServerlessConfig `json:"CurrentServerlessConfig,omitempty"`
	DesiredServerlessConfig *ServerlessConfig `json:"DesiredServerlessConfig,omitempty"`
}

// Endpoint is an endpoint as DescribeEndpoint reports it.
type Endpoint struct {
	EndpointName       string            `json:"EndpointName"`
	EndpointArn        string            `json:"EndpointArn"`
	EndpointConfigName string            `json:"EndpointConfigName,omitempty"`
	ProductionVariants []VariantSummary  `json:"ProductionVariants,omitempty"`
	EndpointStatus     string            `json:"EndpointStatus"`
	FailureReason      string            `json:"FailureReason,omitempty"`
	CreationTime       awsjson.Timestamp `json:"CreationTime"`
	LastModifiedTime   awsjson.Timestamp `json:"LastModifiedTime"`
}

// Endpoint statuses.
const (
	StatusCreating  = "Creating"
	StatusUpdating  = "Updating"
	StatusInService = "InService"
	StatusDeleting  = "Deleting"
	StatusFailed    = "Failed"
)

// Stored records: the API shape plus what Hearth keeps beside it.

type modelRecord struct {
	Model
	Tags []Tag `json:"Tags,omitempty"`
}

type configRecord struct {
	EndpointConfig
	Tags []Tag `json:"Tags,omitempty"`
}

type endpointRecord struct {
	Endpoint
	Tags []Tag `json:"Tags,omitempty"`
	// Current is the deployment serving traffic (nil until the first one is
	// up); Desired is the one being brought up, if any.
	Current *hearth.Deployment `json:"Current,omitempty"`
	Desired *hearth.Deployment `json:"Desired,omitempty"`
}
