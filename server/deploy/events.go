package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
	"github.com/riseplatform/rise/server/store"
)

// The project event stream (server-sent events):
//
//	GET /api/v1/projects/{project}/events[?deployment=<id>[&logs=true]][&after=<event id>]
//
// Events, each with an id:
//
//	event: state   data: api.DeploymentEvent   id: <seq>
//	event: log     data: api.LogEvent          id: <seq>:<log time, Unix ns>
//
// State events come from the deployment timeline (migration 0013's
// deployment_events, written by a trigger on every state change) and are
// pushed on the database's change notifications (LISTEN rise_deployments),
// so every replica streams every change. Log lines come from the runtime's
// Logs stream of the one deployment named by ?deployment= (followed; it
// starts once the deployment runs).
//
// Resuming: a reconnecting EventSource sends Last-Event-ID (or pass ?after=):
// state events after that seq follow, and log lines newer than its log time.
// Without a cursor the stream starts with the project's latest
// eventsBacklog events, or the whole timeline of ?deployment=, and the last
// logTail log lines. A project the caller may not read is a 404, like
// every other project route; the caller authenticates with a bearer token
// or the browser session cookie (EventSource cannot send headers).

const (
	eventsBacklog   = 50
	eventsBatch     = 500
	logTail         = 200
	eventsKeepalive = 15 * time.Second
	eventsLookback  = 64
	// eventsRecheck is how often a stream re-checks that its caller may
	// still read the project (removed from the team, project deleted).
	eventsRecheck = 30 * time.Second
)

// cursor is where an event stream resumes.
type cursor struct {
	seq     int64 // highest state event sent; -1: none yet
	logTime int64 // Unix ns of the last log line sent; 0: none yet

	// Within one stream: the seqs sent recently, and the seq the stream
	// started after (nil sent: nothing queried yet).
	sent  map[int64]bool
	floor int64
}

func (c cursor) String() string {
	if c.logTime == 0 {
		return strconv.FormatInt(max(c.seq, 0), 10)
	}
	return strconv.FormatInt(max(c.seq, 0), 10) + ":" + strconv.FormatInt(c.logTime, 10)
}

func parseCursor(s string) (cursor, error) {
	c := cursor{seq: -1}
	if s == "" {
		return c, nil
	}
	seq, lt, hasLog := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n < 0 {
		return c, httpx.Errorf(http.StatusBadRequest, "Invalid event id %q: pass the id of the last event received.", s)
	}
	c.seq = n
	if hasLog {
		if c.logTime, err = strconv.ParseInt(lt, 10, 64); err != nil || c.logTime < 0 {
			return c, httpx.Errorf(http.StatusBadRequest, "Invalid event id %q: pass the id of the last event received.", s)
		}
	}
	return c, nil
}

// authenticated puts the browser session's identity in the request when it
// carries no bearer token (EventSource sends cookies, not headers).
func (s *Service) authenticated(r *http.Request) (*http.Request, error) {
	if identity.From(r.Context()) != nil || s.o.BrowserIdentity == nil {
		return r, nil
	}
	id, err := s.o.BrowserIdentity(r)
	if err != nil {
		return r, httpx.NewError(http.StatusUnauthorized, "authentication required", "Log in again.")
	}
	if id == nil {
		return r, nil
	}
	server.RecordCaller(r, id)
	return r.WithContext(identity.With(r.Context(), id)), nil
}

