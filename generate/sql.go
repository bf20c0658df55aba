package generate

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/ident"
)

// How rows are derived (every value is a pure function of the row number and the seed):
//
// Event numbers 0…N-1 are cut into blocks of 32. A block's 32-bit mask, hashed from the block
// number, marks where sessions start (bit 0 is always set), so a session is a run of
// consecutive event numbers: the event at position j belongs to the session starting at the
// highest set bit ≤ j and lasting until the next set bit. The mask's bit density, itself drawn
// per block, gives a geometric mix of session lengths (1 to 32 events, mean ≈ 3.6).
//
// A session's key is the number of its first event. Everything about a session (tenant,
// source, device, country, start time, duration) is hashed from that key — or, for a
// returning visitor, from the key of the visitor's first session, which is the first session
// of an earlier block — so the events query and the sessions query compute the same values
// without talking to each other.
//
// Start times increase with the block number: block b covers the quantiles [b/B, (b+1)/B) of
// the traffic curve (an inverse CDF table computed in Go, passed as an array), so chunks of
// event numbers are chunks of time and every INSERT touches one or two monthly partitions.

// blockBits is log2 of the block size.
const blockBits = 5

// blockSize is the number of event numbers per session block.
const blockSize = 1 << blockBits

// salts are the names of the UInt64 parameters that separate the hash streams.
var salts = []string{"s_blk", "s_blk2", "s_s1", "s_s2", "s_s3", "s_v1", "s_v2", "s_e1", "s_e2", "s_late", "s_sid", "s_uid"}

func p(name string) string { return "{" + name + ":UInt64}" }

// exprs are "expression AS alias" items in stages. Each stage becomes one level of nested
// SELECT *, … FROM (…) subqueries (see nest), and an item may use the aliases of earlier
// stages as plain columns. ClickHouse expands an alias into its expression wherever it is
// used, so a long chain of aliases in one SELECT makes the expression tree explode; but
// analysis also grows quickly with the nesting depth. A few stages, each with shallow alias
// chains, keep planning in the tens of milliseconds.
type exprs struct{ stages [][]item }

type item struct{ alias, expr string }

func (x *exprs) add(alias, format string, args ...any) {
	if len(x.stages) == 0 {
		x.stage()
	}
	l := len(x.stages) - 1
	x.stages[l] = append(x.stages[l], item{alias, fmt.Sprintf(format, args...)})
}

// stage starts a new stage.
func (x *exprs) stage() { x.stages = append(x.stages, nil) }

// nest renders the stages as nested SELECT *, … FROM (…) queries over from.
func (x exprs) nest(from string) string {
	q := from
	for i, st := range x.stages {
		if len(st) == 0 {
			continue
		}
		items := make([]string, len(st))
		for j, it := range st {
			items[j] = it.expr + " AS " + it.alias
		}
		if i > 0 {
			q = "(" + q + ")"
		}
		q = "SELECT *, " + strings.Join(items, ",\n    ") + "\nFROM " + q
	}
	return q
}

// vocabulary is what depends on Options: the tenants.
type vocabulary struct {
	campaigns, workspaces, projects []string
}

func newVocabulary(tenants int) vocabulary {
	// Two campaigns per workspace (at least six): a 10 M pageviews/week customer runs a
	// handful of campaigns, not dozens, and the narrow rollups' rows per hour scale with it.
	n := max(6, 2*tenants)
	var v vocabulary
	for c := range n {
		w := c % tenants
		v.campaigns = append(v.campaigns, fmt.Sprintf("cmp_%02d", c+1))
		v.workspaces = append(v.workspaces, fmt.Sprintf("ws_%02d", w+1))
		v.projects = append(v.projects, fmt.Sprintf("ws_%02d_%s", w+1, []string{"web", "app"}[(c/tenants)%2]))
	}
	return v
}

// blockExprs defines the block b (from expression bexpr) and its session mask.
func blockExprs(x *exprs, bexpr string) {
	x.add("g_b", "%s", bexpr)
	x.add("g_hb", "intHash64(bitXor(%s, %s))", bexpr, p("s_blk"))
	x.add("g_hb2", "intHash64(bitXor(%s, %s))", bexpr, p("s_blk2"))
	x.stage()
	x.add("g_lo", "bitAnd(g_hb, 4294967295)")
	x.add("g_hi", "bitShiftRight(g_hb, 32)")
	// Bit density ½ (short, bouncy visits), ¼ (typical) or ⅛ (engaged), chosen per block.
	x.add("g_mask", "bitOr(multiIf(bitAnd(g_hb2, 3) = 0, g_lo, bitAnd(g_hb2, 3) = 3, bitAnd(bitAnd(g_lo, g_hi), bitShiftRight(g_hb2, 32)), bitAnd(g_lo, g_hi)), 1)")
}

