package callerid_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/dialer/callerid/internal/npadata"
)

func TestAreaCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, npa, state string
		ok             bool
	}{
		{"+12125550101", "212", "NY", true},
		{"+13055550103", "305", "FL", true},
		{"+19075550100", "907", "AK", true},
		{"+17875550100", "787", "PR", true},
		{"+18005550100", "800", "", true}, // toll free: no state
		{"+14165550100", "416", "", true}, // Toronto: NANP but not US
		{"+442071234567", "", "", false},
		{"+1212555010", "", "", false},
		{"+11125550101", "", "", false},
		{"+1212555010x", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		npa, ok := callerid.AreaCode(c.in)
		require.Equal(t, c.ok, ok, c.in)
		require.Equal(t, c.npa, npa, c.in)
		require.Equal(t, c.state, callerid.StateOf(c.in), c.in)
	}
}

// TestNPATableMatchesLibphonenumber checks the generated table against the
// data it was generated from: rerun `go generate` when this fails.
func TestNPATableMatchesLibphonenumber(t *testing.T) {
	t.Parallel()
	want, err := npadata.States()
	require.NoError(t, err)
	require.Greater(t, len(want), 350)
	for npa, st := range want {
		require.Equal(t, st, callerid.StateOfAreaCode(npa), "area code %s", npa)
	}
	for npa := 200; npa <= 999; npa++ {
		code := string(rune('0'+npa/100)) + string(rune('0'+npa/10%10)) + string(rune('0'+npa%10))
		if st := callerid.StateOfAreaCode(code); st != "" {
			require.Equal(t, want[code], st, "area code %s not in libphonenumber", code)
		}
	}
	// Every state and DC has area codes.
	states := map[string]bool{}
	for _, st := range want {
		states[st] = true
	}
	for _, st := range []string{"AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY"} {
		require.True(t, states[st], st)
	}
}

func FuzzAreaCode(f *testing.F) {
	for _, s := range []string{"+12125550101", "+1", "+442071234567", "+1212555010\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		npa, ok := callerid.AreaCode(s)
		if ok && (len(npa) != 3 || npa[0] < '2' || npa[0] > '9') {
			t.Fatalf("AreaCode(%q) = %q", s, npa)
		}
	})
}
