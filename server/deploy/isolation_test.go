package deploy_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/riseplatform/rise/core/api"
	coredeploy "github.com/riseplatform/rise/core/deploy"
	"github.com/riseplatform/rise/dev/registrytest"
	dockerruntime "github.com/riseplatform/rise/plugins/runtime/docker"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/images"
	"github.com/riseplatform/rise/server/servertest"
)

// isolationEnv is a rise server (real PostgreSQL, Docker runtime, a real
// token-authenticated registry wired to the registry plugin) with two
// non-admin users in different teams, each owning a project through their
// team.
type isolationEnv struct {
	*env
	reg        *registrytest.Rise
	policy     *switchPolicy
	alice, bob *servertest.Caller
	// creds records the pull credentials the runtime was handed, per
	// deployment id ("" key: none).
	creds sync.Map // deployment id → *sdk.Credentials
}

// switchPolicy lets a test change the server's image policy (the operator's
// server.hcl) without restarting it.
type switchPolicy struct{ p atomic.Pointer[images.Policy] }

func (s *switchPolicy) Resolve(ctx context.Context, project, ref string) (string, error) {
	return s.p.Load().Resolve(ctx, project, ref)
}

func (s *switchPolicy) CheckPushed(ctx context.Context, project, ref string) error {
	return s.p.Load().CheckPushed(ctx, project, ref)
}

// credsRuntime is the Docker runtime, recording the pull credentials it is
// handed.
type credsRuntime struct {
	*dockerruntime.Runtime
	seen *sync.Map
}

func (r credsRuntime) Deploy(ctx context.Context, req *sdk.DeployRequest, ui sdk.UI) (*sdk.Deployment, error) {
	r.seen.Store(req.DeploymentID, req.PullCredentials)
	return r.Runtime.Deploy(ctx, req, ui)
}

func newIsolationEnv(t *testing.T) *isolationEnv {
	reg := registrytest.StartRise(t)
	ie := &isolationEnv{reg: reg, policy: &switchPolicy{}}
	ie.policy.p.Store(images.New(images.Options{Registry: reg.Plugin}))
	ie.env = newEnv(t, func(o *deploy.Options) {
		o.Images = ie.policy
		o.PullCredentials = func(ctx context.Context, project string) (*sdk.Credentials, error) {
			return reg.Plugin.Credentials(ctx, &sdk.CredentialsRequest{Project: project, Subject: "rise-controller"})
		}
		o.CleanupProject = reg.Plugin.DeleteRepository
		rt := o.Runtime
		o.Runtime = func(ctx context.Context) (sdk.Runtime, error) {
			r, err := rt(ctx)
			if err != nil {
				return nil, err
			}
			return credsRuntime{Runtime: r.(*dockerruntime.Runtime), seen: &ie.creds}, nil
		}
	})
	ie.alice = ie.User(t, "alice@team-a.test", false)
	ie.bob = ie.User(t, "bob@team-b.test", false)
	return ie
}

// teamProject creates a team of one (the caller) and a project it owns.
func (ie *isolationEnv) teamProject(c *servertest.Caller, name string) {
	ie.t.Helper()
	ctx := context.Background()
	team := "team-" + randName()
	if _, err := c.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: team}); err != nil {
		ie.t.Fatalf("create team: %v", err)
	}
	if _, err := c.Client.CreateProject(ctx, api.CreateProjectRequest{Name: name, Owner: "team:" + team}); err != nil {
		ie.t.Fatalf("create project %s: %v", name, err)
	}
	ie.projects = append(ie.projects, name)
}

// push pushes the base image to project's repository as tag with the
// project's push credentials, and removes it from the engine again.
func (ie *isolationEnv) push(project, tag string) string {
	ie.t.Helper()
	ctx := context.Background()
	ref := ie.reg.Addr + "/rise/" + project + ":" + tag
	creds := ie.reg.Credentials(ie.t, project, true, 0)
	if err := ie.docker.ImageTag(ctx, ie.image, ref); err != nil {
		ie.t.Fatal(err)
	}
	auth, _ := registry.EncodeAuthConfig(registry.AuthConfig{Username: creds.Username, Password: creds.Password, ServerAddress: creds.Registry})
	rc, err := ie.docker.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		ie.t.Fatalf("push: %v", err)
	}
	checkProgress(ie.t.(*testing.T), rc)
	if _, err := ie.docker.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil {
		ie.t.Fatal(err)
	}
	return ref
}

func randName() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// apiError is an API error's status and text (message and suggestions).
func apiError(err error) (int, string) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		if err == nil {
			return 0, ""
		}
		return -1, err.Error()
	}
	return ae.Status, ae.Message + " | " + strings.Join(ae.Suggestions, " | ")
}

