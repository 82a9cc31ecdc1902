package logs_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"hearth/internal/gateway"
	"hearth/internal/logs"
	"hearth/internal/sigv4"
)

// TestSignedRequests: the SDK signs CloudWatch Logs requests with the
// credential scope "logs"; the gateway's SigV4 check accepts them and
// refuses a wrong secret.
func TestSignedRequests(t *testing.T) {
	st, err := logs.Open(context.Background(), openDB(t), logs.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := sigv4.NewVerifier(map[string]sigv4.Credential{"default": {AccessKeyID: "AKIDLOGS", SecretAccessKey: "right"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Logs: gateway.LogsOps(logs.NewService(st, region, account)), Auth: gateway.SigV4(v, region)})
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := func(secret string) *cloudwatchlogs.Client {
		return cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: aws.String(srv.URL),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDLOGS", secret, ""), HTTPClient: srv.Client(), RetryMaxAttempts: 1})
	}
	if _, err := client("right").DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{}); err != nil {
		t.Fatalf("signed with the right secret: %v", err)
	}
	_, err = client("wrong").DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{})
	wantAPIError(t, err, "InvalidSignatureException", "signature")
}
