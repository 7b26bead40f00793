package sdk

import (
	"context"

	"github.com/riseplatform/rise/sdk/pluginpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// The plugin side of the protocol: gRPC services that decode each call's
// config into a (cached) component and call its Go methods.

type pluginServer struct {
	pluginpb.UnimplementedPluginServer
	info *pluginpb.PluginInfo
	in   *instances
}

func registerServers(s *grpc.Server, p *Plugin) (*instances, error) {
	info, err := Describe(*p)
	if err != nil {
		return nil, err
	}
	pinfo, err := infoToPB(info)
	if err != nil {
		return nil, err
	}
	in, err := newInstances(p)
	if err != nil {
		return nil, err
	}
	pluginpb.RegisterPluginServer(s, &pluginServer{info: pinfo, in: in})
	pluginpb.RegisterBuilderServer(s, &builderServer{in: in})
	pluginpb.RegisterRegistryServer(s, &registryServer{in: in})
	pluginpb.RegisterRuntimeServer(s, &runtimeServer{in: in})
	return in, nil
}

func (s *pluginServer) GetInfo(context.Context, *pluginpb.GetInfoRequest) (*pluginpb.PluginInfo, error) {
	return s.info, nil
}

func (s *pluginServer) ValidateConfig(ctx context.Context, req *pluginpb.ValidateConfigRequest) (*pluginpb.ValidateConfigResponse, error) {
	call := req.GetCall()
	if req.GetKind() == pluginpb.Kind_KIND_UNSPECIFIED {
		return nil, statusErr(codes.InvalidArgument, reasonInvalidConfig, "ValidateConfig: no component kind (the host speaks an older plugin protocol)", map[string]string{"permanent": "true"})
	}
	id := ComponentID{Kind: kindFromPB(req.GetKind()), Name: call.GetComponent()}
	c, err := s.in.lookup(id)
	if err != nil {
		return nil, err
	}
	v, diags, err := decode(ctx, id, c, call.GetConfig())
	if err != nil {
		diags = append(diags, Diagnostic{Summary: "Provisioning failed", Detail: err.Error()})
	}
	if v != nil {
		cleanup(id, v) // a validation-only instance is not cached
	}
	return &pluginpb.ValidateConfigResponse{Diagnostics: diagsToPB(diags)}, nil
}

// ---- Builder ----

type builderServer struct {
	pluginpb.UnimplementedBuilderServer
	in *instances
}

func (s *builderServer) Build(req *pluginpb.BuildRequest, stream grpc.ServerStreamingServer[pluginpb.BuildResponse]) error {
	ctx := stream.Context()
	v, release, err := s.in.get(ctx, KindBuilder, req.GetCall())
	if err != nil {
		return err
	}
	defer release()
	ui := newStreamUI(func(ev *pluginpb.Event) error {
		return stream.Send(&pluginpb.BuildResponse{Msg: &pluginpb.BuildResponse_Event{Event: ev}})
	})
	a, err := v.(Builder).Build(ctx, buildReqFromPB(req), ui)
	if err != nil {
		return toStatus(err)
	}
	if a == nil {
		a = &Artifact{}
	}
	ui.mu.Lock()
	defer ui.mu.Unlock()
	return stream.Send(&pluginpb.BuildResponse{Msg: &pluginpb.BuildResponse_Artifact{Artifact: artifactToPB(a)}})
}

func (s *builderServer) Detect(ctx context.Context, req *pluginpb.DetectRequest) (*pluginpb.Detection, error) {
	v, release, err := s.in.get(ctx, KindBuilder, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	d, err := v.(Builder).Detect(ctx, req.GetDir())
	if err != nil {
		return nil, toStatus(err)
	}
	if d == nil {
		d = &Detection{}
	}
	return &pluginpb.Detection{Ok: d.OK, Confidence: int32(d.Confidence), Reason: d.Reason}, nil
}

// ---- Registry ----

type registryServer struct {
	pluginpb.UnimplementedRegistryServer
	in *instances
}

func (s *registryServer) Credentials(ctx context.Context, req *pluginpb.CredentialsRequest) (*pluginpb.Credentials, error) {
	v, release, err := s.in.get(ctx, KindRegistry, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	c, err := v.(Registry).Credentials(ctx, &CredentialsRequest{
		Project: req.GetProject(), Push: req.GetPush(), TTL: durFromPB(req.GetTtl()), Subject: req.GetSubject(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	if c == nil {
		c = &Credentials{}
	}
	return credsToPB(c), nil
}

func (s *registryServer) repoManager(ctx context.Context, call *pluginpb.Call) (RepositoryManager, func(), error) {
	v, release, err := s.in.get(ctx, KindRegistry, call)
	if err != nil {
		return nil, nil, err
	}
	m, ok := v.(RepositoryManager)
	if !ok {
		release()
		return nil, nil, toStatus(ErrUnsupported)
	}
	return m, release, nil
}

func (s *registryServer) EnsureRepository(ctx context.Context, req *pluginpb.RepositoryRequest) (*pluginpb.Empty, error) {
	m, release, err := s.repoManager(ctx, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	return &pluginpb.Empty{}, toStatus(m.EnsureRepository(ctx, req.GetProject()))
}

func (s *registryServer) DeleteRepository(ctx context.Context, req *pluginpb.RepositoryRequest) (*pluginpb.Empty, error) {
	m, release, err := s.repoManager(ctx, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	return &pluginpb.Empty{}, toStatus(m.DeleteRepository(ctx, req.GetProject()))
}

func (s *registryServer) Resolve(ctx context.Context, req *pluginpb.ResolveRequest) (*pluginpb.Artifact, error) {
	v, release, err := s.in.get(ctx, KindRegistry, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	r, ok := v.(Resolver)
	if !ok {
		return nil, toStatus(ErrUnsupported)
	}
	a, err := r.Resolve(ctx, req.GetRef())
	if err != nil {
		return nil, toStatus(err)
	}
	if a == nil {
		a = &Artifact{}
	}
	return artifactToPB(a), nil
}

func (s *registryServer) IssueToken(ctx context.Context, req *pluginpb.TokenRequest) (*pluginpb.Token, error) {
	v, release, err := s.in.get(ctx, KindRegistry, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	ti, ok := v.(TokenIssuer)
	if !ok {
		return nil, toStatus(ErrUnsupported)
	}
	t, err := ti.IssueToken(ctx, &TokenRequest{
		Username: req.GetUsername(), Password: req.GetPassword(), Service: req.GetService(), Scopes: req.GetScopes(), ClientID: req.GetClientId(),
	})
	if err != nil {
		return nil, toStatus(err)
	}
	if t == nil {
		t = &Token{}
	}
	return &pluginpb.Token{Token: t.Token, ExpiresIn: durToPB(t.ExpiresIn), IssuedAt: tsToPB(t.IssuedAt)}, nil
}

// ---- Runtime ----

type runtimeServer struct {
	pluginpb.UnimplementedRuntimeServer
	in *instances
}

func (s *runtimeServer) Deploy(req *pluginpb.DeployRequest, stream grpc.ServerStreamingServer[pluginpb.DeployResponse]) error {
	ctx := stream.Context()
	v, release, err := s.in.get(ctx, KindRuntime, req.GetCall())
	if err != nil {
		return err
	}
	defer release()
	ui := newStreamUI(func(ev *pluginpb.Event) error {
		return stream.Send(&pluginpb.DeployResponse{Msg: &pluginpb.DeployResponse_Event{Event: ev}})
	})
	d, err := v.(Runtime).Deploy(ctx, deployReqFromPB(req), ui)
	return sendDeployment(stream, ui, d, err, req.GetDeploymentId())
}

// sendDeployment ends a Deploy or Rollback stream with the result.
func sendDeployment(stream grpc.ServerStreamingServer[pluginpb.DeployResponse], ui *streamUI, d *Deployment, err error, id string) error {
	if err != nil {
		return toStatus(err)
	}
	if d == nil {
		d = &Deployment{ID: id}
	}
	ui.mu.Lock()
	defer ui.mu.Unlock()
	return stream.Send(&pluginpb.DeployResponse{Msg: &pluginpb.DeployResponse_Deployment{Deployment: deploymentToPB(d)}})
}

func (s *runtimeServer) Rollback(req *pluginpb.RollbackRequest, stream grpc.ServerStreamingServer[pluginpb.DeployResponse]) error {
	ctx := stream.Context()
	v, release, err := s.in.get(ctx, KindRuntime, req.GetCall())
	if err != nil {
		return err
	}
	defer release()
	rb, ok := v.(Rollbacker)
	if !ok {
		return toStatus(ErrUnsupported)
	}
	ui := newStreamUI(func(ev *pluginpb.Event) error {
		return stream.Send(&pluginpb.DeployResponse{Msg: &pluginpb.DeployResponse_Event{Event: ev}})
	})
	d, err := rb.Rollback(ctx, rollbackReqFromPB(req), ui)
	return sendDeployment(stream, ui, d, err, req.GetDeploymentId())
}

func (s *runtimeServer) Status(ctx context.Context, req *pluginpb.StatusRequest) (*pluginpb.StatusResponse, error) {
	v, release, err := s.in.get(ctx, KindRuntime, req.GetCall())
	if err != nil {
		return nil, err
	}
	defer release()
	st, err := v.(Runtime).Status(ctx, deploymentFromPB(req.GetDeployment()))
	if err != nil {
		return nil, toStatus(err)
	}
	if st == nil {
		st = &Status{}
	}
	return &pluginpb.StatusResponse{Health: healthToPB(st.Health), Message: st.Message, Urls: st.URLs}, nil
}

func eventSender(stream grpc.ServerStreamingServer[pluginpb.EventResponse]) *streamUI {
	return newStreamUI(func(ev *pluginpb.Event) error { return stream.Send(&pluginpb.EventResponse{Event: ev}) })
}

func (s *runtimeServer) Stop(req *pluginpb.StopRequest, stream grpc.ServerStreamingServer[pluginpb.EventResponse]) error {
	ctx := stream.Context()
	v, release, err := s.in.get(ctx, KindRuntime, req.GetCall())
	if err != nil {
		return err
	}
	defer release()
	return toStatus(v.(Runtime).Stop(ctx, deploymentFromPB(req.GetDeployment()), eventSender(stream)))
}

func (s *runtimeServer) Logs(req *pluginpb.LogsRequest, stream grpc.ServerStreamingServer[pluginpb.LogLine]) error {
	ctx := stream.Context()
	v, release, err := s.in.get(ctx, KindRuntime, req.GetCall())
	if err != nil {
		return err
	}
	defer release()
	ls, ok := v.(LogStreamer)
	if !ok {
		return toStatus(ErrUnsupported)
	}
	opts := LogOptions{Follow: req.GetFollow(), Since: tsFromPB(req.GetSince()), Tail: int(req.GetTail())}
	return toStatus(ls.Logs(ctx, deploymentFromPB(req.GetDeployment()), opts, func(l LogLine) error {
		return stream.Send(&pluginpb.LogLine{Time: tsToPB(l.Time), Stream: streamToPB(l.Stream), Text: l.Text})
	}))
}

func (s *runtimeServer) Destroy(req *pluginpb.DestroyRequest, stream grpc.ServerStreamingServer[pluginpb.EventResponse]) error {
	ctx := stream.Context()
	v, release, err := s.in.get(ctx, KindRuntime, req.GetCall())
	if err != nil {
		return err
	}
	defer release()
	d, ok := v.(Destroyer)
	if !ok {
		return toStatus(ErrUnsupported)
	}
	return toStatus(d.Destroy(ctx, req.GetProject(), eventSender(stream)))
}
