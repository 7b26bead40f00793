package login

import (
	"context"
	"fmt"
	"time"

	"github.com/riseplatform/rise/core/api"
)

// Device runs the device authorization flow: it prints the verification URL
// and user code and polls the server until the user has approved.
func Device(ctx context.Context, o Options) (*api.TokenResponse, error) {
	start, err := o.Client.DeviceStart(ctx, api.DeviceStartRequest{Provider: o.Provider})
	if err != nil {
		return nil, fmt.Errorf("start device login: %w", err)
	}
	p := o.Printer
	if start.VerificationURIComplete != "" {
		p.Infof("Please login to rise at %s", start.VerificationURIComplete)
		p.Infof("(or open %s and enter the code %s)", start.VerificationURI, start.UserCode)
	} else {
		p.Infof("Please login to rise at %s and enter the code %s", start.VerificationURI, start.UserCode)
	}

	wait := o.timeout()
	if !start.ExpiresAt.IsZero() {
		if left := time.Until(start.ExpiresAt); left > 0 && left < wait {
			wait = left
		}
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	interval := time.Duration(max(start.Interval, 1)) * time.Second
	spin := p.Wait("Waiting for you to approve the login...")
	defer spin.Done()
	for {
		t := time.NewTimer(interval)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, timedOut("the device login", wait)
		case <-t.C:
		}
		res, err := o.Client.DevicePoll(wctx, api.DevicePollRequest{DeviceCode: start.DeviceCode, Provider: o.Provider})
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return nil, timedOut("the device login", wait)
			}
			return nil, fmt.Errorf("device login: %w", err)
		}
		switch res.Status {
		case api.DeviceComplete:
			if res.Token == nil {
				return nil, fmt.Errorf("device login: the server reported completion without a token")
			}
			return res.Token, nil
		case api.DeviceSlowDown:
			interval += 5 * time.Second
		}
		if res.Interval > 0 {
			interval = time.Duration(res.Interval) * time.Second
		}
	}
}
