package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

const statusDescription = `
Shows what a running server runs: every endpoint with its status, each
variant's capacity and its workers by kind and state, and the memory budget
in use. Endpoints come from the SageMaker API (ListEndpoints,
DescribeEndpoint); workers and memory from the server's Prometheus metrics
(GET /metrics, signed as CloudWatch requests are when the server checks
signatures).
`

func statusCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := newFlagSet("hearth status", "hearth status [flags]", statusDescription)
	var c clientFlags
	c.register(fs)
	if err := parseFlags(fs, args, getenv, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("status: unexpected argument %q", fs.Arg(0))}
	}
	sm, cfg, err := c.sagemakerClient(ctx)
	if err != nil {
		return err
	}
	census, err := scrapeCensus(ctx, c.endpointURL, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Hearth at %s\n", c.endpointURL)
	if census.budget > 0 {
		fmt.Fprintf(stdout, "memory budget: %d MB in use by workers of %d MB (%d MB reserved for provisioned concurrency and instances)\n",
			census.used, census.budget, census.reserved)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nENDPOINT\tSTATUS\tVARIANT\tCAPACITY\tWORKERS")
	p := sagemaker.NewListEndpointsPaginator(sm, &sagemaker.ListEndpointsInput{MaxResults: aws.Int32(100)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, e := range page.Endpoints {
			n++
			d, err := sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: e.EndpointName})
			if err != nil {
				return err
			}
			name := aws.ToString(d.EndpointName)
			if len(d.ProductionVariants) == 0 {
				fmt.Fprintf(tw, "%s\t%s\t\t\t\n", name, d.EndpointStatus)
			}
			for _, v := range d.ProductionVariants {
				capacity := ""
				if sc := v.CurrentServerlessConfig; sc != nil {
					capacity = fmt.Sprintf("serverless %d MB, max %d", aws.ToInt32(sc.MemorySizeInMB), aws.ToInt32(sc.MaxConcurrency))
					if pc := aws.ToInt32(sc.ProvisionedConcurrency); pc > 0 {
						capacity += fmt.Sprintf(", provisioned %d", pc)
					}
				} else if v.CurrentInstanceCount != nil {
					capacity = fmt.Sprintf("%d instances", aws.ToInt32(v.CurrentInstanceCount))
				}
				vn := aws.ToString(v.VariantName)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, d.EndpointStatus, vn, capacity, census.describe(name, vn))
			}
		}
	}
	if n == 0 {
		fmt.Fprintln(tw, "(no endpoints)\t\t\t\t")
	}
	return tw.Flush()
}

// census is what status reads from /metrics.
type census struct {
	workers                map[[4]string]int // endpoint, variant, kind, state
	budget, reserved, used int
}

var (
	workerLineRE = regexp.MustCompile(`^hearth_workers\{([^}]*)\} ([0-9.e+]+)$`)
	memoryLineRE = regexp.MustCompile(`^hearth_memory_(budget|reserved|used)_megabytes ([0-9.e+]+)$`)
	labelRE      = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)
)

func scrapeCensus(ctx context.Context, base string, cfg aws.Config) (*census, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	// A server that checks signatures lets /metrics in signed for
	// CloudWatch ("monitoring").
	if creds, err := cfg.Credentials.Retrieve(ctx); err == nil {
		empty := sha256.Sum256(nil)
		_ = v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), "monitoring", cfg.Region, time.Now())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w (is hearth serve running there?)", req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("read %s: %s %s", req.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	c := &census{workers: map[[4]string]int{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := workerLineRE.FindStringSubmatch(line); m != nil {
			l := map[string]string{}
			for _, kv := range labelRE.FindAllStringSubmatch(m[1], -1) {
				l[kv[1]] = kv[2]
			}
			v, _ := strconv.ParseFloat(m[2], 64)
			c.workers[[4]string{l["endpoint"], l["variant"], l["kind"], l["state"]}] += int(v)
		} else if m := memoryLineRE.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			switch m[1] {
			case "budget":
				c.budget = int(v)
			case "reserved":
				c.reserved = int(v)
			case "used":
				c.used = int(v)
			}
		}
	}
	return c, sc.Err()
}

// describe renders a variant's workers: "provisioned: 1 idle; on-demand:
// 2 busy, 1 starting".
func (c *census) describe(endpoint, variant string) string {
	var parts []string
	for _, kind := range []string{"provisioned", "on-demand"} {
		var states []string
		for _, state := range []string{"idle", "busy", "starting"} {
			if n := c.workers[[4]string{endpoint, variant, kind, state}]; n > 0 {
				states = append(states, fmt.Sprintf("%d %s", n, state))
			}
		}
		if len(states) > 0 {
			sort.Strings(states)
			parts = append(parts, kind+": "+strings.Join(states, ", "))
		}
	}
	if len(parts) == 0 {
		return "none running"
	}
	return strings.Join(parts, "; ")
}
