package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
)

// clientFlags say which server a client command talks to, and as whom.
type clientFlags struct {
	endpointURL, region string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.endpointURL, "endpoint-url", "http://127.0.0.1:4327", "the server's URL (Hearth's, or an AWS endpoint)")
	fs.StringVar(&c.region, "region", "", "AWS region (default: from the AWS configuration, else us-east-1)")
}

// awsConfig loads the AWS configuration (environment, shared files) the
// way the AWS CLI does. Without any credentials it signs as "hearth",
// which a Hearth server in dev mode accepts.
func (c *clientFlags) awsConfig(ctx context.Context) (aws.Config, error) {
	// No EC2 instance metadata: Hearth's clients talk to a server they are
	// told of, and probing the metadata address off EC2 only stalls.
	opts := []func(*config.LoadOptions) error{config.WithEC2IMDSClientEnableState(imds.ClientDisabled)}
	if c.region != "" {
		opts = append(opts, config.WithRegion(c.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		cfg.Credentials = credentials.NewStaticCredentialsProvider("hearth", "hearth", "")
	}
	return cfg, nil
}

// runtimeClient is a SageMaker Runtime client that does not retry, so
// throttles and errors show as they happen.
func (c *clientFlags) runtimeClient(ctx context.Context) (*sagemakerruntime.Client, error) {
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sagemakerruntime.NewFromConfig(cfg, func(o *sagemakerruntime.Options) {
		o.BaseEndpoint = aws.String(c.endpointURL)
		o.RetryMaxAttempts = 1
	}), nil
}

func (c *clientFlags) sagemakerClient(ctx context.Context) (*sagemaker.Client, aws.Config, error) {
	cfg, err := c.awsConfig(ctx)
	if err != nil {
		return nil, cfg, err
	}
	return sagemaker.NewFromConfig(cfg, func(o *sagemaker.Options) { o.BaseEndpoint = aws.String(c.endpointURL) }), cfg, nil
}
