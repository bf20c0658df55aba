package tinybird

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// events is a raw datasource every bad-input case imports next to its bad file.
const events = "SCHEMA >\n    `ts` DateTime `json:$.ts`,\n    `site` String `json:$.site`\n\nENGINE \"MergeTree\"\nENGINE_SORTING_KEY \"ts\"\n"

// TestBadInput: a file Tinybird would not read gets file:line and a clear message, nothing of
// it is imported, and the rest of the project still is.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                string
	}{
		{"unknown directive", "datasources/bad.datasource",
			"SCHEMA >\n    `a` String\n\nENGINE \"MergeTree\"\nENGINE_SORTNG_KEY \"a\"\n",
			`datasources/bad.datasource:5: error: unknown datasource directive "ENGINE_SORTNG_KEY"; datasources/bad.datasource not imported`},
		{"empty schema", "datasources/bad.datasource",
			"SCHEMA >\n\nENGINE \"MergeTree\"\n",
			`datasources/bad.datasource:1: error: SCHEMA block is empty: write one column per line, e.g. ` + "`timestamp` DateTime `json:$.timestamp`" + `; datasources/bad.datasource not imported`},
		{"column without type", "datasources/bad.datasource",
			"SCHEMA >\n    `a` String,\n    `b`\n",
			`datasources/bad.datasource:3: error: column "b" has no type; datasources/bad.datasource not imported`},
		{"bad column type", "datasources/bad.datasource",
			"SCHEMA >\n    `a` Strang(3) `json:$.a`\n\nENGINE_SORTING_KEY \"a\"\n",
			`datasources/bad.datasource:2: error: column a: type "Strang(3)": unknown type Strang; datasources/bad.datasource not imported`},
		{"unknown engine", "datasources/bad.datasource",
			"SCHEMA >\n    `a` String `json:$.a`\n\nENGINE \"FastTree\"\nENGINE_SORTING_KEY \"a\"\n",
			`datasources/bad.datasource:4: error: ENGINE "FastTree" is not a Tinybird engine: use MergeTree, ReplacingMergeTree, SummingMergeTree, AggregatingMergeTree, CollapsingMergeTree, VersionedCollapsingMergeTree or Null; datasources/bad.datasource not imported`},
		{"node without SQL", "pipes/bad.pipe",
			"NODE first\nDESCRIPTION >\n    nothing\n\nTYPE ENDPOINT\n",
			`pipes/bad.pipe:1: error: node "first" has no SQL > block; pipes/bad.pipe not imported`},
		{"unclosed quote", "pipes/bad.pipe",
			"NODE first\nSQL >\n    SELECT count() FROM events\n    WHERE site = 'x\n\nTYPE ENDPOINT\n",
			`pipes/bad.pipe:4: error: node first: unclosed ' quote; pipes/bad.pipe not imported`},
		{"unknown type", "pipes/bad.pipe",
			"NODE first\nSQL >\n    SELECT 1\n\nTYPE LAMBDA\n",
			`pipes/bad.pipe:5: error: TYPE "LAMBDA": use ENDPOINT, MATERIALIZED, COPY or SINK; pipes/bad.pipe not imported`},
		{"reads a missing pipe", "pipes/bad.pipe",
			"NODE first\nSQL >\n    SELECT site, count() AS c\n    FROM events_enriched\n    GROUP BY site\n\nTYPE ENDPOINT\n",
			`pipes/bad.pipe:4: error: node first reads "events_enriched", which is neither a datasource, an earlier node of this pipe nor another pipe of the project; pipes/bad.pipe not imported`},
		{"writes into a missing datasource", "pipes/bad.pipe",
			"NODE first\nSQL >\n    SELECT toStartOfHour(ts) AS hour, count() AS c FROM events GROUP BY hour\n\nTYPE MATERIALIZED\nDATASOURCE events_hourly\n",
			`pipes/bad.pipe:6: error: DATASOURCE events_hourly is not a datasource of the project; pipes/bad.pipe not imported`},
		{"materialized without datasource", "pipes/bad.pipe",
			"NODE first\nSQL >\n    SELECT 1\n\nTYPE MATERIALIZED\n",
			`pipes/bad.pipe:5: error: TYPE MATERIALIZED needs DATASOURCE, the datasource it writes into; pipes/bad.pipe not imported`},
		{"name taken", "pipes/events.pipe",
			"NODE first\nSQL >\n    SELECT 1\n",
			`pipes/events.pipe:1: error: name "events" is also the datasource datasources/events.datasource: Tinybird datasources and pipes share one namespace; pipes/events.pipe not imported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Import(mapFS(map[string][]byte{"datasources/events.datasource": []byte(events), tc.file: []byte(tc.content)}), Options{Folder: "p"})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range res.Diagnostics {
				got = append(got, d.String())
			}
			if len(got) != 1 || !res.Diagnostics[0].Error || len(got[0]) < len(tc.want) || got[0][:len(tc.want)] != tc.want {
				t.Errorf("diagnostics:\n%v\nwant one error starting\n%s", got, tc.want)
			}
			if !res.Usable() || len(res.Project.Datasources) != 1 || res.Project.Datasources[0].Name != "events" {
				t.Errorf("the good file was not imported alone: %v", res.Files)
			}
			if _, ok := res.Files["datasources/bad.yaml"]; ok {
				t.Error("something of the bad file was written")
			}
		})
	}
}

// TestNothingUsable: a project none of whose files translate gives no files, and says why.
func TestNothingUsable(t *testing.T) {
	res, err := Import(mapFS(map[string][]byte{
		"pipes/hello.pipe": []byte("NODE hello\nSQL >\n    SELECT 'hello' AS greeting\n\nTYPE ENDPOINT\n"),
	}), Options{Folder: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Usable() || len(res.Files) != 0 {
		t.Errorf("usable: %v", res.Files)
	}
	want := []string{"pipes/hello.pipe:3: node hello has no FROM: an hourglass endpoint reads a rollup; pipes/hello.pipe not imported"}
	var got []string
	for _, d := range res.Diagnostics {
		got = append(got, d.String())
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Error(d)
	}
	if _, err := Import(mapFS(map[string][]byte{"README.md": []byte("hi")}), Options{}); err != ErrNoProject {
		t.Errorf("a folder without datafiles: %v", err)
	}
}

// TestImportJSONPaths: an object path becomes a column extracted from the object's column
// (added when the datasource does not store the object); other paths are plain columns with
// a warning saying why.
func TestImportJSONPaths(t *testing.T) {
	ds := "SCHEMA >\n" +
		"    `ts` DateTime `json:$.ts`,\n" +
		"    `pathname` String `json:$.payload.pathname`,\n" +
		"    `depth` UInt8 `json:$.payload.scroll.depth` DEFAULT 0,\n" +
		"    `tags` Array(String) `json:$.tags[:]`,\n" +
		"    `page_tags` Array(String) `json:$.payload.tags[:]`,\n" +
		"    `country` String `json:$.geo`,\n" +
		"    `odd` String `json:$.payload['x-y']`\n\n" +
		"TOKEN \"ingest\" APPEND\n\nENGINE_SORTING_KEY \"ts\"\n"
	res, err := Import(mapFS(map[string][]byte{"datasources/hits.datasource": []byte(ds)}), Options{Folder: "p"})
	if err != nil {
		t.Fatal(err)
	}
	want := `datasources/hits.datasource:3: column pathname reads ` + "`json:$.payload.pathname`" + `: added column payload (String) holding the object's JSON text, which ClickHouse extracts pathname from
datasources/hits.datasource:4: column depth: DEFAULT 0 is dropped: a column read from JSON takes the value it finds (its type's default when missing)
datasources/hits.datasource:6: column page_tags reads ` + "`json:$.payload.tags[:]`" + `: hourglass reads a column from the key of its own name or from a path inside an object; imported as a plain column read from key page_tags
datasources/hits.datasource:7: column country reads ` + "`json:$.geo`" + `, another key: hourglass reads a column from the key of its own name; imported as a plain column read from key country
datasources/hits.datasource:8: column odd reads ` + "`json:$.payload['x-y']`" + `: hourglass reads a column from the key of its own name or from a path inside an object; imported as a plain column read from key odd
datasources/hits.datasource:10: TOKEN ingest is not imported: hourglass writes one append token per project (<project>_append)
`
	if d := cmp.Diff(want, diagText(res.Diagnostics)); d != "" {
		t.Errorf("diagnostics (-want +got):\n%s", d)
	}
	wantYAML := `name: hits
order_by: [ts]
columns:
  - {name: ts, type: DateTime}
  - {name: payload, type: String}
  - {name: pathname, type: String, json: $.payload.pathname}
  - {name: depth, type: UInt8, json: $.payload.scroll.depth}
  - {name: tags, type: Array(String)}
  - {name: page_tags, type: Array(String)}
  - {name: country, type: String}
  - {name: odd, type: String}
`
	if d := cmp.Diff(wantYAML, string(res.Files["datasources/hits.yaml"])); d != "" {
		t.Errorf("datasource (-want +got):\n%s", d)
	}
}
