package environments

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/riseplatform/rise/core/names"
	"github.com/riseplatform/rise/server/httpx"
)

// Lookup reads environment name of a project for an API request: a
// missing one is the API's 404, naming the project's environments. The
// caller has already authorized the project (another user's project is
// "not found" before this).
func (s *Store) Lookup(ctx context.Context, projectID, projectName, name string) (*Environment, error) {
	e, err := s.Get(ctx, projectID, name)
	if !errors.Is(err, ErrNotFound) {
		return e, err
	}
	all, err := s.Names(ctx, projectID)
	if err != nil {
		return nil, err
	}
	sugg := []string{fmt.Sprintf("Run 'rise environment list %s' to see its environments, or 'rise environment create %s %s' to create it.",
		projectName, projectName, name)}
	if m := names.Suggest(name, all); len(m) > 0 {
		sugg = append([]string{fmt.Sprintf("Did you mean '%s'?", m[0])}, sugg...)
	}
	return nil, httpx.NewError(http.StatusNotFound, fmt.Sprintf("Environment '%s' of project '%s' not found.", name, projectName), sugg...)
}
