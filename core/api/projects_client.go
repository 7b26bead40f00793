package api

import (
	"context"
	"net/http"
	"net/url"
)

// CreateProject creates a project (POST /projects).
func (c *Client) CreateProject(ctx context.Context, req CreateProjectRequest) (*Project, error) {
	var p Project
	if err := c.Do(ctx, http.MethodPost, "/projects", req, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListProjects returns one page of the caller's projects (GET /projects).
// Pass the previous page's NextCursor, or "" for the first page.
func (c *Client) ListProjects(ctx context.Context, cursor string) (*ProjectList, error) {
	path := "/projects"
	if cursor != "" {
		path += "?cursor=" + url.QueryEscape(cursor)
	}
	var l ProjectList
	if err := c.Do(ctx, http.MethodGet, path, nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllProjects follows the pagination of ListProjects and returns every project.
func (c *Client) AllProjects(ctx context.Context) ([]Project, error) {
	var all []Project
	cursor := ""
	for {
		l, err := c.ListProjects(ctx, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, l.Projects...)
		if l.NextCursor == "" || l.NextCursor == cursor {
			return all, nil
		}
		cursor = l.NextCursor
	}
}

// GetProject returns one project by name (GET /projects/{name}).
func (c *Client) GetProject(ctx context.Context, name string) (*Project, error) {
	var p Project
	if err := c.Do(ctx, http.MethodGet, "/projects/"+PathEscape(name), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateProject changes a project (PATCH /projects/{name}).
func (c *Client) UpdateProject(ctx context.Context, name string, req UpdateProjectRequest) (*Project, error) {
	var p Project
	if err := c.Do(ctx, http.MethodPatch, "/projects/"+PathEscape(name), req, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// DeleteProject deletes a project (DELETE /projects/{name}). Deletion may
// finish asynchronously: the project shows status "deleting" until then.
func (c *Client) DeleteProject(ctx context.Context, name string) error {
	return c.Do(ctx, http.MethodDelete, "/projects/"+PathEscape(name), nil, nil)
}
