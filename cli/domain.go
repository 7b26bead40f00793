package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/riseplatform/rise/cli/output"
	"github.com/riseplatform/rise/core/api"
)

func newDomainCmd() *cobra.Command {
	c := group(&cobra.Command{
		Use:     "domain",
		Aliases: []string{"dom"},
		Short:   "Serve a project at its own domain names, with HTTPS",
		Long: `Custom domains: add a name, create the DNS records rise prints (a TXT record that proves
you control the name, and a CNAME or A record that points it at rise), then verify. Only
verified domains route and get certificates. See docs/domains.md.`,
		Example: `  rise domain add shop www.shop.example --primary
  rise domain verify shop www.shop.example
  rise dom ls shop
  rise dom rm shop www.shop.example`,
	})
	c.AddCommand(addProjectFlag(newDomainAddCmd()), addProjectFlag(newDomainListCmd()),
		addProjectFlag(newDomainVerifyCmd()), addProjectFlag(newDomainRemoveCmd()))
	return c
}

func newDomainAddCmd() *cobra.Command {
	var primary bool
	c := &cobra.Command{
		Use:               "add [PROJECT] DOMAIN",
		Aliases:           []string{"a"},
		Short:             "Add a domain to a project and print the DNS records that verify it",
		Example:           `  rise domain add shop www.shop.example --primary`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			d, err := c.AddDomain(cmd.Context(), project, api.AddDomainRequest{Domain: name, Primary: primary})
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(d)
			}
			env.Printer.Successf("Added %s to '%s' (not verified yet: it does not route until verified).", displayName(d), project)
			env.Printer.Infof("")
			printDomainRecords(env.Printer, d)
			env.Printer.Infof("")
			env.Printer.Infof("Then run: rise domain verify %s %s", project, d.Domain)
			return nil
		},
	}
	c.Flags().BoolVar(&primary, "primary", false, "make it the project's primary domain (shown as the app's URL)")
	return c
}

func printDomainRecords(p *output.Printer, d *api.Domain) {
	t := output.NewTable(output.Column{Header: "TYPE"}, output.Column{Header: "NAME", Min: 24}, output.Column{Header: "VALUE", Min: 20}, output.Column{Header: "NOTE"})
	for _, r := range d.DNS {
		t.Row(r.Type, r.Name, r.Value, r.Note)
	}
	_ = t.Render(p.Err)
}

func displayName(d *api.Domain) string {
	if d.Unicode != "" {
		return fmt.Sprintf("%s (%s)", d.Unicode, d.Domain)
	}
	return d.Domain
}

func newDomainListCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "list [PROJECT]",
		Aliases:           []string{"ls", "l"},
		Short:             "List a project's domains",
		Example:           `  rise domain list shop -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, env, c, err := projectClient(cmd, args)
			if err != nil {
				return err
			}
			l, err := c.ListDomains(cmd.Context(), project)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(l.Domains)
			}
			if len(l.Domains) == 0 {
				env.Printer.Infof("'%s' has no custom domains; add one with 'rise domain add %s DOMAIN'.", project, project)
				return nil
			}
			t := output.NewTable(output.Column{Header: "DOMAIN", Min: 24}, output.Column{Header: "STATUS"}, output.Column{Header: "PRIMARY"}, output.Column{Header: "URL"})
			primary := ""
			for _, d := range l.Domains {
				st, pr := "pending", ""
				if d.Verified {
					st = "verified"
				}
				if d.Primary {
					pr = "yes"
					if d.Verified {
						primary = d.URL
					}
				}
				t.Row(displayName(&d), st, pr, d.URL)
			}
			if err := t.Render(env.Printer.Out); err != nil {
				return err
			}
			if primary != "" {
				env.Printer.Infof("App URL: %s", primary)
			}
			return nil
		},
	}
}

func newDomainVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "verify [PROJECT] DOMAIN",
		Short:             "Check a domain's DNS records; a verified domain routes and gets a certificate",
		Example:           `  rise domain verify shop www.shop.example`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			d, err := c.VerifyDomain(cmd.Context(), project, name)
			if err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(d)
			}
			env.Printer.Successf("Verified %s: '%s' is now served at %s", displayName(d), project, d.URL)
			return nil
		},
	}
}

func newDomainRemoveCmd() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:               "remove [PROJECT] DOMAIN",
		Aliases:           []string{"rm", "delete", "del"},
		Short:             "Remove a domain from a project; it stops routing at once",
		Example:           `  rise domain rm shop www.shop.example --yes`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeProjects,
		RunE: func(cmd *cobra.Command, args []string) error {
			project, name, err := projectAndName(cmd, args)
			if err != nil {
				return err
			}
			env := envOf(cmd)
			c, err := env.Client()
			if err != nil {
				return err
			}
			if !yes {
				if err := confirm(env, "Remove "+name+" from '"+project+"'? It stops serving the app at once.", "--yes"); err != nil {
					return err
				}
			}
			if err := c.RemoveDomain(cmd.Context(), project, name); err != nil {
				return err
			}
			if env.Printer.JSONMode() {
				return env.Printer.JSON(map[string]string{"removed": name, "project": project})
			}
			env.Printer.Successf("Removed %s from '%s'.", name, project)
			return nil
		},
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}
