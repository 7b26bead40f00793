package kubernetes

import (
	"context"
	"fmt"
	"io"

	"github.com/riseplatform/rise/sdk"
)

// orNop returns ui, or a UI that discards everything when the host passed none.
func orNop(ui sdk.UI) sdk.UI {
	if ui == nil {
		return nopUI{}
	}
	return ui
}

type nopUI struct{}

func (nopUI) Step(string) sdk.Step { return nopStep{} }
func (nopUI) Logf(string, ...any)  {}

type nopStep struct{}

func (nopStep) Done()                       {}
func (nopStep) Fail(err error) error        { return err }
func (nopStep) Writer(sdk.Stream) io.Writer { return io.Discard }

// ctxErr prefers the context's error: a cancelled call reports
// context.Canceled rather than whatever the client made of it.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}
