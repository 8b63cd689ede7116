// Package compliance holds the pure computations behind the engine's
// "may we reach this contact now?" question, so that they can be tested
// alone: the weekly windows of a cadence (cadence hours, target hours), the
// legal calling window with its editable table of state rules, the
// resolution of a contact's time zone(s) and state(s) from its time zone
// field, ZIP or NANP area code (shipped tables), the search for the next
// lawful instant across every candidate zone through DST changes, and the
// per-contact harassment limits over a rolling period.
//
// It deliberately does not import package engine (engine imports it): its
// small types mirror the engine's where needed. It does no I/O beyond
// reading the tables it is given, keeps no state between calls and takes
// "now" as an argument, so the scheduler and the store can call it at
// claim time with their own clock.
//
// Legal tables are a best effort, not legal advice: states.csv cites every
// rule it ships, and operators can load their own with LoadRules.
package compliance

//go:generate go run ./internal/areacodegen -o areacodes.csv
