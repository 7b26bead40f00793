package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/riseplatform/rise/sdk/pluginpb"
	"github.com/zclconf/go-cty/cty"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Conversions between the SDK's Go types and the protocol messages.

func tsToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func tsFromPB(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

func durToPB(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func durFromPB(d *durationpb.Duration) time.Duration {
	if d == nil {
		return 0
	}
	return d.AsDuration()
}

var kindToPB = map[Kind]pluginpb.Kind{
	KindBuilder: pluginpb.Kind_KIND_BUILDER, KindRegistry: pluginpb.Kind_KIND_REGISTRY, KindRuntime: pluginpb.Kind_KIND_RUNTIME,
}

func kindFromPB(k pluginpb.Kind) Kind {
	for gk, pk := range kindToPB {
		if pk == k {
			return gk
		}
	}
	return Kind("unknown")
}

func infoToPB(info *PluginInfo) (*pluginpb.PluginInfo, error) {
	out := &pluginpb.PluginInfo{Name: info.Name, Version: info.Version, SdkVersion: info.SDKVersion}
	for _, v := range info.Protocols {
		out.ProtocolVersions = append(out.ProtocolVersions, uint32(v))
	}
	for _, c := range info.Components {
		s, err := schemaToPB(c.Schema)
		if err != nil {
			return nil, fmt.Errorf("component %s: %w", c.Name, err)
		}
		out.Components = append(out.Components, &pluginpb.Component{
			Kind: kindToPB[c.Kind], Name: c.Name, Description: c.Description, ConfigSchema: s, Capabilities: c.Capabilities,
		})
	}
	return out, nil
}

func infoFromPB(in *pluginpb.PluginInfo) (*PluginInfo, error) {
	info := &PluginInfo{Name: in.GetName(), Version: in.GetVersion(), SDKVersion: in.GetSdkVersion()}
	for _, v := range in.GetProtocolVersions() {
		info.Protocols = append(info.Protocols, int(v))
	}
	for _, c := range in.GetComponents() {
		s, err := schemaFromPB(c.GetConfigSchema())
		if err != nil {
			return nil, fmt.Errorf("component %s: %w", c.GetName(), err)
		}
		info.Components = append(info.Components, ComponentInfo{
			Kind: kindFromPB(c.GetKind()), Name: c.GetName(), Description: c.GetDescription(), Schema: s, Capabilities: c.GetCapabilities(),
		})
	}
	return info, nil
}

func schemaToPB(s *Schema) (*pluginpb.Schema, error) {
	out := &pluginpb.Schema{}
	if s == nil {
		return out, nil
	}
	for _, a := range s.Attributes {
		ty, err := json.Marshal(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: encode type: %w", a.Name, err)
		}
		out.Attributes = append(out.Attributes, &pluginpb.Attribute{Name: a.Name, Type: ty, Required: a.Required})
	}
	for _, b := range s.Blocks {
		inner, err := schemaToPB(b.Schema)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", b.Name, err)
		}
		n := pluginpb.Block_NESTING_SINGLE
		if b.Nesting == NestingList {
			n = pluginpb.Block_NESTING_LIST
		}
		out.Blocks = append(out.Blocks, &pluginpb.Block{Name: b.Name, Nesting: n, Schema: inner, Labels: b.Labels, Required: b.Required})
	}
	return out, nil
}

func schemaFromPB(in *pluginpb.Schema) (*Schema, error) {
	s := &Schema{}
	for _, a := range in.GetAttributes() {
		var ty cty.Type
		if err := json.Unmarshal(a.GetType(), &ty); err != nil {
			return nil, fmt.Errorf("attribute %s: decode type %s: %w", a.GetName(), a.GetType(), err)
		}
		s.Attributes = append(s.Attributes, AttributeSchema{Name: a.GetName(), Type: ty, Required: a.GetRequired()})
	}
	for _, b := range in.GetBlocks() {
		inner, err := schemaFromPB(b.GetSchema())
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", b.GetName(), err)
		}
		n := NestingSingle
		if b.GetNesting() == pluginpb.Block_NESTING_LIST {
			n = NestingList
		}
		s.Blocks = append(s.Blocks, BlockSchema{Name: b.GetName(), Nesting: n, Labels: b.GetLabels(), Required: b.GetRequired(), Schema: inner})
	}
	return s, nil
}

