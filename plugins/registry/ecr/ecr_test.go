package ecr

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/sdk"
)

func setup(t *testing.T, mutate ...func(*Registry)) (*Registry, *fakeAWS) {
	t.Helper()
	f, url := newFakeAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASERVERKEY0000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	r := &Registry{Region: "eu-west-1", PushRoleARN: "arn:aws:iam::123456789012:role/rise-push", Endpoint: url, STSEndpoint: url,
		Tags: map[string]string{"team": "platform"}}
	for _, m := range mutate {
		m(r)
	}
	if err := r.Provision(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, f
}

func TestCredentialsAssumeScopedRole(t *testing.T) {
	r, f := setup(t)
	c, err := r.Credentials(context.Background(), &sdk.CredentialsRequest{Project: "my-app", Push: true, Subject: "user:alice"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Registry != "123456789012.dkr.ecr.eu-west-1.amazonaws.com" || c.Repository != c.Registry+"/rise/my-app" ||
		c.Username != "AWS" || c.Password != "ecr-password" {
		t.Fatalf("credentials = %+v", c)
	}
	if d := time.Until(c.ExpiresAt); d > 15*time.Minute || d < 14*time.Minute {
		t.Errorf("expires in %s, want the 15m session", d)
	}
	if !reflect.DeepEqual(f.calls, []string{"sts:AssumeRole", "ecr:GetAuthorizationToken"}) {
		t.Fatalf("calls = %v", f.calls)
	}
	if f.assume.Get("RoleArn") != r.PushRoleARN || f.assume.Get("RoleSessionName") != "rise-my-app" || f.assume.Get("DurationSeconds") != "900" {
		t.Errorf("AssumeRole = %v", f.assume)
	}
	wantPolicy := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":["ecr:GetAuthorizationToken"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":["ecr:BatchCheckLayerAvailability","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer",` +
		`"ecr:CompleteLayerUpload","ecr:InitiateLayerUpload","ecr:PutImage","ecr:UploadLayerPart"],` +
		`"Resource":"arn:aws:ecr:eu-west-1:123456789012:repository/rise/my-app"}]}`
	if got := f.assume.Get("Policy"); got != wantPolicy {
		t.Errorf("session policy:\n got %s\nwant %s", got, wantPolicy)
	}
	// The ECR token was requested with the assumed (scoped) credentials, not the server's.
	if f.authKeys[0] != assumedKey {
		t.Errorf("GetAuthorizationToken signed by %q, want the assumed role's key", f.authKeys[0])
	}

	// Pull-only credentials get a policy without push actions.
	var doc policyDocument
	if err := json.Unmarshal([]byte(r.SessionPolicy("my-app", false)), &doc); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(doc.Statement[1].Action, ","), "PutImage") {
		t.Errorf("pull policy allows push: %v", doc.Statement[1].Action)
	}
	if _, err := r.Credentials(context.Background(), &sdk.CredentialsRequest{Project: "Bad/Name"}); !sdk.IsPermanent(err) {
		t.Errorf("bad project: %v", err)
	}
}

func TestRepositoryLifecycle(t *testing.T) {
	r, f := setup(t, func(r *Registry) { r.ImageTagMutability = "IMMUTABLE" })
	ctx := context.Background()
	if err := r.EnsureRepository(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	repo := f.repos["rise/my-app"]
	if repo == nil || !repo.ScanOnPush || repo.Mutability != "IMMUTABLE" ||
		!reflect.DeepEqual(repo.Tags, map[string]string{"managed-by": "rise", "rise-project": "my-app", "team": "platform"}) {
		t.Fatalf("created %+v", repo)
	}
	// Drift: someone turned scanning off and made tags mutable; Ensure repairs it.
	repo.ScanOnPush, repo.Mutability, repo.Tags = false, "MUTABLE", map[string]string{}
	f.calls = nil
	if err := r.EnsureRepository(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	want := []string{"ecr:CreateRepository", "ecr:DescribeRepositories", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:TagResource"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Errorf("repair calls = %v, want %v", f.calls, want)
	}
	if !repo.ScanOnPush || repo.Mutability != "IMMUTABLE" || repo.Tags["rise-project"] != "my-app" {
		t.Errorf("not repaired: %+v", repo)
	}

	f.images["rise/my-app:v1"] = "sha256:" + strings.Repeat("ab", 32)
	art, err := r.Resolve(ctx, "my-app:v1")
	if err != nil || art.Digest != f.images["rise/my-app:v1"] || art.Repository != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/rise/my-app" {
		t.Errorf("Resolve = %+v, %v", art, err)
	}
	if _, err := r.Resolve(ctx, "my-app:nope"); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("Resolve missing = %v", err)
	}
	host := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	if byDigest, err := r.Resolve(ctx, host+"/rise/my-app@"+art.Digest); err != nil || byDigest.Digest != art.Digest {
		t.Errorf("Resolve by digest = %+v, %v", byDigest, err)
	}
	// Only this account's registry, only under the prefix; no AWS call otherwise.
	calls := len(f.calls)
	for _, ref := range []string{"127.0.0.1:5000/rise/my-app:v1", "210987654321.dkr.ecr.eu-west-1.amazonaws.com/rise/my-app:v1", host + "/other/my-app:v1"} {
		if _, err := r.Resolve(ctx, ref); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("Resolve(%s) = %v, want not found", ref, err)
		}
	}
	if len(f.calls) != calls {
		t.Errorf("AWS was called for foreign references: %v", f.calls[calls:])
	}

	if err := r.DeleteRepository(ctx, "my-app"); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.repos["rise/my-app"]; ok {
		t.Fatal("repository not deleted")
	}
	if err := r.DeleteRepository(ctx, "my-app"); err != nil {
		t.Fatalf("deleting a missing repository: %v", err)
	}
	var del map[string]any
	_ = json.Unmarshal(f.bodies["DeleteRepository"], &del)
	if del["force"] != true || del["repositoryName"] != "rise/my-app" {
		t.Errorf("DeleteRepository body = %v", del)
	}
}

func TestValidate(t *testing.T) {
	ok := Registry{Region: "eu-west-1", PushRoleARN: "arn:aws:iam::123456789012:role/x"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mut  func(*Registry)
		want string
	}{
		{func(r *Registry) { r.Region = "" }, "region is required"},
		{func(r *Registry) { r.PushRoleARN = "rise-push" }, "not an IAM role ARN"},
		{func(r *Registry) { r.TokenTTL = "5m" }, "15m to 12h"},
		{func(r *Registry) { r.RepositoryPrefix = "Rise" }, "repository_prefix"},
		{func(r *Registry) { r.ImageTagMutability = "sometimes" }, "MUTABLE or IMMUTABLE"},
	} {
		r := ok
		c.mut(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want %q", err, c.want)
		}
	}
}
