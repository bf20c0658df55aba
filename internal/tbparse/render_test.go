package tbparse

import "testing"

func TestRender(t *testing.T) {
	sql := `%
SELECT 1 FROM t WHERE h >= {{DateTime(date_from, '2026-01-01 00:00:00')}}
    AND h < {{ DateTime(date_to, required=True) }}
    {% if defined(site) %}AND site = {{String(site)}}{% end %}
    {% if not defined(site) %}AND all_sites{% else %}AND one_site{% end %}
LIMIT {{Int32(limit, 10)}}`
	got, err := Render(sql, map[string]string{"date_to": "2026-02-01 00:00:00", "site": "it's"})
	if err != nil {
		t.Fatal(err)
	}
	want := `
SELECT 1 FROM t WHERE h >= '2026-01-01 00:00:00'
    AND h < '2026-02-01 00:00:00'
    AND site = 'it\'s'
    AND one_site
LIMIT 10`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []string{"{{DateTime(date_to, required=True)}}", "{{columns(x)}}", "{% for x in y %}{% end %}", "{% if defined(a) %}", "{{Int32(n, 'x')}}"} {
		if _, err := Render(bad, map[string]string{}); err == nil {
			t.Errorf("%s rendered", bad)
		}
	}
}
