package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gorilla/mux"
)

//go:embed static templates
var files embed.FS

// asset is one static file served under a fingerprinted name.
type asset struct {
	name, ctype string
	body        []byte
}

// assets are the embedded static files, by fingerprinted name
// (app.3f2a9c1b0d4e.js): a changed file gets a new name, so browsers may
// cache every name for a year.
type assets struct {
	byName map[string]*asset // fingerprinted name → asset
	names  map[string]string // plain name → fingerprinted name
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}, names: map[string]string{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		base := path.Base(p)
		ext := path.Ext(base)
		fp := strings.TrimSuffix(base, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		a.byName[fp] = &asset{name: fp, ctype: mime.TypeByExtension(ext), body: b}
		a.names[base] = fp
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: static assets: %w", err)
	}
	return a, nil
}

// url is the path of static file name (e.g. "app.js") under its
// fingerprinted name.
func (a *assets) url(name string) (string, error) {
	fp, ok := a.names[name]
	if !ok {
		return "", fmt.Errorf("ui: no static file %q", name)
	}
	return "/static/" + fp, nil
}

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	f, ok := a.byName[mux.Vars(r)["name"]]
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}
