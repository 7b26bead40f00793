package cli

import (
	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/output"
)

// printList prints items the way every list command does: a JSON array with
// -o json, names only with --quiet, a hint when there is nothing, else a
// table whose first cell is the item's name.
func printList[T any](env *clictx.Env, items []T, empty string, t *output.Table, row func(T) []string) error {
	if env.Printer.JSONMode() {
		if items == nil {
			items = []T{}
		}
		return env.Printer.JSON(items)
	}
	if env.Printer.Quiet { // names only, one per line, for scripts
		for _, it := range items {
			env.Printer.Println(row(it)[0])
		}
		return nil
	}
	if len(items) == 0 {
		env.Printer.Infof("%s", empty)
		return nil
	}
	for _, it := range items {
		t.Row(row(it)...)
	}
	return t.Render(env.Printer.Out)
}
