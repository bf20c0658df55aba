// Package httpapi serves a project's endpoints over HTTP in the shape of Tinybird's pipes API,
// so dashboards written against Tinybird, or a self-hosted copy of one, call hourglass
// unchanged:
//
//	GET /v0/pipes/NAME.json?param=value…     {"meta": […], "data": […], "rows": N, "statistics": {…}}
//	GET /v0/pipes/NAME.csv?…                 a header line, then one line per row
//	GET /v0/pipes/NAME.ndjson?…              one JSON object per row
//
// Each endpoint runs on whatever it is switched to. A parameter error is a 400 with one clear
// message ({"error": "…"}). An endpoint may require bearer tokens (read-only, compared in
// constant time, sent as "Authorization: Bearer T" or ?token=T); an endpoint without one is
// served to loopback clients only, unless the server is started public on purpose.
package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/engine"
)

// Result is one run of an endpoint.
type Result struct {
	Columns []engine.Column
	Rows    [][]any
	Stats   engine.Stats
	// Cache says how the call used the cache (CacheOff, CacheMiss, CachePartial, CacheHit);
	// "" when the runner has none.
	Cache string
}

// Runner runs endpoints for the API.
type Runner interface {
	// Endpoints lists the endpoints that exist.
	Endpoints() []string
	// Run runs the endpoint name with its parameters as text. Errors that are the caller's
	// fault (a bad or unknown parameter) are *ParamError.
	Run(ctx context.Context, name string, params map[string]string) (*Result, error)
}

// ParamError is an error in the parameters of a call: the API answers 400 with its message.
type ParamError struct{ Err error }

func (e *ParamError) Error() string { return e.Err.Error() }
func (e *ParamError) Unwrap() error { return e.Err }

// Token is a secret that may read some endpoints.
type Token struct {
	// Name identifies the token in logs; Secret is what callers send.
	Name, Secret string
	// Endpoints are the endpoints it may read ("*" for all).
	Endpoints []string
}

// Options configure the API.
type Options struct {
	// Tokens are the project's tokens. An endpoint that some token names requires one of
	// those tokens; the others are open to loopback clients only (see Public).
	Tokens []Token
	// Public serves endpoints that no token protects to every client, not only loopback ones.
	Public bool
}

// API is the HTTP handler of /v0/pipes/.
type API struct {
	r    Runner
	opts Options
}

// New returns the API over r.
func New(r Runner, opts Options) *API {
	return &API{r: r, opts: opts}
}

// Prefix is the path the API serves under.
const Prefix = "/v0/pipes/"

// ServeHTTP answers GET /v0/pipes/NAME.{json,csv,ndjson}.
func (a *API) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, req.Method+" is not supported: endpoints are read with GET")
		return
	}
	file := strings.TrimPrefix(req.URL.Path, Prefix)
	dot := strings.LastIndexByte(file, '.')
	if dot <= 0 || strings.Contains(file, "/") {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s: ask for %sNAME.json, .csv or .ndjson", req.URL.Path, Prefix))
		return
	}
	name, format := file[:dot], file[dot+1:]
	enc := encoders[format]
	if enc == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("format %q: use .json, .csv or .ndjson", format))
		return
	}
	if !slices.Contains(a.r.Endpoints(), name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("endpoint %q does not exist: the project has %s", name, strings.Join(a.r.Endpoints(), ", ")))
		return
	}
	q := req.URL.Query()
	if status, msg := a.authorize(req, name, q.Get("token")); status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hourglass"`)
		}
		writeError(w, status, msg)
		return
	}
	params := map[string]string{}
	for k, vs := range q {
		if k == "token" {
			continue
		}
		if len(vs) > 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("parameter %s is given %d times: give it once (a list is comma-separated: %s=a,b)", k, len(vs), k))
			return
		}
		params[k] = vs[0]
	}
	started := time.Now()
	res, err := a.r.Run(req.Context(), name, params)
	if err != nil {
		var pe *ParamError
		switch {
		case errors.As(err, &pe):
			writeError(w, http.StatusBadRequest, oneLine(pe.Error()))
		case errors.Is(err, context.Canceled):
			writeError(w, 499, "the request was cancelled")
		default:
			writeError(w, http.StatusInternalServerError, oneLine(err.Error()))
		}
		return
	}
	elapsed := time.Since(started)
	w.Header().Set("Content-Type", enc.contentType)
	w.Header().Set("Cache-Control", "no-store")
	if res.Cache != "" {
		w.Header().Set("X-Hourglass-Cache", res.Cache)
	}
	if req.Method == http.MethodHead {
		return
	}
	_ = enc.write(w, res, elapsed)
}

// authorize returns 0 when the caller may read the endpoint, else the status and message.
func (a *API) authorize(req *http.Request, endpoint, queryToken string) (int, string) {
	var allowed []Token
	for _, t := range a.opts.Tokens {
		if slices.Contains(t.Endpoints, endpoint) || slices.Contains(t.Endpoints, "*") {
			allowed = append(allowed, t)
		}
	}
	if len(allowed) == 0 {
		if a.opts.Public || isLoopback(req.RemoteAddr) {
			return 0, ""
		}
		return http.StatusForbidden, fmt.Sprintf("endpoint %s has no token and is served to loopback clients only: give it a token in hourglass.yaml, or start hourglass serve with --insecure-public", endpoint)
	}
	sent := queryToken
	if h := req.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return http.StatusUnauthorized, "Authorization: use the Bearer scheme with a token of this endpoint"
		}
		sent = strings.TrimSpace(tok)
	}
	if sent == "" {
		return http.StatusUnauthorized, fmt.Sprintf("endpoint %s needs a token: send Authorization: Bearer TOKEN", endpoint)
	}
	got := sha256.Sum256([]byte(sent))
	ok := 0
	for _, t := range allowed {
		want := sha256.Sum256([]byte(t.Secret))
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if ok != 1 {
		return http.StatusForbidden, fmt.Sprintf("this token may not read endpoint %s", endpoint)
	}
	return 0, ""
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
