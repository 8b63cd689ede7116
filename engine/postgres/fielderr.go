package postgres

import (
	"fmt"

	"github.com/cadenza-dialer/cadenza/engine"
)

// fieldErr reports bad input the way package engine does, so callers (the
// API) can name the field in their answer.
func fieldErr(path, message string) error {
	return engine.FieldErrors{{Path: path, Message: message}}
}

// badStatus is the error for a status that is not one of engine's.
func badStatus(s engine.Status) error {
	return fieldErr("status", fmt.Sprintf("unknown status %q; want draft, active, inactive or archived", s))
}
