package auth

import (
	"testing"

	"github.com/riseplatform/rise/server"
)

// Service plugs into the server as its Authenticator and as a root mount.
var (
	_ server.Authenticator = (*Service)(nil)
	_ server.Mount         = server.MountFunc((*Service)(nil).RootRoutes)
)

func TestLoginURL(t *testing.T) {
	s := &Service{issuer: "https://rise.apps.example.com"}
	want := "https://rise.apps.example.com/auth/login?rd=https%3A%2F%2Fshop.apps.example.com%2Fa%3Fb%3Dc"
	if got := s.LoginURL("https://shop.apps.example.com/a?b=c"); got != want {
		t.Errorf("LoginURL = %s, want %s", got, want)
	}
}
