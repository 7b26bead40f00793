package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/riseplatform/rise/sdk"
)

// Runtime runs each project (and deployment group) as one ECS service on
// Fargate. Every deployment registers a task definition revision pinned to
// the image digest and points the service at it. Its exported fields are the
// plugin's config schema.
type Runtime struct {
	Region           string   `hcl:"region"`
	Cluster          string   `hcl:"cluster"`
	Subnets          []string `hcl:"subnets"`
	SecurityGroups   []string `hcl:"security_groups,optional"`
	ExecutionRoleARN string   `hcl:"execution_role_arn,optional"` // pulls from ECR, writes logs
	TaskRoleARN      string   `hcl:"task_role_arn,optional"`
	AssignPublicIP   bool     `hcl:"assign_public_ip,optional"`
	CPU              string   `hcl:"cpu,optional"`            // default task size: Fargate CPU units ("256") or "0.25"/"250m"
	Memory           string   `hcl:"memory,optional"`         // MiB ("512") or "512Mi"/"1Gi"
	LogGroup         string   `hcl:"log_group,optional"`      // CloudWatch Logs group; enables Logs
	Domain           string   `hcl:"domain,optional"`         // apps are reachable at https://<project>.<domain> (your load balancer)
	ServicePrefix    string   `hcl:"service_prefix,optional"` // default "rise-"
	Endpoint         string   `hcl:"endpoint,optional"`       // AWS endpoint override (LocalStack, tests)

	ecs  *ecs.Client
	logs *cloudwatchlogs.Client
}

var (
	_ sdk.Runtime     = (*Runtime)(nil)
	_ sdk.Provisioner = (*Runtime)(nil)
	_ sdk.Validator   = (*Runtime)(nil)
	_ sdk.Destroyer   = (*Runtime)(nil)
	_ sdk.LogStreamer = (*Runtime)(nil)
)

// state is the opaque deployment state rise stores for us.
type state struct {
	Cluster        string `json:"cluster"`
	Service        string `json:"service"`
	TaskDefinition string `json:"task_definition"` // ARN registered for this deployment
	// PreviousTaskDefinition is what the service ran before this deployment:
	// pointing the service back at it is a rollback.
	PreviousTaskDefinition string `json:"previous_task_definition,omitempty"`
}

const (
	stateVersion    = 1
	container       = "app"
	labelDeployment = "rise.deployment-id"
)

// Provision makes the AWS clients. Credentials come from the plugin's
// environment (plugin "ecs" { env = {...} }), the standard AWS chain.
func (r *Runtime) Provision(ctx context.Context) error {
	if r.ServicePrefix == "" {
		r.ServicePrefix = "rise-"
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(r.Region))
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	if r.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(r.Endpoint)
	}
	r.ecs = ecs.NewFromConfig(cfg)
	r.logs = cloudwatchlogs.NewFromConfig(cfg)
	return nil
}

// Validate checks the config; errors become diagnostics on the runtime block.
func (r *Runtime) Validate() error {
	var errs []error
	if r.Region == "" || r.Cluster == "" || len(r.Subnets) == 0 {
		errs = append(errs, errors.New("region, cluster and subnets must not be empty"))
	}
	if _, _, err := taskSize(r.CPU, r.Memory); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// serviceName is the project's service: rise-<project>, or
// rise-<project>_<group> ('_' never occurs in project names).
func (r *Runtime) serviceName(project, group string) string {
	if group == "" || group == "default" {
		return r.ServicePrefix + project
	}
	return r.ServicePrefix + project + "_" + group
}

// Deploy registers a task definition for the artifact and creates or updates
// the service. Retrying a deployment id that the service already runs
// registers nothing new.
func (r *Runtime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	if req.Artifact.Digest == "" {
		return nil, sdk.Permanent(fmt.Errorf("ecs: image %s is not pinned to a digest", req.Artifact.Ref()))
	}
	if len(req.Workload.SecretEnv) > 0 {
		return nil, sdk.Permanent(fmt.Errorf("ecs: secret environment variables (%s) need AWS Secrets Manager, which this example plugin does not use (see its README: Secret variables)",
			strings.Join(slices.Sorted(maps.Keys(req.Workload.SecretEnv)), ", ")))
	}
	cpu, mem, err := taskSize(or(req.Workload.Resources.CPU, r.CPU), or(req.Workload.Resources.Memory, r.Memory))
	if err != nil {
		return nil, sdk.Permanent(err)
	}
	st := state{Cluster: r.Cluster, Service: r.serviceName(req.Project, req.Group)}
	svc, err := r.describeService(ctx, st.Cluster, st.Service)
	if err != nil {
		return nil, err
	}
	replicas := int32(max(req.Workload.Replicas, 1))
	if svc != nil {
		st.PreviousTaskDefinition = aws.ToString(svc.TaskDefinition)
		if id, _ := r.deploymentOf(ctx, st.PreviousTaskDefinition); id == req.DeploymentID {
			// A retry: the service already runs this deployment (perhaps
			// stopped since); only make sure it is scaled up.
			ui.Logf("Service %s already runs deployment %s", st.Service, id)
			st.TaskDefinition, st.PreviousTaskDefinition = st.PreviousTaskDefinition, ""
			if svc.DesiredCount != replicas {
				if _, err := r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &st.Cluster, Service: &st.Service, DesiredCount: &replicas}); err != nil {
					return nil, fmt.Errorf("ecs: scale %s to %d: %w", st.Service, replicas, err)
				}
			}
			return r.deployment(req.DeploymentID, req.Project, st)
		}
	}

	step := ui.Step(fmt.Sprintf("Registering task definition %s for %s", st.Service, req.Artifact.Ref()))
	td, err := r.ecs.RegisterTaskDefinition(ctx, r.taskDefinition(req, st.Service, cpu, mem))
	if err != nil {
		return nil, step.Fail(fmt.Errorf("ecs: register task definition: %w", err))
	}
	st.TaskDefinition = aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	step.Done()

	if svc == nil {
		step = ui.Step("Creating service " + st.Service)
		_, err = r.ecs.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: &st.Cluster, ServiceName: &st.Service, TaskDefinition: &st.TaskDefinition,
			DesiredCount: &replicas, LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: r.network(),
			DeploymentConfiguration: &types.DeploymentConfiguration{
				DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: false},
			},
			Tags: []types.Tag{{Key: aws.String("rise:project"), Value: &req.Project}},
		})
	} else {
		step = ui.Step("Updating service " + st.Service)
		_, err = r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
			Cluster: &st.Cluster, Service: &st.Service, TaskDefinition: &st.TaskDefinition,
			DesiredCount: &replicas, NetworkConfiguration: r.network(),
		})
	}
	if err != nil {
		return nil, step.Fail(fmt.Errorf("ecs: service %s: %w", st.Service, err))
	}
	step.Done()
	return r.deployment(req.DeploymentID, req.Project, st)
}

