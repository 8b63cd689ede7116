package engine

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Scripts (call steps) and SMS texts are plain text with variables written
// {{contact.first_name}} (spaces inside the braces are allowed:
// {{ contact.first_name }}). There is no logic, no escaping and no nesting:
// a template either parses or it is rejected when the cadence is saved.
//
// The variables a template may use, checked by ValidateDefinition:
//
//	contact.first_name contact.last_name contact.phone
//	contact.state contact.zip contact.timezone
//	contact.owner                                the contact's own fields
//	contact.fields.NAME                          a custom contact field
//	owner.name owner.first_name owner.last_name owner.phone owner.email
//	cadence.name step.name step.number
//	NAME                                         a key of the step's variables
//
// Whoever renders builds one flat map keyed by these exact names
// ("contact.first_name", "offer", …). A variable that is missing from the map
// renders as the empty string: a contact without a first name still gets the
// message, and validation already caught the typos.

// templateVar is one {{name}} occurrence in a template.
type templateVar struct {
	name       string
	start, end int // byte offsets of "{{" and just past "}}"
}

// templateError is a malformed template; pos counts characters from 1.
type templateError struct {
	pos int
	msg string
}

func (e *templateError) Error() string {
	return fmt.Sprintf("%s at character %d", e.msg, e.pos)
}

// parseTemplateVars finds every {{name}} in tmpl. An opening "{{" without a
// closing "}}", an empty name or a name that is not dotted identifiers is an
// error. A lone "}}" is plain text.
func parseTemplateVars(tmpl string) ([]templateVar, error) {
	var vars []templateVar
	i := 0
	for {
		j := strings.Index(tmpl[i:], "{{")
		if j < 0 {
			return vars, nil
		}
		start := i + j
		pos := utf8.RuneCountInString(tmpl[:start]) + 1
		k := strings.Index(tmpl[start+2:], "}}")
		if k < 0 {
			return nil, &templateError{pos: pos, msg: `unclosed "{{"`}
		}
		inner := tmpl[start+2 : start+2+k]
		name := strings.TrimSpace(inner)
		switch {
		case name == "":
			return nil, &templateError{pos: pos, msg: `empty variable "{{}}"`}
		case strings.Contains(inner, "{{"):
			return nil, &templateError{pos: pos, msg: `unclosed "{{"`}
		case !validTemplateName(name):
			return nil, &templateError{pos: pos, msg: fmt.Sprintf("invalid variable name %q", name)}
		}
		end := start + 2 + k + 2
		vars = append(vars, templateVar{name: name, start: start, end: end})
		i = end
	}
}

// validTemplateName accepts dotted identifiers: letters, digits and "_",
// each part starting with a letter or "_" (e.g. contact.fields.plan_2).
func validTemplateName(name string) bool {
	for _, part := range strings.Split(name, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			switch {
			case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			case r >= '0' && r <= '9' && i > 0:
			default:
				return false
			}
		}
	}
	return true
}

// TemplateVariables returns the variable names tmpl uses, in order of first
// use, each once; or the error that makes tmpl malformed.
func TemplateVariables(tmpl string) ([]string, error) {
	vars, err := parseTemplateVars(tmpl)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(vars))
	var names []string
	for _, v := range vars {
		if !seen[v.name] {
			seen[v.name] = true
			names = append(names, v.name)
		}
	}
	return names, nil
}

// RenderScript fills tmpl's variables from vars (keyed by the full variable
// name, e.g. "contact.first_name"). Variables missing from vars render empty;
// a malformed template is an error (validation rejects those at save time).
func RenderScript(tmpl string, vars map[string]string) (string, error) {
	tv, err := parseTemplateVars(tmpl)
	if err != nil {
		return "", fmt.Errorf("render template: %w", err)
	}
	if len(tv) == 0 {
		return tmpl, nil
	}
	var b strings.Builder
	b.Grow(len(tmpl))
	last := 0
	for _, v := range tv {
		b.WriteString(tmpl[last:v.start])
		b.WriteString(vars[v.name])
		last = v.end
	}
	b.WriteString(tmpl[last:])
	return b.String(), nil
}

// knownTemplateVariable reports whether a template may use name, given the
// step's own variables. See the list at the top of this file.
func knownTemplateVariable(name string, stepVars map[string]string) bool {
	root, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		_, ok := stepVars[name]
		return ok
	}
	switch root {
	case "contact":
		switch rest {
		case "first_name", "last_name", "phone", "state", "zip", "timezone", "owner":
			return true
		}
		field, ok := strings.CutPrefix(rest, "fields.")
		return ok && field != "" && !strings.Contains(field, ".")
	case "owner":
		switch rest {
		case "name", "first_name", "last_name", "phone", "email":
			return true
		}
	case "cadence":
		return rest == "name"
	case "step":
		return rest == "name" || rest == "number"
	}
	return false
}
