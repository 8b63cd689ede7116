// Package npadata derives the NANP area code → US state table from
// libphonenumber's geocoding data. Only the generator (internal/npagen) and
// the table's test import it, so the binary does not carry the data.
package npadata

import (
	"fmt"
	"regexp"

	"github.com/nyaruka/phonenumbers"
)

// stateCodes maps libphonenumber's English region descriptions to USPS codes.
var stateCodes = map[string]string{
	"Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
	"Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
	"Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
	"Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
	"Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO",
	"Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
	"New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH",
	"Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
	"South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
	"Virginia": "VA", "Washington State": "WA", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
	"Washington D.C.": "DC",
	// Territories with their own NANP area codes.
	"Puerto Rico": "PR", "U.S. Virgin Islands": "VI", "Guam": "GU", "American Samoa": "AS",
	"Northern Mariana Islands": "MP",
}

var usRegions = map[string]bool{"US": true, "PR": true, "VI": true, "GU": true, "AS": true, "MP": true}

var cityState = regexp.MustCompile(`, ([A-Z]{2})$`)

// States returns the area code → state table: every NPA libphonenumber
// assigns to the US or a US territory with a geographic description.
func States() (map[string]string, error) {
	out := map[string]string{}
	for npa := 200; npa <= 999; npa++ {
		n := validNumber(npa)
		if n == nil {
			continue
		}
		desc, err := phonenumbers.GetGeocodingForNumber(n, "en")
		if err != nil {
			return nil, fmt.Errorf("geocode %d: %w", npa, err)
		}
		st, ok := stateCodes[desc]
		if !ok {
			if m := cityState.FindStringSubmatch(desc); m != nil {
				st, ok = m[1], true
			}
		}
		if !ok {
			continue // non-geographic: toll free, 5XX, 900…
		}
		out[fmt.Sprint(npa)] = st
	}
	return out, nil
}

// validNumber returns a valid number in npa, trying exchanges in turn (some
// area codes, e.g. 340, only have numbers on a few exchanges), or nil.
func validNumber(npa int) *phonenumbers.PhoneNumber {
	n, err := phonenumbers.Parse(fmt.Sprintf("+1%d2345678", npa), "")
	if err != nil || !usRegions[phonenumbers.GetRegionCodeForNumber(n)] {
		return nil
	}
	if phonenumbers.IsValidNumber(n) {
		return n
	}
	for nxx := 234; nxx < 234+800; nxx++ {
		x := 200 + (nxx-200)%800
		n, err := phonenumbers.Parse(fmt.Sprintf("+1%d%d5678", npa, x), "")
		if err == nil && phonenumbers.IsValidNumber(n) {
			return n
		}
	}
	return nil
}
