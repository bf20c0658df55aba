package validate

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/hourglass-dev/hourglass/timerange"
)

// JUnit test report types: the subset of the format CI systems read.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fail    int          `xml:"failures,attr"`
	Time    string       `xml:"time,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Fail       int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes reports as a JUnit XML document: one test suite per rollup and one test
// case per metric. A metric with mismatches fails, its failure message counting them and its
// text listing the reported mismatch lines (bucket, dimension values, raw, rollup, difference,
// relative error).
func WriteJUnit(w io.Writer, reports ...*Report) error {
	doc := junitSuites{Name: "hourglass validate"}
	var total time.Duration
	for _, r := range reports {
		s := junitSuite{
			Name:      "validate " + r.Rollup,
			Time:      seconds(r.Elapsed),
			Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05"),
			Properties: []junitProperty{
				{Name: "rollup", Value: r.Rollup},
				{Name: "range", Value: r.Range.String()},
				{Name: "by", Value: r.By},
				{Name: "dimensions", Value: strings.Join(r.Dimensions, ",")},
				{Name: "buckets", Value: fmt.Sprint(r.Buckets)},
				{Name: "rows", Value: fmt.Sprint(r.Rows)},
			},
			SystemOut: r.Summary() + "\n" + r.Note,
		}
		lines := map[string][]string{}
		for _, m := range r.Mismatches {
			lines[m.Metric] = append(lines[m.Metric], m.Line())
		}
		for _, metric := range r.Metrics {
			c := junitCase{Name: metric, ClassName: "hourglass.validate." + r.Rollup, Time: seconds(r.Elapsed / time.Duration(max(len(r.Metrics), 1)))}
			if n := r.MismatchesByMetric[metric]; n > 0 {
				text := strings.Join(lines[metric], "\n")
				if shown := len(lines[metric]); shown < n {
					text += fmt.Sprintf("\n… and %d more (raise --max-mismatches to list them)", n-shown)
				}
				c.Failure = &junitFailure{
					Type:    "mismatch",
					Message: fmt.Sprintf("%s.%s: %d of %d values differ between raw and rollup over %s", r.Rollup, metric, n, r.Rows, r.Range),
					Text:    text,
				}
				s.Fail++
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Fail += s.Fail
		total += r.Elapsed
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// Line renders a mismatch on one line, e.g.
// "2026-11-02 10:00:00 campaign_id=c1 event_count: raw 12, rollup 11, difference -1, relative error 0.0833".
func (m Mismatch) Line() string {
	var b strings.Builder
	if !m.Bucket.IsZero() {
		b.WriteString(timerange.Format(m.Bucket))
	}
	keys := make([]string, 0, len(m.Dimensions))
	for k := range m.Dimensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", k, m.Dimensions[k])
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	ref, cand := "raw", "rollup"
	if m.Reference != "" {
		ref, cand = m.Reference, "served"
	}
	fmt.Fprintf(&b, "%s: ", m.Metric)
	switch m.Kind {
	case KindMissingInRollup:
		fmt.Fprintf(&b, "%s %s, %s has no row (coverage gap)", ref, FormatValue(m.Raw), cand)
	case KindMissingInRaw:
		fmt.Fprintf(&b, "%s has no row, %s %s", ref, cand, FormatValue(m.Rollup))
	default:
		fmt.Fprintf(&b, "%s %s, %s %s, difference %s, relative error %.3g", ref, FormatValue(m.Raw), cand, FormatValue(m.Rollup), formatFloat(m.Difference), m.RelativeError)
	}
	if m.Tolerance > 0 {
		fmt.Fprintf(&b, " (tolerance %g)", m.Tolerance)
	}
	return b.String()
}
