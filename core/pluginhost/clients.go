package pluginhost

import (
	"context"
	"fmt"

	"github.com/riseplatform/rise/sdk"
)

// Builder returns the builder plugin name configured with cfg (HCL-JSON,
// from DecodeConfig). The plugin process starts on the first call.
func (h *Host) Builder(_ context.Context, name string, cfg []byte) (sdk.Builder, error) {
	c, err := h.component(sdk.KindBuilder, name)
	if err != nil {
		return nil, err
	}
	return &builder{h: h, c: c, cfg: cfg}, nil
}

// Registry returns the registry plugin name configured with cfg. Optional
// capabilities the plugin lacks return sdk.ErrUnsupported.
func (h *Host) Registry(_ context.Context, name string, cfg []byte) (sdk.RegistryClient, error) {
	c, err := h.component(sdk.KindRegistry, name)
	if err != nil {
		return nil, err
	}
	return &registry{h: h, c: c, cfg: cfg}, nil
}

// Runtime returns the runtime plugin name configured with cfg. Optional
// capabilities the plugin lacks return sdk.ErrUnsupported.
func (h *Host) Runtime(_ context.Context, name string, cfg []byte) (sdk.RuntimeClient, error) {
	c, err := h.component(sdk.KindRuntime, name)
	if err != nil {
		return nil, err
	}
	return &runtime{h: h, c: c, cfg: cfg}, nil
}

func (c *component) unsupported(capability string) error {
	return fmt.Errorf("%s plugin %q does not support %s: %w", c.info.Kind, c.info.Name, capability, sdk.ErrUnsupported)
}

// ---- builder ----

type builder struct {
	h   *Host
	c   *component
	cfg []byte
}

func (b *builder) Build(ctx context.Context, req *sdk.BuildRequest, ui sdk.UI) (a *sdk.Artifact, err error) {
	err = b.c.bin.call(ctx, "Build", b.h.opts.OperationTimeout, func(ctx context.Context, cl *sdk.Client) error {
		a, err = cl.Builder(b.c.info.Name, b.cfg).Build(ctx, req, ui)
		return err
	})
	return a, err
}

func (b *builder) Detect(ctx context.Context, dir string) (d *sdk.Detection, err error) {
	err = b.c.bin.call(ctx, "Detect", b.h.opts.CallTimeout, func(ctx context.Context, cl *sdk.Client) error {
		d, err = cl.Builder(b.c.info.Name, b.cfg).Detect(ctx, dir)
		return err
	})
	return d, err
}

// ---- registry ----

type registry struct {
	h   *Host
	c   *component
	cfg []byte
}

func (r *registry) do(ctx context.Context, op, capability string, f func(ctx context.Context, rc sdk.RegistryClient) error) error {
	if capability != "" && !r.c.info.Has(capability) {
		return r.c.unsupported(op)
	}
	return r.c.bin.call(ctx, op, r.h.opts.CallTimeout, func(ctx context.Context, cl *sdk.Client) error {
		return f(ctx, cl.Registry(r.c.info.Name, r.cfg))
	})
}

func (r *registry) Credentials(ctx context.Context, req *sdk.CredentialsRequest) (c *sdk.Credentials, err error) {
	err = r.do(ctx, "Credentials", "", func(ctx context.Context, rc sdk.RegistryClient) error {
		c, err = rc.Credentials(ctx, req)
		return err
	})
	return c, err
}

func (r *registry) EnsureRepository(ctx context.Context, project string) error {
	return r.do(ctx, "EnsureRepository", sdk.CapRepository, func(ctx context.Context, rc sdk.RegistryClient) error {
		return rc.EnsureRepository(ctx, project)
	})
}

func (r *registry) DeleteRepository(ctx context.Context, project string) error {
	return r.do(ctx, "DeleteRepository", sdk.CapRepository, func(ctx context.Context, rc sdk.RegistryClient) error {
		return rc.DeleteRepository(ctx, project)
	})
}

func (r *registry) Resolve(ctx context.Context, ref string) (a *sdk.Artifact, err error) {
	err = r.do(ctx, "Resolve", sdk.CapResolve, func(ctx context.Context, rc sdk.RegistryClient) error {
		a, err = rc.Resolve(ctx, ref)
		return err
	})
	return a, err
}

func (r *registry) IssueToken(ctx context.Context, req *sdk.TokenRequest) (t *sdk.Token, err error) {
	err = r.do(ctx, "IssueToken", sdk.CapToken, func(ctx context.Context, rc sdk.RegistryClient) error {
		t, err = rc.IssueToken(ctx, req)
		return err
	})
	return t, err
}

// ---- runtime ----

type runtime struct {
	h   *Host
	c   *component
	cfg []byte
}

func (r *runtime) rt(cl *sdk.Client) sdk.RuntimeClient { return cl.Runtime(r.c.info.Name, r.cfg) }

func (r *runtime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (d *sdk.Deployment, err error) {
	err = r.c.bin.call(ctx, "Deploy", r.h.opts.OperationTimeout, func(ctx context.Context, cl *sdk.Client) error {
		d, err = r.rt(cl).Deploy(ctx, req, ui)
		return err
	})
	return d, err
}

func (r *runtime) Status(ctx context.Context, d *sdk.Deployment) (s *sdk.Status, err error) {
	err = r.c.bin.call(ctx, "Status", r.h.opts.CallTimeout, func(ctx context.Context, cl *sdk.Client) error {
		s, err = r.rt(cl).Status(ctx, d)
		return err
	})
	return s, err
}

func (r *runtime) Stop(ctx context.Context, d *sdk.Deployment, ui sdk.UI) error {
	return r.c.bin.call(ctx, "Stop", r.h.opts.OperationTimeout, func(ctx context.Context, cl *sdk.Client) error {
		return r.rt(cl).Stop(ctx, d, ui)
	})
}

func (r *runtime) Logs(ctx context.Context, d *sdk.Deployment, opts sdk.LogOptions, emit func(sdk.LogLine) error) error {
	if !r.c.info.Has(sdk.CapLogs) {
		return r.c.unsupported("logs")
	}
	timeout := r.h.opts.OperationTimeout
	if opts.Follow {
		timeout = 0 // follows until the caller cancels
	}
	return r.c.bin.call(ctx, "Logs", timeout, func(ctx context.Context, cl *sdk.Client) error {
		return r.rt(cl).Logs(ctx, d, opts, emit)
	})
}

func (r *runtime) Destroy(ctx context.Context, project string, ui sdk.UI) error {
	if !r.c.info.Has(sdk.CapDestroy) {
		return r.c.unsupported("destroy")
	}
	return r.c.bin.call(ctx, "Destroy", r.h.opts.OperationTimeout, func(ctx context.Context, cl *sdk.Client) error {
		return r.rt(cl).Destroy(ctx, project, ui)
	})
}

func (r *runtime) Rollback(ctx context.Context, req *sdk.RollbackRequest, ui sdk.UI) (d *sdk.Deployment, err error) {
	if !r.c.info.Has(sdk.CapRollback) {
		return nil, r.c.unsupported("rollback")
	}
	err = r.c.bin.call(ctx, "Rollback", r.h.opts.OperationTimeout, func(ctx context.Context, cl *sdk.Client) error {
		d, err = r.rt(cl).Rollback(ctx, req, ui)
		return err
	})
	return d, err
}
