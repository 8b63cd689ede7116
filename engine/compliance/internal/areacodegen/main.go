// Command areacodegen writes areacodes.csv, the table of US (and US
// territory) NANP area codes with their states and IANA time zones, from
// libphonenumber's data as vendored by github.com/nyaruka/phonenumbers, plus
// the hand corrections listed in manual. Run it after a phonenumbers update:
//
//	go generate ./engine/compliance/
//
// For every area code it asks libphonenumber about each exchange NXX and
// takes the union of the zones (ignoring its country-wide fallback list) and
// of the states named by the geocoding data.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// manual adds zones libphonenumber's data misses, with the reason.
var manual = map[int]struct {
	zones []string
	why   string
}{
	448: {[]string{"America/Chicago"}, "overlay of 850: Florida panhandle west of the Apalachicola is Central"},
	364: {[]string{"America/Chicago"}, "overlay of 270: western Kentucky is Central"},
	930: {[]string{"America/Chicago"}, "overlay of 812: SW Indiana (Evansville area) is Central"},
	458: {[]string{"America/Denver"}, "overlay of 541: Malheur County OR is Mountain"},
	432: {[]string{"America/Denver"}, "Culberson County TX (Van Horn) is Mountain"},
	334: {[]string{"America/New_York"}, "Phenix City AL area keeps Eastern time unofficially (conservative)"},
}

var stateNames = map[string]string{"Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
	"Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
	"Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME",
	"Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO",
	"Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
	"New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR",
	"Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX",
	"Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "Washington State": "WA", "West Virginia": "WV",
	"Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC", "Washington, D.C.": "DC", "Puerto Rico": "PR", "Guam": "GU",
	"U.S. Virgin Islands": "VI", "American Samoa": "AS", "Northern Mariana Islands": "MP"}

// stateOf reads a state from a geocoding description: "Florida" or
// "Pensacola, FL".
func stateOf(g string) (string, bool) {
	if s, ok := stateNames[g]; ok {
		return s, true
	}
	if i := strings.LastIndex(g, ", "); i >= 0 {
		s := g[i+2:]
		if len(s) == 2 && strings.ToUpper(s) == s {
			return s, true
		}
		if v, ok := stateNames[s]; ok {
			return v, true
		}
	}
	return "", false
}

const header = `# NANP area codes of the United States and its territories -> state(s) and IANA time zone(s).
# Generated from libphonenumber's prefix_to_timezone and geocoding data (nyaruka/phonenumbers v1.8.1,
# the union over every exchange NXX of each area code), then corrected by hand where the note says
# "manual" (overlays that the data maps to one zone only, counties on the other side of a zone line).
# Where an area code spans zones, every zone is listed: the engine applies the window that is lawful
# in all of them. Non-geographic codes (toll-free 8XX, 5XX, 900) are absent on purpose: no zone is known.
# Columns: area_code, states (space-separated USPS codes), zones (space-separated IANA names), note.
`

func main() {
	out := flag.String("o", "areacodes.csv", "output file")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := f.WriteString(header); err != nil {
		log.Fatal(err)
	}
	w := csv.NewWriter(f)
	must(w.Write([]string{"area_code", "states", "zones", "note"}))
	rows := 0
	for npa := 200; npa <= 999; npa++ {
		pn, err := phonenumbers.Parse(fmt.Sprintf("+1%d2345678", npa), "US")
		if err != nil {
			continue
		}
		region := phonenumbers.GetRegionCodeForNumber(pn)
		switch region {
		case "US", "PR", "GU", "VI", "AS", "MP":
		default:
			continue
		}
		var zones, states []string
		for nxx := 200; nxx <= 999; nxx++ {
			n, err := phonenumbers.Parse(fmt.Sprintf("+1%d%d4567", npa, nxx), "US")
			if err != nil {
				continue
			}
			if z, err := phonenumbers.GetTimezonesForNumber(n); err == nil && len(z) < 10 {
				for _, x := range z {
					if !slices.Contains(zones, x) {
						zones = append(zones, x)
					}
				}
			}
			if g, _ := phonenumbers.GetGeocodingForNumber(n, "en"); g != "" {
				if s, ok := stateOf(g); ok && !slices.Contains(states, s) {
					states = append(states, s)
				}
			}
		}
		if len(zones) == 0 {
			continue // non-geographic
		}
		if len(states) == 0 {
			states = []string{region}
		}
		note := ""
		if m, ok := manual[npa]; ok {
			for _, z := range m.zones {
				if !slices.Contains(zones, z) {
					zones = append(zones, z)
				}
			}
			note = "manual: " + m.why
		}
		slices.Sort(zones)
		slices.Sort(states)
		must(w.Write([]string{fmt.Sprint(npa), strings.Join(states, " "), strings.Join(zones, " "), note}))
		rows++
	}
	w.Flush()
	must(w.Error())
	must(f.Close())
	log.Printf("wrote %d area codes to %s", rows, *out)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
