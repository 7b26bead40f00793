package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/riseplatform/rise/cli/exitcode"
	"github.com/riseplatform/rise/core/api"
)

// callbackResult is what the IdP's redirect brought back.
type callbackResult struct {
	code string
	err  error
}

// Browser runs the authorization-code + PKCE (S256) flow: a callback server
// on the first free localhost port, the server's authorize URL printed and
// opened in a browser, then the code exchanged through the server.
func Browser(ctx context.Context, o Options) (*api.TokenResponse, error) {
	ln, port, err := listen(o.Ports)
	if err != nil {
		return nil, err
	}
	defer ln.Close()
	redirect := "http://localhost:" + strconv.Itoa(port) + "/callback"

	verifier := oauth2.GenerateVerifier()
	auth, err := o.Client.Authorize(ctx, api.AuthorizeRequest{
		RedirectURI:         redirect,
		CodeChallenge:       oauth2.S256ChallengeFromVerifier(verifier),
		CodeChallengeMethod: api.PKCEMethodS256,
		Provider:            o.Provider,
	})
	if err != nil {
		return nil, fmt.Errorf("start browser login: %w", err)
	}

	results := make(chan callbackResult, 1)
	srv := &http.Server{
		Handler:           callbackHandler(auth.State, results),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	p := o.Printer
	if !webURL(auth.AuthorizationURL) {
		// Never hand anything but a web URL to the platform opener
		// (file:, javascript:, custom schemes would run locally).
		return nil, fmt.Errorf("the server returned an authorization URL that is not http(s): %q", auth.AuthorizationURL)
	}
	p.Infof("Please login to rise at %s", auth.AuthorizationURL)
	if o.headless() {
		p.Infof("No browser can be opened here. Open the URL above in a browser on this machine: it returns to %s when you are done. On a remote machine use `rise login --device` instead.", redirect)
	} else if err := o.open(auth.AuthorizationURL); err != nil {
		p.Infof("Could not open a browser (%v). Open the URL above yourself; it returns to %s.", err, redirect)
	}

	wait := o.timeout()
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	spin := p.Wait("Waiting for you to log in in the browser...")
	defer spin.Done()
	var res callbackResult
	select {
	case res = <-results:
	case <-wctx.Done():
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, timedOut("the browser login", wait)
	}
	spin.Done()
	if res.err != nil {
		return nil, res.err
	}
	tok, err := o.Client.ExchangeCode(ctx, api.CodeExchangeRequest{
		Code: res.code, CodeVerifier: verifier, RedirectURI: redirect, State: auth.State,
	})
	if err != nil {
		return nil, fmt.Errorf("finish browser login: %w", err)
	}
	return tok, nil
}

// webURL reports whether u is an absolute http(s) URL.
func webURL(u string) bool {
	pu, err := url.Parse(u)
	return err == nil && (pu.Scheme == "https" || pu.Scheme == "http") && pu.Host != ""
}

// listen binds the first free port of ports on the loopback interface.
func listen(ports []int) (net.Listener, int, error) {
	if len(ports) == 0 {
		ports = DefaultPorts
	}
	var errs []error
	for _, p := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			return ln, ln.Addr().(*net.TCPAddr).Port, nil
		}
		errs = append(errs, err)
	}
	names := make([]string, len(ports))
	for i, p := range ports {
		names[i] = strconv.Itoa(p)
	}
	return nil, 0, fmt.Errorf("cannot start the login callback server: localhost ports %s are all in use (close what uses them, or run `rise login --device`): %w",
		strings.Join(names, ", "), errors.Join(errs...))
}

// callbackHandler answers the IdP's redirect once and reports the result.
func callbackHandler(state string, results chan<- callbackResult) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var res callbackResult
		switch {
		// The state is checked first: any web page can send the browser to
		// this callback, and an ?error= that does not carry our state must
		// not abort the login.
		case state == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
			http.Error(w, "This login callback does not belong to the running `rise login` (state mismatch).", http.StatusBadRequest)
			return // not ours: keep waiting for the real one
		case q.Get("error") != "":
			msg := q.Get("error")
			if d := q.Get("error_description"); d != "" {
				msg += ": " + d
			}
			res.err = exitcode.New(exitcode.NotAuthenticated, "Login was refused by the identity provider (%s)", msg)
		case q.Get("code") == "":
			http.Error(w, "missing code", http.StatusBadRequest)
			return
		default:
			res.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		title, body := "Login successful", "You are logged in to rise. You can close this tab and return to the terminal."
		if res.err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			title, body = "Login failed", res.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>rise: %s</title><h1>%s</h1><p>%s</p>\n", title, title, html.EscapeString(body))
		select {
		case results <- res:
		default: // a second callback after the first: ignore
		}
	})
	return mux
}
