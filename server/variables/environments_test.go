package variables_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
)

// TestEnvironmentVariables: an environment's own variables layer over the
// project's, in the API (?environment=) and in the snapshot a deployment
// in that environment is created with (rollback and redeploy included); a
// deleted environment takes its variables along; another user's project
// stays "not found" whatever environment is named.
func TestEnvironmentVariables(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ring(t, newKey(t)))
	owner := e.User(t, "owner@example.com", false)
	other := e.User(t, "other@example.com", false)
	oc := owner.Client
	if _, err := oc.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.CreateEnvironment(ctx, "shop", api.EnvironmentRequest{Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	// The other user has a staging environment of their own.
	if _, err := other.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "mine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Client.CreateEnvironment(ctx, "mine", api.EnvironmentRequest{Name: "staging"}); err != nil {
		t.Fatal(err)
	}

	projDB, stagingDB := secretValue("project-db"), secretValue("staging-db")
	set := func(scope string, in ...api.VariableInput) {
		t.Helper()
		if _, err := oc.SetEnvVariables(ctx, "shop", scope, &api.SetVariablesRequest{Variables: in}); err != nil {
			t.Fatalf("set in %q: %v", scope, err)
		}
	}
	set("", api.VariableInput{Name: "LOG_LEVEL", Value: "info"}, api.VariableInput{Name: "REGION", Value: "eu"},
		api.VariableInput{Name: "DB_URL", Value: projDB, Kind: api.KindSecret})
	set("staging", api.VariableInput{Name: "LOG_LEVEL", Value: "debug"},
		api.VariableInput{Name: "DB_URL", Value: stagingDB, Kind: api.KindSecret})

	// view is NAME -> "scope:value" ("project" for project-wide).
	view := func(scope string) string {
		t.Helper()
		l, err := oc.ListEnvVariables(ctx, "shop", scope, true)
		if err != nil {
			t.Fatalf("list %q: %v", scope, err)
		}
		var parts []string
		for _, v := range l.Variables {
			s := v.Environment
			if s == "" {
				s = "project"
			}
			parts = append(parts, v.Name+"="+s+":"+shownValue(v))
		}
		return strings.Join(parts, " ")
	}
	if got, want := view(""), "DB_URL=project:"+projDB+" LOG_LEVEL=project:info REGION=project:eu"; got != want {
		t.Fatalf("project-wide list:\n got %s\nwant %s", got, want)
	}
	if got, want := view("staging"), "DB_URL=staging:"+stagingDB+" LOG_LEVEL=staging:debug REGION=project:eu"; got != want {
		t.Fatalf("staging's layered list:\n got %s\nwant %s", got, want)
	}
	if got, want := view("production"), "DB_URL=project:"+projDB+" LOG_LEVEL=project:info REGION=project:eu"; got != want {
		t.Fatalf("production (no own values):\n got %s\nwant %s", got, want)
	}
	if v, err := oc.GetEnvVariable(ctx, "shop", "staging", "REGION", false); err != nil || v.Environment != "" || *v.Value != "eu" {
		t.Fatalf("staging sees the project's REGION: %+v %v", v, err)
	}
	if v, err := oc.GetEnvVariable(ctx, "shop", "staging", "LOG_LEVEL", false); err != nil || v.Environment != "staging" || *v.Value != "debug" {
		t.Fatalf("staging's own LOG_LEVEL: %+v %v", v, err)
	}
	// Unsetting in staging removes only staging's own value; REGION is not
	// staging's own to remove.
	wantStatus(t, oc.UnsetEnvVariable(ctx, "shop", "staging", "REGION"), http.StatusNotFound, "unset a project value in staging")

	// An unknown environment is the environments API's 404, with a hint.
	_, err := oc.ListEnvVariables(ctx, "shop", "stagin", false)
	wantStatus(t, err, http.StatusNotFound, "unknown environment")
	if ae := err.(*api.Error); ae.Message != "Environment 'stagin' of project 'shop' not found." ||
		len(ae.Suggestions) == 0 || ae.Suggestions[0] != "Did you mean 'staging'?" {
		t.Fatalf("unknown environment error: %+v", ae)
	}
	_, err = oc.SetEnvVariables(ctx, "shop", "nope", &api.SetVariablesRequest{Variables: []api.VariableInput{{Name: "A", Value: "b"}}})
	wantStatus(t, err, http.StatusNotFound, "set in an unknown environment")

	// Another user: shop is not found, with its environment, another or
	// one named like theirs; their own staging sees none of shop's values.
	for _, scope := range []string{"staging", "production", "nope"} {
		for what, call := range map[string]func() error{
			"list": func() error { _, err := other.Client.ListEnvVariables(ctx, "shop", scope, false); return err },
			"get": func() error {
				_, err := other.Client.GetEnvVariable(ctx, "shop", scope, "LOG_LEVEL", false)
				return err
			},
			"set": func() error {
				_, err := other.Client.SetEnvVariables(ctx, "shop", scope, &api.SetVariablesRequest{Variables: []api.VariableInput{{Name: "LOG_LEVEL", Value: "x"}}})
				return err
			},
			"unset": func() error { return other.Client.UnsetEnvVariable(ctx, "shop", scope, "LOG_LEVEL") },
		} {
			err := call()
			wantStatus(t, err, http.StatusNotFound, "other user "+what+" in "+scope)
			if m := err.(*api.Error).Message; m != "Project 'shop' not found." {
				t.Fatalf("other user %s in %s: %q", what, scope, m)
			}
		}
	}
	if l, err := other.Client.ListEnvVariables(ctx, "mine", "staging", false); err != nil || len(l.Variables) != 0 {
		t.Fatalf("other user's own staging: %+v %v", l, err)
	}

	// Snapshots: a staging deployment runs with staging's values over the
	// project's, a production one with the project's.
	dStaging, err := oc.CreateDeployment(ctx, "shop", &api.CreateDeploymentRequest{Image: "example.com/shop:1", Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	dProd, err := oc.CreateDeployment(ctx, "shop", &api.CreateDeploymentRequest{Image: "example.com/shop:1"})
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(id string) map[string]string {
		t.Helper()
		var uuid string
		if err := e.Store.Pool().QueryRow(ctx, `SELECT id FROM deployments WHERE deployment_id = $1`, id).Scan(&uuid); err != nil {
			t.Fatal(err)
		}
		vals, err := e.vars.Resolve(ctx, uuid)
		if err != nil {
			t.Fatalf("resolve %s: %v", id, err)
		}
		m := map[string]string{}
		for _, v := range vals {
			if _, dup := m[v.Name]; dup {
				t.Fatalf("deployment %s has %s twice", id, v.Name)
			}
			m[v.Name] = v.Value
		}
		return m
	}
	if m := resolve(dStaging.ID); m["LOG_LEVEL"] != "debug" || m["DB_URL"] != stagingDB || m["REGION"] != "eu" || len(m) != 3 {
		t.Fatalf("staging deployment: %v", m)
	}
	if m := resolve(dProd.ID); m["LOG_LEVEL"] != "info" || m["DB_URL"] != projDB || m["REGION"] != "eu" || len(m) != 3 {
		t.Fatalf("production deployment: %v", m)
	}

	// Staging changes; a redeploy takes staging's current values, a
	// rollback restores the first deployment's.
	set("staging", api.VariableInput{Name: "LOG_LEVEL", Value: "trace"})
	rd, err := oc.Redeploy(ctx, "shop", dStaging.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Environment != "staging" {
		t.Fatalf("redeploy ran in %q", rd.Environment)
	}
	if m := resolve(rd.ID); m["LOG_LEVEL"] != "trace" || m["DB_URL"] != stagingDB {
		t.Fatalf("staging redeploy: %v", m)
	}
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE deployments SET state = 'Superseded', healthy_at = now() WHERE deployment_id = $1`, dStaging.ID); err != nil {
		t.Fatal(err)
	}
	rb, err := oc.RollbackDeployment(ctx, "shop", dStaging.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m := resolve(rb.ID); m["LOG_LEVEL"] != "debug" || m["DB_URL"] != stagingDB {
		t.Fatalf("staging rollback: %v", m)
	}
	// Unset in staging: the project's value shows through again.
	if err := oc.UnsetEnvVariable(ctx, "shop", "staging", "LOG_LEVEL"); err != nil {
		t.Fatal(err)
	}
	if v, err := oc.GetEnvVariable(ctx, "shop", "staging", "LOG_LEVEL", false); err != nil || v.Environment != "" || *v.Value != "info" {
		t.Fatalf("staging after unset: %+v %v", v, err)
	}
	if got := view(""); !strings.Contains(got, "LOG_LEVEL=project:info") {
		t.Fatalf("project-wide value touched by a staging unset: %s", got)
	}

	// Promoting the staging rollback to production with its variables
	// copies staging's versions.
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE deployments SET image_digest = 'example.com/shop@sha256:'||repeat('a', 64)
		WHERE deployment_id = $1`, rb.ID); err != nil {
		t.Fatal(err)
	}
	promoted, err := oc.CreateDeployment(ctx, "shop", &api.CreateDeploymentRequest{From: rb.ID, UseSourceEnv: true})
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	if m := resolve(promoted.ID); m["LOG_LEVEL"] != "debug" || m["DB_URL"] != stagingDB {
		t.Fatalf("promoted with staging's variables: %v", m)
	}

	// Deleting staging (nothing runs there) removes its deployments and its
	// own variables, except the versions the promoted production
	// deployment still runs with; the project's stay. A recreated staging
	// starts without own values.
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE deployments SET state = 'Stopped' WHERE environment = 'staging'`); err != nil {
		t.Fatal(err)
	}
	if err := oc.DeleteEnvironment(ctx, "shop", "staging"); err != nil {
		t.Fatalf("delete staging: %v", err)
	}
	var current, kept int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE current), count(*) FILTER (WHERE NOT current)
		FROM variables WHERE environment = 'staging'`).Scan(&current, &kept); err != nil || current != 0 || kept != 2 {
		t.Fatalf("staging's variables after deleting it: %d current, %d kept (want 0, 2: the promoted deployment's) %v", current, kept, err)
	}
	if m := resolve(promoted.ID); m["LOG_LEVEL"] != "debug" || m["DB_URL"] != stagingDB {
		t.Fatalf("promoted deployment after deleting staging: %v", m)
	}
	if _, err := oc.CreateEnvironment(ctx, "shop", api.EnvironmentRequest{Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	if got, want := view("staging"), "DB_URL=project:"+projDB+" LOG_LEVEL=project:info REGION=project:eu"; got != want {
		t.Fatalf("recreated staging:\n got %s\nwant %s", got, want)
	}
	if m := resolve(dProd.ID); m["DB_URL"] != projDB {
		t.Fatalf("production deployment after deleting staging: %v", m)
	}
	// The audit log names the environment of a change.
	var audited int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'variable.unset'
		AND details->>'environment' = 'staging' AND details->'names' = '["LOG_LEVEL"]'`).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("audit of the staging unset: %d %v", audited, err)
	}
	scanDatabase(t, e.Store, projDB, stagingDB)
}

// TestSetRacesEnvironmentDelete: a set that passed the environment check
// while the environment is being deleted waits for the delete and then
// stores nothing (its values cannot outlive the environment and reappear
// in a new one of the same name).
func TestSetRacesEnvironmentDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ring(t, newKey(t)))
	oc := e.User(t, "owner@example.com", false).Client
	if _, err := oc.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := oc.CreateEnvironment(ctx, "shop", api.EnvironmentRequest{Name: "staging"}); err != nil {
		t.Fatal(err)
	}
	tx, err := e.Store.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `DELETE FROM environments WHERE name = 'staging'`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := oc.SetEnvVariables(ctx, "shop", "staging", &api.SetVariablesRequest{Variables: []api.VariableInput{{Name: "A", Value: "b"}}})
		done <- err
	}()
	// Wait until the set blocks on the environment row, then commit.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%FROM environments%FOR SHARE%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the set never waited for the environment")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	err = <-done
	wantStatus(t, err, http.StatusNotFound, "set into an environment deleted meanwhile")
	var left int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM variables`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("variables stored for a deleted environment: %d %v", left, err)
	}
}

func shownValue(v api.Variable) string {
	if v.Value == nil {
		return api.Masked
	}
	return *v.Value
}
