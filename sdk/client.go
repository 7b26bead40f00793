package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/riseplatform/rise/sdk/pluginpb"
	"google.golang.org/grpc"
)

// Client is the host side of one plugin connection. The host (core's plugin
// host, or sdktest in-process) obtains it from go-plugin's Dispense and turns
// it into the same Go interfaces the plugin implements. Errors keep their
// meaning across the wire: errors.Is(err, ErrNotFound), ErrUnsupported,
// ErrNotImplemented, ErrUnavailable, context.Canceled and IsPermanent work.
type Client struct {
	conn     *grpc.ClientConn
	plugin   pluginpb.PluginClient
	builder  pluginpb.BuilderClient
	registry pluginpb.RegistryClient
	runtime  pluginpb.RuntimeClient
}

// NewClient wraps a gRPC connection to a plugin.
func NewClient(cc *grpc.ClientConn) *Client {
	return &Client{
		conn:     cc,
		plugin:   pluginpb.NewPluginClient(cc),
		builder:  pluginpb.NewBuilderClient(cc),
		registry: pluginpb.NewRegistryClient(cc),
		runtime:  pluginpb.NewRuntimeClient(cc),
	}
}

// Info asks the plugin to describe itself.
func (c *Client) Info(ctx context.Context) (*PluginInfo, error) {
	pi, err := c.plugin.GetInfo(ctx, &pluginpb.GetInfoRequest{})
	if err != nil {
		return nil, fromStatus(err)
	}
	return infoFromPB(pi)
}

// ValidateConfig decodes cfg (HCL-JSON) into the component and runs its
// Validate, then Provision and Cleanup hooks, returning the problems as
// diagnostics.
func (c *Client) ValidateConfig(ctx context.Context, id ComponentID, cfg []byte) (Diagnostics, error) {
	resp, err := c.plugin.ValidateConfig(ctx, &pluginpb.ValidateConfigRequest{
		Call: &pluginpb.Call{Component: id.Name, Config: cfg}, Kind: kindToPB[id.Kind],
	})
	if err != nil {
		return nil, fromStatus(err)
	}
	return diagsFromPB(resp.GetDiagnostics()), nil
}

// RegistryClient is a registry as seen by the host: every optional
// capability is present and returns ErrUnsupported when the plugin lacks it.
type RegistryClient interface {
	Registry
	RepositoryManager
	Resolver
	TokenIssuer
}

// RuntimeClient is a runtime as seen by the host: optional capabilities
// return ErrUnsupported when the plugin lacks them.
type RuntimeClient interface {
	Runtime
	LogStreamer
	Destroyer
	Rollbacker
}

// Builder returns the named builder component with config cfg (HCL-JSON).
func (c *Client) Builder(component string, cfg []byte) Builder {
	return &builderClient{c: c, call: &pluginpb.Call{Component: component, Config: cfg}}
}

// Registry returns the named registry component with config cfg (HCL-JSON).
func (c *Client) Registry(component string, cfg []byte) RegistryClient {
	return &registryClient{c: c, call: &pluginpb.Call{Component: component, Config: cfg}}
}

// Runtime returns the named runtime component with config cfg (HCL-JSON).
func (c *Client) Runtime(component string, cfg []byte) RuntimeClient {
	return &runtimeClient{c: c, call: &pluginpb.Call{Component: component, Config: cfg}}
}

var errNoResult = errors.New("plugin ended the stream without a result")

// recvAll drains a server stream, handing events to the UI and returning
// the final result message.
func recvAll[T any](stream interface{ Recv() (*T, error) }, onMsg func(*T) bool) error {
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fromStatus(err)
		}
		if done := onMsg(m); done {
			return nil
		}
	}
}

// ---- Builder ----

type builderClient struct {
	c    *Client
	call *pluginpb.Call
}

