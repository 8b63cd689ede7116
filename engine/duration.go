package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes as a string in JSON:
// "4h", "90m", "1h30m", "3d" (days of 24 h) or "0s". Export writes the
// canonical form (largest units first, zero parts left out), so that
// export → import → export is byte-identical.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String writes the canonical form.
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
		v = -v
	}
	units := []struct {
		suffix string
		size   time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	for _, u := range units {
		if n := v / u.size; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.suffix)
			v -= n * u.size
		}
	}
	if v > 0 { // sub-millisecond remainder: keep it exact
		b.WriteString(v.String())
	}
	return b.String()
}

// ParseDuration reads the forms Duration accepts: Go durations plus a "d"
// (24 h) unit, e.g. "3d", "1d12h", "4h", "30m".
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("invalid duration \"\": want e.g. \"4h\", \"30m\", \"3d\" or \"0s\"")
	}
	neg := false
	rest := s
	if rest[0] == '-' {
		neg = true
		rest = rest[1:]
		if rest == "" {
			return 0, fmt.Errorf("invalid duration %q: want e.g. \"4h\", \"30m\", \"3d\"", s)
		}
	}
	var days int64
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. \"4h\", \"30m\", \"3d\"", s)
		}
		days = n
		rest = rest[i+1:]
	}
	var v time.Duration
	if rest != "" {
		p, err := time.ParseDuration(rest)
		if err != nil || p < 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. \"4h\", \"30m\", \"3d\"", s)
		}
		v = p
	}
	// Days and the rest must not overflow together (100000d alone fits).
	if time.Duration(days) > (time.Duration(math.MaxInt64)-v)/(24*time.Hour) {
		return 0, fmt.Errorf("invalid duration %q: too long", s)
	}
	v += time.Duration(days) * 24 * time.Hour
	if neg {
		v = -v
	}
	return Duration(v), nil
}

// MarshalJSON writes the canonical string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a duration string; a bare number is refused so that a
// unit is never guessed.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"4h\" or \"3d\"")
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
