package compliance

import "time"

// bruteAllowed is the independent checker: it decides whether an instant is
// allowed by reading each zone's wall clock directly, without the interval
// machinery of NextAllowed.
func bruteAllowed(in Inputs, t time.Time) bool {
	wallOpen := func(w WeeklyWindows, loc *time.Location) bool {
		l := t.In(loc)
		return w.OpenAt(l.Weekday(), l.Hour()*60+l.Minute())
	}
	holiday := func(loc *time.Location) bool {
		l := t.In(loc)
		return IsFederalHoliday(l.Year(), l.Month(), l.Day())
	}
	for _, z := range in.Contact.Zones {
		if !wallOpen(in.Rules.LegalDefault, z) || !wallOpen(in.TargetHours, z) {
			return false
		}
		for _, s := range in.Contact.States {
			sr, ok := in.Rules.States[s]
			if !ok {
				continue
			}
			if !wallOpen(sr.Window, z) || (sr.ClosedOnHolidays && holiday(z)) {
				return false
			}
		}
	}
	if !in.CadenceHours.Always() && !wallOpen(in.CadenceHours, in.BusinessZone) {
		return false
	}
	return true
}