// sessionExprs defines everything about the session starting at position g_s0 of block g_b
// in four stages; extra[i], when set, adds the caller's items to stage i.
func sessionExprs(x *exprs, v vocabulary, extra [4]func()) {
	call := func(f func()) {
		if f != nil {
			f()
		}
	}
	// Stage 1: the session's extent in its block, its key and its hashes.
	x.stage()
	x.add("g_below", "bitAnd(g_mask, bitShiftLeft(toUInt64(2), g_s0) - 1)")
	x.add("g_above", "bitAnd(g_mask, bitNot(bitShiftLeft(toUInt64(2), g_s0) - 1))")
	x.add("g_next", "if(g_above = 0, %d, bitCount(bitAnd(g_above, bitNot(g_above) + 1) - 1))", blockSize)
	x.add("g_len", "toUInt32(least(g_next, %s - g_b * %d) - g_s0)", p("total"), blockSize)
	x.add("g_ord", "bitCount(g_below) - 1")
	x.add("g_sk", "g_b * %d + g_s0", blockSize)
	x.add("g_hs1", "intHash64(bitXor(g_sk, %s))", p("s_s1"))
	x.add("g_hs2", "intHash64(bitXor(g_sk, %s))", p("s_s2"))
	x.add("g_hs3", "intHash64(bitXor(g_sk, %s))", p("s_s3"))
	call(extra[0])

	// Stage 2: the start day, the raw duration, the visitor.
	x.stage()
	// The session's quantile of the range's traffic picks a position through the day table;
	// stage 3 reshapes the position inside the day along the daily curve.
	x.add("g_tq", "(g_b + %s) / %s * {dm:UInt32}", uniform("g_hs1", 0), p("blocks"))
	x.add("g_dp", "arrayElement({days:Array(UInt64)}, toUInt32(g_tq) + 1)")
	x.add("g_dsec", "toUInt32(bitAnd(g_dp, 4294967295) + (g_tq - floor(g_tq)) * (bitShiftRight(g_dp, 32) - bitAnd(g_dp, 4294967295)))")
	// Duration: 0 for one-event sessions; otherwise 8% under 3 s, 6% exactly 3 s, and a
	// log-uniform long tail from 4 s to hours, longer for longer sessions.
	x.add("g_d0", "toUInt32(multiIf(g_len = 1, 0, %[1]s < 20, %[2]s %% 3, %[1]s < 36, 3, least(toUInt32(4 + exp(%[3]s * 7.5) * sqrt(g_len)), 14400)))",
		bits("g_hs1", 20, 8), bits("g_hs1", 28, 8), uniform("g_hs1", 36))
	// Returning visitors: about a third of the sessions that are not first in their block
	// come back from the first session of an earlier block (up to the window, most often
	// recently); that session is the visitor's first, so the visitor key is its key.
	x.add("g_ret", "toUInt8(g_ord > 0 AND g_b > 0 AND %s < 90)", bits("g_hs2", 0, 8))
	x.add("g_vk", "if(g_ret = 1, toUInt64(g_b - 1 - least(toUInt64(pow(least(g_b, %[1]s), %[2]s)) - 1, least(g_b, %[1]s) - 1)) * %[3]d, g_sk)", p("window"), uniform("g_hs2", 8), blockSize)
	x.add("g_hv1", "intHash64(bitXor(g_vk, %s))", p("s_v1"))
	x.add("g_hv2", "intHash64(bitXor(g_vk, %s))", p("s_v2"))
	x.add("g_user", "hex(intHash64(bitXor(g_vk, %s)))", p("s_uid"))
	x.add("g_sid", "hex(intHash64(bitXor(g_sk, %s)))", p("s_sid"))
	// Session attributes: environment, source and utm, landing page, referral code.
	x.add("g_env", "if(%s < 4, 'staging', 'production')", bits("g_hs3", 0, 8))
	x.add("g_src", "%s + 1", zipf(len(sources), "g_hs2", 28))
	x.add("g_utm", "%s < 100 AND arrayElement(%s, g_src) != ''", bits("g_hs3", 8, 8), stringArray(sourceField(func(s source) string { return s.medium })))
	x.add("g_lp", "%s + 1", zipf(landingPages, "g_hs3", 36))
	x.add("g_ref", "if(%s < 13, concat('ref_', toString(%s + 1)), '')", bits("g_hs3", 56, 8), zipf(10, "g_hs2", 48))
	call(extra[1])

	// Stage 3: the start second, the visitor's tenant, place and device.
	x.stage()
	x.add("g_hq", "(g_dsec %% 86400) / 86400. * %d", hourTableSize)
	x.add("g_hp", "arrayElement({hours:Array(UInt64)}, toUInt32(g_hq) + 1)")
	x.add("g_soff", "least(intDiv(g_dsec, 86400) * 86400 + toUInt32(bitAnd(g_hp, 4294967295) + (g_hq - floor(g_hq)) * (bitShiftRight(g_hp, 32) - bitAnd(g_hp, 4294967295))), {span:UInt32} - 1)")
	x.add("g_camp", "%s + 1", zipf(len(v.campaigns), "g_hv1", 0))
	x.add("g_country", "%s + 1", zipf(len(countries), "g_hv1", 20))
	x.add("g_city", "%s * %d + %s + 1", zipf(len(countries), "g_hv1", 20), citiesPerCountry, zipf(citiesPerCountry, "g_hv1", 40))
	x.add("g_dev", "%s + 1", pickWeighted(deviceTypes, "g_hv2", 0))
	x.add("g_segment", "concat('seg_', toString(%s + 1))", zipf(12, "g_hv2", 44))
	call(extra[2])

	// Stage 4: the duration clipped to the range, the operating system and browser.
	x.stage()
	x.add("g_dur", "least(g_d0, toUInt32({span:UInt32} - 1 - g_soff))")
	osExpr := "multiIf("
	for i, oses := range osByDevice {
		if i < len(osByDevice)-1 {
			osExpr += fmt.Sprintf("g_dev = %d, %s, ", i+1, pickWeighted(oses, "g_hv2", 16))
		} else {
			osExpr += pickWeighted(oses, "g_hv2", 16) + ")"
		}
	}
	x.add("g_os", "arrayElement(%s, %s)", stringArray(osNames()), osIndex(osExpr))
	x.add("g_browser", "if(g_os IN ('iOS', 'iPadOS', 'macOS'), arrayElement(%s, %s + 1), arrayElement(%s, %s + 1))",
		stringArray(values(browsersApple)), pickWeighted(browsersApple, "g_hv2", 32),
		stringArray(values(browsersOther)), pickWeighted(browsersOther, "g_hv2", 32))
	call(extra[3])
}

