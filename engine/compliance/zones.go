package compliance

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zone data in the binary: hosts without /usr/share/zoneinfo resolve zones the same

	"github.com/nyaruka/phonenumbers"
)

//go:embed areacodes.csv
var areaCodesCSV []byte

//go:embed zips.csv
var zipsCSV []byte

// ErrNoZone is returned (wrapped) when nothing about a contact tells its
// time zone; the engine must then block the action and record why.
var ErrNoZone = errors.New("no time zone known for contact (no timezone, ZIP or US area code)")

// ContactLocation is what the engine knows of where a contact is.
type ContactLocation struct {
	// Phone in E.164 ("+18505550100") or US national form.
	Phone string
	// TimeZone is the contact's IANA zone field, when set.
	TimeZone string
	// State is the contact's USPS state code field, when set.
	State string
	// ZIP is the contact's ZIP or ZIP+4, when set.
	ZIP string
}

// Zone and state sources, in order of precedence.
const (
	SourceTimeZone  = "timezone"
	SourceZIP       = "zip"
	SourceAreaCode  = "area_code"
	SourcePhoneData = "phone_data"
	SourceState     = "state"
)

// Location is a contact's candidate zones and states: every window must be
// open in every zone, every state's rule applies.
type Location struct {
	Zones       []*time.Location
	ZoneSource  string
	States      []string
	StateSource string
	// Notes explains ignored inputs (a malformed ZIP, an unknown state …).
	Notes []string
}

// place is one row of the area-code or ZIP table.
type place struct {
	states []string
	zones  []*time.Location
}

// Locator resolves contacts to zones and states from the shipped (or
// operator-supplied) tables. It is read-only once built and safe to share.
type Locator struct {
	areaCodes map[int]place    // NPA → place
	zip3      map[int]place    // first three digits → place
	zip5      map[int]place    // 5-digit exceptions
	byState   map[string]place // union of the area codes of a state
	zones     map[string]*time.Location
}

// DefaultLocator builds a Locator from the shipped areacodes.csv and
// zips.csv.
func DefaultLocator() (*Locator, error) {
	return NewLocator(bytes.NewReader(areaCodesCSV), bytes.NewReader(zipsCSV))
}

