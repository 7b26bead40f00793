// Command bcrypt prints the bcrypt hash (cost 10, the lowest Dex accepts) of
// the password read from stdin, without its trailing newline. dev/up.sh uses
// it for the dev admin user of rise's server.hcl and Dex's static password.
//
//	printf %s "$password" | go run ./dev/local/bcrypt
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/bcrypt"
)

func main() {
	pw, err := io.ReadAll(io.LimitReader(os.Stdin, 73))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bcrypt: read password:", err)
		os.Exit(1)
	}
	pw = bytes.TrimRight(pw, "\r\n")
	if len(pw) == 0 || len(pw) > 72 {
		fmt.Fprintln(os.Stderr, "bcrypt: the password must be 1 to 72 bytes on stdin")
		os.Exit(2)
	}
	h, err := bcrypt.GenerateFromPassword(pw, 10)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bcrypt:", err)
		os.Exit(1)
	}
	fmt.Println(string(h))
}
