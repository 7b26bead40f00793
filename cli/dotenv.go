package cli

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/joho/godotenv"
	"golang.org/x/term"

	"github.com/riseplatform/rise/cli/clictx"
	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
	"github.com/riseplatform/rise/core/names"
)

// Kind prefixes of values in dotenv files: K=secret:V marks a secret,
// K=protected:V a protected secret.
const (
	prefixSecret    = "secret:"
	prefixProtected = "protected:"
)

// readDotenv parses a dotenv file (comments, quotes, `export K=V`) into
// variables; values prefixed secret: or protected: get that kind. Names
// and values are validated; errors never contain values.
func readDotenv(path string, stdin io.Reader) ([]api.VariableInput, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, exitcode.Usagef("read %s: %v", path, err)
		}
		defer f.Close()
		r = f
	}
	m, err := godotenv.Parse(r)
	if err != nil {
		// The parser's message quotes the offending text, which may be a
		// secret value: say what is expected instead.
		return nil, exitcode.Usagef("%s is not a valid dotenv file: expected NAME=VALUE lines (values may be quoted; # starts a comment)", path)
	}
	out := make([]api.VariableInput, 0, len(m))
	for _, k := range sortedKeys(m) {
		in := splitKind(k, m[k])
		if err := names.ValidateVariable(in.Name, in.Value); err != nil {
			return nil, exitcode.Usagef("%s: %v", path, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// splitKind reads a kind prefix off a value.
func splitKind(name, value string) api.VariableInput {
	switch {
	case strings.HasPrefix(value, prefixSecret):
		return api.VariableInput{Name: name, Value: strings.TrimPrefix(value, prefixSecret), Kind: api.KindSecret}
	case strings.HasPrefix(value, prefixProtected):
		return api.VariableInput{Name: name, Value: strings.TrimPrefix(value, prefixProtected), Kind: api.KindProtected}
	}
	return api.VariableInput{Name: name, Value: value, Kind: api.KindPlain}
}

// readStdinValue reads a value given as "-" from stdin: everything, minus
// one trailing newline. On a terminal it prompts with echo off, so the
// value is never shown.
func readStdinValue(env *clictx.Env, name string) (string, error) {
	if env.Stdin == nil {
		return "", exitcode.Usagef("%s=-: no standard input to read the value from", name)
	}
	if env.StdinTTY {
		fd := int(os.Stdin.Fd())
		restore := echoOff(fd)
		fmt.Fprintf(env.Printer.Err, "Value of %s: ", name)
		b, err := term.ReadPassword(fd)
		restore()
		fmt.Fprintln(env.Printer.Err)
		if err != nil {
			return "", fmt.Errorf("read the value of %s: %w", name, err)
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(env.Stdin, names.MaxVariableValue+2))
	if err != nil {
		return "", fmt.Errorf("read the value of %s from standard input: %w", name, err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return v, nil
}

// writeDotenv writes vars as a dotenv file (sorted, values double-quoted
// and escaped where needed).
func writeDotenv(w io.Writer, vars map[string]string) error {
	s, err := godotenv.Marshal(vars)
	if err != nil {
		return err
	}
	if s != "" {
		s += "\n"
	}
	_, err = io.WriteString(w, s)
	return err
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
