package datasources

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// wantRe matches the expectations at the top of a testdata/bad file:
//
//	# want: LINE CODE message substring
var wantRe = regexp.MustCompile(`(?m)^# want: (\d+) (HG\d+) (.+)$`)

type want struct {
	line int
	code string
	msg  string
}

// TestBadCorpus loads each testdata/bad/*.yaml file as the hourglass.yaml of a project and
// checks that Load reports exactly the expected diagnostics: line, code and message.
func TestBadCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []want
			for _, m := range wantRe.FindAllStringSubmatch(string(b), -1) {
				line, _ := strconv.Atoi(m[1])
				wants = append(wants, want{line, m[2], m[3]})
			}
			if len(wants) == 0 {
				t.Fatal("no `# want:` line")
			}
			_, err = Load(fstest.MapFS{ProjectFile: {Data: b}})
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load error = %v (%T), want *Errors", err, err)
			}
			got := *errs
			for _, w := range wants {
				found := false
				for _, d := range got {
					if d.Pos.File == ProjectFile && d.Pos.Line == w.line && d.Code == w.code && strings.Contains(d.Message, w.msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing %s:%d %s %q in\n%s", ProjectFile, w.line, w.code, w.msg, errs.Error())
				}
			}
			if len(got) != len(wants) {
				t.Errorf("got %d diagnostics, want %d:\n%s", len(got), len(wants), errs.Error())
			}
		})
	}
}