func diagsToPB(ds Diagnostics) []*pluginpb.Diagnostic {
	var out []*pluginpb.Diagnostic
	for _, d := range ds {
		sev := pluginpb.Diagnostic_SEVERITY_ERROR
		if d.Severity == SeverityWarning {
			sev = pluginpb.Diagnostic_SEVERITY_WARNING
		}
		out = append(out, &pluginpb.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Path: d.Path})
	}
	return out
}

func diagsFromPB(in []*pluginpb.Diagnostic) Diagnostics {
	var out Diagnostics
	for _, d := range in {
		sev := SeverityError
		if d.GetSeverity() == pluginpb.Diagnostic_SEVERITY_WARNING {
			sev = SeverityWarning
		}
		out = append(out, Diagnostic{Severity: sev, Summary: d.GetSummary(), Detail: d.GetDetail(), Path: d.GetPath()})
	}
	return out
}

func credsToPB(c *Credentials) *pluginpb.Credentials {
	if c == nil {
		return nil
	}
	return &pluginpb.Credentials{Registry: c.Registry, Repository: c.Repository, Username: c.Username, Password: c.Password, ExpiresAt: tsToPB(c.ExpiresAt)}
}

func credsFromPB(c *pluginpb.Credentials) *Credentials {
	if c == nil {
		return nil
	}
	return &Credentials{Registry: c.GetRegistry(), Repository: c.GetRepository(), Username: c.GetUsername(), Password: c.GetPassword(), ExpiresAt: tsFromPB(c.GetExpiresAt())}
}

func artifactToPB(a *Artifact) *pluginpb.Artifact {
	if a == nil {
		return nil
	}
	return &pluginpb.Artifact{Repository: a.Repository, Tag: a.Tag, Digest: a.Digest, Platform: a.Platform, Local: a.Local, Labels: a.Labels}
}

func artifactFromPB(a *pluginpb.Artifact) *Artifact {
	if a == nil {
		return nil
	}
	return &Artifact{Repository: a.GetRepository(), Tag: a.GetTag(), Digest: a.GetDigest(), Platform: a.GetPlatform(), Local: a.GetLocal(), Labels: a.GetLabels()}
}

func deploymentToPB(d *Deployment) *pluginpb.Deployment {
	if d == nil {
		return nil
	}
	return &pluginpb.Deployment{Id: d.ID, Project: d.Project, Urls: d.URLs, Upstreams: d.Upstreams, State: d.State, StateVersion: d.StateVersion}
}

func deploymentFromPB(d *pluginpb.Deployment) *Deployment {
	if d == nil {
		return nil
	}
	return &Deployment{ID: d.GetId(), Project: d.GetProject(), URLs: d.GetUrls(), Upstreams: d.GetUpstreams(), State: d.GetState(), StateVersion: d.GetStateVersion()}
}

func workloadToPB(w Workload) *pluginpb.Workload {
	return &pluginpb.Workload{
		Port: w.Port, Replicas: w.Replicas, Env: w.Env, SecretEnv: w.SecretEnv,
		Resources: &pluginpb.Resources{Cpu: w.Resources.CPU, Memory: w.Resources.Memory},
		Command:   w.Command, HealthPath: w.HealthPath,
	}
}

func workloadFromPB(w *pluginpb.Workload) Workload {
	return Workload{
		Port: w.GetPort(), Replicas: w.GetReplicas(), Env: w.GetEnv(), SecretEnv: w.GetSecretEnv(),
		Resources: Resources{CPU: w.GetResources().GetCpu(), Memory: w.GetResources().GetMemory()},
		Command:   w.GetCommand(), HealthPath: w.GetHealthPath(),
	}
}

func deployReqToPB(call *pluginpb.Call, r *DeployRequest) *pluginpb.DeployRequest {
	a := r.Artifact
	return &pluginpb.DeployRequest{
		Call: call, DeploymentId: r.DeploymentID, Project: r.Project, Group: r.Group, Visibility: r.Visibility,
		Artifact: artifactToPB(&a), PullCredentials: credsToPB(r.PullCredentials), Workload: workloadToPB(r.Workload),
		Previous: deploymentToPB(r.Previous), Environment: r.Environment, Domains: r.Domains,
	}
}