func (b *builderClient) Build(ctx context.Context, req *BuildRequest, ui UI) (*Artifact, error) {
	stream, err := b.c.builder.Build(ctx, buildReqToPB(b.call, req))
	if err != nil {
		return nil, fromStatus(err)
	}
	replay := newUIReplay(ui)
	var art *Artifact
	err = recvAll(stream, func(m *pluginpb.BuildResponse) bool {
		if ev := m.GetEvent(); ev != nil {
			replay.handle(ev)
		}
		if a := m.GetArtifact(); a != nil {
			art = artifactFromPB(a)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if art == nil {
		return nil, fmt.Errorf("build with %s: %w", b.call.GetComponent(), errNoResult)
	}
	return art, nil
}

func (b *builderClient) Detect(ctx context.Context, dir string) (*Detection, error) {
	d, err := b.c.builder.Detect(ctx, &pluginpb.DetectRequest{Call: b.call, Dir: dir})
	if err != nil {
		return nil, fromStatus(err)
	}
	return &Detection{OK: d.GetOk(), Confidence: int(d.GetConfidence()), Reason: d.GetReason()}, nil
}

// ---- Registry ----

type registryClient struct {
	c    *Client
	call *pluginpb.Call
}

func (r *registryClient) Credentials(ctx context.Context, req *CredentialsRequest) (*Credentials, error) {
	cr, err := r.c.registry.Credentials(ctx, &pluginpb.CredentialsRequest{
		Call: r.call, Project: req.Project, Push: req.Push, Ttl: durToPB(req.TTL), Subject: req.Subject,
	})
	if err != nil {
		return nil, fromStatus(err)
	}
	return credsFromPB(cr), nil
}

func (r *registryClient) EnsureRepository(ctx context.Context, project string) error {
	_, err := r.c.registry.EnsureRepository(ctx, &pluginpb.RepositoryRequest{Call: r.call, Project: project})
	return fromStatus(err)
}

func (r *registryClient) DeleteRepository(ctx context.Context, project string) error {
	_, err := r.c.registry.DeleteRepository(ctx, &pluginpb.RepositoryRequest{Call: r.call, Project: project})
	return fromStatus(err)
}

func (r *registryClient) Resolve(ctx context.Context, ref string) (*Artifact, error) {
	a, err := r.c.registry.Resolve(ctx, &pluginpb.ResolveRequest{Call: r.call, Ref: ref})
	if err != nil {
		return nil, fromStatus(err)
	}
	return artifactFromPB(a), nil
}

func (r *registryClient) IssueToken(ctx context.Context, req *TokenRequest) (*Token, error) {
	t, err := r.c.registry.IssueToken(ctx, &pluginpb.TokenRequest{
		Call: r.call, Username: req.Username, Password: req.Password, Service: req.Service, Scopes: req.Scopes, ClientId: req.ClientID,
	})
	if err != nil {
		return nil, fromStatus(err)
	}
	return &Token{Token: t.GetToken(), ExpiresIn: durFromPB(t.GetExpiresIn()), IssuedAt: tsFromPB(t.GetIssuedAt())}, nil
}

// ---- Runtime ----

type runtimeClient struct {
	c    *Client
	call *pluginpb.Call
}

func (r *runtimeClient) Deploy(ctx context.Context, req *DeployRequest, ui UI) (*Deployment, error) {
	stream, err := r.c.runtime.Deploy(ctx, deployReqToPB(r.call, req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return r.deployment(stream, ui, "deploy")
}

func (r *runtimeClient) Rollback(ctx context.Context, req *RollbackRequest, ui UI) (*Deployment, error) {
	stream, err := r.c.runtime.Rollback(ctx, rollbackReqToPB(r.call, req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return r.deployment(stream, ui, "rollback")
}

// deployment drains a Deploy or Rollback stream: events to ui, the last
// message is the deployment.
func (r *runtimeClient) deployment(stream interface {
	Recv() (*pluginpb.DeployResponse, error)
}, ui UI, op string) (*Deployment, error) {
	replay := newUIReplay(ui)
	var dep *Deployment
	err := recvAll(stream, func(m *pluginpb.DeployResponse) bool {
		if ev := m.GetEvent(); ev != nil {
			replay.handle(ev)
		}
		if d := m.GetDeployment(); d != nil {
			dep = deploymentFromPB(d)
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if dep == nil {
		return nil, fmt.Errorf("%s with %s: %w", op, r.call.GetComponent(), errNoResult)
	}
	return dep, nil
}

func (r *runtimeClient) Status(ctx context.Context, d *Deployment) (*Status, error) {
	st, err := r.c.runtime.Status(ctx, &pluginpb.StatusRequest{Call: r.call, Deployment: deploymentToPB(d)})
	if err != nil {
		return nil, fromStatus(err)
	}
	return &Status{Health: healthFromPB(st.GetHealth()), Message: st.GetMessage(), URLs: st.GetUrls()}, nil
}

func (r *runtimeClient) events(stream interface {
	Recv() (*pluginpb.EventResponse, error)
}, ui UI) error {
	replay := newUIReplay(ui)
	return recvAll(stream, func(m *pluginpb.EventResponse) bool {
		if ev := m.GetEvent(); ev != nil {
			replay.handle(ev)
		}
		return false
	})
}

func (r *runtimeClient) Stop(ctx context.Context, d *Deployment, ui UI) error {
	stream, err := r.c.runtime.Stop(ctx, &pluginpb.StopRequest{Call: r.call, Deployment: deploymentToPB(d)})
	if err != nil {
		return fromStatus(err)
	}
	return r.events(stream, ui)
}

func (r *runtimeClient) Destroy(ctx context.Context, project string, ui UI) error {
	stream, err := r.c.runtime.Destroy(ctx, &pluginpb.DestroyRequest{Call: r.call, Project: project})
	if err != nil {
		return fromStatus(err)
	}
	return r.events(stream, ui)
}

func (r *runtimeClient) Logs(ctx context.Context, d *Deployment, opts LogOptions, emit func(LogLine) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.c.runtime.Logs(ctx, &pluginpb.LogsRequest{
		Call: r.call, Deployment: deploymentToPB(d), Follow: opts.Follow, Since: tsToPB(opts.Since), Tail: int32(opts.Tail),
	})
	if err != nil {
		return fromStatus(err)
	}
	var emitErr error
	err = recvAll(stream, func(l *pluginpb.LogLine) bool {
		emitErr = emit(LogLine{Time: tsFromPB(l.GetTime()), Stream: streamFromPB(l.GetStream()), Text: l.GetText()})
		return emitErr != nil
	})
	if emitErr != nil {
		return emitErr
	}
	return err
}
