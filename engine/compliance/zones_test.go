package compliance

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

func zoneNames(zs []*time.Location) []string {
	var out []string
	for _, z := range zs {
		out = append(out, z.String())
	}
	slices.Sort(out)
	return out
}

func mustLocator(t testing.TB) *Locator {
	t.Helper()
	l, err := DefaultLocator()
	require.NoError(t, err)
	return l
}

func TestLocate(t *testing.T) {
	t.Parallel()
	l := mustLocator(t)
	cases := []struct {
		name        string
		in          ContactLocation
		zones       []string
		zoneSource  string
		states      []string
		stateSource string
		err         string
		note        string
	}{
		{name: "time zone field wins over ZIP and phone",
			in:    ContactLocation{Phone: "+12125550100", TimeZone: "America/Denver", ZIP: "90210"},
			zones: []string{"America/Denver"}, zoneSource: SourceTimeZone, states: []string{"CA"}, stateSource: SourceZIP},
		{name: "bad time zone field is an error naming the field",
			in: ContactLocation{TimeZone: "Mars/Olympus"}, err: "time_zone"},
		{name: "Local is refused", in: ContactLocation{TimeZone: "Local"}, err: "time_zone"},
		{name: "ZIP Pensacola is Central", in: ContactLocation{ZIP: "32501"},
			zones: []string{"America/Chicago"}, zoneSource: SourceZIP, states: []string{"FL"}, stateSource: SourceZIP},
		{name: "ZIP Tallahassee is Eastern", in: ContactLocation{ZIP: "32301"},
			zones: []string{"America/New_York"}, zoneSource: SourceZIP, states: []string{"FL"}, stateSource: SourceZIP},
		{name: "ZIP Panama City spans two zones", in: ContactLocation{ZIP: "32401-1234"},
			zones: []string{"America/Chicago", "America/New_York"}, zoneSource: SourceZIP, states: []string{"FL"}, stateSource: SourceZIP},
		{name: "ZIP wins over area code", in: ContactLocation{Phone: "+12125550100", ZIP: "85001"},
			zones: []string{"America/Phoenix"}, zoneSource: SourceZIP, states: []string{"AZ"}, stateSource: SourceZIP},
		{name: "5-digit exception: American Samoa in 967", in: ContactLocation{ZIP: "96799"},
			zones: []string{"Pacific/Pago_Pago"}, zoneSource: SourceZIP, states: []string{"AS"}, stateSource: SourceZIP},
		{name: "ZIP3 967 otherwise Hawaii", in: ContactLocation{ZIP: "96701"},
			zones: []string{"Pacific/Honolulu"}, zoneSource: SourceZIP, states: []string{"HI"}, stateSource: SourceZIP},
		{name: "5-digit exception: West Wendover NV", in: ContactLocation{ZIP: "89883"},
			zones: []string{"America/Denver"}, zoneSource: SourceZIP, states: []string{"NV"}, stateSource: SourceZIP},
		{name: "5-digit range: Adak", in: ContactLocation{ZIP: "99546"},
			zones: []string{"America/Adak"}, zoneSource: SourceZIP, states: []string{"AK"}, stateSource: SourceZIP},
		{name: "El Paso ZIP", in: ContactLocation{ZIP: "79901"},
			zones: []string{"America/Denver"}, zoneSource: SourceZIP, states: []string{"TX"}, stateSource: SourceZIP},
		{name: "state field wins over ZIP state", in: ContactLocation{ZIP: "21201", State: "fl"},
			zones: []string{"America/New_York"}, zoneSource: SourceZIP, states: []string{"FL"}, stateSource: SourceState},
		{name: "military ZIP unknown: falls back to area code", in: ContactLocation{ZIP: "09001", Phone: "+14155550100"},
			zones: []string{"America/Los_Angeles"}, zoneSource: SourceAreaCode, states: []string{"CA"}, stateSource: SourceAreaCode,
			note: "zip"},
		{name: "malformed ZIP noted", in: ContactLocation{ZIP: "ABCDE", Phone: "+14155550100"},
			zones: []string{"America/Los_Angeles"}, zoneSource: SourceAreaCode, states: []string{"CA"}, stateSource: SourceAreaCode,
			note: "zip \"ABCDE\""},
		{name: "850 Florida panhandle: both zones", in: ContactLocation{Phone: "+18505550100"},
			zones: []string{"America/Chicago", "America/New_York"}, zoneSource: SourceAreaCode, states: []string{"FL"}, stateSource: SourceAreaCode},
		{name: "448 overlay of 850: both zones (manual row)", in: ContactLocation{Phone: "+14485550100"},
			zones: []string{"America/Chicago", "America/New_York"}, zoneSource: SourceAreaCode, states: []string{"FL"}, stateSource: SourceAreaCode},
		{name: "208 Idaho: Mountain and Pacific", in: ContactLocation{Phone: "(208) 555-0100"},
			zones: []string{"America/Boise", "America/Denver", "America/Los_Angeles"}, zoneSource: SourceAreaCode, states: []string{"ID"}, stateSource: SourceAreaCode},
		{name: "915 El Paso is Mountain", in: ContactLocation{Phone: "+19155550100"},
			zones: []string{"America/Denver"}, zoneSource: SourceAreaCode, states: []string{"TX"}, stateSource: SourceAreaCode},
		{name: "605 South Dakota", in: ContactLocation{Phone: "+16055550100"},
			zones: []string{"America/Chicago", "America/Denver", "America/North_Dakota/Center"}, zoneSource: SourceAreaCode, states: []string{"SD"}, stateSource: SourceAreaCode},
		{name: "270 western Kentucky", in: ContactLocation{Phone: "+12705550100"},
			zones: []string{"America/Chicago", "America/New_York"}, zoneSource: SourceAreaCode, states: []string{"KY"}, stateSource: SourceAreaCode},
		{name: "541 Oregon", in: ContactLocation{Phone: "+15415550100"},
			zones: []string{"America/Denver", "America/Los_Angeles"}, zoneSource: SourceAreaCode, states: []string{"OR"}, stateSource: SourceAreaCode},
		{name: "906 Upper Peninsula", in: ContactLocation{Phone: "+19065550100"},
			zones: []string{"America/Chicago", "America/New_York"}, zoneSource: SourceAreaCode, states: []string{"MI"}, stateSource: SourceAreaCode},
		{name: "Arizona 602", in: ContactLocation{Phone: "+16025550100"},
			zones: []string{"America/Phoenix"}, zoneSource: SourceAreaCode, states: []string{"AZ"}, stateSource: SourceAreaCode},
		{name: "Hawaii 808", in: ContactLocation{Phone: "+18085550100"},
			zones: []string{"Pacific/Honolulu"}, zoneSource: SourceAreaCode, states: []string{"HI"}, stateSource: SourceAreaCode},
		{name: "Puerto Rico 787", in: ContactLocation{Phone: "+17875550100"},
			zones: []string{"America/Puerto_Rico"}, zoneSource: SourceAreaCode, states: []string{"PR"}, stateSource: SourceAreaCode},
		{name: "Maryland 410 with state field empty", in: ContactLocation{Phone: "+14105550100"},
			zones: []string{"America/New_York"}, zoneSource: SourceAreaCode, states: []string{"MD"}, stateSource: SourceAreaCode},
		{name: "Canadian number: phone data zones, no state", in: ContactLocation{Phone: "+14165550100"},
			zones: []string{"America/Toronto"}, zoneSource: SourcePhoneData},
		{name: "toll-free with state: the state's zones", in: ContactLocation{Phone: "+18005550100", State: "TX"},
			zones: []string{"America/Chicago", "America/Denver"}, zoneSource: SourceState, states: []string{"TX"}, stateSource: SourceState,
			note: "phone"},
		{name: "toll-free alone: nothing known", in: ContactLocation{Phone: "+18005550100"}, err: ErrNoZone.Error()},
		{name: "empty contact", in: ContactLocation{}, err: "no time zone known for contact"},
		{name: "garbage phone", in: ContactLocation{Phone: "not a number"}, err: "no time zone known"},
		{name: "bad state code noted and ignored", in: ContactLocation{Phone: "+13055550100", State: "Florida"},
			zones: []string{"America/New_York"}, zoneSource: SourceAreaCode, states: []string{"FL"}, stateSource: SourceAreaCode, note: "state"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := l.Locate(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.zones, zoneNames(got.Zones))
			require.Equal(t, tc.zoneSource, got.ZoneSource)
			require.Equal(t, tc.states, got.States)
			require.Equal(t, tc.stateSource, got.StateSource)
			if tc.note != "" {
				require.NotEmpty(t, got.Notes)
				require.Contains(t, strings.Join(got.Notes, "\n"), tc.note)
			} else {
				require.Empty(t, got.Notes)
			}
			zs, src, err := l.ResolveZones(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.zones, zoneNames(zs))
			require.Equal(t, tc.zoneSource, src)
		})
	}
}