func (r *Runtime) taskDefinition(req *sdk.DeployRequest, family string, cpu, mem int) *ecs.RegisterTaskDefinitionInput {
	c := types.ContainerDefinition{
		Name: aws.String(container), Image: aws.String(req.Artifact.Ref()), Essential: aws.Bool(true),
		Command:      req.Workload.Command,
		DockerLabels: map[string]string{labelDeployment: req.DeploymentID, "rise.project": req.Project},
	}
	if p := req.Workload.Port; p > 0 {
		c.PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(int32(p)), Protocol: types.TransportProtocolTcp}}
	}
	for _, k := range slices.Sorted(maps.Keys(req.Workload.Env)) {
		c.Environment = append(c.Environment, types.KeyValuePair{Name: aws.String(k), Value: aws.String(req.Workload.Env[k])})
	}
	if r.LogGroup != "" {
		c.LogConfiguration = &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": r.LogGroup, "awslogs-region": r.Region, "awslogs-stream-prefix": req.DeploymentID,
		}}
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family: &family, ContainerDefinitions: []types.ContainerDefinition{c},
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String(fmt.Sprint(cpu)), Memory: aws.String(fmt.Sprint(mem)),
		ExecutionRoleArn: nonEmpty(r.ExecutionRoleARN), TaskRoleArn: nonEmpty(r.TaskRoleARN),
		Tags: []types.Tag{{Key: aws.String("rise:deployment"), Value: &req.DeploymentID}},
	}
}

func (r *Runtime) network() *types.NetworkConfiguration {
	ip := types.AssignPublicIpDisabled
	if r.AssignPublicIP {
		ip = types.AssignPublicIpEnabled
	}
	return &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{
		Subnets: r.Subnets, SecurityGroups: r.SecurityGroups, AssignPublicIp: ip,
	}}
}

func (r *Runtime) deployment(id, project string, st state) (*sdk.Deployment, error) {
	var urls []string
	if r.Domain != "" {
		urls = []string{"https://" + project + "." + r.Domain}
	}
	d, err := sdk.NewDeployment(id, st, urls...)
	if err != nil {
		return nil, err
	}
	d.Project, d.StateVersion = project, stateVersion
	return d, nil
}

// describeService returns the active service, or nil when there is none.
func (r *Runtime) describeService(ctx context.Context, cluster, name string) (*types.Service, error) {
	out, err := r.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: []string{name}})
	if err != nil {
		return nil, fmt.Errorf("ecs: describe service %s: %w", name, err)
	}
	for _, s := range out.Services {
		if aws.ToString(s.ServiceName) == name && aws.ToString(s.Status) != "INACTIVE" {
			return &s, nil
		}
	}
	return nil, nil
}

// deploymentOf returns the rise deployment id a task definition runs.
func (r *Runtime) deploymentOf(ctx context.Context, arn string) (string, error) {
	out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &arn})
	if err != nil {
		return "", fmt.Errorf("ecs: describe task definition %s: %w", arn, err)
	}
	for _, c := range out.TaskDefinition.ContainerDefinitions {
		if id := c.DockerLabels[labelDeployment]; id != "" {
			return id, nil
		}
	}
	return "", nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
