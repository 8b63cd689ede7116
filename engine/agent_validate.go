package engine

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of queues.
const (
	// MaxQueueWait caps Queue.MaxWait: a lead that waited an hour for an
	// agent is better called again later.
	MaxQueueWait = Duration(time.Hour)
)

// reQueueName is the shape of a queue name: it appears in URLs and in
// "queue:NAME" destinations, so it is kept to a safe alphabet.
var reQueueName = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// ValidQueueName reports whether s can name a queue: 1–64 of [a-z0-9_-].
func ValidQueueName(s string) bool { return reQueueName.MatchString(s) }

// Validate checks a team as given by a client; ID and times are ignored.
// It returns FieldErrors naming each bad field, or nil.
func (t Team) Validate() error {
	var es agentErrors
	es.name("name", t.Name)
	es.max("description", t.Description, MaxDescriptionLength)
	return FieldErrors(es).Err()
}

// Validate checks a queue as given by a client; times are ignored. It
// returns FieldErrors naming each bad field, or nil.
func (q Queue) Validate() error {
	var es agentErrors
	if !ValidQueueName(q.Name) {
		es.add("name", "invalid queue name %q: want 1–64 characters of a-z, 0-9, _ and -", q.Name)
	}
	es.max("description", q.Description, MaxDescriptionLength)
	if q.WrapUp < 0 {
		es.add("wrap_up", "must be ≥ 0 (0 means the server default)")
	}
	switch {
	case q.MaxWait < 0:
		es.add("max_wait", "must be ≥ 0 (0 means the server default)")
	case q.MaxWait > MaxQueueWait:
		es.add("max_wait", "must be at most %s", MaxQueueWait)
	}
	return FieldErrors(es).Err()
}

// Validate checks an agent as given by a client; ID and times are ignored,
// and whether the team and the queues exist is the store's to say. It
// returns FieldErrors naming each bad field, or nil.
func (a Agent) Validate() error {
	var es agentErrors
	es.name("name", a.Name)
	switch {
	case a.Destination == "":
		es.add("destination", "required: a sip: or sips: URI, or an endpoint such as PJSIP/agent-1")
	case strings.HasPrefix(a.Destination, "queue:") || !validDestination(a.Destination):
		es.add("destination", "invalid destination %q: want a sip: or sips: URI, or an endpoint such as PJSIP/agent-1", a.Destination)
	}
	seen := make(map[string]int, len(a.Queues))
	for i, q := range a.Queues {
		p := fmt.Sprintf("queues[%d]", i)
		if !ValidQueueName(q) {
			es.add(p, "invalid queue name %q: want 1–64 characters of a-z, 0-9, _ and -", q)
			continue
		}
		if j, dup := seen[q]; dup {
			es.add(p, "queue %q is listed twice (also queues[%d])", q, j)
			continue
		}
		seen[q] = i
	}
	return FieldErrors(es).Err()
}

// agentErrors collects the field errors of a team, queue or agent.
type agentErrors []FieldError

func (es *agentErrors) add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// name checks a required display name: not blank, at most MaxNameLength.
func (es *agentErrors) name(path, s string) {
	if strings.TrimSpace(s) == "" {
		es.add(path, "required")
		return
	}
	es.max(path, s, MaxNameLength)
}

// max checks that s has at most n characters.
func (es *agentErrors) max(path, s string, n int) {
	if c := utf8.RuneCountInString(s); c > n {
		es.add(path, "must be at most %d characters (has %d)", n, c)
	}
}

// ValidOwnerReason reports whether r is one of the OwnerReason constants.
func ValidOwnerReason(r string) bool {
	switch r {
	case OwnerReasonRoundRobin, OwnerReasonFirstToAnswer, OwnerReasonAPI:
		return true
	}
	return false
}