func TestShippedTablesSize(t *testing.T) {
	t.Parallel()
	l := mustLocator(t)
	require.Len(t, l.areaCodes, 365)
	// Every state, DC and the five inhabited territories have area codes.
	require.Len(t, l.byState, 56)
	require.Greater(t, len(l.zip3), 850)
}

// TestAreaCodesCoverPhoneData checks the area-code table against
// libphonenumber: every zone it knows for a sample of exchanges of each area
// code is among the table's candidates (the table may list more).
func TestAreaCodesCoverPhoneData(t *testing.T) {
	t.Parallel()
	l := mustLocator(t)
	for npa, p := range l.areaCodes {
		have := zoneNames(p.zones)
		for nxx := 201; nxx <= 999; nxx += 31 { // a sample: the generator read every exchange
			num, err := phonenumbers.Parse(fmt.Sprintf("+1%03d%03d4567", npa, nxx), "US")
			require.NoError(t, err)
			names, err := phonenumbers.GetTimezonesForNumber(num)
			require.NoError(t, err)
			if len(names) > 8 { // libphonenumber's country-wide fallback
				continue
			}
			for _, n := range names {
				require.Contains(t, have, n, "area code %d exchange %d", npa, nxx)
			}
		}
	}
}

// TestZIPZonesMatchStates cross-checks the hand-compiled ZIP table with the
// generated area-code table: a ZIP row's zones are zones that the area codes
// of its state use, up to zones with the same rules. Rows that deliberately
// add a local practice are listed.
func TestZIPZonesMatchStates(t *testing.T) {
	t.Parallel()
	l := mustLocator(t)
	same := map[string]string{"America/Boise": "America/Denver", "America/North_Dakota/Center": "America/Chicago",
		"America/Juneau": "America/Anchorage", "Pacific/Saipan": "Pacific/Guam"}
	canon := func(z string) string {
		if c, ok := same[z]; ok {
			return c
		}
		return z
	}
	allowed := map[string]bool{"OK America/Denver": true} // Kenton, OK (ZIP 73946)
	check := func(key string, p place) {
		for _, s := range p.states {
			st, ok := l.byState[s]
			if !ok {
				continue // freely associated states have no US area code
			}
			var have []string
			for _, z := range st.zones {
				have = append(have, canon(z.String()))
			}
			for _, z := range p.zones {
				if allowed[s+" "+z.String()] {
					continue
				}
				require.Contains(t, have, canon(z.String()), "zip %s state %s", key, s)
			}
		}
	}
	for k, p := range l.zip3 {
		check(fmt.Sprintf("%03d", k), p)
	}
	for k, p := range l.zip5 {
		check(fmt.Sprintf("%05d", k), p)
	}
}

