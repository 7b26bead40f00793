package edge

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/riseplatform/rise/server/httpx"
	"github.com/riseplatform/rise/server/identity"
)

// Routes mounts the ingress auth endpoint on the /api/v1 router, so the
// Handler is also a server.Mount:
//
//	GET /api/v1/ingress/auth?project=<name>
//
// ingress-nginx calls it (nginx.ingress.kubernetes.io/auth-url) for every
// request to a private app, forwarding the original Cookie and
// Authorization headers. Answers: 200 with X-Rise-User and X-Rise-Email
// (and the caller's Authorization unless it is a rise token, see allow)
// when the caller may use the project (or the project is public); 401 when
// the request carries no valid session or token (nginx then sends the
// browser to auth-signin, rise's login); 403 when a logged-in caller may
// not use the project, or it does not exist (a 401 would send the browser
// round the login in a loop).
func (h *Handler) Routes(api *mux.Router) {
	api.HandleFunc("/ingress/auth", h.ingressAuth).Methods(http.MethodGet, http.MethodHead)
}

func (h *Handler) ingressAuth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	project := r.URL.Query().Get("project")
	if project == "" || strings.ContainsAny(project, "./:@ ") {
		httpx.Err(w, r, httpx.NewError(http.StatusBadRequest, "the project query parameter must name a project",
			"Point auth-url at <public_url>/api/v1/ingress/auth?project=<name>."))
		return
	}
	id, _, _, err := h.caller(r, project+h.suffix)
	if err != nil {
		httpx.Err(w, r, err)
		return
	}
	route, err := h.o.Lookup(r.Context(), project)
	unknown := errors.Is(err, ErrUnknownProject)
	if err != nil && !unknown {
		httpx.Err(w, r, err)
		return
	}
	if !unknown && !route.Private {
		h.allow(w, r, id)
		return
	}
	if id == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rise"`)
		httpx.Err(w, r, httpx.NewError(http.StatusUnauthorized, "log in to rise to use this app"))
		return
	}
	ok := false
	if !unknown && h.o.CanAccess != nil {
		if ok, err = h.o.CanAccess(r.Context(), id, project); err != nil {
			if _, denied := isDenied(err); !denied {
				httpx.Err(w, r, err)
				return
			}
		}
	}
	if !ok {
		h.o.Log.Debug("edge: ingress auth: no access", "project", project, "caller", id.Subject())
		httpx.Err(w, r, httpx.NewError(http.StatusForbidden, "you do not have access to this app"))
		return
	}
	h.allow(w, r, id)
}

// allow answers 200 with the caller's identity for the upstream
// (nginx.ingress.kubernetes.io/auth-response-headers). Authorization is
// one of those headers too: the response carries the caller's own
// Authorization back only when it is not a rise token, so ingress-nginx
// passes an app's own credentials on and drops rise's (an empty response
// header removes it from the upstream request).
func (h *Handler) allow(w http.ResponseWriter, r *http.Request, id *identity.Identity) {
	setUserHeaders(w.Header(), id)
	if a := r.Header.Get("Authorization"); a != "" && !h.riseToken(a) {
		w.Header().Set("Authorization", a)
	}
	w.WriteHeader(http.StatusOK)
}

// setUserHeaders sets X-Rise-User (the user's handle, or "sa:<id>" for a
// service account) and X-Rise-Email for id (nothing when id is nil).
func setUserHeaders(h http.Header, id *identity.Identity) {
	if id == nil {
		return
	}
	user := id.Name
	if id.IsServiceAccount() {
		user = id.Subject()
	}
	h.Set("X-Rise-User", user)
	h.Set("X-Rise-Email", id.Email)
}
