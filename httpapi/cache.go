package httpapi

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hourglass-dev/hourglass/datasources"
	"github.com/hourglass-dev/hourglass/engine"
	"github.com/hourglass-dev/hourglass/meta"
	"github.com/hourglass-dev/hourglass/timerange"
)

// How a call used the cache, as Result.Cache and the X-Hourglass-Cache header say.
const (
	// CacheOff: the call was not cacheable (raw served, no cache, or a shape the cache does
	// not keep) and ran whole.
	CacheOff = "off"
	// CacheMiss: nothing usable was kept; the call ran whole and its closed buckets are kept.
	CacheMiss = "miss"
	// CachePartial: the kept buckets answered the start of the range, the engine the rest.
	CachePartial = "partial"
	// CacheHit: the kept answer was the whole answer; the engine read no rows.
	CacheHit = "hit"
)

// DefaultCacheEntries is how many answers a Cache keeps when its size is not set.
const DefaultCacheEntries = 1024

// Cache keeps what endpoints answered about closed hours of a rollup version, so a call
// asked again runs only what may have changed since — the closed-bucket cache of
// hourglass serve. An answer is kept per endpoint, rollup version table and parameters:
//
//   - a time series (bucket, no limit, offset or compare, rows ordered by bucket first) keeps
//     its rows of closed buckets [CStart, CEnd); a call over [Start, End) with CStart ≤ Start
//     reuses the rows of [Start, CEnd) and asks the engine for [CEnd, End) only — the seed's
//     QStart = max(Start, CEnd);
//   - any other call (totals, breakdowns, a compare) is kept whole, and only when its range
//     ends at or before the version's watermark (so "-30d to now" is kept from one populate
//     to the next).
//
// A series keeps buckets up to its version's watermark less the rollup's lookback (the hours
// the next populate recomputes for late rows, the seed's allowance), floored to the bucket;
// no answer keeps an hour after the watermark, which a served read takes from raw rows. Only
// scheduled rollups are cached: a trigger rollup's view writes it on every insert. What was
// kept stays exact because every write to a version — populate,
// backfill, reconcile --repair, crash recovery — is a unit recorded in the run log before it
// is done: each call reads the run log's newest sequence number before it reads any data, and
// drops what was kept from the earliest hour a newer unit rewrote (meta.ChangesSince). A switch changes the
// version table an endpoint reads, which is part of the key. Raw-served calls are never kept.
//
// A Cache is safe for concurrent use.
type Cache struct {
	// Max is how many answers are kept (0: DefaultCacheEntries); the least recently used go
	// first.
	Max int

	mu      sync.Mutex
	entries map[string]*cacheEntry
	tick    uint64
}

// cacheEntry is one kept answer.
type cacheEntry struct {
	// seen is the run log's point read before the data kept here was read: the data holds
	// every unit recorded up to it.
	seen meta.Changes
	// cover is what the rows answer: the closed buckets [Start, End) of a series, or the
	// call's whole range.
	cover   timerange.Range
	columns []engine.Column
	rows    [][]any
	// bucket is a series' bucket column ("" for a whole answer).
	bucket string
	used   uint64
}

// cacheShape says how a call of an endpoint may be kept.
type cacheShape struct {
	// series: rows of closed buckets are kept and reused (see Cache); else only whole answers
	// of closed ranges.
	series bool
	// bucket is the series' bucket column and its length (an hour or a day).
	bucket string
	step   time.Duration
	// rangeStep is what the range's start parameter can express: an hour (DateTime) or a
	// day (Date) — a narrowed call starts on it.
	rangeStep time.Duration
}

// shapeOf returns how calls of ep may be kept.
func shapeOf(ep *datasources.Endpoint, fromType string) cacheShape {
	s := cacheShape{rangeStep: time.Hour}
	if fromType == "Date" {
		s.rangeStep = 24 * time.Hour
	}
	switch ep.Bucket {
	case "hour":
		s.step = time.Hour
	case "day":
		s.step = 24 * time.Hour
	default:
		return s
	}
	s.bucket = ep.Bucket
	if ep.Compare != "" || ep.Limit > 0 || ep.LimitParam != nil || ep.OffsetParam != nil {
		return s
	}
	// Rows are ordered by bucket first (so kept and fresh rows follow each other) unless a
	// filled series has groups (ordered by group, then bucket) or order_by says otherwise.
	if ep.Fill && len(ep.GroupBy) > 0 {
		return s
	}
	if len(ep.OrderBy) > 0 {
		f := strings.Fields(ep.OrderBy[0])
		if len(f) == 0 || f[0] != ep.Bucket || (len(f) == 2 && !strings.EqualFold(f[1], "asc")) {
			return s
		}
	}
	s.series = true
	return s
}