func TestNewLocatorErrors(t *testing.T) {
	t.Parallel()
	const acHead = "area_code,states,zones,note\n"
	const zipHead = "zip,states,zones,note\n"
	okAC := acHead + "212,NY,America/New_York,\n"
	okZIP := zipHead + "100,NY,America/New_York,\n"
	cases := []struct {
		name, ac, zip, err string
	}{
		{"bad zone", acHead + "212,NY,America/Gotham,\n", okZIP, "area codes: line 2: field zones: \"America/Gotham\""},
		{"bad area code", acHead + "12,NY,America/New_York,\n", okZIP, "area codes: line 2: field area_code"},
		{"duplicate area code", okAC + "212,NY,America/New_York,\n", okZIP, "listed twice"},
		{"missing states", acHead + "212,,America/New_York,\n", okZIP, "field states: required"},
		{"bad state", acHead + "212,New York,America/New_York,\n", okZIP, "field states"},
		{"missing zones", acHead + "212,NY,,\n", okZIP, "field zones: required"},
		{"wrong header", "npa,states,zones,note\n", okZIP, "column 1"},
		{"wrong field count", acHead + "212,NY\n", okZIP, "line 2"},
		{"bad zip key", okAC, zipHead + "1000,NY,America/New_York,\n", "zips: line 2: field zip"},
		{"reversed zip range", okAC, zipHead + "105-100,NY,America/New_York,\n", "field zip"},
		{"mixed zip range", okAC, zipHead + "100-10500,NY,America/New_York,\n", "field zip"},
		{"overlapping zip ranges", okAC, zipHead + "100-105,NY,America/New_York,\n104,NY,America/New_York,\n", "listed twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewLocator(strings.NewReader(tc.ac), strings.NewReader(tc.zip))
			require.ErrorContains(t, err, tc.err)
		})
	}
	l, err := NewLocator(strings.NewReader(okAC), strings.NewReader(okZIP))
	require.NoError(t, err)
	got, err := l.Locate(ContactLocation{ZIP: "10001"})
	require.NoError(t, err)
	require.Equal(t, []string{"America/New_York"}, zoneNames(got.Zones))
}