// NewLocator builds a Locator from an area-code table and a ZIP table in
// the formats of the shipped files. Errors name the table, line and field.
func NewLocator(areaCodes, zips io.Reader) (*Locator, error) {
	l := &Locator{areaCodes: map[int]place{}, zip3: map[int]place{}, zip5: map[int]place{}, byState: map[string]place{}}
	zc := map[string]*time.Location{}
	err := readPlaces(areaCodes, "area_code", zc, func(key string, p place) error {
		n, err := strconv.Atoi(key)
		if err != nil || len(key) != 3 || n < 200 {
			return fmt.Errorf("%q is not a 3-digit NANP area code", key)
		}
		if _, dup := l.areaCodes[n]; dup {
			return fmt.Errorf("area code %s listed twice", key)
		}
		l.areaCodes[n] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("area codes: %w", err)
	}
	err = readPlaces(zips, "zip", zc, func(key string, p place) error {
		from, to, isRange := strings.Cut(key, "-")
		if !isRange {
			to = from
		}
		if len(from) != len(to) || (len(from) != 3 && len(from) != 5) {
			return fmt.Errorf("%q: want NNN, NNNNN, NNN-NNN or NNNNN-NNNNN", key)
		}
		a, err1 := strconv.Atoi(from)
		b, err2 := strconv.Atoi(to)
		if err1 != nil || err2 != nil || a > b {
			return fmt.Errorf("%q: want NNN, NNNNN, NNN-NNN or NNNNN-NNNNN", key)
		}
		m := l.zip3
		if len(from) == 5 {
			m = l.zip5
		}
		for n := a; n <= b; n++ {
			if _, dup := m[n]; dup {
				return fmt.Errorf("%0*d listed twice", len(from), n)
			}
			m[n] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("zips: %w", err)
	}
	for _, p := range l.areaCodes {
		for _, s := range p.states {
			b := l.byState[s]
			b.states = []string{s}
			b.zones = unionZones(b.zones, p.zones)
			l.byState[s] = b
		}
	}
	l.zones = zc
	return l, nil
}

// isNANPE164 reports whether s is "+1" followed by exactly ten digits.
func isNANPE164(s string) bool {
	if len(s) != 12 || s[0] != '+' || s[1] != '1' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Zone loads a time zone by IANA name, from the tables' zones when it is
// one of them: time.LoadLocation parses zone data on every call, and the
// claim path asks for a cadence's zone once per candidate.
func (l *Locator) Zone(name string) (*time.Location, error) {
	if z, ok := l.zones[name]; ok {
		return z, nil
	}
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA time zone", name)
	}
	return time.LoadLocation(name)
}

// readPlaces parses "key,states,zones,note" rows.
func readPlaces(r io.Reader, keyName string, zc map[string]*time.Location, add func(key string, p place) error) error {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 4
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read header: %w", csvErr(err))
	}
	want := []string{keyName, "states", "zones", "note"}
	for i, h := range want {
		if strings.TrimSpace(header[i]) != h {
			return fmt.Errorf("line 1: column %d is %q, want %q", i+1, header[i], h)
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		var p place
		for _, s := range strings.Fields(rec[1]) {
			if !isStateCode(s) {
				return fmt.Errorf("line %d: field states: %q is not a USPS code", line, s)
			}
			p.states = append(p.states, s)
		}
		if len(p.states) == 0 {
			return fmt.Errorf("line %d: field states: required", line)
		}
		for _, z := range strings.Fields(rec[2]) {
			loc, ok := zc[z]
			if !ok {
				loc, err = time.LoadLocation(z)
				if err != nil || z == "Local" || z == "" {
					return fmt.Errorf("line %d: field zones: %q is not an IANA zone", line, z)
				}
				zc[z] = loc
			}
			p.zones = append(p.zones, loc)
		}
		if len(p.zones) == 0 {
			return fmt.Errorf("line %d: field zones: required", line)
		}
		if err := add(strings.TrimSpace(rec[0]), p); err != nil {
			return fmt.Errorf("line %d: field %s: %w", line, keyName, err)
		}
	}
}

func unionZones(a, b []*time.Location) []*time.Location {
	out := slices.Clone(a)
	for _, z := range b {
		if !slices.ContainsFunc(out, func(x *time.Location) bool { return x.String() == z.String() }) {
			out = append(out, z)
		}
	}
	return out
}

// ResolveZones returns the contact's candidate zones and where they came
// from (SourceTimeZone, SourceZIP, SourceAreaCode, SourcePhoneData or
// SourceState). See Locate.
func (l *Locator) ResolveZones(c ContactLocation) (zones []*time.Location, source string, err error) {
	loc, err := l.Locate(c)
	if err != nil {
		return nil, "", err
	}
	return loc.Zones, loc.ZoneSource, nil
}

// Locate resolves a contact's candidate zones and states.
//
// Zones: the contact's time zone field wins (it must be a valid IANA name,
// else it is an error naming the field: the operator set it on purpose);
// else the ZIP's zones; else the phone's US area code zones, united with
// libphonenumber's zones for the full number (conservative: more candidate
// zones only narrow the window); else, for a non-US NANP number,
// libphonenumber's zones; else the union of the zones of the contact's
// state; else ErrNoZone.
//
// States: the contact's state field; else the ZIP's state; else the area
// code's states. Several candidate states all apply (the strictest wins).
func (l *Locator) Locate(c ContactLocation) (Location, error) {
	var out Location
	note := func(format string, args ...any) { out.Notes = append(out.Notes, fmt.Sprintf(format, args...)) }

	var zipPlace, acPlace *place
	if z := strings.TrimSpace(c.ZIP); z != "" {
		if p, ok := l.lookupZIP(z); ok {
			zipPlace = &p
		} else {
			note("zip %q: not a known US ZIP prefix, ignored", c.ZIP)
		}
	}
	var phoneZones []*time.Location
	if ph := strings.TrimSpace(c.Phone); ph != "" {
		p, ok, pz := l.lookupPhone(ph)
		if ok {
			acPlace = &p
		}
		phoneZones = pz
		if !ok && len(pz) == 0 {
			note("phone %q: no US area code known, ignored", c.Phone)
		}
	}
	state := strings.ToUpper(strings.TrimSpace(c.State))
	if state != "" && !isStateCode(state) {
		note("state %q: not a USPS code, ignored", c.State)
		state = ""
	}

	// States.
	switch {
	case state != "":
		out.States, out.StateSource = []string{state}, SourceState
	case zipPlace != nil:
		out.States, out.StateSource = zipPlace.states, SourceZIP
	case acPlace != nil:
		out.States, out.StateSource = acPlace.states, SourceAreaCode
	}

	// Zones.
	switch {
	case strings.TrimSpace(c.TimeZone) != "":
		name := strings.TrimSpace(c.TimeZone)
		z, err := l.Zone(name)
		if err != nil {
			return Location{}, fmt.Errorf("time_zone: %q is not an IANA time zone", c.TimeZone)
		}
		out.Zones, out.ZoneSource = []*time.Location{z}, SourceTimeZone
	case zipPlace != nil:
		out.Zones, out.ZoneSource = zipPlace.zones, SourceZIP
	case acPlace != nil:
		out.Zones, out.ZoneSource = unionZones(acPlace.zones, phoneZones), SourceAreaCode
	case len(phoneZones) > 0:
		out.Zones, out.ZoneSource = phoneZones, SourcePhoneData
	case state != "" && len(l.byState[state].zones) > 0:
		out.Zones, out.ZoneSource = l.byState[state].zones, SourceState
	default:
		return Location{}, ErrNoZone
	}
	return out, nil
}

// lookupZIP finds a ZIP's row: a 5-digit exception first, then its ZIP3.
func (l *Locator) lookupZIP(z string) (place, bool) {
	if i := strings.IndexByte(z, '-'); i >= 0 { // ZIP+4
		z = z[:i]
	}
	if len(z) != 5 {
		return place{}, false
	}
	n, err := strconv.Atoi(z)
	if err != nil || n < 0 {
		return place{}, false
	}
	if p, ok := l.zip5[n]; ok {
		return p, true
	}
	p, ok := l.zip3[n/100]
	return p, ok
}

// lookupPhone finds the area-code row of a NANP number, and
// libphonenumber's specific zones for it (nil when it only knows the
// country-wide fallback list).
func (l *Locator) lookupPhone(s string) (place, bool, []*time.Location) {
	// Stored contacts are E.164 already: a NANP one ("+1" and ten digits)
	// is its own libphonenumber E.164 form, and its national number is
	// the ten digits. Parsing it again (regular expressions) was two
	// thirds of a claim's decision time.
	e164, nsn := s, ""
	if isNANPE164(s) {
		nsn = s[2:]
	} else {
		num, err := phonenumbers.Parse(s, "US")
		if err != nil || num.GetCountryCode() != 1 {
			return place{}, false, nil
		}
		nsn, e164 = phonenumbers.GetNationalSignificantNumber(num), phonenumbers.Format(num, phonenumbers.E164)
	}
	if len(nsn) != 10 {
		return place{}, false, nil
	}
	var pz []*time.Location
	if names, err := phonenumbers.GetTimezonesForPrefix(e164); err == nil && len(names) > 0 && len(names) <= 8 {
		for _, n := range names {
			if z, err := l.Zone(n); err == nil && n != phonenumbers.UNKNOWN_TIMEZONE {
				pz = append(pz, z)
			}
		}
	}
	npa, _ := strconv.Atoi(nsn[:3])
	p, ok := l.areaCodes[npa]
	return p, ok, pz
}
