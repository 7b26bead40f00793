package ecr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/riseplatform/rise/sdk"
)

var (
	pullActions = []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
	pushActions = []string{"ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"}
)

type policyStatement struct {
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource string   `json:"Resource"`
}

type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

// SessionPolicy is the inline session policy for a project's credentials:
// the assumed role can do nothing beyond it.
func (r *Registry) SessionPolicy(project string, push bool) string {
	actions := append([]string{}, pullActions...)
	if push {
		actions = append(actions, pushActions...)
	}
	doc := policyDocument{Version: "2012-10-17", Statement: []policyStatement{
		{Effect: "Allow", Action: []string{"ecr:GetAuthorizationToken"}, Resource: "*"},
		{Effect: "Allow", Action: actions, Resource: r.repositoryARN(project)},
	}}
	b, _ := json.Marshal(doc)
	return string(b)
}

// Credentials assumes the push role limited to the project's repository and
// returns an ECR login (user AWS) valid while the session is.
func (r *Registry) Credentials(ctx context.Context, req *sdk.CredentialsRequest) (*sdk.Credentials, error) {
	if err := checkProject(req.Project); err != nil {
		return nil, err
	}
	ttl := r.ttl
	if req.TTL > ttl {
		ttl = req.TTL
	}
	session := "rise-" + req.Project
	if len(session) > 64 {
		session = session[:64]
	}
	out, err := r.stsClient().AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(r.PushRoleARN),
		RoleSessionName: aws.String(session),
		Policy:          aws.String(r.SessionPolicy(req.Project, req.Push)),
		DurationSeconds: aws.Int32(int32(ttl / time.Second)),
	})
	if err != nil {
		return nil, fmt.Errorf("ecr: assume push role %s: %w", r.PushRoleARN, err)
	}
	c := out.Credentials
	scoped := r.cfg.Copy()
	scoped.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	tok, err := r.ecrClient(scoped).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, fmt.Errorf("ecr: authorization token: %w", err)
	}
	if len(tok.AuthorizationData) == 0 {
		return nil, fmt.Errorf("ecr: GetAuthorizationToken returned no authorization data")
	}
	ad := tok.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(ad.AuthorizationToken))
	if err != nil {
		return nil, fmt.Errorf("ecr: decode authorization token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, fmt.Errorf("ecr: malformed authorization token")
	}
	host := strings.TrimPrefix(strings.TrimPrefix(aws.ToString(ad.ProxyEndpoint), "https://"), "http://")
	expires := aws.ToTime(c.Expiration)
	if t := aws.ToTime(ad.ExpiresAt); !t.IsZero() && (expires.IsZero() || t.Before(expires)) {
		expires = t
	}
	return &sdk.Credentials{
		Registry: host, Repository: host + "/" + r.Repository(req.Project),
		Username: user, Password: pass, ExpiresAt: expires,
	}, nil
}
