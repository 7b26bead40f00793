package ecr

import (
	"testing"

	"github.com/riseplatform/rise/sdk/sdktest"
)

// TestConformance runs the SDK's registry suite in-process against the AWS
// protocol fake.
func TestConformance(t *testing.T) {
	f, url := newFakeAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIASERVERKEY0000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	sdktest.RegistryConformance(t, Component(), map[string]any{
		"region": "eu-west-1", "push_role_arn": "arn:aws:iam::123456789012:role/rise-push",
		"endpoint": url, "sts_endpoint": url,
	}, sdktest.WithInvalidConfig(map[string]any{"region": "eu-west-1", "push_role_arn": "not-an-arn"}))
	if _, ok := f.repos["rise/sdktest"]; ok {
		t.Error("repository left behind after DeleteRepository")
	}
}