// cacheKey is an answer's key: endpoint, version table and every parameter but the range's
// (a whole answer adds its range).
func cacheKey(endpoint, table string, params map[string]string, from, to string, whole *timerange.Range) string {
	var b strings.Builder
	b.WriteString(endpoint + "\x00" + table)
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != from && k != to {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + params[k])
	}
	if whole != nil {
		b.WriteString("\x00" + whole.String())
	}
	return b.String()
}

// closedBoundary is the end of what may be kept of a version with watermark w: w less the
// lookback, floored to step (zero when the version was never populated).
func closedBoundary(w time.Time, lookback, step time.Duration) time.Time {
	if w.IsZero() {
		return time.Time{}
	}
	return floor(w.Add(-lookback), step)
}

func floor(t time.Time, step time.Duration) time.Time { return t.UTC().Truncate(step) }

// get returns the entry kept under key, first dropping what the units recorded since it was
// read rewrote (ch, read from the entry's point: meta.ChangesSince). The caller holds c.mu.
func (c *Cache) get(key string, ch meta.Changes, step time.Duration, series bool) *cacheEntry {
	e := c.entries[key]
	if e == nil {
		return nil
	}
	if ch.Any {
		if !series {
			if ch.Since.Before(e.cover.End) {
				delete(c.entries, key)
				return nil
			}
		} else if cut := floor(ch.Since, step); cut.Before(e.cover.End) {
			e.cover.End = cut
			e.rows, _ = rowsIn(e.rows, e.columns, e.bucket, e.cover)
			if !e.cover.Start.Before(e.cover.End) {
				delete(c.entries, key)
				return nil
			}
		}
	}
	e.seen = ch
	c.tick++
	e.used = c.tick
	return e
}

// put keeps e under key, dropping the least recently used answer when full. The caller
// holds c.mu.
func (c *Cache) put(key string, e *cacheEntry) {
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
	}
	limit := c.Max
	if limit <= 0 {
		limit = DefaultCacheEntries
	}
	if _, ok := c.entries[key]; !ok && len(c.entries) >= limit {
		var oldest string
		var at uint64
		for k, v := range c.entries {
			if oldest == "" || v.used < at {
				oldest, at = k, v.used
			}
		}
		delete(c.entries, oldest)
	}
	c.tick++
	e.used = c.tick
	c.entries[key] = e
}

// seen is the run log's point the answer kept under key was read at (zero when none is kept).
func (c *Cache) seen(key string) meta.Changes {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		return e.seen
	}
	return meta.Changes{}
}

// lookup returns a copy of the answer kept under key, after dropping what ch says was
// rewritten (see get), or nil.
func (c *Cache) lookup(key string, ch meta.Changes, step time.Duration, series bool) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.get(key, ch, step, series)
	if e == nil {
		return nil
	}
	cp := *e
	return &cp
}

// store keeps e under key (see put).
func (c *Cache) store(key string, e *cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put(key, e)
}

// Len is how many answers are kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// bucketIndex is the column of the bucket in a result, or -1.
func bucketIndex(cols []engine.Column, bucket string) int {
	for i, c := range cols {
		if c.Name == bucket {
			return i
		}
	}
	return -1
}

// bucketOf reads a row's bucket; ok is false when it is not a time.
func bucketOf(row []any, i int) (time.Time, bool) {
	t, ok := row[i].(time.Time)
	return t.UTC(), ok
}

// rowsIn returns the rows whose bucket is in r (rows ordered by bucket first); ok is false
// when a bucket is not a time, and nothing may be kept.
func rowsIn(rows [][]any, cols []engine.Column, bucket string, r timerange.Range) ([][]any, bool) {
	i := bucketIndex(cols, bucket)
	if i < 0 {
		return nil, false
	}
	var out [][]any
	for _, row := range rows {
		t, ok := bucketOf(row, i)
		if !ok {
			return nil, false
		}
		if !t.Before(r.Start) && t.Before(r.End) {
			out = append(out, row)
		}
	}
	return out, true
}
