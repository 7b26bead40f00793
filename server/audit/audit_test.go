package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/servertest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// row is an audit_events row as stored.
type row struct {
	Actor, ActorKind, Action, Project, Target, RequestID, SourceIP, Outcome string
	ProjectID                                                               *string
	Status                                                                  int
	Details                                                                 map[string]any
}

func rows(t *testing.T, env *servertest.Env) []row {
	t.Helper()
	rs, err := env.Store.Pool().Query(context.Background(), `SELECT actor, actor_kind, action, COALESCE(project, ''),
		project_id::text, target, request_id, source_ip, status, outcome, details FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.Actor, &r.ActorKind, &r.Action, &r.Project, &r.ProjectID, &r.Target, &r.RequestID,
			&r.SourceIP, &r.Status, &r.Outcome, &r.Details); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// send makes a request as c (nil: anonymous) with an optional JSON body and
// request id, and returns the status and body.
func send(t *testing.T, env *servertest.Env, c *servertest.Caller, method, path, body, requestID string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.URL+"/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c != nil {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStateChangingCallRecordedOnce(t *testing.T) {
	env := servertest.New(t)
	alice := env.User(t, "alice@example.com", false)

	code, body := send(t, env, alice, "POST", "/projects", `{"name":"shop","visibility":"private"}`, "req-create-1")
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	rs := rows(t, env)
	if len(rs) != 1 {
		t.Fatalf("want exactly one event, got %+v", rs)
	}
	e := rs[0]
	if e.Actor != "user:alice" || e.ActorKind != "user" || e.Action != "project.create" || e.Project != "shop" ||
		e.ProjectID == nil || e.Target != "/projects/shop" || e.RequestID != "req-create-1" || e.SourceIP != "127.0.0.1" ||
		e.Status != 201 || e.Outcome != "success" || e.Details["route"] != "/projects" || e.Details["method"] != "POST" {
		t.Fatalf("event: %+v", e)
	}

	// Reads record nothing.
	for _, p := range []string{"/projects", "/projects/shop", "/teams", "/users/me", "/health", "/audit?project=shop"} {
		if code, body := send(t, env, alice, "GET", p, "", ""); code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
	}
	if rs := rows(t, env); len(rs) != 1 {
		t.Fatalf("GET requests recorded events: %+v", rs[1:])
	}

	// A refused change is recorded too, with its status, and a request
	// without a route (404 from the router) is not.
	if code, _ := send(t, env, alice, "PATCH", "/projects/shop", `{"visibility":"secret"}`, ""); code != http.StatusBadRequest {
		t.Fatalf("bad patch: %d", code)
	}
	if code, _ := send(t, env, alice, "POST", "/no/such/route", `{}`, ""); code != http.StatusNotFound {
		t.Fatalf("unknown route: %d", code)
	}
	rs = rows(t, env)
	if len(rs) != 2 || rs[1].Action != "project.update" || rs[1].Status != 400 || rs[1].Outcome != "failure" ||
		rs[1].Project != "shop" || rs[1].RequestID == "" {
		t.Fatalf("events after a bad PATCH and an unknown route: %+v", rs)
	}
}

func TestServiceAccountReadsRecordedOncePerWindow(t *testing.T) {
	env := servertest.New(t)
	alice := env.User(t, "alice@example.com", false)
	if _, err := alice.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: "ci-app"}); err != nil {
		t.Fatal(err)
	}
	sa := env.ServiceAccount(t, "ci-app")
	for range 3 {
		if code, body := send(t, env, sa, "GET", "/projects/ci-app", "", ""); code != 200 {
			t.Fatalf("sa read: %d %s", code, body)
		}
	}
	// A service account may not delete; the attempt is recorded as itself.
	if code, _ := send(t, env, sa, "DELETE", "/projects/ci-app", "", ""); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Fatalf("sa delete: %d", code)
	}
	rs := rows(t, env)
	if len(rs) != 3 {
		t.Fatalf("want create, one service-account use, the refused delete; got %+v", rs)
	}
	if rs[1].Action != audit.ActionServiceAccount || rs[1].Actor != "sa:sa-ci-app" || rs[1].ActorKind != "service_account" ||
		rs[1].Project != "ci-app" || rs[1].Target != "/projects/ci-app" {
		t.Errorf("service account use: %+v", rs[1])
	}
	if rs[2].Action != "project.delete" || rs[2].Actor != "sa:sa-ci-app" || rs[2].Outcome != "denied" {
		t.Errorf("refused delete: %+v", rs[2])
	}
}

// TestAuditAccess is the hostile second tenant: team B's people cannot read
// team A's audit log, nor the global one, and owners see only their own
// project's events.
func TestAuditAccess(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	leadA := env.User(t, "lead-a@example.com", false)
	memberA := env.User(t, "member-a@example.com", false)
	leadB := env.User(t, "lead-b@example.com", false)
	memberB := env.User(t, "member-b@example.com", false)
	solo := env.User(t, "solo@example.com", false)
	admin := env.User(t, "admin@example.com", true)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(leadA.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "team-a", Members: []string{"member-a"}}))
	must(leadB.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "team-b", Members: []string{"member-b"}}))
	must(leadA.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "a-app", Owner: "team:team-a"}))
	must(leadB.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "b-app", Owner: "team:team-b"}))
	must(solo.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "solo-app"}))
	sa := env.ServiceAccount(t, "a-app")

	// Whatever B's people try, A's log stays closed, and looks like a
	// missing project.
	_, missingBody := send(t, env, memberB, "GET", "/projects/a-app", "", "")
	for _, c := range []*servertest.Caller{leadB, memberB, solo} {
		for _, p := range []string{"a-app", "no-such-app"} {
			code, body := send(t, env, c, "GET", "/audit?project="+p, "", "")
			if code != http.StatusNotFound || !strings.Contains(body, "Project '"+p+"' not found.") {
				t.Errorf("%s reads %s's audit: %d %s", c.Name, p, code, body)
			}
		}
		if code, body := send(t, env, c, "GET", "/audit", "", ""); code != http.StatusForbidden {
			t.Errorf("%s reads the global audit log: %d %s", c.Name, code, body)
		}
	}
	var missing, got api.Error
	_ = json.Unmarshal([]byte(missingBody), &missing)
	_, body := send(t, env, memberB, "GET", "/audit?project=a-app", "", "")
	_ = json.Unmarshal([]byte(body), &got)
	if got.Message != missing.Message || got.Message == "" {
		t.Errorf("audit 404 %q differs from the projects API's %q", got.Message, missing.Message)
	}
	// Team members and service accounts can see the project but not its log.
	for _, c := range []*servertest.Caller{memberA, sa} {
		if code, body := send(t, env, c, "GET", "/audit?project=a-app", "", ""); code != http.StatusForbidden {
			t.Errorf("%s reads a-app's audit: %d %s", c.Subject(), code, body)
		}
		if code, _ := send(t, env, c, "GET", "/audit", "", ""); code != http.StatusForbidden {
			t.Errorf("%s reads the global audit log: %d", c.Subject(), code)
		}
	}
	if code, _ := send(t, env, nil, "GET", "/audit?project=a-app", "", ""); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}

	// B's attempt on A's project is in A's log, not B's.
	if code, _ := send(t, env, memberB, "DELETE", "/projects/a-app", "", ""); code != http.StatusNotFound {
		t.Fatalf("B deletes A's project: %d", code)
	}
	projectsIn := func(c *servertest.Caller, q api.AuditQuery) (map[string]int, []api.AuditEvent) {
		t.Helper()
		l, err := c.Client.Audit(ctx, q)
		if err != nil {
			t.Fatalf("%s audit %+v: %v", c.Subject(), q, err)
		}
		seen := map[string]int{}
		for _, e := range l.Events {
			seen[e.Project]++
		}
		return seen, l.Events
	}
	seen, evs := projectsIn(leadA, api.AuditQuery{Project: "a-app"})
	if len(seen) != 1 || seen["a-app"] != 3 || evs[0].Action != "project.delete" || evs[0].Actor != "user:member-b" ||
		evs[0].Outcome != "denied" || evs[1].Action != audit.ActionServiceAccount || evs[1].Actor != "sa:sa-a-app" ||
		evs[2].Action != "project.create" || evs[2].Actor != "user:lead-a" {
		t.Errorf("lead A's view of a-app: %+v", evs)
	}
	if seen, _ := projectsIn(solo, api.AuditQuery{Project: "solo-app"}); len(seen) != 1 || seen["solo-app"] != 1 {
		t.Errorf("solo's view: %v", seen)
	}
	seen, evs = projectsIn(admin, api.AuditQuery{})
	if seen["a-app"] != 3 || seen["b-app"] != 1 || seen["solo-app"] != 1 || seen[""] != 2 { // two team.create
		t.Errorf("admin's view: %v", seen)
	}
	for _, e := range evs {
		if e.RequestID == "" || e.SourceIP == "" || e.Time.IsZero() {
			t.Errorf("incomplete event: %+v", e)
		}
	}
}

// TestRecreatedProjectHidesPredecessor: events survive a project's deletion,
// and whoever creates a project of the same name later does not see them.
func TestRecreatedProjectHidesPredecessor(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	alice := env.User(t, "alice@example.com", false)
	mallory := env.User(t, "mallory@example.com", false)
	admin := env.User(t, "admin@example.com", true)
	if _, err := alice.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "reused"}); err != nil {
		t.Fatal(err)
	}
	if err := alice.Client.DeleteProject(ctx, "reused"); err != nil {
		t.Fatal(err)
	}
	p, err := env.Store.ProjectByName(ctx, "reused")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.PurgeProject(ctx, p.ID); err != nil { // what the project controller does
		t.Fatal(err)
	}
	if _, err := mallory.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "reused"}); err != nil {
		t.Fatal(err)
	}
	l, err := mallory.Client.Audit(ctx, api.AuditQuery{Project: "reused"})
	if err != nil || len(l.Events) != 1 || l.Events[0].Actor != "user:mallory" {
		t.Fatalf("mallory sees: %+v %v", l, err)
	}
	l, err = admin.Client.Audit(ctx, api.AuditQuery{Project: "reused"})
	if err != nil || len(l.Events) != 3 {
		t.Fatalf("admin sees the whole history of the name: %+v %v", l, err)
	}
}

func TestPaginationAndBefore(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	admin := env.User(t, "admin@example.com", true)
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5"} {
		if _, err := admin.Client.CreateProject(ctx, api.CreateProjectRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	q := api.AuditQuery{Limit: 2}
	for range 10 {
		l, err := admin.Client.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range l.Events {
			got = append(got, e.Project)
		}
		if l.NextCursor == "" {
			break
		}
		q.Cursor = l.NextCursor
	}
	if strings.Join(got, ",") != "p5,p4,p3,p2,p1" {
		t.Errorf("pages: %v", got)
	}
	if _, err := env.Store.Pool().Exec(ctx, `UPDATE audit_events SET time = now() - interval '2 days' WHERE project IN ('p1', 'p2')`); err != nil {
		t.Fatal(err)
	}
	l, err := admin.Client.Audit(ctx, api.AuditQuery{Before: time.Now().Add(-24 * time.Hour)})
	if err != nil || len(l.Events) != 2 || l.Events[0].Project != "p2" {
		t.Errorf("before: %+v %v", l, err)
	}
	for _, bad := range []string{"before=yesterday", "limit=0", "cursor=!!", "cursor=YWJj", "project=Not_A_Name"} {
		code, body := send(t, env, admin, "GET", "/audit?"+bad, "", "")
		if want := http.StatusBadRequest; bad == "project=Not_A_Name" {
			if code != http.StatusNotFound {
				t.Errorf("%s: %d %s", bad, code, body)
			}
		} else if code != want {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	rec := audit.New(env.Store, audit.Options{})
	for _, age := range []time.Duration{100 * 24 * time.Hour, 89 * 24 * time.Hour, time.Minute} {
		if err := rec.Record(ctx, audit.Event{Action: "test.event", Time: time.Now().Add(-age)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := rec.Prune(ctx, time.Now().Add(-audit.DefaultRetention))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 old event deleted", n, err)
	}
	if rs := rows(t, env); len(rs) != 2 {
		t.Fatalf("left: %+v", rs)
	}
	if err := rec.Record(ctx, audit.Event{}); err == nil {
		t.Error("an event without action was accepted")
	}
}

// TestRecordingFailureDoesNotFailRequests: the audit log is not a reason to
// refuse a change.
func TestRecordingFailureDoesNotFailRequests(t *testing.T) {
	env := servertest.New(t)
	alice := env.User(t, "alice@example.com", false)
	if _, err := env.Store.Pool().Exec(context.Background(), `ALTER TABLE audit_events RENAME TO audit_events_gone`); err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, env, alice, "POST", "/projects", `{"name":"still-works"}`, ""); code != http.StatusCreated {
		t.Fatalf("create with a broken audit log: %d %s", code, body)
	}
}

func TestDetailsDropSecretsAndBadBytes(t *testing.T) {
	ctx := context.Background()
	env := servertest.New(t)
	rec := audit.New(env.Store, audit.Options{})
	err := rec.Record(ctx, audit.Event{Action: "test.event", Target: "/x\x00\xff/y", Details: map[string]any{
		"password": "hunter2", "access_token": "eyJx", "Client_Secret": "s", "device_code": "c", "email": "a@b.c",
		"id": "v\x00",
	}})
	if err != nil {
		t.Fatal(err)
	}
	rs := rows(t, env)
	if len(rs) != 1 || rs[0].Target != "/x/y" || len(rs[0].Details) != 2 || rs[0].Details["email"] != "a@b.c" || rs[0].Details["id"] != "v" {
		t.Fatalf("stored: %+v", rs)
	}
}

func TestActionFor(t *testing.T) {
	for _, c := range []struct{ method, tpl, want string }{
		{"POST", "/projects", "project.create"},
		{"PATCH", "/projects/{name}", "project.update"},
		{"DELETE", "/projects/{name}", "project.delete"},
		{"POST", "/teams", "team.create"},
		{"PATCH", "/teams/{name}", "team.update"},
		{"DELETE", "/teams/{name}", "team.delete"},
		{"POST", "/projects/{name}/service-accounts", "service_account.create"},
		{"DELETE", "/projects/{name}/service-accounts/{id}", "service_account.delete"},
		{"POST", "/projects/{project}/deployments", "deployment.create"},
		{"POST", "/projects/{project}/deployments/{id}/state", "deployment.state"},
		{"POST", "/projects/{project}/deployments/{id}/rollback", "deployment.rollback"},
		{"POST", "/projects/{project}/deployments/{id}/stop", "deployment.stop"},
		{"POST", "/projects/{project}/deployment-groups/stop", "deployment_group.stop"},
		{"POST", "/projects/{project}/environments", "environment.create"},
		{"PATCH", "/projects/{project}/environments/{env}", "environment.update"},
		{"PUT", "/projects/{project}/env/{key}", "env.set"},
		{"POST", "/", "api.post"},
	} {
		if got := audit.ActionFor(c.method, c.tpl); got != c.want {
			t.Errorf("ActionFor(%s %s) = %q, want %q", c.method, c.tpl, got, c.want)
		}
	}
}

// TestPanickingHandlerRecorded: a handler that panics is recorded as a 500;
// a route no table names gets a derived action.
func TestPanickingHandlerRecorded(t *testing.T) {
	env := servertest.New(t, func(_ *config.Server, d *server.Deps) {
		d.Mounts = append(d.Mounts, server.MountFunc(func(r *mux.Router) {
			r.HandleFunc("/widgets/{id}/poke", func(http.ResponseWriter, *http.Request) { panic("boom") }).Methods("POST")
		}))
	})
	alice := env.User(t, "alice@example.com", false)
	if code, _ := send(t, env, alice, "POST", "/widgets/w1/poke", "", ""); code != http.StatusInternalServerError {
		t.Fatalf("panic: %d", code)
	}
	rs := rows(t, env)
	if len(rs) != 1 || rs[0].Action != "widget.poke" || rs[0].Status != 500 || rs[0].Outcome != "failure" ||
		rs[0].Details["id"] != "w1" || rs[0].Target != "/widgets/w1/poke" {
		t.Fatalf("events: %+v", rs)
	}
}
