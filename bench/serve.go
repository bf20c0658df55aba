package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/endpoints"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/httpapi"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/pipes"
)

// serveLine is one load of hourglass serve's HTTP API: one endpoint call repeated by
// concurrent clients on loopback, with the cache on or off.
type serveLine struct {
	Endpoint string `json:"endpoint"`
	Query    string `json:"query"`
	Cache    bool   `json:"cache"`
	Clients  int    `json:"clients"`
	Requests int    `json:"requests"`
	Seconds  float64
	RPS      float64 `json:"requests_per_second"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
	// States counts the X-Hourglass-Cache headers seen (hit, partial, miss, off).
	States map[string]int `json:"cache_states"`
}

// Load bounds: each load stops at whichever comes first.
const (
	serveMaxRequests = 20000
	serveMaxTime     = 10 * time.Second
	serveClients     = 2
)

// serveTable measures /v0/pipes/ of the project in dir (its endpoints switched to their
// rollups, as hourglass demo leaves them): sum_primitives and timeseries_primitives for the
// busiest campaign over the last 30 days, cold (no cache: every call runs whole) then cached,
// each with serveClients clients on a loopback HTTP server in this process. The clock is the
// served version's watermark plus 7 minutes, so "now" is the hour the last populate closed.
func serveTable(ctx context.Context, dir string) []serveLine {
	def, err := datasources.Load(os.DirFS(dir))
	must(err)
	a, err := pipes.Compile(def)
	must(err)
	e, err := engine.Open(ctx, "chdb://"+filepath.Join(dir, ".hourglass", "data"))
	must(err)
	defer e.Close()
	store := meta.New(e, def.Database, nil)
	states, err := store.Endpoints(ctx)
	must(err)
	var w time.Time
	for _, name := range []string{"sum_primitives", "timeseries_primitives"} {
		st := states[name]
		if st.Target != endpoints.TargetRollup {
			must(fmt.Errorf("bench serve: %s serves %q: switch it to its rollup first (hourglass demo does)", name, st.Target))
		}
		wm, _, err := store.Watermark(ctx, st.Table)
		must(err)
		w = wm
	}
	r, err := e.Query(ctx, "SELECT campaign_id FROM "+def.Database+".events GROUP BY campaign_id ORDER BY count() DESC LIMIT 1", nil)
	must(err)
	tenant := fmt.Sprint(r.Rows[0][0])
	clock := func() time.Time { return w.Add(7 * time.Minute) }

	var out []serveLine
	for _, ep := range []string{"sum_primitives", "timeseries_primitives"} {
		q := url.Values{"start": {"-30d"}, "end": {"now"}, "campaign_id": {tenant}}
		for _, cached := range []bool{false, true} {
			runner := &httpapi.ProjectRunner{E: e, Store: store, Artifacts: a, Now: clock}
			if cached {
				runner.Cache = &httpapi.Cache{}
			}
			l := load(ctx, httpapi.New(runner, httpapi.Options{}), ep, q)
			l.Cache = cached
			fmt.Fprintf(os.Stderr, "bench: serve %s cache=%v: %d requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, %v\n",
				ep, cached, l.Requests, l.RPS, l.P50MS, l.P99MS, l.States)
			out = append(out, l)
		}
	}
	return out
}

// load serves api on a loopback port and calls /v0/pipes/<ep>.json?q from serveClients
// clients until serveMaxRequests calls or serveMaxTime.
func load(ctx context.Context, api http.Handler, ep string, q url.Values) serveLine {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	mux := http.NewServeMux()
	mux.Handle(httpapi.Prefix, api)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Shutdown(ctx)
	target := "http://" + ln.Addr().String() + httpapi.Prefix + ep + ".json?" + q.Encode()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: serveClients}}

	var (
		mu        sync.Mutex
		latencies []time.Duration
		states    = map[string]int{}
		wg        sync.WaitGroup
	)
	started := time.Now()
	deadline := started.Add(serveMaxTime)
	next := make(chan struct{}, serveMaxRequests)
	for range serveMaxRequests {
		next <- struct{}{}
	}
	close(next)
	for range serveClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				resp, err := client.Get(target)
				must(err)
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				must(err)
				if resp.StatusCode != http.StatusOK {
					must(fmt.Errorf("bench serve: %s: status %d", target, resp.StatusCode))
				}
				d := time.Since(t0)
				mu.Lock()
				latencies = append(latencies, d)
				states[resp.Header.Get("X-Hourglass-Cache")]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]) / 1e6
	}
	return serveLine{Endpoint: ep, Query: q.Encode(), Clients: serveClients, Requests: len(latencies), Seconds: elapsed,
		RPS: float64(len(latencies)) / elapsed, P50MS: pct(0.50), P99MS: pct(0.99), States: states}
}
