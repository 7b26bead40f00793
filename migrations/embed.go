// Package migrations holds rise's PostgreSQL schema as golang-migrate files
// (NNNN_name.up.sql / NNNN_name.down.sql), embedded into the binary. The
// server applies them at start (server/store.Open) and `rise server migrate`
// applies them on demand.
//
// Numbering: 0001 core (users, teams, projects), 0002 auth, 0003 deployments,
// 0004 app tickets (single-use private-app login tickets), 0005 auth
// hardening (OIDC identities, revocation), 0006 audit (audit log), 0007 the
// "--" rule for project names, 0008 edge routes (LISTEN rise_routes), 0009
// variables (sealed project configuration, deployment snapshots), 0010
// environments, 0011 custom domains and certificates, 0012 access classes,
// app users and teams synced from the identity provider, 0013 deployment
// timeline (deployment_events, for the dashboard and event stream).
// Never edit a released migration; add a new one.
package migrations

import "embed"

// FS contains every *.sql migration in this directory.
//
//go:embed *.sql
var FS embed.FS
