package callerid

import "strings"

//go:generate go run ./internal/npagen npa_table.go

// AreaCode returns the NANP area code (NPA) of an E.164 number: the three
// digits after "+1". ok is false for numbers outside the NANP.
func AreaCode(e164 string) (npa string, ok bool) {
	if !strings.HasPrefix(e164, "+1") || len(e164) != 12 {
		return "", false
	}
	for _, c := range e164[2:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	// NPAs start with 2-9.
	if e164[2] < '2' {
		return "", false
	}
	return e164[2:5], true
}

// StateOfAreaCode returns the USPS code of the US state or territory an area
// code serves ("" for non-geographic and non-US codes).
func StateOfAreaCode(npa string) string { return npaStates[npa] }

// StateOf returns the state of a NANP number's area code, or "".
func StateOf(e164 string) string {
	npa, ok := AreaCode(e164)
	if !ok {
		return ""
	}
	return npaStates[npa]
}

// knownState reports whether st is a state code some area code maps to.
func knownState(st string) bool {
	for _, v := range npaStates {
		if v == st {
			return true
		}
	}
	return false
}
