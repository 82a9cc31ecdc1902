package artifact

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Config says how to reach the S3-compatible store holding s3:// model
// data.
type S3Config struct {
	// EndpointURL is the store's base URL, such as http://127.0.0.1:9000;
	// empty means AWS S3 itself.
	EndpointURL string
	// Region defaults to the one the AWS configuration names, then
	// us-east-1.
	Region string
	// UsePathStyle addresses buckets as https://host/bucket/key rather than
	// https://bucket.host/key; most self-hosted stores need it.
	UsePathStyle bool
	// AccessKeyID and SecretAccessKey, with SessionToken if any, are static
	// credentials; if empty, the default credential chain (environment,
	// shared files, instance roles) is used.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// HTTPClient, if set, carries the requests.
	HTTPClient *http.Client
}

// NewS3Client returns an S3 client for c, loading the shared AWS
// configuration (environment and files) for whatever c leaves unset. No
// request is made.
func NewS3Client(ctx context.Context, c S3Config) (*s3.Client, error) {
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return nil, errors.New("S3 credentials need both an access key ID and a secret access key")
	}
	var load []func(*config.LoadOptions) error
	if c.Region != "" {
		load = append(load, config.WithRegion(c.Region))
	}
	if c.AccessKeyID != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)))
	}
	if c.HTTPClient != nil {
		load = append(load, config.WithHTTPClient(c.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration for S3: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.EndpointURL != "" {
			o.BaseEndpoint = aws.String(c.EndpointURL)
		}
		o.UsePathStyle = c.UsePathStyle
		// Many S3-compatible stores send no checksums; the SDK would log
		// a line for every object. The Fetcher hashes the content anyway.
		o.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}
