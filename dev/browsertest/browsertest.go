// Package browsertest runs a real headless Chromium (Debian's chromium
// package, installed by dev/deps.sh) for end-to-end tests, driven with
// github.com/chromedp/chromedp. Each browser gets a fresh profile
// directory; browser and profile are removed at test cleanup.
//
//	ctx := browsertest.New(t)              // a tab; the test skips (or fails under RISE_REQUIRE_REAL=1) without Chromium
//	err := chromedp.Do(ctx, chromedp.Navigate(url))
//	browsertest.Screenshot(t, ctx, "projects") // into browsertest.ArtifactDir(t)
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/riseplatform/rise/dev/realpart"
)

// Paths tried for the browser, in order; RISE_CHROMIUM overrides.
var candidates = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"}

// Binary returns the Chromium executable, or an error saying how to install it.
func Binary() (string, error) {
	if p := os.Getenv("RISE_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("no chromium found (install it with dev/deps.sh, or apt-get install chromium)")
}

// New starts a headless Chromium with a fresh profile and returns the
// context of its first tab. Browser and profile
// are removed when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		realpart.Missing(t, "Chromium", err)
	}
	profile, err := os.MkdirTemp("", "rise-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()   // closes the tab and the browser
		cancelAlloc() // waits for the browser process to exit
		_ = os.RemoveAll(profile)
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		if errors.Is(err, exec.ErrNotFound) || strings.Contains(err.Error(), "executable file not found") {
			realpart.Missing(t, "Chromium", err)
		}
		t.Fatalf("start chromium (%s): %v", bin, err)
	}
	return ctx
}

var (
	dirMu sync.Mutex
	dirs  = map[string]string{}
)

// ArtifactDir is the directory a test's screenshots go to:
// $RISE_TEST_ARTIFACTS/<test name> when that is set, else a directory under
// the OS temp dir that is kept after the test (its path is logged once).
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dirMu.Lock()
	defer dirMu.Unlock()
	if d, ok := dirs[t.Name()]; ok {
		return d
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	base := os.Getenv("RISE_TEST_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "rise-test-artifacts")
	}
	d := filepath.Join(base, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	dirs[t.Name()] = d
	t.Logf("browser screenshots: %s", d)
	return d
}

// Screenshot saves a full-page PNG of the tab as <ArtifactDir>/<name>.png
// and returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return save(t, ctx, name, chromedp.FullScreenshot(100))
}

// ViewportScreenshot is Screenshot of what the window shows (for long pages).
func ViewportScreenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	return save(t, ctx, name, chromedp.CaptureScreenshot())
}

func save(t testing.TB, ctx context.Context, name string, shot chromedp.Action[[]byte]) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	png, err := chromedp.Run(c, shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(ArtifactDir(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