// recorder is a loopback HTTP listener that records every request.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t *testing.T, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(context.Background()))
		r.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

func (r *recorder) hostPort() string { return strings.TrimPrefix(r.URL, "http://") }

// TestImageIsolationAttacks is the second tenant's attack suite on images:
// Alice (team A) tries to run Bob's (team B) private image from the
// platform registry, to make the resolver send rise-signed tokens to a
// listener of her own, to probe the internal network through resolver
// errors, and to inherit Bob's images by recreating his deleted project.
func TestImageIsolationAttacks(t *testing.T) {
	ie := newIsolationEnv(t)
	ctx := context.Background()
	mine, theirs := "mine-"+randName(), "theirs-"+randName()
	ie.teamProject(ie.alice, mine)
	ie.teamProject(ie.bob, theirs)
	bobRef := ie.push(theirs, "v1")
	ie.push(mine, "v1")

	// Alice cannot even see Bob's project.
	if _, err := ie.alice.Client.GetProject(ctx, theirs); api.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("alice sees bob's project: %v", err)
	}

	// Bob's image by tag and by digest, and under other spellings of the
	// registry host, is refused exactly like an image that does not exist.
	bobDeploy, err := ie.bob.Client.CreateDeployment(ctx, theirs, &api.CreateDeploymentRequest{Image: bobRef, Workload: httpd("bob")})
	if err != nil {
		t.Fatalf("bob deploys his own image: %v", err)
	}
	bobPinned := bobDeploy.ImageDigest
	if !strings.HasPrefix(bobPinned, ie.reg.Addr+"/rise/"+theirs+"@sha256:") {
		t.Fatalf("bob's image not pinned: %q", bobPinned)
	}
	missing := ie.reg.Addr + "/rise/nosuch-" + randName() + ":v1"
	_, err = ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: missing})
	wantStatus, wantText := apiError(err)
	if wantStatus != http.StatusNotFound {
		t.Fatalf("missing repository: %d %s", wantStatus, wantText)
	}
	for _, ref := range []string{bobRef, bobPinned, ie.reg.Addr + "/rise/" + theirs + ":nope"} {
		_, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref})
		status, text := apiError(err)
		if status != wantStatus || strings.ReplaceAll(text, ref, "REF") != strings.ReplaceAll(wantText, missing, "REF") {
			t.Errorf("create with %s: %d %q\nwant as for a missing repository: %d %q", ref, status, text, wantStatus, wantText)
		}
	}
	// Her own missing tag reads the same way.
	ownMissing := ie.reg.Addr + "/rise/" + mine + ":nope"
	_, err = ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ownMissing})
	if status, text := apiError(err); status != wantStatus || strings.ReplaceAll(text, ownMissing, "REF") != strings.ReplaceAll(wantText, missing, "REF") {
		t.Errorf("own missing tag: %d %q, want %d %q", status, text, wantStatus, wantText)
	}
	// The registry's other names (localhost, an IPv4-mapped address) are not
	// the platform registry: external, on loopback, refused.
	port := ie.reg.Addr[strings.LastIndex(ie.reg.Addr, ":")+1:]
	for _, ref := range []string{"localhost:" + port + "/rise/" + theirs + ":v1", "[::ffff:127.0.0.1]:" + port + "/rise/" + theirs + ":v1"} {
		if _, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref}); err == nil {
			t.Errorf("create with %s succeeded", ref)
		}
	}

	// The build hand-off (state Pushed) cannot name Bob's image either.
	for _, req := range []api.UpdateDeploymentStateRequest{
		{State: api.StatePushed, Image: bobRef},
		{State: api.StatePushed, ImageDigest: bobPinned},
		{State: api.StatePushed, Image: ie.reg.Addr + "/rise/" + mine + ":v1", ImageDigest: bobPinned},
	} {
		d, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ie.alice.Client.UpdateDeploymentState(ctx, mine, d.ID, &req)
		if status, text := apiError(err); status != http.StatusNotFound || strings.Contains(text, theirs+"'s") {
			t.Errorf("pushed %+v: %d %q", req, status, text)
		}
	}
	if _, err := ie.alice.Client.UpdateDeploymentState(ctx, mine, mustCreate(t, ie.alice, mine).ID,
		&api.UpdateDeploymentStateRequest{State: api.StatePushed, Image: ie.reg.Addr + "/rise/" + mine + ":v1", ImageDigest: "sha256:../../x"}); api.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("malformed digest: %v", err)
	}
	// Nothing of Bob's ever ran in Alice's project.
	l, err := ie.alice.Client.ListDeployments(ctx, mine, "", 100, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l.Deployments {
		if strings.Contains(d.Image+d.ImageDigest, theirs) {
			t.Errorf("alice's deployment %s has bob's image: %+v", d.ID, d)
		}
	}

	t.Run("NoTokenToUserNamedHosts", func(t *testing.T) {
		// A listener of Alice's on loopback named as the registry host:
		// under the default configuration it receives no request at all
		// (and certainly no rise-signed token).
		lis := newRecorder(t, nil)
		ref := lis.hostPort() + "/rise/" + theirs + ":v1"
		_, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref})
		status, text := apiError(err)
		if status != http.StatusBadRequest {
			t.Fatalf("listener as registry: %d %q", status, text)
		}
		if got := lis.requests(); len(got) != 0 {
			t.Fatalf("the listener received %d request(s), first %s %s Authorization=%q", len(got), got[0].Method, got[0].URL, got[0].Header.Get("Authorization"))
		}
		// No port scanner: a closed port reads exactly like an open one,
		// and no error names addresses, ports or dial errors.
		closed := freeLoopbackPort(t)
		ref2 := "127.0.0.1:" + closed + "/x/y:v1"
		_, err = ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref2})
		status2, text2 := apiError(err)
		if status2 != status || strings.ReplaceAll(text2, ref2, "REF") != strings.ReplaceAll(strings.ReplaceAll(text, ref, "REF"), "'"+lis.hostPort()+"'", "'127.0.0.1:"+closed+"'") {
			t.Errorf("closed port and listener differ:\n%q\n%q", text, text2)
		}
		// A digest-pinned reference is not fetched, and its literal loopback
		// host is refused the same way.
		ref3 := lis.hostPort() + "/x/y@sha256:" + strings.Repeat("a", 64)
		_, err = ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ref3})
		if status3, text3 := apiError(err); status3 != status || strings.ReplaceAll(text3, ref3, "REF") != strings.ReplaceAll(text, ref, "REF") {
			t.Errorf("pinned reference to the listener: %d %q", status3, text3)
		}
		if got := lis.requests(); len(got) != 0 {
			t.Fatalf("the listener received %d request(s)", len(got))
		}
		for _, leak := range []string{"dial", "refused", "connect", "tcp", "not allowed (loopback"} {
			if strings.Contains(strings.ToLower(text+text2), leak) {
				t.Errorf("error text leaks network detail %q: %q / %q", leak, text, text2)
			}
		}
	})

	t.Run("PrivateRegistriesOnlyWhenAllowed", func(t *testing.T) {
		// An external registry on loopback, holding a public image.
		open := registrytest.Start(t, registrytest.Options{})
		extRef := open.Addr + "/library/web:v1"
		if err := ie.docker.ImageTag(ctx, ie.image, extRef); err != nil {
			t.Fatal(err)
		}
		rc, err := ie.docker.ImagePush(ctx, extRef, image.PushOptions{RegistryAuth: "e30="})
		if err != nil {
			t.Fatal(err)
		}
		checkProgress(t, rc)
		_, _ = ie.docker.ImageRemove(ctx, extRef, image.RemoveOptions{})

		if _, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: extRef}); api.StatusOf(err) != http.StatusBadRequest {
			t.Fatalf("loopback registry without allow_private_registries: %v", err)
		}
		// The operator allows loopback (images { allow_private_registries = ["127.0.0.0/8"] }).
		prev := ie.policy.p.Load()
		ie.policy.p.Store(images.New(images.Options{Registry: ie.reg.Plugin, AllowPrivate: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}))
		t.Cleanup(func() { ie.policy.p.Store(prev) })

		d, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: extRef, Workload: httpd("external")})
		if err != nil {
			t.Fatalf("allowed loopback registry: %v", err)
		}
		if !strings.HasPrefix(d.ImageDigest, open.Addr+"/library/web@sha256:") {
			t.Fatalf("external image not pinned: %+v", d)
		}
		waitAs(t, ie.alice, mine, d.ID, api.StateHealthy)
		if c, ok := ie.creds.Load(d.ID); !ok || c.(*sdk.Credentials) != nil {
			t.Errorf("runtime got pull credentials (deployed=%v) for an external image; want none", ok)
		}
		// The listener, now reachable, is resolved anonymously: it sees
		// requests, never an Authorization header.
		lis := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="x"`)
			w.WriteHeader(http.StatusUnauthorized)
		})
		_, err = ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: lis.hostPort() + "/rise/" + theirs + ":v1"})
		if err == nil {
			t.Fatal("listener resolved")
		}
		reqs := lis.requests()
		if len(reqs) == 0 {
			t.Fatal("the allowed listener was not asked")
		}
		for _, r := range reqs {
			if a := r.Header.Get("Authorization"); a != "" {
				t.Errorf("%s %s carried Authorization %q", r.Method, r.URL, a)
			}
		}
		// Bob's repository under another name of the platform registry is
		// external: no rise credentials, so the registry refuses it.
		alias := "localhost:" + port + "/rise/" + theirs + ":v1"
		_, err = ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: alias})
		if status, text := apiError(err); status != http.StatusBadRequest || !strings.Contains(text, "requires credentials") {
			t.Errorf("platform registry under an alias: %d %q", status, text)
		}
	})

	t.Run("PullCredentialsOnlyForOwnRepository", func(t *testing.T) {
		d, err := ie.alice.Client.CreateDeployment(ctx, mine, &api.CreateDeploymentRequest{Image: ie.reg.Addr + "/rise/" + mine + ":v1", Workload: httpd("mine")})
		if err != nil {
			t.Fatal(err)
		}
		waitAs(t, ie.alice, mine, d.ID, api.StateHealthy)
		c, _ := ie.creds.Load(d.ID)
		if cr, _ := c.(*sdk.Credentials); cr == nil || cr.Repository != ie.reg.Addr+"/rise/"+mine {
			t.Errorf("own image: runtime got no pull credentials for %s", mine)
		}
	})

	t.Run("DeletedProjectLeavesNoImages", func(t *testing.T) {
		name := "gone-" + randName()
		ie.teamProject(ie.bob, name)
		ref := ie.push(name, "v1")
		d, err := ie.bob.Client.CreateDeployment(ctx, name, &api.CreateDeploymentRequest{Image: ref})
		if err != nil {
			t.Fatal(err)
		}
		digest := d.ImageDigest[strings.Index(d.ImageDigest, "@")+1:]
		repo := "rise/" + name
		var m struct {
			Config struct{ Digest string }
			Layers []struct{ Digest string }
		}
		bobPull := ie.reg.Credentials(t, name, false, 0)
		if code := ie.registryGet(t, bobPull, repo, "manifests/v1", &m); code != http.StatusOK || m.Config.Digest == "" || len(m.Layers) == 0 {
			t.Fatalf("manifest before deletion: %d %+v", code, m)
		}
		if err := ie.bob.Client.DeleteProject(ctx, name); err != nil {
			t.Fatal(err)
		}
		// Alice takes the name once it is free.
		deadline := time.Now().Add(60 * time.Second)
		for {
			_, err := ie.alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: name})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("project name never freed: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		ie.projects = append(ie.projects, name)
		for _, img := range []string{ref, ie.reg.Addr + "/" + repo + "@" + digest} {
			if _, err := ie.alice.Client.CreateDeployment(ctx, name, &api.CreateDeploymentRequest{Image: img}); api.StatusOf(err) != http.StatusNotFound {
				t.Errorf("alice deploys the deleted project's %s: %v", img, err)
			}
		}
		// Her own pull credentials fetch nothing of it from the registry:
		// no tag, no manifest, no blob.
		pull := ie.reg.Credentials(t, name, false, 0)
		paths := []string{"manifests/v1", "manifests/" + digest, "blobs/" + m.Config.Digest}
		for _, l := range m.Layers {
			paths = append(paths, "blobs/"+l.Digest)
		}
		for _, p := range paths {
			if code := ie.registryGet(t, pull, repo, p, nil); code != http.StatusNotFound {
				t.Errorf("GET %s/%s after deletion: %d, want 404", repo, p, code)
			}
		}
	})
}

// registryGet GETs /v2/<repo>/<path> from the real registry with a token
// the realm issues for creds, decoding a JSON body into out.
func (ie *isolationEnv) registryGet(t *testing.T, creds *sdk.Credentials, repo, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ie.reg.Realm+"?service=rise-registry&scope=repository:"+repo+":pull", nil)
	req.SetBasicAuth(creds.Username, creds.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || tok.Token == "" {
		t.Fatalf("realm: %s", resp.Status)
	}
	req, _ = http.NewRequest(http.MethodGet, ie.reg.URL()+"/v2/"+repo+"/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

// waitAs follows a deployment as caller c until it is in state want.
func waitAs(t *testing.T, c *servertest.Caller, project, id string, want coredeploy.State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d, err := c.Client.GetDeployment(ctx, project, id)
	for err == nil && d.State != want {
		if d.Terminal() {
			t.Fatalf("deployment %s ended %s (%s), want %s", id, d.State, d.Message, want)
		}
		d, err = c.Client.WaitDeployment(ctx, project, id, d.Version)
	}
	if err != nil {
		t.Fatalf("waiting for %s to become %s: %v", id, want, err)
	}
}

func mustCreate(t *testing.T, c *servertest.Caller, project string) *api.Deployment {
	t.Helper()
	d, err := c.Client.CreateDeployment(context.Background(), project, &api.CreateDeploymentRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func freeLoopbackPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}