func deployReqFromPB(r *pluginpb.DeployRequest) *DeployRequest {
	out := &DeployRequest{
		DeploymentID: r.GetDeploymentId(), Project: r.GetProject(), Group: r.GetGroup(), Visibility: r.GetVisibility(),
		PullCredentials: credsFromPB(r.GetPullCredentials()), Workload: workloadFromPB(r.GetWorkload()),
		Previous: deploymentFromPB(r.GetPrevious()), Environment: r.GetEnvironment(), Domains: r.GetDomains(),
	}
	if a := artifactFromPB(r.GetArtifact()); a != nil {
		out.Artifact = *a
	}
	return out
}

func rollbackReqToPB(call *pluginpb.Call, r *RollbackRequest) *pluginpb.RollbackRequest {
	a := r.Artifact
	return &pluginpb.RollbackRequest{
		Call: call, DeploymentId: r.DeploymentID, Project: r.Project, Group: r.Group, Visibility: r.Visibility,
		Target: deploymentToPB(r.Target), Artifact: artifactToPB(&a), Workload: workloadToPB(r.Workload),
		PullCredentials: credsToPB(r.PullCredentials), Current: deploymentToPB(r.Current), Environment: r.Environment, Domains: r.Domains,
	}
}

func rollbackReqFromPB(r *pluginpb.RollbackRequest) *RollbackRequest {
	out := &RollbackRequest{
		DeploymentID: r.GetDeploymentId(), Project: r.GetProject(), Group: r.GetGroup(), Visibility: r.GetVisibility(),
		Target: deploymentFromPB(r.GetTarget()), Workload: workloadFromPB(r.GetWorkload()),
		PullCredentials: credsFromPB(r.GetPullCredentials()), Current: deploymentFromPB(r.GetCurrent()),
		Environment: r.GetEnvironment(), Domains: r.GetDomains(),
	}
	if a := artifactFromPB(r.GetArtifact()); a != nil {
		out.Artifact = *a
	}
	return out
}

func buildReqToPB(call *pluginpb.Call, r *BuildRequest) *pluginpb.BuildRequest {
	out := &pluginpb.BuildRequest{
		Call: call, Project: r.Project, Dir: r.Dir, Image: r.Image, Platform: r.Platform,
		BuildArgs: r.BuildArgs, Env: r.Env, NoCache: r.NoCache,
	}
	if r.Target != nil {
		out.Target = &pluginpb.PushTarget{Image: r.Target.Image, Credentials: credsToPB(r.Target.Credentials)}
	}
	return out
}

func buildReqFromPB(r *pluginpb.BuildRequest) *BuildRequest {
	out := &BuildRequest{
		Project: r.GetProject(), Dir: r.GetDir(), Image: r.GetImage(), Platform: r.GetPlatform(),
		BuildArgs: r.GetBuildArgs(), Env: r.GetEnv(), NoCache: r.GetNoCache(),
	}
	if t := r.GetTarget(); t != nil {
		out.Target = &PushTarget{Image: t.GetImage(), Credentials: credsFromPB(t.GetCredentials())}
	}
	return out
}

func healthToPB(h Health) pluginpb.Health {
	switch h {
	case HealthPending:
		return pluginpb.Health_HEALTH_PENDING
	case HealthHealthy:
		return pluginpb.Health_HEALTH_HEALTHY
	case HealthUnhealthy:
		return pluginpb.Health_HEALTH_UNHEALTHY
	case HealthStopped:
		return pluginpb.Health_HEALTH_STOPPED
	case HealthFailed:
		return pluginpb.Health_HEALTH_FAILED
	default:
		return pluginpb.Health_HEALTH_UNKNOWN
	}
}

func healthFromPB(h pluginpb.Health) Health {
	switch h {
	case pluginpb.Health_HEALTH_PENDING:
		return HealthPending
	case pluginpb.Health_HEALTH_HEALTHY:
		return HealthHealthy
	case pluginpb.Health_HEALTH_UNHEALTHY:
		return HealthUnhealthy
	case pluginpb.Health_HEALTH_STOPPED:
		return HealthStopped
	case pluginpb.Health_HEALTH_FAILED:
		return HealthFailed
	default:
		return HealthUnknown
	}
}

func streamToPB(s Stream) pluginpb.Stream {
	if s == Stderr {
		return pluginpb.Stream_STREAM_STDERR
	}
	return pluginpb.Stream_STREAM_STDOUT
}

func streamFromPB(s pluginpb.Stream) Stream {
	if s == pluginpb.Stream_STREAM_STDERR {
		return Stderr
	}
	return Stdout
}
