package callerid_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../configs/callerid-pools.yaml")
	require.NoError(t, err)
	defer f.Close()
	pools, err := callerid.DecodePools(f)
	require.NoError(t, err)
	var names []string
	for _, p := range pools {
		names = append(names, p.Name)
	}
	// main and rotation are the pools the example cadences name.
	require.Equal(t, []string{"sales-national", "follow-up", "account-managers", "main-line", "main", "rotation"}, names)
	p := pools[0]
	require.Equal(t, "sales-national", p.Name)
	require.Equal(t, callerid.LocalPresence, p.Strategy)
	require.Equal(t, callerid.Caps{DailyCap: 100, PerMinute: 1, PerHour: 5, Cooldown: 30 * time.Second}, p.Caps)
	require.Equal(t, 60, p.Numbers[5].DailyCap)
	require.Equal(t, "TX", p.Numbers[7].State)
	_, err = callerid.New(callerid.NewMemoryCounters(), pools, nil, callerid.Options{})
	require.NoError(t, err)
}

func TestDecodePoolsErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, yaml, err string
	}{
		{"unknown key", "pools:\n  - name: p\n    colour: red\n    numbers: [{e164: '+12125550101'}]\n", "field colour not found"},
		{"unknown number key", "pools:\n  - name: p\n    numbers: [{e164: '+12125550101', daily: 3}]\n", "field daily not found"},
		{"empty", "", "empty document"},
		{"no name", "pools:\n  - numbers: [{e164: '+12125550101'}]\n", "pools[0].name: required"},
		{"duplicate pool", "pools:\n  - name: p\n    numbers: [{e164: '+12125550101'}]\n  - name: p\n    numbers: [{e164: '+12125550101'}]\n", "pools[1].name: duplicate"},
		{"bad strategy", "pools:\n  - name: p\n    strategy: roundrobin\n    numbers: [{e164: '+12125550101'}]\n", "pools[0].strategy"},
		{"no numbers", "pools:\n  - name: p\n", "pools[0].numbers"},
		{"bad e164", "pools:\n  - name: p\n    numbers: [{e164: '+12125550101'}, {e164: '2125550101'}]\n", "pools[0].numbers[1].e164"},
		{"duplicate number", "pools:\n  - name: p\n    numbers: [{e164: '+12125550101'}, {e164: '+12125550101'}]\n", "pools[0].numbers[1].e164: +12125550101 is listed twice"},
		{"bad state", "pools:\n  - name: p\n    numbers: [{e164: '+12125550101', state: XX}]\n", "pools[0].numbers[0].state"},
		{"negative cap", "pools:\n  - name: p\n    per_hour: -1\n    numbers: [{e164: '+12125550101'}]\n", "pools[0].per_hour"},
		{"negative number cap", "pools:\n  - name: p\n    numbers: [{e164: '+12125550101', daily_cap: -2}]\n", "pools[0].numbers[0].daily_cap"},
		{"bad cooldown", "pools:\n  - name: p\n    cooldown: soon\n    numbers: [{e164: '+12125550101'}]\n", "line 3: cannot unmarshal !!str `soon` into time.Duration"},
		{"bad zone", "pools:\n  - name: p\n    time_zone: Mars/Olympus\n    numbers: [{e164: '+12125550101'}]\n", "pools[0].time_zone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := callerid.DecodePools(strings.NewReader(c.yaml))
			require.ErrorContains(t, err, c.err)
		})
	}
}

func FuzzDecodePools(f *testing.F) {
	seed, err := os.ReadFile("../../configs/callerid-pools.yaml")
	require.NoError(f, err)
	f.Add(string(seed))
	f.Add("pools:\n  - name: p\n    numbers: [{e164: '+12125550101'}]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		pools, err := callerid.DecodePools(strings.NewReader(doc))
		if err != nil {
			return
		}
		// Whatever decodes and validates must build a Service.
		if _, err := callerid.New(callerid.NewMemoryCounters(), pools, nil, callerid.Options{}); err != nil {
			t.Fatalf("valid pools rejected by New: %v", err)
		}
	})
}
