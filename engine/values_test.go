package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hourglass-dev/hourglass/engine"
)

// compact wraps one row of cells in a JSONCompact document with the given column types.
func compact(types []string, cells string) []byte {
	meta := make([]string, len(types))
	for i, t := range types {
		meta[i] = `{"name": "c` + string(rune('0'+i)) + `", "type": "` + t + `"}`
	}
	return []byte(`{"meta": [` + strings.Join(meta, ",") + `], "data": [[` + cells + `]], "rows": 1,
        "statistics": {"elapsed": 0.5, "rows_read": "12", "bytes_read": 34}}`)
}

// TestDecodeStringsAsEncodingJSON decodes string escapes the engine never prints today but JSON
// allows (surrogate pairs, lone surrogates, \u0000, \/) and checks them against encoding/json.
func TestDecodeStringsAsEncodingJSON(t *testing.T) {
	for _, lit := range []string{
		`"plain"`, `""`, `"a\"b\\c\/d"`, `"\b\f\n\r\t"`, `"\u0000\u001f"`, `"\u00e9\u4e16"`,
		`"\ud83c\udf0d pair"`, `"\ud83c lone high"`, `"lone low \udf0d"`, `"\ud83c\u0041 high then A"`,
		`"mixed é 🌍 \u00e9"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		r, err := engine.DecodeJSONCompact(compact([]string{"String", "Array(String)"}, lit+`, [`+lit+`, `+lit+`]`))
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		if diff := cmp.Diff([]any{want, []any{want, want}}, r.Row()); diff != "" {
			t.Errorf("%s (-encoding/json +decoder):\n%s", lit, diff)
		}
	}
}

func TestDecodeStatisticsAndShapes(t *testing.T) {
	r, err := engine.DecodeJSONCompact(compact([]string{"UInt64", "Map(String, Nullable(Int32))", "Tuple(a UInt8, b String)", "DateTime64(3, 'Europe/Berlin')"},
		`"18446744073709551615", {"k": -1, "n": null}, {"a": 1, "b": "<x>"}, "2026-07-01 12:00:00.250"`))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		uint64(18446744073709551615),
		map[string]any{"k": int64(-1), "n": nil},
		`{"a":1,"b":"\u003cx\u003e"}`, // a type hourglass does not parse keeps its JSON text
		time.Date(2026, 7, 1, 10, 0, 0, 250e6, time.UTC),
	}
	if diff := cmp.Diff(want, r.Row()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r.Stats != (engine.Stats{RowsRead: 12, BytesRead: 34, Elapsed: 500 * time.Millisecond}) {
		t.Errorf("stats = %+v", r.Stats)
	}
}

func TestDecodeRefusesMalformedOutput(t *testing.T) {
	for name, doc := range map[string]string{
		"truncated":        `{"meta": [{"name": "x", "type": "UInt8"}], "data": [[1]`,
		"short row":        `{"meta": [{"name": "x", "type": "UInt8"}, {"name": "y", "type": "UInt8"}], "data": [[1]]}`,
		"long row":         `{"meta": [{"name": "x", "type": "UInt8"}], "data": [[1, 2]]}`,
		"data before meta": `{"data": [[1]], "meta": [{"name": "x", "type": "UInt8"}]}`,
		"bad number":       `{"meta": [{"name": "x", "type": "UInt8"}], "data": [["1x"]]}`,
		"bad date":         `{"meta": [{"name": "x", "type": "DateTime"}], "data": [["2026-02-30 00:00:00"]]}`,
		"bad escape":       `{"meta": [{"name": "x", "type": "String"}], "data": [["a\q"]]}`,
		"trailing bytes":   `{"meta": [{"name": "x", "type": "UInt8"}], "data": [[1]]} x`,
		"text instead":     "Row 1:\n──────\nx: 1\n",
	} {
		if _, err := engine.DecodeJSONCompact([]byte(doc)); err == nil || !strings.Contains(err.Error(), "decode engine output") {
			t.Errorf("%s: err = %v, want a decode error", name, err)
		}
	}
}

func TestUint(t *testing.T) {
	for _, c := range []struct {
		v  any
		n  uint64
		ok bool
	}{{uint64(7), 7, true}, {int64(3), 3, true}, {true, 1, true}, {false, 0, true}, {nil, 0, true}, {"7", 0, false}, {1.5, 0, false}} {
		if n, ok := engine.Uint(c.v); n != c.n || ok != c.ok {
			t.Errorf("Uint(%#v) = %d, %v; want %d, %v", c.v, n, ok, c.n, c.ok)
		}
	}
}
