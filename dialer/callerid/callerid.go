// Package callerid picks the number a call presents from a configured pool:
// random, rotating (round robin shared across nodes), local presence (same
// area code, then same state, then fallback), sticky (same number for the same
// contact) or fixed, with per-number daily and burst caps, cooldowns and rest.
package callerid

import "context"

// Request asks for a caller ID for one call.
type Request struct {
	Pool     string
	Strategy string // random | rotating | local_presence | sticky | fixed
	// Fixed is the number for the fixed strategy.
	Fixed string
	// To is the E.164 destination (local presence reads its area code).
	To string
	// ContactKey identifies the contact for sticky.
	ContactKey string
	// ContactState is the contact's two-letter US state, for local presence.
	ContactState string
}

// Picker chooses caller IDs.
type Picker interface {
	// Pick returns an E.164 number, or an error naming why none is usable
	// (unknown pool, every number capped or resting).
	Pick(ctx context.Context, req Request) (string, error)
}
