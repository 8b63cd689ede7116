package engine

import (
	"strings"
	"unicode/utf8"
)

// Validate checks an SMS template as given by a client; ID and times are
// ignored. The text must parse as a template and name only variables the
// engine knows (contact.*, owner.*, cadence.name, step.*) or bare names,
// which the sending step's variables fill; so a broken variable is refused
// when the template is saved rather than when a message goes out. It
// returns FieldErrors naming each bad field, or nil.
func (t SMSTemplate) Validate() error {
	var es agentErrors
	switch {
	case !utf8.ValidString(t.Name):
		es.add("name", "must be valid UTF-8")
	case strings.TrimSpace(t.Name) != t.Name && strings.TrimSpace(t.Name) != "":
		// Steps name the template exactly; invisible spaces would not match.
		es.add("name", "must not start or end with spaces")
	default:
		es.name("name", t.Name)
	}
	es.smsText("text", t.Text)
	if !utf8.ValidString(t.Description) {
		es.add("description", "must be valid UTF-8")
	} else {
		es.max("description", t.Description, MaxDescriptionLength)
	}
	return FieldErrors(es).Err()
}

// smsText checks a required SMS template text: valid UTF-8, at most
// MaxSMSLength characters, well-formed variables the engine knows.
func (es *agentErrors) smsText(path, s string) {
	if strings.TrimSpace(s) == "" {
		es.add(path, "required")
		return
	}
	if !utf8.ValidString(s) {
		es.add(path, "must be valid UTF-8")
		return
	}
	if n := utf8.RuneCountInString(s); n > MaxSMSLength {
		es.add(path, "must be at most %d characters (has %d)", MaxSMSLength, n)
		return
	}
	vars, err := parseTemplateVars(s)
	if err != nil {
		es.add(path, "%v", err)
		return
	}
	reported := map[string]bool{}
	for _, v := range vars {
		// A bare name is a step variable: which step sends the template is
		// not known yet, so only dotted names can be checked here.
		if !strings.Contains(v.name, ".") || reported[v.name] || knownTemplateVariable(v.name, nil) {
			continue
		}
		reported[v.name] = true
		es.add(path, "unknown variable {{%s}}: want contact.*, owner.*, cadence.name, step.name, step.number, contact.fields.NAME or a bare name the step's variables define", v.name)
	}
}
