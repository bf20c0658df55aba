package generate

import (
	"fmt"
	"strings"

	"github.com/hourglass-dev/hourglass/ident"
)

// The vocabularies below are ordered by popularity: Zipf-like picks favour the first entries.
// They are small on purpose: the narrow rollups of the default project stay small only if
// dimensions such as campaign, environment and event type have few values.

// country is one country with the attributes the sessions table carries.
type country struct {
	code, continent, language, timezone, capital string
}

var countries = []country{
	{"US", "NA", "en-US", "America/New_York", "New York"},
	{"IN", "AS", "hi-IN", "Asia/Kolkata", "Mumbai"},
	{"GB", "EU", "en-GB", "Europe/London", "London"},
	{"DE", "EU", "de-DE", "Europe/Berlin", "Berlin"},
	{"BR", "SA", "pt-BR", "America/Sao_Paulo", "São Paulo"},
	{"FR", "EU", "fr-FR", "Europe/Paris", "Paris"},
	{"CA", "NA", "en-CA", "America/Toronto", "Toronto"},
	{"JP", "AS", "ja-JP", "Asia/Tokyo", "Tokyo"},
	{"ES", "EU", "es-ES", "Europe/Madrid", "Madrid"},
	{"IT", "EU", "it-IT", "Europe/Rome", "Milan"},
	{"MX", "NA", "es-MX", "America/Mexico_City", "Mexico City"},
	{"AU", "OC", "en-AU", "Australia/Sydney", "Sydney"},
	{"NL", "EU", "nl-NL", "Europe/Amsterdam", "Amsterdam"},
	{"ID", "AS", "id-ID", "Asia/Jakarta", "Jakarta"},
	{"PL", "EU", "pl-PL", "Europe/Warsaw", "Warsaw"},
	{"TR", "AS", "tr-TR", "Europe/Istanbul", "Istanbul"},
	{"KR", "AS", "ko-KR", "Asia/Seoul", "Seoul"},
	{"SE", "EU", "sv-SE", "Europe/Stockholm", "Stockholm"},
	{"CH", "EU", "de-CH", "Europe/Zurich", "Zurich"},
	{"AR", "SA", "es-AR", "America/Argentina/Buenos_Aires", "Buenos Aires"},
	{"CO", "SA", "es-CO", "America/Bogota", "Bogotá"},
	{"BE", "EU", "nl-BE", "Europe/Brussels", "Brussels"},
	{"PH", "AS", "en-PH", "Asia/Manila", "Manila"},
	{"VN", "AS", "vi-VN", "Asia/Ho_Chi_Minh", "Ho Chi Minh City"},
	{"ZA", "AF", "en-ZA", "Africa/Johannesburg", "Johannesburg"},
	{"NG", "AF", "en-NG", "Africa/Lagos", "Lagos"},
	{"EG", "AF", "ar-EG", "Africa/Cairo", "Cairo"},
	{"PK", "AS", "ur-PK", "Asia/Karachi", "Karachi"},
	{"TH", "AS", "th-TH", "Asia/Bangkok", "Bangkok"},
	{"MY", "AS", "ms-MY", "Asia/Kuala_Lumpur", "Kuala Lumpur"},
	{"SG", "AS", "en-SG", "Asia/Singapore", "Singapore"},
	{"IE", "EU", "en-IE", "Europe/Dublin", "Dublin"},
	{"AT", "EU", "de-AT", "Europe/Vienna", "Vienna"},
	{"DK", "EU", "da-DK", "Europe/Copenhagen", "Copenhagen"},
	{"NO", "EU", "nb-NO", "Europe/Oslo", "Oslo"},
	{"FI", "EU", "fi-FI", "Europe/Helsinki", "Helsinki"},
	{"PT", "EU", "pt-PT", "Europe/Lisbon", "Lisbon"},
	{"CZ", "EU", "cs-CZ", "Europe/Prague", "Prague"},
	{"RO", "EU", "ro-RO", "Europe/Bucharest", "Bucharest"},
	{"GR", "EU", "el-GR", "Europe/Athens", "Athens"},
	{"HU", "EU", "hu-HU", "Europe/Budapest", "Budapest"},
	{"IL", "AS", "he-IL", "Asia/Jerusalem", "Tel Aviv"},
	{"CL", "SA", "es-CL", "America/Santiago", "Santiago"},
	{"PE", "SA", "es-PE", "America/Lima", "Lima"},
	{"NZ", "OC", "en-NZ", "Pacific/Auckland", "Auckland"},
	{"UA", "EU", "uk-UA", "Europe/Kyiv", "Kyiv"},
	{"SA", "AS", "ar-SA", "Asia/Riyadh", "Riyadh"},
	{"AE", "AS", "ar-AE", "Asia/Dubai", "Dubai"},
	{"KE", "AF", "en-KE", "Africa/Nairobi", "Nairobi"},
	{"BD", "AS", "bn-BD", "Asia/Dhaka", "Dhaka"},
}

