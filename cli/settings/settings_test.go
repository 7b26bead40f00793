package settings

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPathRespectsXDG(t *testing.T) {
	p, err := Path(env(map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}))
	if err != nil || p != "/x/rise/config.json" {
		t.Fatalf("Path = %q, %v", p, err)
	}
	p, _ = Path(env(map[string]string{"HOME": "/h"}))
	if p != "/h/.config/rise/config.json" {
		t.Fatalf("Path = %q", p)
	}
}

func TestSaveLoadMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rise", "config.json")
	s, err := Load(path)
	if err != nil || s.Token != "" {
		t.Fatalf("Load missing = %+v, %v", s, err)
	}
	exp := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	in := &Settings{URL: "http://localhost:3000", Token: "tok", ExpiresAt: exp, User: "Niklas"}
	if err := in.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	out, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if *out != *in {
		t.Errorf("round trip: %+v != %+v", out, in)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Error("corrupt file loaded without error")
	}
}

func TestResolvePrecedence(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	s := &Settings{URL: "http://a:3000/", Token: "stored", ExpiresAt: exp}
	r := Resolve(s, "", env(nil))
	if r.URL != "http://a:3000" || r.Token != "stored" || !r.ExpiresAt.Equal(exp) {
		t.Errorf("stored: %+v", r)
	}
	r = Resolve(s, "", env(map[string]string{"RISE_URL": "http://b"}))
	if r.URL != "http://b" || r.Token != "" {
		t.Errorf("RISE_URL must not reuse another server's token: %+v", r)
	}
	r = Resolve(s, "http://c", env(map[string]string{"RISE_URL": "http://b", "RISE_TOKEN": "envtok"}))
	if r.URL != "http://c" || r.Token != "envtok" || !r.TokenFromEnv || !r.ExpiresAt.IsZero() {
		t.Errorf("flag+env: %+v", r)
	}
	r = Resolve(&Settings{}, "", env(nil))
	if r.URL != DefaultURL {
		t.Errorf("default: %+v", r)
	}
}

func TestExpired(t *testing.T) {
	now := time.Now()
	if (Resolved{}).Expired(now) {
		t.Error("unknown expiry counted as expired")
	}
	if !(Resolved{ExpiresAt: now.Add(-time.Second)}).Expired(now) {
		t.Error("past expiry not expired")
	}
}
