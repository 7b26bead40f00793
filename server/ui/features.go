package ui

import (
	"context"
	"net/http"

	"github.com/riseplatform/rise/core/api"
)

// FeatureSections are the project page's sections of the features served
// by their own API routes — stored variables (server/variables), custom
// domains (server/domains) and the access class with its app users —
// each read through the caller's API client, so a section shows no more
// than its route does. server/wire passes them as Options.Sections.
func FeatureSections() []Section {
	return []Section{
		{ID: "variables", Title: "Variables", Load: loadVariables, Template: variablesTemplate},
		{ID: "domains", Title: "Custom domains", Load: loadDomains, Template: domainsTemplate},
		{ID: "access", Title: "Access", Load: loadAccess, Template: accessTemplate},
	}
}

// variableRow is a variable as the page shows it: Value is empty for
// secret and protected variables, whatever the API returned.
type variableRow struct {
	Name, Kind, Value, UpdatedBy string
	Masked                       bool
}

// loadVariables lists the variables without reveal (GET …/env): the API
// already leaves secret and protected values out; the page drops any
// value of a sensitive kind as well, so no secret can reach the HTML.
func loadVariables(ctx context.Context, c *api.Client, p *api.Project) (any, error) {
	l, err := c.ListVariables(ctx, p.Name, false)
	if err != nil {
		return nil, err
	}
	rows := make([]variableRow, 0, len(l.Variables))
	for _, v := range l.Variables {
		row := variableRow{Name: v.Name, Kind: string(v.Kind), UpdatedBy: v.UpdatedBy, Masked: v.Kind.Sensitive()}
		if !row.Masked && v.Value != nil {
			row.Value = *v.Value
		}
		rows = append(rows, row)
	}
	return rows, nil
}

const variablesTemplate = `{{if .Data}}<table class="list">
<thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Value</th><th scope="col">Updated by</th></tr></thead>
<tbody>{{range .Data}}<tr><th scope="row"><code>{{.Name}}</code></th><td>{{.Kind}}</td><td>{{if .Masked}}<span aria-label="hidden {{.Kind}} value">` + api.Masked + `</span>{{else}}<code>{{.Value}}</code>{{end}}</td><td>{{.UpdatedBy}}</td></tr>
{{end}}</tbody></table>
<p class="help">Secret values are never shown here; owners read one with <code>rise env get NAME --reveal</code>. Protected values cannot be read back.</p>{{else}}<p>None. Set one with <code>rise env set NAME=value</code>.</p>{{end}}`

func loadDomains(ctx context.Context, c *api.Client, p *api.Project) (any, error) {
	l, err := c.ListDomains(ctx, p.Name)
	if err != nil {
		return nil, err
	}
	return l.Domains, nil
}

const domainsTemplate = `{{if .Data}}<table class="list">
<thead><tr><th scope="col">Domain</th><th scope="col">Status</th><th scope="col">Primary</th></tr></thead>
<tbody>{{range .Data}}<tr><th scope="row">{{if .Verified}}<a href="{{.URL}}" rel="noopener">{{or .Unicode .Domain}}</a>{{else}}{{or .Unicode .Domain}}{{end}}</th><td>{{if .Verified}}<span class="tag">verified</span>{{else}}<span class="tag">pending</span> DNS records: {{range .DNS}}<code>{{.Type}} {{.Name}} {{.Value}}</code> {{end}}{{end}}</td><td>{{if .Primary}}primary{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None. Add one with <code>rise domain add example.com</code>.</p>{{end}}`

// accessData is the access section: the project's access class and, for
// callers who may read them, its app users.
type accessData struct {
	Access   string
	Users    []api.AppUser
	CanList  bool
	Explains string
}

// accessClasses explains the built-in access classes.
var accessClasses = map[string]string{
	api.AccessPublic:        "anyone may use the app",
	api.AccessAuthenticated: "anyone who can log in to rise may use the app",
	api.AccessPrivate:       "only the owners, the owning team, the app users below and admins may use the app",
}

func loadAccess(ctx context.Context, c *api.Client, p *api.Project) (any, error) {
	d := accessData{Access: p.Access, Explains: accessClasses[p.Access]}
	users, err := c.ListAppUsers(ctx, p.Name)
	if err != nil && apiStatus(err) == http.StatusForbidden {
		return d, nil // the class is on the project; the list is not the caller's to read
	} else if err != nil {
		return nil, err
	}
	d.Users, d.CanList = users, true
	return d, nil
}

const accessTemplate = `<dl class="facts"><dt>Access class</dt><dd><strong>{{.Data.Access}}</strong>{{with .Data.Explains}} — {{.}}{{end}}</dd></dl>
{{if .Data.CanList}}<h3>App users</h3>{{if .Data.Users}}<table class="list">
<thead><tr><th scope="col">Subject</th><th scope="col">Email</th><th scope="col">Added</th></tr></thead>
<tbody>{{range .Data.Users}}<tr><th scope="row">{{.Subject}}</th><td>{{.Email}}</td><td><time datetime="{{iso .CreatedAt}}">{{when .CreatedAt}}</time></td></tr>
{{end}}</tbody></table>{{else}}<p>None. Grant one with <code>rise project app-user add user:NAME</code>.</p>{{end}}{{end}}`
