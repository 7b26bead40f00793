package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riseplatform/rise/core/api"
	coredeploy "github.com/riseplatform/rise/core/deploy"
)

// sse is one server-sent event.
type sse struct{ ID, Event, Data string }

// openEvents opens the event stream at path (under /api/v1) with token and
// header; events arrive on the channel until the test ends.
func (e *env) openEvents(token, path string, hdr map[string]string) (int, <-chan sse) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1"+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(chan sse, 1000)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		close(out)
		return resp.StatusCode, out
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		e.t.Errorf("Content-Type %q", ct)
	}
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" {
					out <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp.StatusCode, out
}

// next returns the next event of kind, failing after a minute.
func (e *env) next(ch <-chan sse, kind string) (sse, api.DeploymentEvent) {
	e.t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				e.t.Fatalf("event stream ended while waiting for a %s event", kind)
			}
			if ev.Event != kind {
				continue
			}
			var de api.DeploymentEvent
			if kind == api.EventState {
				if err := json.Unmarshal([]byte(ev.Data), &de); err != nil {
					e.t.Fatalf("state event %q: %v", ev.Data, err)
				}
			}
			return ev, de
		case <-timeout:
			e.t.Fatalf("no %s event within a minute", kind)
		}
	}
}

// TestEventStream follows a deployment to Healthy through the project's
// event stream, resumes it with Last-Event-ID, streams its logs, and
// answers another user exactly like a missing project.
func TestEventStream(t *testing.T) {
	e := newEnv(t, nil)
	project := e.project("private")
	base := "/projects/" + project + "/events"
	status, live := e.openEvents(e.owner.Token, base, nil)
	if status != http.StatusOK {
		t.Fatalf("open: %d", status)
	}
	d := e.deploy(project, httpd("events"))
	var seen []api.DeploymentEvent
	for {
		ev, de := e.next(live, api.EventState)
		if de.Deployment != d.ID || ev.ID != jsonInt(de.Seq) {
			t.Fatalf("event %+v for %+v", ev, de)
		}
		if n := len(seen); n > 0 && de.Seq <= seen[n-1].Seq {
			t.Fatalf("seq %d after %d", de.Seq, seen[n-1].Seq)
		}
		seen = append(seen, de)
		if de.State == coredeploy.Healthy {
			break
		}
	}
	if len(seen) < 2 || seen[0].State != coredeploy.Pushed {
		t.Fatalf("states %+v, want Pushed ... Healthy", seen)
	}
	// The timeline route has the same events.
	tl, err := e.owner.Client.DeploymentTimeline(context.Background(), project, d.ID)
	if err != nil || len(tl.Events) < len(seen) || tl.Events[0].Seq != seen[0].Seq {
		t.Fatalf("timeline %+v %v, streamed %+v", tl, err, seen)
	}

	// Resume after the first event: exactly the rest, in order.
	_, resumed := e.openEvents(e.owner.Token, base, map[string]string{"Last-Event-ID": jsonInt(seen[0].Seq)})
	for _, want := range seen[1:] {
		if _, de := e.next(resumed, api.EventState); de.Seq != want.Seq || de.State != want.State {
			t.Fatalf("resumed: %+v, want %+v", de, want)
		}
	}

	// The deployment's logs, with ids that carry the log position.
	_, logs := e.openEvents(e.owner.Token, base+"?deployment="+d.ID+"&logs=true", nil)
	for {
		ev, _ := e.next(logs, api.EventLog)
		var l api.LogEvent
		if err := json.Unmarshal([]byte(ev.Data), &l); err != nil || l.Deployment != d.ID {
			t.Fatalf("log event %+v: %v", ev, err)
		}
		if !strings.Contains(ev.ID, ":") {
			t.Errorf("log event id %q lacks the log position", ev.ID)
		}
		if l.Text == "app-started" {
			break
		}
	}

	// Another user, a missing project, anonymous, bad queries.
	mallory := e.User(t, "mallory@example.com", false)
	s1, _ := e.openEvents(mallory.Token, base, nil)
	s2, _ := e.openEvents(mallory.Token, "/projects/nosuch-project/events", nil)
	s3, _ := e.openEvents("", base, nil)
	s4, _ := e.openEvents(e.owner.Token, base+"?logs=true", nil)
	s5, _ := e.openEvents(e.owner.Token, base, map[string]string{"Last-Event-ID": "x"})
	if s1 != 404 || s2 != 404 || s3 != 401 || s4 != 400 || s5 != 400 {
		t.Errorf("other user %d, missing %d, anonymous %d, logs without deployment %d, bad id %d", s1, s2, s3, s4, s5)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
