package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2/gohcl"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/riseplatform/rise/sdk/pluginpb"
	"google.golang.org/grpc/codes"
)

// maxInstances bounds the per-process cache of provisioned components.
const maxInstances = 64

// registry of a plugin's components and their provisioned instances, keyed by
// component name and config hash, so warm calls skip decode and Provision.
type instances struct {
	comps map[string]compEntry
	mu    sync.Mutex
	cache map[string]*instance
}

type compEntry struct {
	c    Component
	kind Kind
}

type instance struct {
	once sync.Once
	v    any
	err  error
}

func newInstances(p *Plugin) (*instances, error) {
	in := &instances{comps: map[string]compEntry{}, cache: map[string]*instance{}}
	for _, c := range p.Components {
		k, err := KindOf(c)
		if err != nil {
			return nil, err
		}
		in.comps[string(k)+"/"+c.Name] = compEntry{c: c, kind: k}
	}
	return in, nil
}

func (in *instances) lookup(kind Kind, name string) (compEntry, error) {
	e, ok := in.comps[string(kind)+"/"+name]
	if !ok {
		return compEntry{}, statusErr(codes.NotFound, reasonNotFound, fmt.Sprintf("this plugin has no %s named %q", kind, name), nil)
	}
	return e, nil
}

// decode makes a fresh component value from its HCL-JSON config and runs
// Provision and Validate. Config problems come back as diagnostics.
func decode(ctx context.Context, e compEntry, cfg []byte) (any, Diagnostics, error) {
	if len(cfg) == 0 {
		cfg = []byte("{}")
	}
	v := e.c.New()
	f, hd := hcljson.Parse(cfg, e.c.Name+" config")
	if hd.HasErrors() {
		return nil, diagsFromHCL(hd), nil
	}
	if hd := gohcl.DecodeBody(f.Body, nil, v); hd.HasErrors() {
		return nil, diagsFromHCL(hd), nil
	}
	if p, ok := v.(Provisioner); ok {
		if err := p.Provision(ctx); err != nil {
			if IsPermanent(err) {
				return nil, Diagnostics{{Summary: "Invalid configuration", Detail: err.Error()}}, nil
			}
			return nil, nil, fmt.Errorf("provision %s %s: %w", e.kind, e.c.Name, err)
		}
	}
	if val, ok := v.(Validator); ok {
		if err := val.Validate(); err != nil {
			return nil, Diagnostics{{Summary: "Invalid configuration", Detail: err.Error()}}, nil
		}
	}
	return v, nil, nil
}

// get returns the provisioned instance for a call, from cache when warm.
func (in *instances) get(ctx context.Context, kind Kind, call *pluginpb.Call) (any, error) {
	e, err := in.lookup(kind, call.GetComponent())
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(call.GetConfig())
	key := string(kind) + "/" + call.GetComponent() + "/" + hex.EncodeToString(sum[:])
	in.mu.Lock()
	inst, ok := in.cache[key]
	if !ok {
		if len(in.cache) >= maxInstances {
			for k := range in.cache { // evict an arbitrary entry
				delete(in.cache, k)
				break
			}
		}
		inst = &instance{}
		in.cache[key] = inst
	}
	in.mu.Unlock()
	inst.once.Do(func() {
		v, diags, err := decode(ctx, e, call.GetConfig())
		switch {
		case err != nil:
			inst.err = toStatus(err)
		case diags.HasErrors():
			inst.err = statusErr(codes.InvalidArgument, reasonInvalidConfig, fmt.Sprintf("%s %q: %s", kind, e.c.Name, diags.Err()), map[string]string{"permanent": "true"})
		default:
			inst.v = v
		}
	})
	if inst.err != nil {
		in.mu.Lock()
		if in.cache[key] == inst {
			delete(in.cache, key) // do not cache failures: the next call retries
		}
		in.mu.Unlock()
		return nil, inst.err
	}
	return inst.v, nil
}
