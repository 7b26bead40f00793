package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/sdk/sdktest"
	"github.com/zclconf/go-cty/cty"
)

type ingress struct {
	Class string   `hcl:"class"`
	Hosts []string `hcl:"hosts,optional"`
}

type sidecar struct {
	Name  string `hcl:"name,label"`
	Image string `hcl:"image"`
}

type schemaProbe struct {
	Namespace string            `hcl:"namespace"`
	Replicas  int               `hcl:"replicas,optional"`
	Labels    map[string]string `hcl:"labels,optional"`
	Ingress   *ingress          `hcl:"ingress,block"`
	Sidecars  []sidecar         `hcl:"sidecar,block"`
	ignored   string
}

func TestSchemaOf(t *testing.T) {
	s, err := sdk.SchemaOf(&schemaProbe{})
	if err != nil {
		t.Fatal(err)
	}
	want := &sdk.Schema{
		Attributes: []sdk.AttributeSchema{
			{Name: "labels", Type: cty.Map(cty.String)},
			{Name: "namespace", Type: cty.String, Required: true},
			{Name: "replicas", Type: cty.Number},
		},
		Blocks: []sdk.BlockSchema{
			{Name: "ingress", Schema: &sdk.Schema{Attributes: []sdk.AttributeSchema{
				{Name: "class", Type: cty.String, Required: true}, {Name: "hosts", Type: cty.List(cty.String)},
			}}},
			{Name: "sidecar", Nesting: sdk.NestingList, Labels: []string{"name"}, Schema: &sdk.Schema{Attributes: []sdk.AttributeSchema{
				{Name: "image", Type: cty.String, Required: true},
			}}},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("SchemaOf:\n got %+v\nwant %+v", s, want)
	}
	_ = schemaProbe{}.ignored

	type remain struct {
		Rest any `hcl:",remain"`
	}
	if _, err := sdk.SchemaOf(&remain{}); err == nil || !strings.Contains(err.Error(), "remain") {
		t.Errorf("SchemaOf(remain) = %v, want an error about remain", err)
	}
	if _, err := sdk.SchemaOf(42); err == nil {
		t.Error("SchemaOf(int) succeeded")
	}
	if _, err := sdk.SchemaOf(probe{}); err == nil || !strings.Contains(err.Error(), "not a pointer") {
		t.Errorf("SchemaOf(struct value) = %v, want an error: gohcl decodes only into pointers", err)
	}
}

// probe is a runtime whose Status returns the error named by its config and
// counts provisions, to test the wire mapping and the instance cache.
type probe struct {
	Fail string `hcl:"fail,optional"`
}

var provisions atomic.Int64

func (p *probe) Provision(context.Context) error { provisions.Add(1); return nil }

func (p *probe) Validate() error {
	if p.Fail == "invalid" {
		return errors.New("fail must not be \"invalid\"")
	}
	return nil
}

func (p *probe) Deploy(_ context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	ui.Logf("deploying %s", req.DeploymentID)
	s := ui.Step("pull")
	fmt.Fprintf(s.Writer(sdk.Stderr), "pulling %s", req.Artifact.Ref())
	s.Done()
	s2 := ui.Step("start")
	if p.Fail == "deploy" {
		return nil, s2.Fail(sdk.Permanent(errors.New("port taken")))
	}
	s2.Done()
	return &sdk.Deployment{ID: req.DeploymentID, State: []byte(`{"a":1}`), StateVersion: 3, Upstreams: []string{"http://127.0.0.1:1"}}, nil
}

func (p *probe) Status(context.Context, *sdk.Deployment) (*sdk.Status, error) {
	switch p.Fail {
	case "notfound":
		return nil, fmt.Errorf("container abc: %w", sdk.ErrNotFound)
	case "permanent":
		return nil, sdk.Permanent(errors.New("bad image"))
	case "notimpl":
		return nil, sdk.ErrNotImplemented
	case "plain":
		return nil, errors.New("engine busy")
	}
	return &sdk.Status{Health: sdk.HealthHealthy, Message: "ok"}, nil
}

func (p *probe) Stop(context.Context, *sdk.Deployment, sdk.UI) error { return nil }

func probeComponent() sdk.Component {
	return sdk.Component{Name: "probe", New: func() any { return &probe{} }}
}

func TestErrorsSurviveTheWire(t *testing.T) {
	c := sdktest.ConnectComponent(t, probeComponent())
	ctx := context.Background()
	status := func(fail string) error {
		_, err := c.Runtime("probe", []byte(`{"fail":"`+fail+`"}`)).Status(ctx, &sdk.Deployment{ID: "d1"})
		return err
	}
	cases := []struct {
		fail      string
		is        error
		permanent bool
		msg       string
	}{
		{"notfound", sdk.ErrNotFound, false, "container abc: not found"},
		{"permanent", nil, true, "bad image"},
		{"notimpl", sdk.ErrNotImplemented, false, "not implemented yet"},
		{"plain", nil, false, "engine busy"},
		{"invalid", nil, true, "fail must not be"},
	}
	for _, tc := range cases {
		err := status(tc.fail)
		if err == nil {
			t.Errorf("%s: no error", tc.fail)
			continue
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: errors.Is(%v, %v) = false", tc.fail, err, tc.is)
		}
		if sdk.IsPermanent(err) != tc.permanent {
			t.Errorf("%s: IsPermanent(%v) = %v, want %v", tc.fail, err, !tc.permanent, tc.permanent)
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %q does not contain %q", tc.fail, err, tc.msg)
		}
	}
	// Unknown component names are reported as such.
	_, err := c.Runtime("nope", nil).Status(ctx, &sdk.Deployment{})
	if err == nil || !strings.Contains(err.Error(), `no runtime named "nope"`) {
		t.Errorf("unknown component: %v", err)
	}
	// Absent capabilities are ErrUnsupported on the host side.
	if err := c.Runtime("probe", nil).Logs(ctx, &sdk.Deployment{}, sdk.LogOptions{}, func(sdk.LogLine) error { return nil }); !errors.Is(err, sdk.ErrUnsupported) {
		t.Errorf("Logs on a runtime without logs: %v, want ErrUnsupported", err)
	}
	if err := c.Registry("probe", nil).EnsureRepository(ctx, "x"); err == nil {
		t.Error("a runtime served as a registry did not fail")
	}
}

func TestDeployStreamsUIAndState(t *testing.T) {
	rt := sdktest.Runtime(t, probeComponent(), nil)
	ui := &sdktest.RecordingUI{}
	d, err := rt.Deploy(context.Background(), &sdk.DeployRequest{DeploymentID: "d1", Artifact: sdk.Artifact{Repository: "r", Tag: "t"}}, ui)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.State) != `{"a":1}` || d.StateVersion != 3 || d.Upstreams[0] != "http://127.0.0.1:1" {
		t.Errorf("deployment did not round-trip: %+v", d)
	}
	want := []string{"log deploying d1", "step pull", "out pull: pulling r:t", "done pull", "step start", "done start"}
	if got := ui.Events(); !reflect.DeepEqual(got, want) {
		t.Errorf("UI events:\n got %q\nwant %q", got, want)
	}

	ui = &sdktest.RecordingUI{}
	_, err = sdktest.Runtime(t, probeComponent(), map[string]any{"fail": "deploy"}).Deploy(context.Background(), &sdk.DeployRequest{DeploymentID: "d2"}, ui)
	if !sdk.IsPermanent(err) || !strings.Contains(err.Error(), "port taken") {
		t.Errorf("failed deploy: %v", err)
	}
	if ev := ui.Events(); ev[len(ev)-1] != "fail start: port taken" {
		t.Errorf("last event %q, want the failed step", ev[len(ev)-1])
	}
}