// osNames lists every operating system once; osIndex maps a multiIf of per-device indexes
// into it.
func osNames() []string {
	var names []string
	for _, oses := range osByDevice {
		for _, o := range oses {
			names = append(names, o.value)
		}
	}
	return names
}

func osIndex(perDevice string) string {
	// Offsets of each device's list in osNames.
	var offs []int
	o := 0
	for _, oses := range osByDevice {
		offs = append(offs, o)
		o += len(oses)
	}
	return fmt.Sprintf("arrayElement(%s, g_dev) + %s + 1", intArray(offs), perDevice)
}

func sourceField(f func(source) string) []string {
	out := make([]string, len(sources))
	for i, s := range sources {
		out[i] = f(s)
	}
	return out
}

func cityNames() (cities, regions []string) {
	for _, c := range countries {
		for k := range citiesPerCountry {
			cities = append(cities, c.capital+citySuffixes[k])
			regions = append(regions, fmt.Sprintf("%s-%c", c.code, 'A'+k/2))
		}
	}
	return cities, regions
}

func countryField(f func(country) string) []string {
	out := make([]string, len(countries))
	for i, c := range countries {
		out[i] = f(c)
	}
	return out
}

// tenantColumns are the shared dimension columns of both tables, as outer SELECT items.
func commonColumns(v vocabulary) map[string]string {
	cities, _ := cityNames()
	return map[string]string{
		"workspace_id": fmt.Sprintf("arrayElement(%s, g_camp)", stringArray(v.workspaces)),
		"project_id":   fmt.Sprintf("arrayElement(%s, g_camp)", stringArray(v.projects)),
		"campaign_id":  fmt.Sprintf("arrayElement(%s, g_camp)", stringArray(v.campaigns)),
		"environment":  "g_env",
		"session_id":   "g_sid",
		"user_id":      "g_user",
		"device_type":  fmt.Sprintf("arrayElement(%s, g_dev)", stringArray(values(deviceTypes))),
		"device_os":    "g_os",
		"browser":      "g_browser",
		"country":      fmt.Sprintf("arrayElement(%s, g_country)", stringArray(countryField(func(c country) string { return c.code }))),
		"city":         fmt.Sprintf("arrayElement(%s, g_city)", stringArray(cities)),
		"utm_source":   fmt.Sprintf("if(g_utm, arrayElement(%s, g_src), '')", stringArray(sourceField(func(s source) string { return s.name }))),
		"utm_medium":   fmt.Sprintf("if(g_utm, arrayElement(%s, g_src), '')", stringArray(sourceField(func(s source) string { return s.medium }))),
		"utm_campaign": fmt.Sprintf("if(g_utm, arrayElement(%s, %s + 1), '')", stringArray(utmCampaigns), zipf(len(utmCampaigns), "g_hs3", 16)),
		"referrer":     fmt.Sprintf("arrayElement(%s, g_src)", stringArray(sourceField(func(s source) string { return s.referrer }))),
		"source":       fmt.Sprintf("arrayElement(%s, g_src)", stringArray(sourceField(func(s source) string { return s.name }))),
		"landing_page_id": fmt.Sprintf("arrayElement(%s, g_lp)", stringArray(func() []string {
			ids := make([]string, landingPages)
			for i := range ids {
				ids[i] = fmt.Sprintf("lp_%02d", i+1)
			}
			return ids
		}())),
	}
}

