// Package tinybird imports a Tinybird project — its .datasource and .pipe datafiles — into an
// hourglass project (package datasources): raw datasources, hourly rollups and endpoints.
//
// Import reads every datafile of a folder (any layout: datasources/, pipes/, endpoints/,
// materializations/, copies/), parses it with a reader of Tinybird's documented datafile
// syntax, and translates what hourglass's model can express:
//
//   - A datasource no pipe writes into becomes a raw datasource: its SCHEMA (types, DEFAULT,
//     CODEC, `json:$.key` paths; a path into an object, `json:$.payload.pathname`, becomes a
//     column extracted from the object's column), ENGINE and its ENGINE_VER, ENGINE_SIGN,
//     ENGINE_VERSION, ENGINE_SUMMING_COLUMNS arguments, ENGINE_SORTING_KEY,
//     ENGINE_PARTITION_KEY and ENGINE_TTL.
//   - A materialized pipe (TYPE MATERIALIZED) or copy pipe (TYPE COPY) whose last node is a
//     GROUP BY over toStartOfHour(column) (or a day: toDate, toStartOfDay — the hourly rollup
//     is finer) with aggregates hourglass stores — count, sum, avg, min, max, uniq, uniqExact,
//     uniqCombined(p) (uniq_combined with its precision), argMin, argMax, any, anyLast, plain
//     or with -State, -SimpleState, and -If for count and sum — becomes a
//     rollup named after the datasource it fills (trigger mode for a materialized pipe,
//     scheduled with the COPY_SCHEDULE for a copy pipe). The rollup reads through nodes and
//     plain pipes that only select columns; columns they extract from JSON text
//     (JSONExtractString(payload, 'pathname')) become columns of the raw datasource. Its WHERE
//     is the rollup's filter, minus a copy pipe's time window; the filled datasource's
//     partition key and sorting key give the rollup's partition and order.
//   - An endpoint pipe (TYPE ENDPOINT) that aggregates a rollup's datasource — the bucket
//     column or its day, dimensions, metrics finalised (countMerge, sumMerge, uniqMerge, sum,
//     max, …) and columns computed from them (derived metrics of the rollup) — over
//     bucket >= {{DateTime(date_from)}} AND bucket < {{DateTime(date_to)}} (date_from and
//     date_to become its start and end) or day >= {{Date(date_from)}} AND
//     day <= {{Date(date_to)}} (a Date range, the last day included), with
//     {% if defined(p) %} AND … {% end %} filters on a dimension (= {{Type(p)}}, a comparison,
//     IN {{Array(p, 'Type')}} or has({{Array(p, 'Type')}}, dimension), negated or not),
//     ORDER BY (WITH FILL: a filled time series) and LIMIT — a number, or parameters
//     LIMIT {{Int32(limit, 50)}} [OFFSET {{Int32(skip, 0)}}] or LIMIT skip, limit — becomes an
//     endpoint.
//
// Everything else is a Diagnostic at the file and line it comes from, saying what was left
// out and why (a construct, a node, a template function, a whole pipe), and the rest is still
// imported. A file Tinybird would not read — a syntax error, an unknown engine, a pipe reading
// a pipe or datasource that does not exist — is a Diagnostic with Error set, and nothing of it
// is imported. The result is loaded back with hourglass's own loader and compiled for both
// targets before it is returned, so what Import writes always deploys.
//
// Import is the inverse of the compiler's Tinybird target (pipes.Tinybird) on what that target
// writes: building an imported project for Tinybird and importing it again gives the same
// project, file for file. Grains, finals and fresh are hourglass's own read planning, which
// Tinybird's datafiles do not carry (Tinybird reads its hourly datasources): an imported
// project has none.
package tinybird