func TestInstancesAreCachedPerConfig(t *testing.T) {
	c := sdktest.ConnectComponent(t, probeComponent())
	before := provisions.Load()
	for i := 0; i < 5; i++ {
		for _, cfg := range []string{`{}`, `{"fail":""}`} {
			if _, err := c.Runtime("probe", []byte(cfg)).Status(context.Background(), &sdk.Deployment{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := provisions.Load() - before; n != 2 {
		t.Errorf("Provision ran %d times for 10 calls with 2 configs, want 2", n)
	}
}

func TestDescribe(t *testing.T) {
	info, err := sdk.Describe(sdk.Plugin{Name: "p", Version: "1.2.3", Components: []sdk.Component{probeComponent(), sdktest.MemoryRegistry()}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Components[0].Kind != sdk.KindRuntime || info.Components[1].Kind != sdk.KindRegistry {
		t.Errorf("kinds: %+v", info.Components)
	}
	if got := info.Components[1].Capabilities; !reflect.DeepEqual(got, []string{sdk.CapRepository}) {
		t.Errorf("registry capabilities = %v", got)
	}
	mem, _ := sdk.DescribeComponent(sdktest.MemoryRuntime())
	if !mem.Has(sdk.CapLogs) || !mem.Has(sdk.CapDestroy) {
		t.Errorf("memory runtime capabilities = %v", mem.Capabilities)
	}
	if _, err := sdk.Describe(sdk.Plugin{Name: "bad", Components: []sdk.Component{{Name: "x", New: func() any { return &ingress{} }}}}); err == nil {
		t.Error("a component implementing no kind was accepted")
	}
	c := sdktest.Connect(t, sdk.Plugin{Name: "p", Version: "1.2.3", Components: []sdk.Component{probeComponent()}})
	remote, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	local, _ := sdk.Describe(sdk.Plugin{Name: "p", Version: "1.2.3", Components: []sdk.Component{probeComponent()}})
	if !reflect.DeepEqual(remote, local) {
		t.Errorf("GetInfo over the wire:\n got %+v\nwant %+v", remote, local)
	}
}

func TestMemoryRuntimeConformance(t *testing.T) {
	sdktest.RuntimeConformance(t, sdktest.MemoryRuntime(), map[string]any{"healthy_after": "100ms"}, sdktest.MemorySkips(false))
}

func TestMemoryRegistryConformance(t *testing.T) {
	sdktest.RegistryConformance(t, sdktest.MemoryRegistry(), map[string]any{"prefix": "rise/"})
}

func TestMainDescribe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	code := sdk.Main(sdk.Plugin{Name: "p", Version: "1.2.3", Components: []sdk.Component{probeComponent()}}, []string{"describe"})
	os.Stdout = orig
	w.Close()
	out, _ := io.ReadAll(r)
	if code != 0 {
		t.Fatalf("describe exited %d", code)
	}
	var info sdk.PluginInfo
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatalf("describe output is not PluginInfo JSON: %v\n%s", err, out)
	}
	if info.Name != "p" || info.Version != "1.2.3" || info.Components[0].Schema.Attributes[0].Type != cty.String {
		t.Errorf("describe = %+v", info)
	}
	if code := sdk.Main(sdk.Plugin{Name: "p", Components: []sdk.Component{probeComponent()}}, []string{"bogus"}); code != 2 {
		t.Errorf("unknown argument exited %d, want 2", code)
	}
}
