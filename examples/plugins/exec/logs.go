package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/riseplatform/rise/sdk"
)

// Logs streams the process's output file: the last opts.Tail lines (all
// when 0), then new lines while opts.Follow and the context lasts.
func (r *Runtime) Logs(ctx context.Context, d *sdk.Deployment, opts sdk.LogOptions, emit func(sdk.LogLine) error) error {
	s, err := decode(d)
	if err != nil {
		return err
	}
	f, err := os.Open(logPath(s.Dir))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("deployment %s: %w", d.ID, sdk.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer f.Close()
	var offset int64
	// next returns the complete lines written since the last call.
	next := func() ([]string, error) {
		b, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<62))
		if err != nil {
			return nil, fmt.Errorf("read log: %w", err)
		}
		end := bytes.LastIndexByte(b, '\n')
		if end < 0 {
			return nil, nil
		}
		offset += int64(end + 1)
		return splitLines(b[:end]), nil
	}
	lines, err := next()
	if err != nil {
		return err
	}
	if opts.Tail > 0 && len(lines) > opts.Tail {
		lines = lines[len(lines)-opts.Tail:]
	}
	for {
		for _, l := range lines {
			if err := emit(sdk.LogLine{Time: time.Now(), Stream: sdk.Stdout, Text: l}); err != nil {
				return err
			}
		}
		if !opts.Follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
		if lines, err = next(); err != nil {
			return err
		}
	}
}

func splitLines(b []byte) []string {
	var out []string
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		out = append(out, string(l))
	}
	return out
}
