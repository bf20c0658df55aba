package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/hourglass-dev/hourglass/engine"
)

func TestFormatClause(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT 1 FORMAT JSON":                                 "JSON",
		"SELECT 1 FORMAT JSON;":                                "JSON",
		"select 1 format Vertical SETTINGS max_threads = 1":    "Vertical",
		"SELECT x AS format FROM t FORMAT CSVWithNames":        "CSVWithNames",
		"SELECT format FROM t FORMAT TSV":                      "TSV",
		"INSERT INTO t FORMAT CSV\n1,2\n":                      "CSV",
		"INSERT INTO t (a, format) FORMAT JSONEachRow {\"a\"}": "JSONEachRow",
		"SELECT 1":                                  "",
		"select format from t":                      "",
		"SELECT format('{} {}', 'a', 'b')":          "",
		"SELECT 'FORMAT JSON'":                      "",
		"SELECT 1 -- FORMAT JSON":                   "",
		"SELECT 1 /* FORMAT JSON */":                "",
		"SELECT * FROM (SELECT 1 FORMAT JSON) AS x": "",
		"INSERT INTO t VALUES ('x') FORMAT JSON":    "",
		"SELECT `format` FROM t":                    "",
		"SELECT 1 AS format":                        "",
		"SELECT format AS f FROM t":                 "",
	} {
		if got := engine.FormatClause(q); got != want {
			t.Errorf("FormatClause(%q) = %q, want %q", q, got, want)
		}
	}
}

// TestQueryFormatPassesOutputThrough checks, on both engines, that the engine's own text comes
// back byte for byte: the expected outputs are ClickHouse's formats written out in the test.
func TestQueryFormatPassesOutputThrough(t *testing.T) {
	eachEngine(t, func(t *testing.T, e engine.Engine) {
		ctx := context.Background()
		for q, want := range map[string]string{
			"SELECT number AS n, concat('v', toString(number)) AS s FROM system.numbers LIMIT 3 FORMAT CSVWithNames": "\"n\",\"s\"\n0,\"v0\"\n1,\"v1\"\n2,\"v2\"\n",
			"SELECT 1 AS x, 'a' AS y FORMAT Vertical":     "Row 1:\n──────\nx: 1\ny: a\n",
			"SELECT toUInt8(7) AS n FORMAT TSVWithNames;": "n\n7\n",
			"SELECT 1 FORMAT Null":                        "",
		} {
			var out bytes.Buffer
			if _, err := e.QueryFormat(ctx, q, nil, &out); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if out.String() != want {
				t.Errorf("%s:\n got %q\nwant %q", q, out.String(), want)
			}
		}
		var out bytes.Buffer
		if _, err := e.QueryFormat(ctx, "SELECT {s:String} AS s, {n:UInt64} AS n FORMAT JSON", engine.Params{"s": "héllo\t'x'", "n": uint64(5)}, &out); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Meta []engine.Column  `json:"meta"`
			Data []map[string]any `json:"data"`
			Rows int              `json:"rows"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("FORMAT JSON output %q: %v", out.String(), err)
		}
		if doc.Rows != 1 || len(doc.Data) != 1 || doc.Data[0]["s"] != "héllo\t'x'" || len(doc.Meta) != 2 {
			t.Errorf("FORMAT JSON output %s", out.String())
		}
		out.Reset()
		_, err := e.QueryFormat(ctx, "SELECT * FROM default.hourglass_no_such_table FORMAT JSON", nil, &out)
		var ce *engine.Error
		if !errors.As(err, &ce) || ce.Code != engine.CodeUnknownTable || out.Len() != 0 {
			t.Errorf("unknown table: err %v, output %q; want code 60 and no output", err, out.String())
		}
	})
}

func TestStatementKinds(t *testing.T) {
	for q, want := range map[string][2]bool{
		"SELECT 1":                                 {true, false},
		"  with x AS (SELECT 1) SELECT * FROM x":   {true, false},
		"(SELECT 1) UNION ALL (SELECT 2)":          {true, false},
		"SHOW TABLES":                              {true, false},
		"describe t":                               {true, false},
		"-- a note\nEXPLAIN SELECT 1":              {true, false},
		"CREATE TABLE t (a UInt8) ENGINE = Memory": {false, false},
		"INSERT INTO t SELECT * FROM u":            {false, false},
		"INSERT INTO t (a) VALUES (1)":             {false, true},
		"insert into t format CSV\n1\n":            {false, true},
		"INSERT INTO t SELECT 'VALUES'":            {false, false},
		"SET max_threads = 1":                      {false, false},
		"":                                         {false, false},
	} {
		if got := [2]bool{engine.ReturnsRows(q), engine.InlineData(q)}; got != want {
			t.Errorf("%q: ReturnsRows, InlineData = %v, want %v", q, got, want)
		}
	}
}

// TestHTTPInterfaceUnreachable: with no HTTP interface where the DSN says, the error is one
// line that names the address and the DSN parameter to fix.
func TestHTTPInterfaceUnreachable(t *testing.T) {
	shared.NeedRemote(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e, err := engine.Open(context.Background(), fmt.Sprintf("%s?%s=%d", shared.Server.DSN, engine.HTTPPortParam, port))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, err = e.QueryFormat(context.Background(), "SELECT 1 FORMAT JSON", nil, io.Discard)
	want := fmt.Sprintf("the server's HTTP interface at http://127.0.0.1:%d (set http_port= in the DSN", port)
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %v, want one line containing %q", err, want)
	}
}
