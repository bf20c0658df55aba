package datasources

import (
	"slices"

	"github.com/hourglass-dev/hourglass/ident"
	"gopkg.in/yaml.v3"
)

// Token is a read-only secret that lets HTTP clients call some endpoints (`hourglass serve`,
// and TOKEN lines in Tinybird pipes). The secret itself never lives in the project: it is read
// from the environment variable Env when the daemon starts.
type Token struct {
	// Name identifies the token (logs, Tinybird's TOKEN lines).
	Name string
	// Env is the environment variable holding the secret.
	Env string
	// Endpoints are the endpoints the token may read; "*" stands for every endpoint.
	Endpoints []string
	Pos       Pos
}

// CodeToken is the diagnostic of a bad token definition.
const CodeToken = "HG160"

var tokenKeys = []string{"name", "env", "endpoints"}

// ReadsEndpoint reports whether the token may read the endpoint.
func (t *Token) ReadsEndpoint(name string) bool {
	return slices.Contains(t.Endpoints, name) || slices.Contains(t.Endpoints, "*")
}

// EndpointTokens returns the tokens that may read the endpoint.
func (p *Project) EndpointTokens(name string) []*Token {
	var out []*Token
	for _, t := range p.Tokens {
		if t.ReadsEndpoint(name) {
			out = append(out, t)
		}
	}
	return out
}

func (l *loader) parseTokens(n *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		l.errf(n, CodeToken, "tokens must be a list (`- {name: dashboard, env: HOURGLASS_TOKEN_DASHBOARD, endpoints: [sum_primitives]}`), got %s", kindName(n))
		return
	}
	seen := map[string]Pos{}
	for _, item := range n.Content {
		m := l.mapping(item, "token", tokenKeys)
		if m == nil {
			continue
		}
		t := &Token{Pos: l.at(m.node)}
		l.mark(t, m)
		t.Name = l.name(m, "token")
		if prev, dup := seen[t.Name]; dup && t.Name != "" {
			l.errAt(t.Pos, CodeToken, "token %q is declared twice (first at %s): rename one", t.Name, prev)
		}
		seen[t.Name] = t.Pos
		env, ok := l.str(m, "env")
		switch {
		case !ok || env == "":
			l.errAt(t.Pos, CodeToken, "token %q needs env: the environment variable holding its secret (e.g. env: HOURGLASS_TOKEN_%s); secrets never live in the project", t.Name, upper(t.Name))
		case ident.Check(env) != nil:
			l.errf(deref(m.vals["env"]), CodeToken, "token %q: env %q is not an environment variable name: use letters, digits and underscores", t.Name, env)
		}
		t.Env = env
		var pos []Pos
		t.Endpoints, pos = l.strList(m, "endpoints")
		if len(t.Endpoints) == 0 {
			l.errAt(t.Pos, CodeToken, "token %q reads no endpoint: list them under endpoints (or [\"*\"] for all)", t.Name)
		}
		for i, e := range t.Endpoints {
			if i < len(pos) {
				l.fields[t]["endpoints."+e] = pos[i]
			}
		}
		l.p.Tokens = append(l.p.Tokens, t)
	}
}

// validateTokens checks that every endpoint a token names exists.
func (l *loader) validateTokens() {
	for _, t := range l.p.Tokens {
		for _, e := range t.Endpoints {
			if e != "*" && l.p.Endpoint(e) == nil {
				l.errAt(l.posOf(t, "endpoints."+e, t.Pos), CodeToken, "token %q reads endpoint %q, which is not declared", t.Name, e)
			}
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