func FuzzLocate(f *testing.F) {
	l := mustLocator(f)
	f.Add("+18505550100", "", "", "")
	f.Add("", "America/New_York", "FL", "32401-1234")
	f.Add("(208) 555-0100", "", "id", "9")
	f.Add("+1800", "Local", "", "96799")
	f.Fuzz(func(t *testing.T, phone, tz, state, zip string) {
		loc, err := l.Locate(ContactLocation{Phone: phone, TimeZone: tz, State: state, ZIP: zip})
		if err != nil {
			return
		}
		require.NotEmpty(t, loc.Zones)
		require.NotEmpty(t, loc.ZoneSource)
		for _, z := range loc.Zones {
			require.NotNil(t, z)
		}
		for _, s := range loc.States {
			require.True(t, isStateCode(s), s)
		}
	})
}

// TestLookupPhoneFastPath: a "+1" and ten digits number skips
// libphonenumber's parser; it must find what the parser's path finds for
// the same number written another way, for every NPA and a sample of
// exchanges (including ones no table knows).
func TestLookupPhoneFastPath(t *testing.T) {
	t.Parallel()
	l := mustLocator(t)
	for npa := 200; npa <= 999; npa++ {
		for nxx := 200; nxx <= 999; nxx += 97 {
			e164 := fmt.Sprintf("+1%03d%03d4567", npa, nxx)
			require.True(t, isNANPE164(e164))
			fp, fok, fz := l.lookupPhone(e164)
			sp, sok, sz := l.lookupPhone(e164[1:]) // "1…": parsed with region US
			require.Equal(t, sok, fok, e164)
			require.Equal(t, zoneNames(sp.zones), zoneNames(fp.zones), e164)
			require.Equal(t, sp.states, fp.states, e164)
			require.Equal(t, zoneNames(sz), zoneNames(fz), e164)
		}
	}
	for _, s := range []string{"", "+1", "+1212555010", "+121255501011", "+2212555010", "+1212555010x", "12125550101", "+1 212 555 0101"} {
		require.False(t, isNANPE164(s), s)
	}
}
