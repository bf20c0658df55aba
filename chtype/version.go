package chtype

import (
	"strconv"
	"strings"
)

// ParseVersion reads major and minor from a ClickHouse version ("26.5.1.1", "18.16.1", a
// release such as "19.8"); ok is false when it cannot.
func ParseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return ma, mi, true
}

// VersionAtLeast reports whether ClickHouse version v is at least major.minor; a version that
// cannot be read is not.
func VersionAtLeast(v string, major, minor int) bool {
	ma, mi, ok := ParseVersion(v)
	return ok && (ma > major || ma == major && mi >= minor)
}
