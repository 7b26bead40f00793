package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server/store"
)

func TestLease(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := newRepo(st)
	must := func(ok bool, err error) bool {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !must(r.AcquireLease(ctx, "x", "a", time.Second)) {
		t.Fatal("a could not take a free lease")
	}
	if must(r.AcquireLease(ctx, "x", "b", time.Second)) {
		t.Fatal("b took a held lease")
	}
	if !must(r.AcquireLease(ctx, "x", "a", 300*time.Millisecond)) {
		t.Fatal("a could not renew")
	}
	time.Sleep(400 * time.Millisecond)
	if !must(r.AcquireLease(ctx, "x", "b", time.Second)) {
		t.Fatal("b could not take an expired lease")
	}
	if must(r.AcquireLease(ctx, "x", "a", time.Second)) {
		t.Fatal("a renewed a lease b holds")
	}
	if err := r.ReleaseLease(ctx, "x", "a"); err != nil {
		t.Fatal(err)
	}
	if must(r.AcquireLease(ctx, "x", "a", time.Second)) {
		t.Fatal("a's release dropped b's lease")
	}
	if err := r.ReleaseLease(ctx, "x", "b"); err != nil {
		t.Fatal(err)
	}
	if !must(r.AcquireLease(ctx, "x", "a", time.Second)) {
		t.Fatal("a could not take a released lease")
	}
}

func TestParseEvent(t *testing.T) {
	if e, ok := parseEvent("d:u1:p1"); !ok || e.Deployment != "u1" || e.Project != "p1" {
		t.Errorf("d event = %+v %v", e, ok)
	}
	if e, ok := parseEvent("p:p1"); !ok || e.Project != "p1" || e.Deployment != "" {
		t.Errorf("p event = %+v %v", e, ok)
	}
	for _, bad := range []string{"", "x:y", "d:u1", "p:"} {
		if _, ok := parseEvent(bad); ok {
			t.Errorf("parseEvent(%q) accepted", bad)
		}
	}
	if e, ok := parseRoutesEvent("d:p1"); !ok || e.Domains != "p1" || e.Project != "" {
		t.Errorf("routes d event = %+v %v", e, ok)
	}
	for _, other := range []string{"", "d:", "p:p1", "t:t1"} { // the edge's other payloads
		if _, ok := parseRoutesEvent(other); ok {
			t.Errorf("parseRoutesEvent(%q) accepted", other)
		}
	}
}

func TestImageRefs(t *testing.T) {
	cases := map[string][3]string{
		"localhost/rise-base:busybox":                {"localhost/rise-base", "busybox", ""},
		"127.0.0.1:5000/rise/app":                    {"127.0.0.1:5000/rise/app", "", ""},
		"127.0.0.1:5000/rise/app:v2@sha256:abc":      {"127.0.0.1:5000/rise/app", "v2", "sha256:abc"},
		"registry.example.com/x@sha256:def":          {"registry.example.com/x", "", "sha256:def"},
		"registry.example.com:443/team/x:1.2.3-beta": {"registry.example.com:443/team/x", "1.2.3-beta", ""},
	}
	for in, want := range cases {
		a := artifactOf(in)
		if a.Repository != want[0] || a.Tag != want[1] || a.Digest != want[2] {
			t.Errorf("artifactOf(%q) = %+v", in, a)
		}
	}
	for _, c := range []struct{ image, digest, want string }{
		{"r/app:v1", "", "r/app:v1"},
		{"r/app:v1", "sha256:abc", "r/app@sha256:abc"},
		{"r/app:v1", "r/app@sha256:abc", "r/app@sha256:abc"},
	} {
		d := &row{Image: c.image, ImageDigest: c.digest}
		if got := d.pinnedRef(); got != c.want {
			t.Errorf("pinnedRef(%q, %q) = %q, want %q", c.image, c.digest, got, c.want)
		}
	}
}

func TestInsertIDCollisions(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var projectID string
	err = st.Pool().QueryRow(ctx, `WITH u AS (INSERT INTO users (email, name) VALUES ('a@example.com', 'a') RETURNING id)
		INSERT INTO projects (name, owner_user_id) SELECT 'p', id FROM u RETURNING id`).Scan(&projectID)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 14, 25, 1, 0, time.UTC)
	var ids []string
	for range 3 {
		uuid, err := insert(ctx, st.Pool(), newRow{ProjectID: projectID, Group: "default", State: "Pending"}, now)
		if err != nil {
			t.Fatal(err)
		}
		d, err := newRepo(st).Get(ctx, uuid)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	if ids[0] != "20261123-142501" || ids[1] != "20261123-142501-2" || ids[2] != "20261123-142501-3" {
		t.Fatalf("ids = %v", ids)
	}
	// One active deployment per project and group, enforced by the database.
	_, err = st.Pool().Exec(ctx, `UPDATE deployments SET state = 'Healthy', active = true WHERE project_id = $1`, projectID)
	if err == nil {
		t.Fatal("two active deployments in one group were accepted")
	}
	_, err = st.Pool().Exec(ctx, `UPDATE deployments SET state = 'Pending', active = true WHERE project_id = $1 AND deployment_id = $2`, projectID, ids[0])
	if err == nil {
		t.Fatal("an active Pending deployment was accepted")
	}
}
