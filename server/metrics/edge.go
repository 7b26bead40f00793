package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
)

// NoProject is the project label of app requests the edge did not resolve
// to an existing project (unknown hosts, refused early): host names are
// chosen by clients, so they never become labels themselves.
const NoProject = "-"

type edgeKey struct{}

// WithEdgeProject returns a context for one app request whose project label
// the edge sets with LabelEdgeProject, and a func that reads it (NoProject
// when never set). server.byHost uses it around the edge.
func WithEdgeProject(ctx context.Context) (context.Context, func() string) {
	p := new(atomic.Pointer[string])
	return context.WithValue(ctx, edgeKey{}, p), func() string {
		if v := p.Load(); v != nil {
			return *v
		}
		return NoProject
	}
}

// LabelEdgeProject marks r as a request for project, which exists: the edge
// calls it once the route lookup succeeded. Outside WithEdgeProject it does
// nothing.
func LabelEdgeProject(r *http.Request, project string) {
	if p, ok := r.Context().Value(edgeKey{}).(*atomic.Pointer[string]); ok {
		p.Store(&project)
	}
}
