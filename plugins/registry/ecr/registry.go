// Package ecr is the registry plugin for Amazon ECR. Credentials assumes a
// push role through STS with an inline session policy that allows exactly the
// project's repository, then exchanges those temporary credentials for an ECR
// authorization token, so what the CLI receives can touch nothing else.
// EnsureRepository/DeleteRepository manage the repository lifecycle (tags,
// scan-on-push), and Resolve pins tags to digests.
package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/riseplatform/rise/sdk"
)

// Component is the "ecr" registry component.
func Component() sdk.Component {
	return sdk.Component{
		Name:        "ecr",
		Description: "Amazon ECR: STS-scoped push credentials, repository lifecycle",
		New:         func() any { return new(Registry) },
	}
}

// Registry is the plugin's configuration:
//
//	registry "ecr" {
//	  region            = "eu-west-1"
//	  push_role_arn     = "arn:aws:iam::123456789012:role/rise-push"
//	  repository_prefix = "rise/"
//	  token_ttl         = "15m"          # STS session length (AWS minimum 15m)
//	  scan_on_push      = true
//	  tags              = { team = "platform" }
//	}
type Registry struct {
	Region             string            `hcl:"region"`
	PushRoleARN        string            `hcl:"push_role_arn"`
	AccountID          string            `hcl:"account_id,optional"` // default: the push role's account
	RepositoryPrefix   string            `hcl:"repository_prefix,optional"`
	TokenTTL           string            `hcl:"token_ttl,optional"`
	ScanOnPush         *bool             `hcl:"scan_on_push,optional"` // default true
	ImageTagMutability string            `hcl:"image_tag_mutability,optional"`
	Tags               map[string]string `hcl:"tags,optional"`
	Profile            string            `hcl:"profile,optional"`  // shared config profile of the server's own credentials
	Endpoint           string            `hcl:"endpoint,optional"` // ECR endpoint override (VPC endpoints, tests)
	STSEndpoint        string            `hcl:"sts_endpoint,optional"`

	cfg aws.Config
	ttl time.Duration
	now func() time.Time
}

var (
	_ sdk.Registry          = (*Registry)(nil)
	_ sdk.RepositoryManager = (*Registry)(nil)
	_ sdk.Resolver          = (*Registry)(nil)
	_ sdk.Provisioner       = (*Registry)(nil)
	_ sdk.Validator         = (*Registry)(nil)
)

const (
	defaultPrefix = "rise/"
	minSession    = 15 * time.Minute // STS minimum DurationSeconds
)

var (
	roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/.+$`)
	prefixRE  = regexp.MustCompile(`^([a-z0-9]+(?:[._-][a-z0-9]+)*/)*$`)
	accountRE = regexp.MustCompile(`^\d{12}$`)
)

// Validate checks the configuration.
func (r *Registry) Validate() error {
	var errs []error
	if r.Region == "" {
		errs = append(errs, sdk.AttrError("region", errors.New(`region is required, e.g. region = "eu-west-1"`)))
	}
	if !roleARNRE.MatchString(r.PushRoleARN) {
		errs = append(errs, sdk.AttrError("push_role_arn", fmt.Errorf("push_role_arn %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", r.PushRoleARN)))
	}
	if r.AccountID != "" && !accountRE.MatchString(r.AccountID) {
		errs = append(errs, sdk.AttrError("account_id", fmt.Errorf("account_id %q must be 12 digits", r.AccountID)))
	}
	if r.RepositoryPrefix != "" && !prefixRE.MatchString(r.RepositoryPrefix) {
		errs = append(errs, sdk.AttrError("repository_prefix", fmt.Errorf("repository_prefix %q must be lowercase path segments ending in '/', e.g. \"rise/\"", r.RepositoryPrefix)))
	}
	if r.TokenTTL != "" {
		if d, err := time.ParseDuration(r.TokenTTL); err != nil || d < minSession || d > 12*time.Hour {
			errs = append(errs, sdk.AttrError("token_ttl", fmt.Errorf("token_ttl %q must be a duration from 15m to 12h (STS session limits)", r.TokenTTL)))
		}
	}
	switch r.ImageTagMutability {
	case "", "MUTABLE", "IMMUTABLE":
	default:
		errs = append(errs, sdk.AttrError("image_tag_mutability", fmt.Errorf("image_tag_mutability %q must be MUTABLE or IMMUTABLE", r.ImageTagMutability)))
	}
	return errors.Join(errs...)
}

// Provision loads the server's AWS configuration (default credential chain).
func (r *Registry) Provision(ctx context.Context) error {
	if r.RepositoryPrefix == "" {
		r.RepositoryPrefix = defaultPrefix
	}
	if r.AccountID == "" {
		r.AccountID = roleARNRE.FindStringSubmatch(r.PushRoleARN)[1]
	}
	r.ttl = minSession
	if r.TokenTTL != "" {
		r.ttl, _ = time.ParseDuration(r.TokenTTL)
	}
	if r.now == nil {
		r.now = time.Now
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(r.Region)}
	if r.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(r.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("ecr: load AWS configuration: %w", err)
	}
	r.cfg = cfg
	return nil
}

// Repository is the ECR repository name of a project.
func (r *Registry) Repository(project string) string { return r.RepositoryPrefix + project }

func (r *Registry) repositoryARN(project string) string {
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition(r.PushRoleARN), r.Region, r.AccountID, r.Repository(project))
}

func partition(arn string) string {
	if p := strings.SplitN(arn, ":", 3); len(p) == 3 {
		return p[1]
	}
	return "aws"
}

func (r *Registry) ecrClient(cfg aws.Config) *ecr.Client {
	return ecr.NewFromConfig(cfg, func(o *ecr.Options) {
		if r.Endpoint != "" {
			o.BaseEndpoint = aws.String(r.Endpoint)
		}
	})
}

func (r *Registry) stsClient() *sts.Client {
	return sts.NewFromConfig(r.cfg, func(o *sts.Options) {
		if r.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(r.STSEndpoint)
		}
	})
}

var projectRE = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

func checkProject(p string) error {
	if !projectRE.MatchString(p) {
		return sdk.Permanent(fmt.Errorf("ecr: %q is not a valid project name for a repository", p))
	}
	return nil
}
