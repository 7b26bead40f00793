package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dirLayer tars the directory src so that it appears at dest in the image.
// Entries are in walk (lexical) order with fixed times and owners, so the
// same files always give the same layer digest.
func dirLayer(ctx context.Context, src, dest string) (v1.Layer, error) {
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory: nothing to package (set source in build \"tarball\")", src)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	prefix := strings.TrimPrefix(path.Clean(dest), "/")
	// The parents of dest, then the tree.
	parts := strings.Split(prefix, "/")
	for i := 1; i < len(parts); i++ {
		if err := tw.WriteHeader(header(tar.TypeDir, path.Join(parts[:i]...)+"/", 0o755, 0)); err != nil {
			return nil, err
		}
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := path.Join(prefix, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		switch {
		case d.IsDir():
			return tw.WriteHeader(header(tar.TypeDir, name+"/", mode, 0))
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			h := header(tar.TypeSymlink, name, 0o777, 0)
			h.Linkname = target
			return tw.WriteHeader(h)
		case d.Type().IsRegular():
			if err := tw.WriteHeader(header(tar.TypeReg, name, mode, info.Size())); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		default:
			return fmt.Errorf("%s: unsupported file type %s", p, d.Type())
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("package %s: %w", src, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

func header(typ byte, name string, mode, size int64) *tar.Header {
	return &tar.Header{Typeflag: typ, Name: name, Mode: mode, Size: size, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
}
