package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSMSTemplateValidate(t *testing.T) {
	t.Parallel()
	ok := "Hi {{contact.first_name}}, this is {{owner.first_name}} from {{company}}."
	for _, tc := range []struct {
		name string
		tmpl SMSTemplate
		want []string
	}{
		{"good", SMSTemplate{Name: "follow-up", Text: ok}, nil},
		{"plain text", SMSTemplate{Name: "plain", Text: "Call us back } {"}, nil},
		{"spaces inside braces", SMSTemplate{Name: "x", Text: "Hi {{ contact.first_name }}"}, nil},
		{"custom field", SMSTemplate{Name: "x", Text: "Plan {{contact.fields.plan_2}}"}, nil},
		{"step variables", SMSTemplate{Name: "x", Text: "{{step.name}} {{step.number}} {{cadence.name}} {{offer}}"}, nil},
		{"longest", SMSTemplate{Name: strings.Repeat("ñ", MaxNameLength), Text: strings.Repeat("é", MaxSMSLength),
			Description: strings.Repeat("d", MaxDescriptionLength)}, nil},

		{"empty", SMSTemplate{}, []string{"name", "text"}},
		{"blank", SMSTemplate{Name: " \t", Text: "\n "}, []string{"name", "text"}},
		{"name padded", SMSTemplate{Name: " follow-up", Text: ok}, []string{"name"}},
		{"name too long", SMSTemplate{Name: strings.Repeat("n", MaxNameLength+1), Text: ok}, []string{"name"}},
		{"name not utf-8", SMSTemplate{Name: "a\xffb", Text: ok}, []string{"name"}},
		{"text too long", SMSTemplate{Name: "x", Text: strings.Repeat("é", MaxSMSLength+1)}, []string{"text"}},
		{"text not utf-8", SMSTemplate{Name: "x", Text: "hi \xff"}, []string{"text"}},
		{"unclosed", SMSTemplate{Name: "x", Text: "Hi {{contact.first_name"}, []string{"text"}},
		{"empty variable", SMSTemplate{Name: "x", Text: "Hi {{ }}"}, []string{"text"}},
		{"bad variable name", SMSTemplate{Name: "x", Text: "Hi {{first name}}"}, []string{"text"}},
		{"unknown contact field", SMSTemplate{Name: "x", Text: "Hi {{contact.frist_name}}"}, []string{"text"}},
		{"unknown root", SMSTemplate{Name: "x", Text: "Hi {{lead.first_name}} {{lead.first_name}} {{agent.name}}"},
			[]string{"text", "text"}},
		{"description", SMSTemplate{Name: "x", Text: ok, Description: strings.Repeat("d", MaxDescriptionLength+1)},
			[]string{"description"}},
	} {
		require.Equal(t, tc.want, agentFieldPaths(t, tc.tmpl.Validate()), tc.name)
	}
}

func TestSMSTemplateValidateMessage(t *testing.T) {
	t.Parallel()
	err := SMSTemplate{Name: "x", Text: "Hi {{contact.frist_name}}"}.Validate()
	require.ErrorContains(t, err, "{{contact.frist_name}}")
	err = SMSTemplate{Name: "x", Text: "Hi {{contact.first_name"}.Validate()
	require.ErrorContains(t, err, `unclosed "{{" at character 4`)
}

// FuzzSMSTemplateValidate checks that Validate never panics and that every
// text it accepts renders.
func FuzzSMSTemplateValidate(f *testing.F) {
	for _, s := range []string{"Hi {{contact.first_name}}", "{{", "}}{{a}}", "{{ a.b.c }}", "{{contact.fields.x}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if (SMSTemplate{Name: "x", Text: text}).Validate() != nil {
			return
		}
		_, err := RenderScript(text, map[string]string{"contact.first_name": "Ada"})
		require.NoError(t, err)
	})
}
