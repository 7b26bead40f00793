// Package baseimage makes the local base image rise's tests and example apps
// build FROM: localhost/rise-base:busybox, a busybox-static root filesystem
// imported with `docker import` (nothing can be pulled from a public registry
// on the development machines). Ensure is idempotent and safe to call from
// several test binaries at once.
package baseimage

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riseplatform/rise/dev/realpart"
)

// Image is the reference of the base image.
const Image = "localhost/rise-base:busybox"

// busyboxPaths are where busybox-static installs its binary.
var busyboxPaths = []string{"/bin/busybox", "/usr/bin/busybox"}

// Ensure makes sure Image exists in the engine driven by cli ("docker" or
// "podman"; empty = docker) and returns its reference.
func Ensure(ctx context.Context, cli string) (string, error) {
	if cli == "" {
		cli = "docker"
	}
	if exists(ctx, cli) {
		return Image, nil
	}
	unlock, err := lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	if exists(ctx, cli) { // another process made it while we waited
		return Image, nil
	}
	rootfs, err := Rootfs()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, cli, "import",
		"--change", `CMD ["/bin/sh"]`, "--change", "ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin",
		"-", Image)
	cmd.Stdin = bytes.NewReader(rootfs)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s import %s: %w: %s", cli, Image, err, strings.TrimSpace(string(out)))
	}
	return Image, nil
}

// Require is Ensure for tests. When no container engine runs the test fails
// under RISE_REQUIRE_REAL=1 and is skipped otherwise (see dev/realpart); when
// the image cannot be made, it fails.
func Require(t testing.TB, cli string) string {
	t.Helper()
	if cli == "" {
		cli = "docker"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, "info").CombinedOutput(); err != nil {
		realpart.Missing(t, engineName(cli), fmt.Errorf("`%s info`: %v: %s", cli, err, firstLine(out)))
	}
	ref, err := Ensure(ctx, cli)
	if err != nil {
		t.Fatalf("base image: %v", err)
	}
	return ref
}

// engineName is how a missing engine is named in skip messages and failures.
func engineName(cli string) string {
	switch cli {
	case "docker":
		return "Docker Engine"
	case "podman":
		return "Podman"
	}
	return "container engine " + cli
}

func exists(ctx context.Context, cli string) bool {
	return exec.CommandContext(ctx, cli, "image", "inspect", Image).Run() == nil
}

// lock serialises image creation across processes on this machine.
func lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "rise-baseimage.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("base image lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("base image lock: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Rootfs returns the base image's root filesystem as a tar archive: static
// busybox, a link per applet, /etc/passwd and /etc/group, /tmp.
func Rootfs() ([]byte, error) {
	bin, err := findBusybox()
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	applets, err := exec.Command(bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", bin, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	dirs := []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "var", "var/www"}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mtime}); err != nil {
		return nil, err
	}
	if err := writeFile(tw, "bin/busybox", 0o755, data, mtime); err != nil {
		return nil, err
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := writeFile(tw, name, 0o644, []byte(content), mtime); err != nil {
			return nil, err
		}
	}
	for _, line := range strings.Fields(string(applets)) {
		name := strings.TrimPrefix(line, "/")
		if name == "bin/busybox" || !strings.Contains(name, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: "/bin/busybox", Mode: 0o777, ModTime: mtime}); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeFile(tw *tar.Writer, name string, mode int64, data []byte, mtime time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime}); err != nil {
		return err
	}
	_, err := io.Copy(tw, bytes.NewReader(data))
	return err
}

func findBusybox() (string, error) {
	for _, p := range busyboxPaths {
		out, err := exec.Command("file", "-L", p).Output()
		if err == nil && strings.Contains(string(out), "statically linked") {
			return p, nil
		}
		if err != nil && isExecutable(p) && !haveFile() {
			return p, nil // cannot check; trust the package
		}
	}
	return "", errors.New("static busybox not found: install it with `apt-get install -y busybox-static` (or run dev/base-image.sh)")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode()&0o111 != 0
}

func haveFile() bool { _, err := exec.LookPath("file"); return err == nil }

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
