package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const invokeDescription = `
Invokes an endpoint of a running server (InvokeEndpoint, as the AWS CLI's
sagemaker-runtime invoke-endpoint does) and writes the model's answer to
stdout; the variant, how the request was served and the time taken go to
stderr.

  hearth invoke demo-provisioned --content-type text/csv --body @payload.csv
  hearth invoke my-endpoint --body '{"instances": [[1, 2]]}'
`

func invokeCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("hearth invoke", "hearth invoke ENDPOINT [flags]", invokeDescription)
	var c clientFlags
	c.register(fs)
	body := fs.String("body", "", "the request body, or @FILE to read it from a file (- for stdin)")
	contentType := fs.String("content-type", "application/json", "the request's Content-Type")
	accept := fs.String("accept", "", "the request's Accept")
	target := fs.String("target-variant", "", "send to this production variant")
	// The endpoint may come before or after the flags.
	var endpoint string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		endpoint, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, getenv, stdout); err != nil {
		return err
	}
	if endpoint == "" && fs.NArg() > 0 {
		endpoint = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Errorf("invoke: unexpected argument %q", fs.Arg(0))}
	}
	if endpoint == "" {
		return usageError{errors.New("invoke: name the endpoint (hearth invoke ENDPOINT)")}
	}
	payload, err := readBody(*body)
	if err != nil {
		return err
	}
	client, err := c.runtimeClient(ctx)
	if err != nil {
		return err
	}
	in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), Body: payload, ContentType: aws.String(*contentType)}
	if *accept != "" {
		in.Accept = aws.String(*accept)
	}
	if *target != "" {
		in.TargetVariant = aws.String(*target)
	}
	t0 := time.Now()
	out, err := client.InvokeEndpoint(ctx, in)
	took := time.Since(t0)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out.Body); err != nil {
		return err
	}
	if len(out.Body) > 0 && out.Body[len(out.Body)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	served := ""
	if raw, ok := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response); ok {
		served = raw.Header.Get("X-Hearth-Served-By")
	}
	line := fmt.Sprintf("variant %s", aws.ToString(out.InvokedProductionVariant))
	if served != "" {
		line += ", served " + served
	}
	fmt.Fprintf(stderr, "%s, %s\n", line, took.Round(10*time.Microsecond))
	return nil
}

// readBody reads a --body value: text, @FILE, or @- for stdin.
func readBody(v string) ([]byte, error) {
	name, ok := strings.CutPrefix(v, "@")
	if !ok {
		return []byte(v), nil
	}
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--body: %w", err)
	}
	return b, nil
}