// EventColumns are the events columns the generator fills, in INSERT order (page_path and
// scroll_depth are MATERIALIZED from properties).
var EventColumns = []string{"timestamp", "workspace_id", "project_id", "campaign_id", "environment",
	"event_id", "event_type", "session_id", "user_id", "device_type", "device_os", "browser",
	"country", "city", "utm_source", "utm_medium", "utm_campaign", "referrer", "source",
	"landing_page_id", "value_usd", "time_on_page", "is_page_unload", "properties"}

// SessionColumns are the sessions columns the generator fills, in INSERT order.
var SessionColumns = []string{"session_start", "session_id", "user_id", "workspace_id", "project_id",
	"campaign_id", "environment", "device_type", "device_os", "browser", "is_mobile", "country",
	"city", "region", "continent", "language", "timezone", "utm_source", "utm_medium",
	"utm_campaign", "referrer", "source", "ref", "landing_page_id", "segment_id",
	"ab_test_variant_id", "is_returning", "duration", "event_count"}

func insertHead(table string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = ident.Quote(c)
	}
	return "INSERT INTO " + table + " (" + strings.Join(q, ", ") + ")\n"
}

// settings keep each INSERT's memory bounded and use every core (SETTINGS take no parameters;
// threads is an integer).
func settings(threads int) string {
	return fmt.Sprintf("\nSETTINGS max_threads = %d, max_insert_threads = %d, min_insert_block_size_rows = 1048576, max_block_size = 65536", threads, threads)
}

// eventsSQL inserts the events with numbers in [{lo}, {lo}+{cnt}) whose late flag equals
// {late:UInt8}: late events go in a last INSERT of their own.
func eventsSQL(table string, v vocabulary, threads int) string {
	kinds := make([]weighted, len(eventKinds))
	for i, k := range eventKinds {
		kinds[i] = weighted{k.id, k.weight}
	}
	var x exprs
	x.add("g_e", "number")
	x.add("g_j", "bitAnd(number, %d)", blockSize-1)
	x.add("g_he1", "intHash64(bitXor(number, %s))", p("s_e1"))
	x.add("g_he2", "intHash64(bitXor(number, %s))", p("s_e2"))
	blockExprs(&x, fmt.Sprintf("bitShiftRight(number, %d)", blockBits))
	x.stage()
	x.add("g_s0", "toUInt8(floor(log2(bitAnd(g_mask, bitShiftLeft(toUInt64(2), g_j) - 1))))")
	sessionExprs(&x, v, [4]func(){
		func() {
			x.add("g_pos", "toUInt32(g_j - g_s0)")
			x.add("g_kind", "if(g_pos = 0, 1, %s + 1)", pickWeighted(kinds, "g_he1", 0))
			x.add("g_last", "g_pos + 1 = g_len")
		},
		func() {
			x.add("g_type", "arrayElement(%s, g_kind)", stringArray(func() []string {
				var out []string
				for _, k := range eventKinds {
					out = append(out, k.typ)
				}
				return out
			}()))
			x.add("g_page", "if(g_pos = 0, g_lp, %s + 1)", zipf(len(pagePaths), "g_he1", 16))
		},
		nil,
		func() {
			// Event offsets within the session spread its duration over its events.
			x.add("g_off", "toUInt32(if(g_len <= 1, 0, intDiv(g_dur * g_pos, g_len - 1)))")
			x.add("g_offn", "toUInt32(if(g_len <= 1, 0, intDiv(g_dur * (g_pos + 1), g_len - 1)))")
		},
	})

	cols := commonColumns(v)
	cols["timestamp"] = "{start:DateTime} + (g_soff + g_off)"
	cols["event_id"] = fmt.Sprintf("arrayElement(%s, g_kind)", stringArray(func() []string {
		var out []string
		for _, k := range eventKinds {
			out = append(out, k.id)
		}
		return out
	}()))
	cols["event_type"] = "g_type"
	cols["value_usd"] = fmt.Sprintf("if(g_type = 'conversion', arrayElement([9.99, 19, 29, 49, 99, 199, 499, 1299], %s + 1), 0.)", zipf(8, "g_he1", 36))
	cols["time_on_page"] = fmt.Sprintf("if(g_last, toUInt32(%s), toUInt32(g_offn - g_off))", bits("g_he1", 56, 7))
	cols["is_page_unload"] = fmt.Sprintf("toUInt8(g_last AND g_len > 1 AND %s < 180)", bits("g_he2", 40, 8))
	cols["properties"] = fmt.Sprintf("concat('{\"page\":{\"path\":\"', arrayElement(%s, g_page), '\"},\"scroll\":{\"depth\":', toString(%s %% 101), '}}')", stringArray(pagePaths), bits("g_he2", 20, 16))

	return insertHead(table, EventColumns) + outerSelect(EventColumns, cols) +
		"FROM\n(\n" + x.nest("(SELECT number FROM numbers_mt({lo:UInt64}, {cnt:UInt64}) WHERE "+lateExpr("number")+" = {late:UInt8})") + "\n)" + settings(threads)
}

