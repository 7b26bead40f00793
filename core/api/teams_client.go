package api

import (
	"context"
	"net/http"
	"net/url"
)

// CreateTeam creates a team (POST /teams); the caller becomes an owner.
func (c *Client) CreateTeam(ctx context.Context, req CreateTeamRequest) (*Team, error) {
	var t Team
	if err := c.Do(ctx, http.MethodPost, "/teams", req, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ListTeams returns one page of teams (GET /teams).
func (c *Client) ListTeams(ctx context.Context, cursor string) (*TeamList, error) {
	path := "/teams"
	if cursor != "" {
		path += "?cursor=" + url.QueryEscape(cursor)
	}
	var l TeamList
	if err := c.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllTeams follows the pagination of ListTeams and returns every team.
func (c *Client) AllTeams(ctx context.Context) ([]Team, error) {
	var all []Team
	cursor := ""
	for {
		l, err := c.ListTeams(ctx, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, l.Teams...)
		if l.NextCursor == "" || l.NextCursor == cursor {
			return all, nil
		}
		cursor = l.NextCursor
	}
}

// GetTeam returns one team by name (GET /teams/{name}).
func (c *Client) GetTeam(ctx context.Context, name string) (*Team, error) {
	var t Team
	if err := c.Do(ctx, http.MethodGet, "/teams/"+PathEscape(name), nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTeam renames a team or changes its members (PATCH /teams/{name}).
func (c *Client) UpdateTeam(ctx context.Context, name string, req UpdateTeamRequest) (*Team, error) {
	var t Team
	if err := c.Do(ctx, http.MethodPatch, "/teams/"+PathEscape(name), req, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTeam deletes a team (DELETE /teams/{name}). The server refuses while
// the team still owns projects.
func (c *Client) DeleteTeam(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/teams/"+PathEscape(name), nil, nil)
}
