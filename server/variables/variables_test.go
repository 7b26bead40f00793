package variables_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/config"
	"github.com/riseplatform/rise/dev/pgtest"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/audit"
	"github.com/riseplatform/rise/server/deploy"
	"github.com/riseplatform/rise/server/keyring"
	"github.com/riseplatform/rise/server/servertest"
	"github.com/riseplatform/rise/server/store"
	"github.com/riseplatform/rise/server/variables"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newKey(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func ring(t testing.TB, cur string, old ...string) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.FromConfig(context.Background(), &config.Encryption{Provider: "local", Key: cur, OldKeys: old})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// env is a server with the variables API, the deployments API (no
// controller) and the real audit log on a fresh database.
type env struct {
	*servertest.Env
	vars   *variables.Service
	deploy *deploy.Service
}

func newEnv(t *testing.T, kr *keyring.Keyring) *env {
	t.Helper()
	e := &env{}
	e.Env = servertest.New(t, func(_ *config.Server, d *server.Deps) {
		d.Audit = audit.New(d.Store, audit.Options{})
		var err error
		e.vars, err = variables.New(variables.Options{Store: d.Store, Keyring: kr, Audit: d.Audit})
		if err != nil {
			t.Fatal(err)
		}
		e.deploy, err = deploy.New(deploy.Options{Store: d.Store, Variables: e.vars})
		if err != nil {
			t.Fatal(err)
		}
		d.Mounts = append(d.Mounts, e.vars, e.deploy)
	})
	return e
}

// secretValue is unguessable and easy to find anywhere.
func secretValue(label string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return label + "-" + hex.EncodeToString(b)
}

func wantStatus(t *testing.T, err error, status int, what string) {
	t.Helper()
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != status {
		t.Fatalf("%s: got %v, want HTTP %d", what, err, status)
	}
}

func TestVariablesAPI(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, ring(t, newKey(t)))
	owner := e.User(t, "owner@example.com", false)
	lead := e.User(t, "lead@example.com", false)
	member := e.User(t, "member@example.com", false)
	other := e.User(t, "other@example.com", false)
	if _, err := owner.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lead.Client.CreateTeam(ctx, api.CreateTeamRequest{Name: "ops", Members: []string{"member"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lead.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "teamapp", Owner: "team:ops"}); err != nil {
		t.Fatal(err)
	}
	sa := e.ServiceAccount(t, "shop")

	plainV, secretV, protectedV := secretValue("plain"), secretValue("secret"), secretValue("protected")
	set, err := owner.Client.SetVariables(ctx, "shop", &api.SetVariablesRequest{Variables: []api.VariableInput{
		{Name: "LOG_LEVEL", Value: plainV},
		{Name: "API_KEY", Value: secretV, Kind: api.KindSecret},
		{Name: "STRIPE_KEY", Value: protectedV, Kind: api.KindProtected},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range set.Variables {
		if v.Value != nil {
			t.Fatalf("set answered a value: %+v", v)
		}
	}
	l, err := owner.Client.ListVariables(ctx, "shop", false)
	if err != nil || len(l.Variables) != 3 {
		t.Fatalf("list: %+v %v", l, err)
	}
	got := map[string]api.Variable{}
	for _, v := range l.Variables {
		got[v.Name] = v
	}
	if v := got["LOG_LEVEL"]; v.Value == nil || *v.Value != plainV || v.UpdatedBy != "user:owner" {
		t.Fatalf("plain: %+v", v)
	}
	if got["API_KEY"].Value != nil || got["STRIPE_KEY"].Value != nil || got["API_KEY"].Kind != api.KindSecret {
		t.Fatalf("secrets not masked: %+v", got)
	}

	// Reveal: owners only; protected values never.
	v, err := owner.Client.GetVariable(ctx, "shop", "API_KEY", true)
	if err != nil || v.Value == nil || *v.Value != secretV {
		t.Fatalf("owner reveal: %+v %v", v, err)
	}
	_, err = owner.Client.GetVariable(ctx, "shop", "STRIPE_KEY", true)
	wantStatus(t, err, http.StatusForbidden, "reveal protected")
	rl, err := owner.Client.ListVariables(ctx, "shop", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rl.Variables {
		if v.Name == "STRIPE_KEY" && v.Value != nil {
			t.Fatal("list --reveal returned a protected value")
		}
	}

	// Team project: the member sets plain and secret values but cannot reveal.
	if _, err := member.Client.SetVariables(ctx, "teamapp", &api.SetVariablesRequest{Variables: []api.VariableInput{
		{Name: "TOKEN", Value: secretV, Kind: api.KindSecret}, {Name: "MODE", Value: "x"}}}); err != nil {
		t.Fatalf("member set: %v", err)
	}
	_, err = member.Client.GetVariable(ctx, "teamapp", "TOKEN", true)
	wantStatus(t, err, http.StatusForbidden, "member reveal")
	_, err = member.Client.ListVariables(ctx, "teamapp", true)
	wantStatus(t, err, http.StatusForbidden, "member list --reveal")
	if v, err := lead.Client.GetVariable(ctx, "teamapp", "TOKEN", true); err != nil || *v.Value != secretV {
		t.Fatalf("team owner reveal: %+v %v", v, err)
	}

	// The hostile second user: another project's variables are "not found",
	// exactly like a project that does not exist.
	for name, call := range map[string]func(string) error{
		"list": func(p string) error { _, err := other.Client.ListVariables(ctx, p, false); return err },
		"get":  func(p string) error { _, err := other.Client.GetVariable(ctx, p, "API_KEY", true); return err },
		"set": func(p string) error {
			_, err := other.Client.SetVariables(ctx, p, &api.SetVariablesRequest{Variables: []api.VariableInput{{Name: "A", Value: "b"}}})
			return err
		},
		"unset":  func(p string) error { return other.Client.UnsetVariable(ctx, p, "API_KEY") },
		"deploy": func(p string) error { _, err := other.Client.Redeploy(ctx, p, "20260101-000000"); return err },
	} {
		errTheirs, errMissing := call("shop"), call("no-such-project")
		var a, b *api.Error
		if !errors.As(errTheirs, &a) || !errors.As(errMissing, &b) || a.Status != http.StatusNotFound ||
			strings.ReplaceAll(a.Message, "shop", "X") != strings.ReplaceAll(b.Message, "no-such-project", "X") {
			t.Fatalf("%s by a stranger: %v vs missing project: %v", name, errTheirs, errMissing)
		}
	}
	// The service account deploys the project but cannot read its variables.
	_, err = sa.Client.ListVariables(ctx, "shop", false)
	wantStatus(t, err, http.StatusForbidden, "service account list")
	_, err = sa.Client.GetVariable(ctx, "shop", "LOG_LEVEL", false)
	wantStatus(t, err, http.StatusForbidden, "service account get")
	_, err = sa.Client.SetVariables(ctx, "shop", &api.SetVariablesRequest{Variables: []api.VariableInput{{Name: "A", Value: "b"}}})
	wantStatus(t, err, http.StatusForbidden, "service account set")

	// Validation at the edge, with messages that never echo values.
	for _, c := range []struct {
		in   api.VariableInput
		want string
	}{
		{api.VariableInput{Name: "lower", Value: secretV}, "Invalid variable name"},
		{api.VariableInput{Name: "RISE_PROJECT", Value: secretV}, "reserved"},
		{api.VariableInput{Name: "PORT", Value: secretV}, "PORT is reserved"},
		{api.VariableInput{Name: "BIG", Value: strings.Repeat("x", 64<<10+1)}, "at most 64 KiB"},
		{api.VariableInput{Name: "K", Value: secretV, Kind: "weird"}, "Invalid kind"},
	} {
		_, err := owner.Client.SetVariables(ctx, "shop", &api.SetVariablesRequest{Variables: []api.VariableInput{c.in}})
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, c.want) || strings.Contains(ae.Message, secretV) {
			t.Errorf("set %s: %v, want 400 %q", c.in.Name, err, c.want)
		}
	}
	many := make([]api.VariableInput, 301)
	for i := range many {
		many[i] = api.VariableInput{Name: fmt.Sprintf("V%d", i), Value: "x"}
	}
	_, err = owner.Client.SetVariables(ctx, "shop", &api.SetVariablesRequest{Variables: many})
	wantStatus(t, err, http.StatusBadRequest, "301 variables")

	// Unset, then not found.
	if err := owner.Client.UnsetVariable(ctx, "shop", "LOG_LEVEL"); err != nil {
		t.Fatal(err)
	}
	err = owner.Client.UnsetVariable(ctx, "shop", "LOG_LEVEL")
	wantStatus(t, err, http.StatusNotFound, "unset twice")

	// The audit log names who and which variables, never a value.
	rows, err := e.Store.Pool().Query(ctx, `SELECT action, actor, details::text FROM audit_events WHERE action LIKE 'variable.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	events, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Action, Actor, Details string }])
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, ev := range events {
		seen = append(seen, ev.Action+" "+ev.Actor+" "+ev.Details)
	}
	all := strings.Join(seen, "\n")
	for _, want := range []string{`variable.set user:owner {"kind": "secret", "names": ["API_KEY"]}`,
		`variable.reveal user:owner {"names": ["API_KEY"]}`, `variable.unset user:owner {"names": ["LOG_LEVEL"]}`,
		`variable.set user:member {"kind": "secret", "names": ["TOKEN"]}`, `variable.reveal user:lead {"names": ["TOKEN"]}`} {
		if !strings.Contains(all, want) {
			t.Errorf("audit log lacks %q:\n%s", want, all)
		}
	}
	scanDatabase(t, e.Store, plainV, secretV, protectedV)
}

// scanDatabase fails if any value appears in plain text (or as bytes)
// in any column of any table.
func scanDatabase(t *testing.T, st *store.Store, values ...string) {
	t.Helper()
	ctx := context.Background()
	rows, err := st.Pool().Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables: %v %v", tables, err)
	}
	for _, table := range tables {
		for _, v := range values {
			var n int
			// Each row as text (bytea columns as hex), searched for the value
			// and for its hex form.
			err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM `+table+` t
				WHERE strpos(t::text, $1) > 0 OR strpos(t::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0`, v).Scan(&n)
			if err != nil {
				t.Fatalf("scan %s: %v", table, err)
			}
			if n > 0 {
				t.Errorf("table %s holds %d rows with a value in plain text", table, n)
			}
		}
	}
}

// TestSnapshotsRotationAndStartCheck: deployments keep the versions they
// were created with (a rollback restores them), rotation re-wraps every
// data key so the old key can go, and the start-up check refuses a missing
// or wrong key.
func TestSnapshotsRotationAndStartCheck(t *testing.T) {
	ctx := context.Background()
	oldKey, newKey_ := newKey(t), newKey(t)
	e := newEnv(t, ring(t, oldKey))
	owner := e.User(t, "owner@example.com", false)
	if _, err := owner.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "shop"}); err != nil {
		t.Fatal(err)
	}
	v1, v2, deployOnly := secretValue("v1"), secretValue("v2"), secretValue("once")
	setKey := func(v string) {
		t.Helper()
		if _, err := owner.Client.SetVariables(ctx, "shop", &api.SetVariablesRequest{Variables: []api.VariableInput{
			{Name: "DB_PASSWORD", Value: v, Kind: api.KindProtected}, {Name: "MODE", Value: "m-" + v}}}); err != nil {
			t.Fatal(err)
		}
	}
	setKey(v1)
	d1, err := owner.Client.CreateDeployment(ctx, "shop", &api.CreateDeploymentRequest{Image: "example.com/shop:1",
		SecretEnv: map[string]string{"ONE_OFF": deployOnly}})
	if err != nil {
		t.Fatal(err)
	}
	setKey(v2)
	d2, err := owner.Client.CreateDeployment(ctx, "shop", &api.CreateDeploymentRequest{Image: "example.com/shop:2"})
	if err != nil {
		t.Fatal(err)
	}
	uuid := func(id string) string {
		t.Helper()
		var u string
		if err := e.Store.Pool().QueryRow(ctx, `SELECT id FROM deployments WHERE deployment_id = $1`, id).Scan(&u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	resolve := func(svc *variables.Service, id string) map[string]string {
		t.Helper()
		vals, err := svc.Resolve(ctx, uuid(id))
		if err != nil {
			t.Fatalf("resolve %s: %v", id, err)
		}
		m := map[string]string{}
		for _, v := range vals {
			m[v.Name] = v.Value
		}
		return m
	}
	if m := resolve(e.vars, d1.ID); m["DB_PASSWORD"] != v1 || m["ONE_OFF"] != deployOnly || m["MODE"] != "m-"+v1 {
		t.Fatalf("first deployment's values changed: %v", m)
	}
	if m := resolve(e.vars, d2.ID); m["DB_PASSWORD"] != v2 || m["ONE_OFF"] != "" {
		t.Fatalf("second deployment: %v", m)
	}
	// The deployment rows and responses carry no values.
	for _, d := range []*api.Deployment{d1, d2} {
		got, err := owner.Client.GetDeployment(ctx, "shop", d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprintf("%+v", got); strings.Contains(s, deployOnly) || strings.Contains(s, v1) {
			t.Fatalf("deployment response holds a value: %s", s)
		}
	}
	// Redeploying d1 takes the current variables and keeps d1's own values.
	rd, err := owner.Client.Redeploy(ctx, "shop", d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m := resolve(e.vars, rd.ID); m["DB_PASSWORD"] != v2 || m["ONE_OFF"] != deployOnly {
		t.Fatalf("redeploy: %v", m)
	}
	// Rollback to d1 restores d1's versions (v1), although v2 is current.
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE deployments SET state = 'Superseded', healthy_at = now() WHERE deployment_id = $1`, d1.ID); err != nil {
		t.Fatal(err)
	}
	rb, err := owner.Client.RollbackDeployment(ctx, "shop", d1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m := resolve(e.vars, rb.ID); m["DB_PASSWORD"] != v1 || m["ONE_OFF"] != deployOnly {
		t.Fatalf("rollback did not restore the original values: %v", m)
	}
	scanDatabase(t, e.Store, v1, v2, deployOnly)

	check := func(kr *keyring.Keyring) error {
		svc, err := variables.New(variables.Options{Store: e.Store, Keyring: kr})
		if err != nil {
			t.Fatal(err)
		}
		return svc.CheckKeys(ctx)
	}
	if err := check(nil); err == nil || !strings.Contains(err.Error(), "no encryption key is configured") {
		t.Fatalf("start without a key: %v", err)
	}
	if err := check(ring(t, newKey_)); err == nil || !strings.Contains(err.Error(), "which is not configured") {
		t.Fatalf("start with another key only: %v", err)
	}
	// A different key under the old key's id: a forged config (the id is
	// a fingerprint, so only a raw swap can produce this).
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE variables SET key_id = $1`, ring(t, newKey_).CurrentID()); err != nil {
		t.Fatal(err)
	}
	if err := check(ring(t, newKey_)); err == nil || !strings.Contains(err.Error(), "cannot decrypt") {
		t.Fatalf("start with the wrong key: %v", err)
	}
	if _, err := e.Store.Pool().Exec(ctx, `UPDATE variables SET key_id = $1`, ring(t, oldKey).CurrentID()); err != nil {
		t.Fatal(err)
	}

	// Rotation: the new key is current, the old one readable until rotate.
	rotating, err := variables.New(variables.Options{Store: e.Store, Keyring: ring(t, newKey_, oldKey)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := rotating.RotateKeys(ctx)
	if err != nil || n < 5 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	if n, err := rotating.RotateKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second rotate: %d %v", n, err)
	}
	if err := check(ring(t, newKey_)); err != nil {
		t.Fatalf("start with only the new key after rotation: %v", err)
	}
	after, _ := variables.New(variables.Options{Store: e.Store, Keyring: ring(t, newKey_)})
	if m := resolve(after, rb.ID); m["DB_PASSWORD"] != v1 || m["ONE_OFF"] != deployOnly {
		t.Fatalf("rollback values after rotation: %v", m)
	}

	// Deleting the project (what the project controller finally does)
	// removes its deployments, their snapshots and every version.
	if _, err := e.Store.Pool().Exec(ctx, `DELETE FROM projects WHERE name = 'shop'`); err != nil {
		t.Fatalf("delete project: %v", err)
	}
	var left int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM variables) + (SELECT count(*) FROM deployment_variables)`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("after deleting the project: %d rows left (%v)", left, err)
	}
}
