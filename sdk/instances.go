package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2/gohcl"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/riseplatform/rise/sdk/pluginpb"
	"google.golang.org/grpc/codes"
)

// maxInstances bounds the per-process cache of provisioned components.
const maxInstances = 64

// registry of a plugin's components and their provisioned instances, keyed by
// component id and config hash, so warm calls skip decode, Validate and
// Provision. Evicted instances are cleaned up after their last call.
type instances struct {
	comps map[ComponentID]Component
	max   int

	mu     sync.Mutex
	cache  map[string]*instance
	closed bool
}

type instance struct {
	id   ComponentID
	once sync.Once
	v    any
	err  error
	// guarded by instances.mu
	refs    int
	evicted bool
}

func newInstances(p *Plugin) (*instances, error) {
	in := &instances{comps: map[ComponentID]Component{}, cache: map[string]*instance{}, max: maxInstances}
	for _, c := range p.Components {
		k, err := KindOf(c)
		if err != nil {
			return nil, err
		}
		in.comps[ComponentID{Kind: k, Name: c.Name}] = c
	}
	return in, nil
}

func (in *instances) lookup(id ComponentID) (Component, error) {
	c, ok := in.comps[id]
	if !ok {
		return Component{}, statusErr(codes.NotFound, reasonNotFound, fmt.Sprintf("this plugin has no %s named %q", id.Kind, id.Name), nil)
	}
	return c, nil
}

// decode makes a fresh component value from its HCL-JSON config and runs
// Validate, then Provision. Config problems come back as diagnostics.
func decode(ctx context.Context, id ComponentID, c Component, cfg []byte) (any, Diagnostics, error) {
	if len(cfg) == 0 {
		cfg = []byte("{}")
	}
	v := c.New()
	f, hd := hcljson.Parse(cfg, c.Name+" config")
	if hd.HasErrors() {
		return nil, diagsFromHCL(hd), nil
	}
	if hd := gohcl.DecodeBody(f.Body, nil, v); hd.HasErrors() {
		return nil, diagsFromHCL(hd), nil
	}
	var diags Diagnostics
	if val, ok := v.(Validator); ok {
		diags = diagsFromValidate(val.Validate())
		if diags.HasErrors() {
			return nil, diags, nil
		}
	}
	if p, ok := v.(Provisioner); ok {
		if err := p.Provision(ctx); err != nil {
			cleanup(id, v) // release what Provision acquired before failing
			if IsPermanent(err) {
				return nil, append(diags, diagsFromValidate(err)...), nil
			}
			return nil, nil, fmt.Errorf("provision %s: %w", id, err)
		}
	}
	return v, diags, nil
}

// cleanup runs v's Cleanup hook, if any, logging its error.
func cleanup(id ComponentID, v any) {
	c, ok := v.(Cleaner)
	if !ok {
		return
	}
	if err := c.Cleanup(); err != nil {
		hclog.Default().Warn("component cleanup failed", "component", id.String(), "error", err)
	}
}

// get returns the provisioned instance for a call, from cache when warm,
// and a release func the caller must call when the call is done.
func (in *instances) get(ctx context.Context, kind Kind, call *pluginpb.Call) (any, func(), error) {
	id := ComponentID{Kind: kind, Name: call.GetComponent()}
	c, err := in.lookup(id)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(call.GetConfig())
	key := id.String() + "/" + hex.EncodeToString(sum[:])
	var evicted *instance
	in.mu.Lock()
	inst, ok := in.cache[key]
	if !ok {
		if len(in.cache) >= in.max {
			for k, old := range in.cache { // evict an arbitrary entry
				delete(in.cache, k)
				old.evicted = true
				if old.refs == 0 {
					evicted = old
				}
				break
			}
		}
		inst = &instance{id: id, evicted: in.closed}
		if !in.closed {
			in.cache[key] = inst
		}
	}
	inst.refs++
	in.mu.Unlock()
	if evicted != nil {
		evicted.cleanup()
	}
	release := func() { in.release(inst) }
	inst.once.Do(func() {
		v, diags, err := decode(ctx, id, c, call.GetConfig())
		switch {
		case err != nil:
			inst.err = toStatus(err)
		case diags.HasErrors():
			inst.err = statusErr(codes.InvalidArgument, reasonInvalidConfig, fmt.Sprintf("%s %q: %s", kind, c.Name, diags.Err()), map[string]string{"permanent": "true"})
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
		release()
		return nil, nil, inst.err
	}
	return inst.v, release, nil
}

// release ends one call on inst; the last call on an evicted instance
// cleans it up.
func (in *instances) release(inst *instance) {
	in.mu.Lock()
	inst.refs--
	last := inst.evicted && inst.refs == 0
	in.mu.Unlock()
	if last {
		inst.cleanup()
	}
}

// cleanup runs the instance's Cleanup hook if it was provisioned. It is
// called once: when the instance leaves the cache with no call in flight.
func (inst *instance) cleanup() {
	if inst.v != nil {
		cleanup(inst.id, inst.v)
	}
}

// close empties the cache at shutdown: idle instances are cleaned up now,
// busy ones after their last call.
func (in *instances) close() {
	in.mu.Lock()
	in.closed = true
	var idle []*instance
	for k, inst := range in.cache {
		delete(in.cache, k)
		inst.evicted = true
		if inst.refs == 0 {
			idle = append(idle, inst)
		}
	}
	in.mu.Unlock()
	for _, inst := range idle {
		inst.cleanup()
	}
}
