package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/riseplatform/rise/sdk"
)

// Logs streams the container's output with the engine's timestamps.
func (r *Runtime) Logs(ctx context.Context, d *sdk.Deployment, opts sdk.LogOptions, emit func(sdk.LogLine) error) error {
	if err := r.ready(); err != nil {
		return err
	}
	target := ContainerName(d.Project, d.ID)
	var st state
	if d.DecodeState(&st) == nil && st.Container != "" {
		target = st.Container
	}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: opts.Follow}
	if opts.Tail > 0 {
		lo.Tail = strconv.Itoa(opts.Tail)
	}
	if !opts.Since.IsZero() {
		lo.Since = opts.Since.UTC().Format(time.RFC3339Nano)
	}
	rc, err := r.cli.ContainerLogs(ctx, target, lo)
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("logs of %s: the container is gone: %w", target, sdk.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("logs of %s: %w", target, err)
	}
	defer rc.Close()
	err = demux(rc, func(s sdk.Stream, line []byte) error { return emit(parseLine(s, line)) })
	if err != nil && ctx.Err() != nil {
		return nil // the caller stopped following
	}
	return err
}

// demux splits the engine's multiplexed stream (8-byte frame headers:
// stream, 0, 0, 0, big-endian size) into lines per stream.
func demux(r io.Reader, line func(sdk.Stream, []byte) error) error {
	br := bufio.NewReaderSize(r, 32<<10)
	var hdr [8]byte
	partial := map[sdk.Stream][]byte{}
	flush := func() error {
		for _, s := range []sdk.Stream{sdk.Stdout, sdk.Stderr} {
			if len(partial[s]) > 0 {
				if err := line(s, partial[s]); err != nil {
					return err
				}
				partial[s] = nil
			}
		}
		return nil
	}
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return flush()
			}
			return fmt.Errorf("read log stream: %w", err)
		}
		stream := sdk.Stdout
		if hdr[0] == 2 {
			stream = sdk.Stderr
		}
		size := binary.BigEndian.Uint32(hdr[4:])
		buf := make([]byte, size)
		if _, err := io.ReadFull(br, buf); err != nil {
			return fmt.Errorf("read log frame: %w", err)
		}
		data := append(partial[stream], buf...)
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			if err := line(stream, data[:i]); err != nil {
				return err
			}
			data = data[i+1:]
		}
		partial[stream] = append([]byte(nil), data...)
	}
}

// parseLine splits the engine's RFC 3339 timestamp prefix off a line.
func parseLine(s sdk.Stream, b []byte) sdk.LogLine {
	text := strings.TrimSuffix(string(b), "\r")
	l := sdk.LogLine{Stream: s, Text: text}
	if ts, rest, ok := strings.Cut(text, " "); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			l.Time, l.Text = t, rest
		}
	}
	return l
}

// lastLines returns the container's last n output lines joined by " | ",
// for failure messages.
func (r *Runtime) lastLines(ctx context.Context, id string, n int) string {
	rc, err := r.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return ""
	}
	defer rc.Close()
	var lines []string
	_ = demux(io.LimitReader(rc, 64<<10), func(_ sdk.Stream, b []byte) error {
		if t := strings.TrimSpace(string(b)); t != "" {
			lines = append(lines, t)
		}
		return nil
	})
	return strings.Join(lines, " | ")
}
