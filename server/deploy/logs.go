package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/sdk"
	"github.com/riseplatform/rise/server"
	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/store"
)

// logs streams a deployment's output as newline-delimited api.LogLine JSON.
func (s *Service) logs(w http.ResponseWriter, r *http.Request) {
	p, _, err := s.project(r, store.AccessRead)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	opts, err := logOptions(r)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	d, err := s.lookup(r, p)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	h := d.handle()
	if h == nil {
		httpx.Err(w, r, httpx.Errorf(http.StatusConflict, "Deployment '%s' is %s and has no logs (it never ran).", d.ID, d.State))
		return
	}
	rt, err := s.o.runtime(r.Context())
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	ls, ok := rt.(sdk.LogStreamer)
	if !ok {
		httpx.Err(w, r, httpx.NewError(http.StatusNotImplemented, "The configured runtime does not provide logs."))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	ctx := r.Context()
	if opts.Follow { // end followed streams when the server shuts down
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-server.Draining(r.Context()):
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	err = ls.Logs(ctx, h, opts, func(l sdk.LogLine) error {
		if !started {
			w.WriteHeader(http.StatusOK)
			started = true
		}
		stream := "stdout"
		if l.Stream == sdk.Stderr {
			stream = "stderr"
		}
		if err := enc.Encode(api.LogLine{Time: l.Time, Stream: stream, Text: l.Text}); err != nil {
			return err
		}
		if opts.Follow {
			return rc.Flush()
		}
		return nil
	})
	switch {
	case err == nil || ctx.Err() != nil:
		if !started {
			w.WriteHeader(http.StatusOK)
		}
	case !started && errors.Is(err, sdk.ErrNotFound):
		httpx.Err(w, r, httpx.Errorf(http.StatusGone, "Deployment '%s' no longer runs; its logs are gone.", d.ID))
	case !started:
		httpx.Err(w, r, err)
	default:
		httpx.Logger(r).Warn("log stream ended with an error", "error", err)
	}
}

func logOptions(r *http.Request) (sdk.LogOptions, error) {
	q := r.URL.Query()
	var o sdk.LogOptions
	if v := q.Get("follow"); v != "" {
		f, err := strconv.ParseBool(v)
		if err != nil {
			return o, httpx.Errorf(http.StatusBadRequest, "Invalid follow %q.", v)
		}
		o.Follow = f
	}
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return o, httpx.Errorf(http.StatusBadRequest, "Invalid tail %q: want a number of lines.", v)
		}
		o.Tail = n
	}
	if v := q.Get("since"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			o.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			o.Since = t
		} else {
			return o, httpx.Errorf(http.StatusBadRequest, "Invalid since %q: want a duration like 5m or an RFC 3339 time.", v)
		}
	}
	return o, nil
}