// sessionsSQL inserts one row per session starting in blocks [{lo}, {lo}+{cnt}).
func sessionsSQL(table string, v vocabulary, threads int) string {
	var blk exprs
	blockExprs(&blk, "number")
	var x exprs
	sessionExprs(&x, v, [4]func(){})

	cols := commonColumns(v)
	_, regions := cityNames()
	cols["session_start"] = "{start:DateTime} + g_soff"
	cols["is_mobile"] = "toUInt8(g_dev != 2)"
	cols["region"] = fmt.Sprintf("arrayElement(%s, g_city)", stringArray(regions))
	cols["continent"] = fmt.Sprintf("arrayElement(%s, g_country)", stringArray(countryField(func(c country) string { return c.continent })))
	cols["language"] = fmt.Sprintf("arrayElement(%s, g_country)", stringArray(countryField(func(c country) string { return c.language })))
	cols["timezone"] = fmt.Sprintf("arrayElement(%s, g_country)", stringArray(countryField(func(c country) string { return c.timezone })))
	cols["ref"] = "g_ref"
	cols["segment_id"] = "g_segment"
	cols["ab_test_variant_id"] = fmt.Sprintf("arrayElement(%s, %s + 1)", stringArray(values(abVariants)), pickWeighted(abVariants, "g_hs2", 40))
	cols["is_returning"] = "g_ret"
	cols["duration"] = "g_dur"
	cols["event_count"] = "g_len"

	// The block's session starts come from its mask; starts past the last event are dropped.
	blocks := "(" + blk.nest("numbers_mt({lo:UInt64}, {cnt:UInt64})") + ")\n" +
		fmt.Sprintf("ARRAY JOIN bitPositionsToArray(if(%[2]s - g_b * %[1]d >= %[1]d, g_mask, bitAnd(g_mask, bitShiftLeft(toUInt64(1), %[2]s - g_b * %[1]d) - 1))) AS g_s0", blockSize, p("total"))
	return insertHead(table, SessionColumns) + outerSelect(SessionColumns, cols) +
		"FROM\n(\n" + x.nest("(SELECT *, g_s0 FROM "+blocks+")") + "\n)" + settings(threads)
}

func outerSelect(order []string, cols map[string]string) string {
	items := make([]string, len(order))
	for i, c := range order {
		e, ok := cols[c]
		if !ok {
			panic("generate: no expression for column " + c)
		}
		items[i] = e
	}
	return "SELECT\n    " + strings.Join(items, ",\n    ") + "\n"
}

// lateExpr is 1 for the late events among event numbers e (LatePercent of them, by hash).
func lateExpr(e string) string {
	return fmt.Sprintf("toUInt8(intHash64(bitXor(%s, %s)) %% 1000000 < {late_ppm:UInt32})", e, p("s_late"))
}
