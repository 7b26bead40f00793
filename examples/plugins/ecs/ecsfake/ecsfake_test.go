package ecsfake_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/riseplatform/rise/examples/plugins/ecs/ecsfake"
)

func client(f *ecsfake.Server, key, region string) *ecs.Client {
	return ecs.New(ecs.Options{
		Region: region, BaseEndpoint: aws.String(f.URL),
		Credentials: credentials.NewStaticCredentialsProvider(key, ecsfake.SecretAccessKey, ""),
	})
}

// TestRefusesWrongCredentials: like AWS, the fake refuses requests signed
// for another key or region, so a plugin that ignores its config fails.
func TestRefusesWrongCredentials(t *testing.T) {
	f := ecsfake.Start()
	defer f.Close()
	ctx := context.Background()
	for _, c := range []struct{ key, region string }{{"AKIDOTHER", ecsfake.Region}, {ecsfake.AccessKeyID, "us-east-1"}} {
		_, err := client(f, c.key, c.region).ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("apps")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "UnrecognizedClientException" {
			t.Errorf("key %s region %s: %v, want UnrecognizedClientException", c.key, c.region, err)
		}
	}
	if calls := f.Calls(); len(calls) != 0 {
		t.Errorf("refused requests were recorded: %q", calls)
	}
	resp, err := http.Get(f.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET: %d, want 400", resp.StatusCode)
	}
}

// TestRolloutReachesSteadyState: a created service is IN_PROGRESS on the
// first look and COMPLETED with all tasks running on the next; a service
// of a failing image ends FAILED; unknown task definitions are refused.
func TestRolloutReachesSteadyState(t *testing.T) {
	f := ecsfake.Start()
	defer f.Close()
	ctx := context.Background()
	c := client(f, ecsfake.AccessKeyID, ecsfake.Region)
	register := func(image string) string {
		out, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("rise-app"), ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	}
	td := register("repo@sha256:aaa")
	if !strings.HasSuffix(td, ":task-definition/rise-app:1") {
		t.Errorf("task definition ARN %s", td)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("apps"), ServiceName: aws.String("rise-app"),
		TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	look := func() ecstypes.Deployment {
		out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("apps"), Services: []string{"rise-app"}})
		if err != nil || len(out.Services) != 1 || len(out.Services[0].Deployments) != 1 {
			t.Fatalf("DescribeServices: %+v, %v", out, err)
		}
		return out.Services[0].Deployments[0]
	}
	if d := look(); d.RolloutState != ecstypes.DeploymentRolloutStateInProgress || d.RunningCount != 0 {
		t.Errorf("first look: %s, %d running", d.RolloutState, d.RunningCount)
	}
	if d := look(); d.RolloutState != ecstypes.DeploymentRolloutStateCompleted || d.RunningCount != 2 {
		t.Errorf("second look: %s, %d running", d.RolloutState, d.RunningCount)
	}

	f.FailRollouts("repo@sha256:bad")
	bad := register("repo@sha256:bad")
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("apps"), Service: aws.String("rise-app"), TaskDefinition: aws.String(bad)}); err != nil {
		t.Fatal(err)
	}
	look()
	if d := look(); d.RolloutState != ecstypes.DeploymentRolloutStateFailed {
		t.Errorf("failing image: %s", d.RolloutState)
	}
	_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("apps"), Service: aws.String("rise-app"), TaskDefinition: aws.String(td + "0")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "ClientException" {
		t.Errorf("unknown task definition: %v", err)
	}
}
