package realpart

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a test that misses a part in a child process, once with
// the switch and once without: the first fails naming the part, the second
// skips with the message the skip summary counts.
func TestMissing(t *testing.T) {
	if os.Getenv("REALPART_CHILD") == "1" {
		Missing(t, "Unobtainium", errors.New("not installed"))
		t.Fatal("Missing returned")
	}
	for _, tc := range []struct {
		env      string
		wantFail bool
	}{{"1", true}, {"", false}, {"0", false}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "REALPART_CHILD=1", Env+"="+tc.env)
		out, err := cmd.CombinedOutput()
		if tc.wantFail != (err != nil) {
			t.Errorf("%s=%q: err %v, want failure %v\n%s", Env, tc.env, err, tc.wantFail, out)
		}
		want := "--- SKIP: TestMissing"
		if tc.wantFail {
			want = "--- FAIL: TestMissing"
		}
		if !strings.Contains(string(out), want) || !strings.Contains(string(out), "real part missing: Unobtainium: not installed") {
			t.Errorf("%s=%q: output lacks %q and the part's message:\n%s", Env, tc.env, want, out)
		}
	}
}
