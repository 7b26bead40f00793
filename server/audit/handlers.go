package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/internal/web"
	"github.com/riseplatform/rise/server/store"
)

// Routes mounts GET /audit on the /api/v1 router.
func (rc *Recorder) Routes(api *mux.Router) {
	api.HandleFunc("/audit", rc.list).Methods(http.MethodGet)
}

// list is GET /api/v1/audit?project=&limit=&before=&cursor=, newest first.
// Admins may list everything, or one project by name (deleted projects'
// events included). A project's owners (those who may delete it: the owner
// user, the owner team's owners) may list that project's events since it
// was created. Anyone else gets 404 for a project, like a missing one, and
// 403 for the whole log.
func (rc *Recorder) list(w http.ResponseWriter, r *http.Request) {
	id, err := web.Caller(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	q, err := rc.query(r, id)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	evs, err := rc.events(r.Context(), q)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var out api.AuditList
	out.Events, out.NextCursor = web.PageOf(evs, q.limit,
		func(e *api.AuditEvent) string { return strconv.FormatInt(e.ID, 10) },
		func(e *api.AuditEvent) api.AuditEvent { return *e })
	httpx.JSON(w, http.StatusOK, out)
}

type listQuery struct {
	projectID   string // owners: the live project
	projectName string // admins: every event naming the project
	beforeID    int64
	beforeTime  time.Time
	limit       int
}

func (rc *Recorder) query(r *http.Request, id *identity.Identity) (*listQuery, error) {
	after, limit, err := web.Page(r)
	if err != nil {
		return nil, err
	}
	q := &listQuery{limit: limit}
	if after != "" {
		if q.beforeID, err = strconv.ParseInt(after, 10, 64); err != nil || q.beforeID < 1 {
			return nil, httpx.NewError(http.StatusBadRequest, "invalid cursor: pass the next_cursor of the previous page unchanged")
		}
	}
	if b := r.URL.Query().Get("before"); b != "" {
		if q.beforeTime, err = time.Parse(time.RFC3339Nano, b); err != nil {
			return nil, httpx.Errorf(http.StatusBadRequest, "before must be an RFC 3339 time like 2026-12-01T00:00:00Z, not %q", b)
		}
	}
	project := r.URL.Query().Get("project")
	if project == "" {
		if id.Admin && !id.IsServiceAccount() {
			return q, nil
		}
		return nil, httpx.NewError(http.StatusForbidden, "Only admins can read the whole audit log.",
			"Name a project you own: rise audit PROJECT")
	}
	notFound := httpx.NewError(http.StatusNotFound, fmt.Sprintf("Project '%s' not found.", project))
	if !web.PlausibleName(project) {
		return nil, notFound
	}
	if id.Admin && !id.IsServiceAccount() {
		q.projectName = project
		return q, nil
	}
	p, perm, err := rc.st.ProjectPermissions(r.Context(), id, project)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFound
	case err != nil:
		return nil, err
	case !perm.Can(store.AccessDelete):
		return nil, httpx.Errorf(http.StatusForbidden,
			"You cannot read the audit log of project '%s': only its owner (a team's owners for a team project) or an admin can.", project)
	}
	q.projectID = p.ID
	return q, nil
}

func (rc *Recorder) events(ctx context.Context, q *listQuery) ([]api.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.projectID != "" {
		where = append(where, "project_id = "+arg(q.projectID))
	}
	if q.projectName != "" {
		where = append(where, "project = "+arg(q.projectName))
	}
	if q.beforeID > 0 {
		where = append(where, "id < "+arg(q.beforeID))
	}
	if !q.beforeTime.IsZero() {
		where = append(where, "time < "+arg(q.beforeTime))
	}
	sql := `SELECT id, time, actor, actor_kind, action, COALESCE(project, ''), target, request_id, source_ip,
		status, outcome, details FROM audit_events`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY id DESC LIMIT " + arg(q.limit+1)
	rows, err := rc.st.Pool().Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	evs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (api.AuditEvent, error) {
		var (
			e       api.AuditEvent
			details []byte
		)
		err := row.Scan(&e.ID, &e.Time, &e.Actor, &e.ActorKind, &e.Action, &e.Project, &e.Target, &e.RequestID,
			&e.SourceIP, &e.Status, &e.Outcome, &details)
		if err == nil && len(details) > 2 {
			err = json.Unmarshal(details, &e.Details)
		}
		e.Time = e.Time.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return evs, nil
}
