package enginetest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/hourglass-dev/hourglass/engine"
)

var httpPortTag = regexp.MustCompile(`<http_port>(\d+)</http_port>`)

// HTTPDSN is the server's DSN naming its HTTP port too (read from the config the server was
// started with), which engine.Engine's QueryFormat and InsertFormat use.
func (s *Server) HTTPDSN() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "config.xml"))
	if err != nil {
		return "", err
	}
	m := httpPortTag.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no <http_port> in %s", filepath.Join(s.dir, "config.xml"))
	}
	return fmt.Sprintf("%s?%s=%s", s.DSN, engine.HTTPPortParam, m[1]), nil
}
