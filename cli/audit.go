package cli

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func newAuditCmd() *cobra.Command {
	var (
		limit  int
		before string
		all    bool
	)
	c := &cobra.Command{
		Use:   "audit [PROJECT]",
		Short: "Show the audit log: who changed what, and logins",
		Long: `Show the audit log, newest first: every state-changing API call and every
authentication event, with actor, action, target, status and source IP.
PROJECT's events are shown to its owners and admins (PROJECT defaults to the
app config's project in the current directory); --all shows the whole log
(admins only).`,
		Example: `  rise audit shop
  rise audit --all --limit 500 -o json
  rise audit shop --before 2026-12-01T00:00:00Z`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return exitcode.Usagef("--limit must be at least 1")
			}
			var q api.AuditQuery
			switch {
			case all && len(args) > 0:
				return exitcode.Usagef("pass either PROJECT or --all, not both")
			case !all:
				p, err := projectArg(cmd, args)
				if err != nil {
					return err
				}
				q.Project = p
			}
			if before != "" {
				t, err := time.Parse(time.RFC3339, before)
				if err != nil {
					return exitcode.Usagef("invalid --before %q: use an RFC 3339 time like 2026-12-01T00:00:00Z", before)
				}
				q.Before = t
			}
			env := envOf(cmd)
			client, err := env.Client()
			if err != nil {
				return err
			}
			var evs []api.AuditEvent
			for len(evs) < limit {
				q.Limit = min(limit-len(evs), 1000)
				l, err := client.Audit(cmd.Context(), q)
				if err != nil {
					return err
				}
				evs = append(evs, l.Events...)
				if l.NextCursor == "" || l.NextCursor == q.Cursor {
					break
				}
				q.Cursor = l.NextCursor
			}
			empty := "No audit events."
			if q.Project != "" {
				empty = "No audit events for '" + q.Project + "'."
			}
			return printList(env, evs, empty, auditTable(), func(e api.AuditEvent) []string {
				return []string{e.Time.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, orDash(e.Target),
					auditStatus(e), orDash(e.SourceIP)}
			})
		},
	}
	c.Flags().BoolVar(&all, "all", false, "the whole audit log, every project (admins)")
	c.Flags().IntVar(&limit, "limit", 100, "show at most this many events")
	c.Flags().StringVar(&before, "before", "", "only events before this RFC 3339 time")
	return c
}

func auditTable() *output.Table {
	return output.NewTable(
		output.Column{Header: "TIME", Min: 21},
		output.Column{Header: "ACTOR", Min: 16},
		output.Column{Header: "ACTION", Min: 20},
		output.Column{Header: "TARGET", Min: 24},
		output.Column{Header: "STATUS", Min: 14},
		output.Column{Header: "IP"},
	)
}

// auditStatus is "201 success", "404 denied", or the outcome alone.
func auditStatus(e api.AuditEvent) string {
	if e.Status == 0 {
		return e.Outcome
	}
	return strconv.Itoa(e.Status) + " " + e.Outcome
}