func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	r, err := s.authenticated(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	p, id, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	q := r.URL.Query()
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = q.Get("after")
	}
	cur, err := parseCursor(last)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	var d *row
	if want := q.Get("deployment"); want != "" {
		if d, err = s.repo.GetByID(r.Context(), p.ID, want); errors.Is(err, errNoDeployment) {
			err = s.notFound(p.Name, want)
		}
		if err != nil {
			httpx.Err(w, r, err)
			return
		}
	}
	wantLogs := false
	if v := q.Get("logs"); v != "" {
		if wantLogs, err = strconv.ParseBool(v); err != nil {
			httpx.Err(w, r, httpx.Errorf(http.StatusBadRequest, "Invalid logs %q.", v))
			return
		}
		if wantLogs && d == nil {
			httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "logs=true needs ?deployment=<id>: logs are streamed for one deployment."))
			return
		}
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // end the stream when the server shuts down
		select {
		case <-server.Draining(r.Context()):
			cancel()
		case <-ctx.Done():
		}
	}()
	wake := make(chan struct{}, 1)
	unsubscribe := s.n.subscribe(func(e event) {
		if e.Resync || e.Project == p.ID {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer unsubscribe()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	st := &sseWriter{w: w, rc: http.NewResponseController(w)}
	st.raw("retry: 2000\n\n")

	var depUUID, depID string
	if d != nil {
		depUUID, depID = d.UUID, d.ID
	}
	if cur.seq < 0 && d != nil {
		cur.seq = 0 // the deployment's whole timeline
	}
	logs := make(chan sdk.LogLine, 64)
	var logsDone chan error
	startLogs := func() {
		if !wantLogs || logsDone != nil {
			return
		}
		cd, err := s.repo.Get(ctx, depUUID)
		if err != nil || cd.handle() == nil {
			return // not running yet: try again on the next change
		}
		logsDone = make(chan error, 1)
		opts := sdk.LogOptions{Follow: !cd.State.Terminal(), Tail: logTail}
		if cur.logTime > 0 {
			opts.Tail, opts.Since = 0, time.Unix(0, cur.logTime)
		}
		go func(h *sdk.Deployment) { logsDone <- s.streamLogs(ctx, h, opts, cur.logTime, logs) }(cd.handle())
	}

	keepalive := time.NewTicker(eventsKeepalive)
	defer keepalive.Stop()
	recheck := time.NewTicker(eventsRecheck)
	defer recheck.Stop()
	for refresh := true; ; {
		if refresh {
			if err := s.sendTimeline(ctx, st, p.ID, depUUID, &cur); err != nil {
				if ctx.Err() == nil {
					httpx.Logger(r).Warn("event stream ended", "project", p.Name, "error", err)
				}
				return
			}
			startLogs()
			refresh = false
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			refresh = true
		case l := <-logs:
			cur.logTime = l.Time.UnixNano()
			stream := "stdout"
			if l.Stream == sdk.Stderr {
				stream = "stderr"
			}
			if st.event(api.EventLog, cur.String(), api.LogEvent{Deployment: depID, Time: l.Time, Stream: stream, Text: l.Text}) != nil {
				return
			}
		case err := <-logsDone:
			if err != nil && ctx.Err() == nil && !errors.Is(err, sdk.ErrNotFound) {
				httpx.Logger(r).Debug("event stream: log stream ended", "project", p.Name, "error", err)
			}
			logsDone = make(chan error) // ended: not restarted for this stream
		case <-keepalive.C:
			if st.raw(": keepalive\n\n") != nil {
				return
			}
		case <-recheck.C:
			if _, err := s.o.Store.ProjectFor(ctx, id, p.Name, store.AccessRead); err != nil {
				return // no longer the caller's to read (or gone)
			}
		}
	}
}

// sendTimeline sends the state events after cur (all of them, in batches).
// Sequence numbers are taken at insert but become visible at commit, so a
// concurrent transaction may commit a lower seq after a higher one was
// sent: once live, each pass looks eventsLookback seqs back (never before
// where the stream started) and skips what it sent already.
func (s *Service) sendTimeline(ctx context.Context, st *sseWriter, projectID, depUUID string, cur *cursor) error {
	after, limit := cur.seq, eventsBatch
	switch {
	case cur.sent == nil && cur.seq < 0:
		limit = eventsBacklog
	case cur.sent == nil:
		cur.floor = cur.seq
	default:
		after = max(cur.seq-eventsLookback, cur.floor)
	}
	first := cur.sent == nil
	if first {
		cur.sent = map[int64]bool{}
	}
	for {
		evs, err := s.repo.Timeline(ctx, projectID, depUUID, after, limit)
		if err != nil {
			return err
		}
		if first && cur.seq < 0 && len(evs) > 0 {
			cur.floor = evs[0].Seq - 1 // the backlog's start
		}
		for _, e := range evs {
			after = e.Seq
			if cur.sent[e.Seq] {
				continue
			}
			cur.sent[e.Seq] = true
			cur.seq = max(cur.seq, e.Seq)
			if err := st.event(api.EventState, cur.String(), e.DeploymentEvent); err != nil {
				return err
			}
		}
		cur.seq = max(cur.seq, 0)
		if len(evs) < limit || limit == eventsBacklog {
			for seq := range cur.sent {
				if seq <= cur.seq-eventsLookback {
					delete(cur.sent, seq)
				}
			}
			return nil
		}
	}
}

// streamLogs sends a deployment's log lines newer than after (Unix ns) to
// out until the stream or ctx ends.
func (s *Service) streamLogs(ctx context.Context, h *sdk.Deployment, opts sdk.LogOptions, after int64, out chan<- sdk.LogLine) error {
	rt, err := s.o.runtime(ctx)
	if err != nil {
		return err
	}
	ls, ok := rt.(sdk.LogStreamer)
	if !ok {
		return errors.New("the configured runtime does not provide logs")
	}
	return ls.Logs(ctx, h, opts, func(l sdk.LogLine) error {
		if l.Time.UnixNano() <= after {
			return nil // sent before the client reconnected
		}
		select {
		case out <- l:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// sseWriter writes server-sent events and flushes each.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (s *sseWriter) raw(text string) error {
	if _, err := s.w.Write([]byte(text)); err != nil {
		return err
	}
	return s.rc.Flush()
}

// event writes one event; data is JSON, so it has no newlines.
func (s *sseWriter) event(name, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	return s.raw("id: " + id + "\nevent: " + name + "\ndata: " + string(b) + "\n\n")
}

// timeline is GET .../deployments/{id}/timeline.
func (s *Service) timeline(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	d, err := s.lookup(r, p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	out := api.DeploymentTimeline{Events: []api.DeploymentEvent{}}
	after := int64(0)
	for {
		evs, err := s.repo.Timeline(r.Context(), p.ID, d.UUID, after, eventsBatch)
		if err != nil {
			httpx.Err(w, r, err)
			return
		}
		for _, e := range evs {
			out.Events = append(out.Events, e.DeploymentEvent)
			after = e.Seq
		}
		if len(evs) < eventsBatch {
			break
		}
	}
	httpx.JSON(w, http.StatusOK, out)
}
