package audit_test

import (
	"context"
	"testing"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/servertest"
)

// seedEvents fills a fresh server's audit log with 100,000 events over 1,000
// project names, one of which ("proj-1") belongs to the returned caller.
func seedEvents(b *testing.B) (*servertest.Env, *servertest.Caller) {
	ctx := context.Background()
	env := servertest.New(b)
	owner := env.User(b, "owner@bench.test", false)
	if _, err := owner.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "proj-1"}); err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO audit_events (time, actor, actor_kind, action, project, project_id, target, request_id, source_ip, status, outcome)
		 SELECT now() - i * interval '1 minute', 'user:u' || (i % 100), 'user', 'deployment.create', 'proj-' || (i % 1000),
		   CASE WHEN i % 1000 = 1 THEN (SELECT id FROM projects WHERE name = 'proj-1') END,
		   '/projects/proj-' || (i % 1000) || '/deployments', md5(i::text), '10.0.0.1', 201, 'success'
		 FROM generate_series(1, 100000) i`,
		`ANALYZE audit_events`,
	} {
		if _, err := env.Store.Pool().Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	return env, owner
}

// BenchmarkRecord is what the middleware adds to a state-changing request:
// one INSERT into a table of 100,000 events.
func BenchmarkRecord(b *testing.B) {
	env, _ := seedEvents(b)
	rec := audit.New(env.Store, audit.Options{})
	ctx := context.Background()
	e := audit.Event{Actor: "user:owner", Action: "project.update", Project: "proj-1", Target: "/projects/proj-1",
		RequestID: "bench", SourceIP: "127.0.0.1", Status: 200, Details: map[string]any{"method": "PATCH"}}
	b.ResetTimer()
	for b.Loop() {
		if err := rec.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOwnerList is GET /api/v1/audit?project= (first page of 100) for a
// project owner over 100,000 events.
func BenchmarkOwnerList(b *testing.B) {
	_, owner := seedEvents(b)
	ctx := context.Background()
	for b.Loop() {
		l, err := owner.Client.Audit(ctx, api.AuditQuery{Project: "proj-1"})
		if err != nil || len(l.Events) != 100 {
			b.Fatalf("%d events, %v", len(l.Events), err)
		}
	}
}
