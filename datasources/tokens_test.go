package datasources

import (
	"strings"
	"testing"
)

const tokenProject = `name: shop
datasources:
  - name: events
    order_by: [timestamp]
    columns: [{name: timestamp, type: DateTime}, {name: campaign_id, type: String}]
rollups:
  - name: events_hourly
    source: events
    dimensions: [campaign_id]
    metrics: [{name: event_count, kind: count}]
endpoints:
  - {name: totals, rollup: events_hourly, metrics: [event_count]}
  - {name: by_campaign, rollup: events_hourly, metrics: [event_count], group_by: [campaign_id]}
`

func TestTokens(t *testing.T) {
	p := mustLoad(t, map[string]string{"hourglass.yaml": tokenProject + `tokens:
  - {name: dashboard, env: HOURGLASS_TOKEN_DASHBOARD, endpoints: [totals]}
  - {name: admin, env: ADMIN_TOKEN, endpoints: ["*"]}
`})
	if len(p.Tokens) != 2 || p.Tokens[0].Env != "HOURGLASS_TOKEN_DASHBOARD" {
		t.Fatalf("tokens: %+v", p.Tokens)
	}
	if got := p.EndpointTokens("totals"); len(got) != 2 {
		t.Errorf("totals is read by %d tokens, want dashboard and admin", len(got))
	}
	if got := p.EndpointTokens("by_campaign"); len(got) != 1 || got[0].Name != "admin" {
		t.Errorf("by_campaign is read by %v, want admin only", got)
	}
}

func TestBadTokens(t *testing.T) {
	for _, c := range []struct{ tokens, want string }{
		{"tokens:\n  - {name: dashboard, endpoints: [totals]}\n", "hourglass.yaml:15:5: token \"dashboard\" needs env"},
		{"tokens:\n  - {name: dashboard, env: 'my-token', endpoints: [totals]}\n", "hourglass.yaml:15:28: token \"dashboard\": env \"my-token\" is not an environment variable name"},
		{"tokens:\n  - {name: dashboard, env: T, endpoints: [totalz]}\n", "hourglass.yaml:15:43: token \"dashboard\" reads endpoint \"totalz\", which is not declared"},
		{"tokens:\n  - {name: dashboard, env: T}\n", "reads no endpoint"},
		{"tokens:\n  - {name: d, env: T, endpoints: [totals]}\n  - {name: d, env: U, endpoints: [totals]}\n", "token \"d\" is declared twice"},
		{"tokens: {name: d}\n", "tokens must be a list"},
	} {
		_, err := Load(mapFS(map[string]string{"hourglass.yaml": tokenProject + c.tokens}))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.tokens, err, c.want)
		}
	}
}
