package chtype

import "testing"

func TestParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"String", "Nullable(String)", "LowCardinality(Nullable(String))", "DateTime64(3, 'UTC')",
		"DateTime", "Map(String, UInt64)", "Array(LowCardinality(String))", "Decimal(18, 4)",
		"AggregateFunction(uniq, String)", "SimpleAggregateFunction(sum, UInt64)",
		"Enum8('a' = 1, 'b' = 2)", "Tuple(UInt8, String)", "FixedString(16)",
	} {
		ty, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := ty.String(); got != s {
			t.Errorf("Parse(%q).String() = %q", s, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "Strin", "Nullable(String", "String)", "Nullable(1)", "Map(String)", "String; DROP TABLE x", "Nullable(String, String)"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q): want error", s)
		}
	}
}

func TestPredicates(t *testing.T) {
	cases := []struct {
		s                                 string
		integer, float, dt, str, nullable bool
	}{
		{"UInt64", true, false, false, false, false},
		{"Nullable(Int32)", true, false, false, false, true},
		{"Float64", false, true, false, false, false},
		{"DateTime64(6, 'UTC')", false, false, true, false, false},
		{"LowCardinality(Nullable(String))", false, false, false, true, true},
		{"Bool", true, false, false, false, false},
	}
	for _, c := range cases {
		ty := MustParse(c.s)
		if ty.IsInteger() != c.integer || ty.IsFloat() != c.float || ty.IsDateTime() != c.dt || ty.IsString() != c.str || ty.IsNullable() != c.nullable {
			t.Errorf("%s: integer=%v float=%v dt=%v str=%v nullable=%v", c.s, ty.IsInteger(), ty.IsFloat(), ty.IsDateTime(), ty.IsString(), ty.IsNullable())
		}
	}
	if got := MustParse("LowCardinality(Nullable(String))").NotNull().String(); got != "LowCardinality(String)" {
		t.Errorf("NotNull = %s", got)
	}
}

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v            string
		major, minor int
		want         bool
	}{
		{"26.5.1.1", 20, 1, true}, {"18.16.1", 20, 1, false}, {"20.1", 20, 1, true}, {"20.0.9", 20, 1, false},
		{"19.8.3", 19, 8, true}, {"", 1, 0, false}, {"x.y", 1, 0, false}, {"26", 1, 0, false},
	} {
		if got := VersionAtLeast(c.v, c.major, c.minor); got != c.want {
			t.Errorf("VersionAtLeast(%q, %d, %d) = %v, want %v", c.v, c.major, c.minor, got, c.want)
		}
	}
}
