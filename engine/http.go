package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// HTTPPortParam is the DSN parameter naming a remote server's HTTP port (default 8123, 8443
// with secure=true). Over the native protocol a server neither formats results (the client
// does) nor, before 21.x, parses data sent in the query text, so the two operations that need
// the server to read or write ClickHouse's own text formats, QueryFormat and InsertFormat, use
// the same server's HTTP interface.
const HTTPPortParam = "http_port"

// httpInterface reaches a remote server's HTTP interface.
type httpInterface struct {
	base     string // scheme://host:port/
	user     string
	password string
	database string
	client   *http.Client
}

// newHTTPInterface derives the HTTP address from a remote DSN: the same host, the port from
// http_port, the same user, password and database.
func newHTTPInterface(host, port string, opts *clickhouse.Options) *httpInterface {
	scheme := "http"
	if opts.TLS != nil {
		scheme = "https"
	}
	if port == "" {
		port = "8123"
		if opts.TLS != nil {
			port = "8443"
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	tr.TLSClientConfig = opts.TLS
	return &httpInterface{
		base:     scheme + "://" + net.JoinHostPort(host, port) + "/",
		user:     opts.Auth.Username,
		password: opts.Auth.Password,
		database: opts.Auth.Database,
		client:   &http.Client{Transport: tr},
	}
}

// post sends one statement: in the URL when body carries data, as the body otherwise. It
// returns the response for the caller to read and close, or the server's error as an *Error.
func (h *httpInterface) post(ctx context.Context, query string, body io.Reader, settings url.Values) (*http.Response, error) {
	q := url.Values{}
	for k, v := range settings {
		q[k] = v
	}
	if h.database != "" {
		q.Set("database", h.database)
	}
	if body == nil {
		body = strings.NewReader(query)
	} else {
		q.Set("query", query)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.base+"?"+q.Encode(), body)
	if err != nil {
		return nil, err
	}
	if h.user != "" || h.password != "" {
		req.SetBasicAuth(h.user, h.password)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("the server's HTTP interface at %s (set %s= in the DSN if it listens elsewhere): %s", strings.TrimSuffix(h.base, "/"), HTTPPortParam, oneLine(err.Error()))
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, httpError(resp, string(msg))
	}
	return resp, nil
}

// oldHTTPError matches servers before 21.x: "Code: 60, e.displayText() = DB::Exception: …, e.what() = DB::Exception".
var oldHTTPError = regexp.MustCompile(`(?s)^Code:\s*(\d+),\s*e\.displayText\(\)\s*=\s*(?:DB::Exception:\s*)?(.*?)(?:,\s*e\.what\(\)\s*=\s*\S+)?\s*$`)

// httpError turns an error response into an *Error, from the exception text servers of every
// version write in the body.
func httpError(resp *http.Response, body string) error {
	body = strings.TrimSpace(body)
	if m := oldHTTPError.FindStringSubmatch(body); m != nil {
		code, _ := strconv.Atoi(m[1])
		return &Error{Code: code, Message: oneLine(strings.TrimSuffix(m[2], "."))}
	}
	if strings.HasPrefix(body, "Code:") {
		return parseErrorText(body)
	}
	if code, err := strconv.Atoi(resp.Header.Get("X-ClickHouse-Exception-Code")); err == nil {
		return &Error{Code: code, Message: oneLine(body)}
	}
	return fmt.Errorf("the server's HTTP interface answered %s: %s", resp.Status, oneLine(body))
}

// httpStats reads the X-ClickHouse-Summary header servers since 19.x send.
func httpStats(resp *http.Response, start time.Time) Stats {
	st := Stats{Elapsed: time.Since(start)}
	var sum struct {
		ReadRows  string `json:"read_rows"`
		ReadBytes string `json:"read_bytes"`
	}
	if json.Unmarshal([]byte(resp.Header.Get("X-ClickHouse-Summary")), &sum) == nil {
		st.RowsRead, _ = strconv.ParseUint(sum.ReadRows, 10, 64)
		st.BytesRead, _ = strconv.ParseUint(sum.ReadBytes, 10, 64)
	}
	return st
}

// QueryFormat runs a statement through the server's HTTP interface and copies the server's
// output, in the format the statement names, to w unchanged. The server finishes the query
// before it answers (wait_end_of_query), so an error is an error, never half an output.
func (r *remote) QueryFormat(ctx context.Context, query string, params Params, w io.Writer) (Stats, error) {
	settings := url.Values{"wait_end_of_query": {"1"}}
	query, err := r.bindHTTP(query, params, settings)
	if err != nil {
		return Stats{}, err
	}
	start := time.Now()
	resp, err := r.http.post(ctx, query, nil, settings)
	if err != nil {
		return Stats{}, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return Stats{}, fmt.Errorf("read the server's output: %w", err)
	}
	return httpStats(resp, start), nil
}

// InsertFormat streams data to the server's HTTP interface as the body of
// INSERT INTO table FORMAT format; the server parses it as it arrives.
func (r *remote) InsertFormat(ctx context.Context, table, format string, data io.Reader) error {
	resp, err := r.http.post(ctx, "INSERT INTO "+table+" FORMAT "+format, data, url.Values{strictInput: {"0"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// bindHTTP binds parameters as the server supports them: param_name settings, or typed literals.
func (r *remote) bindHTTP(query string, params Params, settings url.Values) (string, error) {
	if len(params) == 0 {
		return query, nil
	}
	if !r.serverParams {
		return bindLiterals(query, params)
	}
	names, values, err := paramStrings(params)
	if err != nil {
		return "", err
	}
	for i := range names {
		settings.Set("param_"+names[i], values[i])
	}
	return query, nil
}