// citiesPerCountry is how many cities each country has (the first is the largest).
const citiesPerCountry = 6

var citySuffixes = []string{"", " North", " South", " East", " West", " Central"}

// source is a traffic source with its referrer and utm medium.
type source struct {
	name, referrer, medium string
}

var sources = []source{
	{"google", "https://www.google.com/", "cpc"},
	{"direct", "", ""},
	{"facebook", "https://www.facebook.com/", "social"},
	{"instagram", "https://www.instagram.com/", "social"},
	{"bing", "https://www.bing.com/", "cpc"},
	{"newsletter", "", "email"},
	{"linkedin", "https://www.linkedin.com/", "social"},
	{"twitter", "https://t.co/", "social"},
	{"youtube", "https://www.youtube.com/", "video"},
	{"reddit", "https://www.reddit.com/", "social"},
	{"duckduckgo", "https://duckduckgo.com/", "organic"},
	{"tiktok", "https://www.tiktok.com/", "social"},
	{"chatgpt", "https://chatgpt.com/", "referral"},
	{"yahoo", "https://search.yahoo.com/", "organic"},
	{"pinterest", "https://www.pinterest.com/", "social"},
	{"github", "https://github.com/", "referral"},
	{"hackernews", "https://news.ycombinator.com/", "referral"},
	{"producthunt", "https://www.producthunt.com/", "referral"},
	{"medium", "https://medium.com/", "referral"},
	{"perplexity", "https://www.perplexity.ai/", "referral"},
	{"ecosia", "https://www.ecosia.org/", "organic"},
	{"yandex", "https://yandex.com/", "organic"},
	{"baidu", "https://www.baidu.com/", "organic"},
	{"substack", "https://substack.com/", "referral"},
	{"quora", "https://www.quora.com/", "referral"},
	{"mailchimp", "", "email"},
	{"affiliate", "https://partners.example.com/", "affiliate"},
	{"podcast", "", "audio"},
	{"qr_code", "", "offline"},
	{"partner_portal", "https://portal.partner.example/", "partner"},
}

var utmCampaigns = []string{
	"spring_sale", "brand_search", "retargeting", "black_friday", "product_launch",
	"webinar_q2", "newsletter_weekly", "summer_promo", "free_trial", "competitor_kw",
	"holiday_gift", "back_to_school", "cyber_monday", "partner_co_marketing", "ebook_download",
	"case_study", "pricing_update", "feature_tour", "community_event", "year_in_review",
}

// pagePaths are the site's pages; the first ones double as landing pages.
var pagePaths = func() []string {
	p := []string{"/", "/pricing", "/features", "/blog", "/docs", "/signup", "/login",
		"/about", "/contact", "/customers", "/integrations", "/changelog", "/careers",
		"/security", "/enterprise", "/demo", "/docs/getting-started", "/docs/api",
		"/docs/sdk", "/docs/faq"}
	for i := 1; len(p) < 200; i++ {
		p = append(p, fmt.Sprintf("/blog/post-%03d", i))
	}
	return p
}()

// landingPages is how many of the first pagePaths are landing pages.
const landingPages = 50

// eventKind is an event type with one of its event ids.
type eventKind struct {
	typ, id string
	weight  int
}

// eventKinds after the first event of a session (which is always a page view). Weights sum
// to 100.
var eventKinds = []eventKind{
	{"pageview", "page_view", 62},
	{"click", "cta_hero", 8},
	{"click", "nav_pricing", 6},
	{"click", "cta_footer", 4},
	{"click", "outbound_link", 3},
	{"click", "video_play", 3},
	{"form_submit", "newsletter_form", 3},
	{"form_submit", "contact_form", 2},
	{"conversion", "purchase", 3},
	{"conversion", "trial_start", 3},
	{"conversion", "upgrade", 1},
	{"signup", "signup", 2},
}

var deviceTypes = []weighted{{"mobile", 55}, {"desktop", 40}, {"tablet", 5}}

// osByDevice lists operating systems per device type, in deviceTypes order.
var osByDevice = [][]weighted{
	{{"Android", 55}, {"iOS", 45}},
	{{"Windows", 65}, {"macOS", 28}, {"Linux", 7}},
	{{"iPadOS", 70}, {"Android", 30}},
}

// browsersApple and browsersOther are browser shares on Apple systems and on the others.
var (
	browsersApple = []weighted{{"Safari", 82}, {"Chrome", 15}, {"Firefox", 3}}
	browsersOther = []weighted{{"Chrome", 72}, {"Edge", 10}, {"Samsung Internet", 8}, {"Firefox", 6}, {"Opera", 4}}
)

var abVariants = []weighted{{"", 40}, {"control", 30}, {"A", 15}, {"B", 15}}

type weighted struct {
	value  string
	weight int
}

// stringArray renders a ClickHouse array literal of constant strings.
func stringArray(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = ident.String(v)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// intArray renders a ClickHouse array literal of small integers.
func intArray(vals []int) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// bits returns the expression of n bits of hash h starting at bit off.
func bits(h string, off, n int) string {
	if off == 0 {
		return fmt.Sprintf("bitAnd(%s, %d)", h, uint64(1)<<n-1)
	}
	return fmt.Sprintf("bitAnd(bitShiftRight(%s, %d), %d)", h, off, uint64(1)<<n-1)
}

// uniform returns a Float64 in [0, 1) from 20 bits of hash h starting at bit off.
func uniform(h string, off int) string {
	return fmt.Sprintf("(%s / 1048576.)", bits(h, off, 20))
}

// zipf returns a 0-based index in [0, n) with P(k) ∝ log((k+2)/(k+1)), a Zipf-like law
// (about 1/k), from 20 bits of hash h at off: floor((n+1)^u) - 1 for a uniform u.
func zipf(n int, h string, off int) string {
	return fmt.Sprintf("least(toUInt32(pow(%d, %s)) - 1, %d)", n+1, uniform(h, off), n-1)
}

// pickWeighted returns a 0-based index into ws, drawn by weight from 16 bits of hash h at off,
// as a multiIf over cumulative thresholds.
func pickWeighted(ws []weighted, h string, off int) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	r := fmt.Sprintf("%s %% %d", bits(h, off, 16), total)
	var b strings.Builder
	b.WriteString("multiIf(")
	cum := 0
	for i, w := range ws[:len(ws)-1] {
		cum += w.weight
		fmt.Fprintf(&b, "%s < %d, %d, ", r, cum, i)
	}
	fmt.Fprintf(&b, "%d)", len(ws)-1)
	return b.String()
}

func values(ws []weighted) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.value
	}
	return out
}
