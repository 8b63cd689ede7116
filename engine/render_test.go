package engine

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRenderScript(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"contact.first_name": "Ana",
		"owner.first_name":   "Bo",
		"offer":              "20% {{off}}", // values are not templates
	}
	tests := []struct {
		tmpl, want string
	}{
		{"", ""},
		{"no variables", "no variables"},
		{"Hi {{contact.first_name}}!", "Hi Ana!"},
		{"Hi {{ contact.first_name }}, {{owner.first_name}} here", "Hi Ana, Bo here"},
		{"{{offer}}{{offer}}", "20% {{off}}20% {{off}}"},
		{"Hi {{contact.last_name}}.", "Hi ."}, // missing renders empty
		{"a }} b", "a }} b"},                  // a lone closer is text
		{"{ {contact.first_name} }", "{ {contact.first_name} }"},
		{"café {{contact.first_name}} 日本", "café Ana 日本"},
	}
	for _, tc := range tests {
		got, err := RenderScript(tc.tmpl, vars)
		require.NoError(t, err, tc.tmpl)
		require.Equal(t, tc.want, got, tc.tmpl)
	}
}

func TestRenderScriptMalformed(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"Hi {{contact.first_name":    `render template: unclosed "{{" at character 4`,
		"é {{":                       `render template: unclosed "{{" at character 3`,
		"{{}}":                       `render template: empty variable "{{}}" at character 1`,
		"{{ {{a}}":                   `render template: unclosed "{{" at character 1`,
		"{{contact first}}":          `render template: invalid variable name "contact first" at character 1`,
		"{{1abc}}":                   `render template: invalid variable name "1abc" at character 1`,
		"{{a..b}}":                   `render template: invalid variable name "a..b" at character 1`,
		"ok {{a}} then {{contact.}}": `render template: invalid variable name "contact." at character 15`,
	}
	for tmpl, want := range tests {
		_, err := RenderScript(tmpl, nil)
		require.EqualError(t, err, want, tmpl)
	}
}

func TestTemplateVariables(t *testing.T) {
	t.Parallel()
	names, err := TemplateVariables("{{b}} {{ a.x }} {{b}} {{c_1}}")
	require.NoError(t, err)
	require.Equal(t, []string{"b", "a.x", "c_1"}, names)
	names, err = TemplateVariables("plain")
	require.NoError(t, err)
	require.Empty(t, names)
	_, err = TemplateVariables("{{")
	require.Error(t, err)
}

func TestKnownTemplateVariable(t *testing.T) {
	t.Parallel()
	step := map[string]string{"offer": "x"}
	for _, name := range []string{
		"contact.first_name", "contact.last_name", "contact.phone", "contact.owner", "contact.state",
		"contact.zip", "contact.timezone", "contact.fields.plan", "owner.name", "owner.first_name",
		"owner.last_name", "owner.phone", "owner.email", "cadence.name", "step.name", "step.number", "offer",
	} {
		require.True(t, knownTemplateVariable(name, step), name)
	}
	for _, name := range []string{
		"contact.frist_name", "contact.email", "contact.fields.", "contact.fields.a.b", "owner.zip", "cadence.id", "step.delay", "other", "x.y",
	} {
		require.False(t, knownTemplateVariable(name, step), name)
	}
}

// FuzzRenderScript: no template panics; a template that parses renders, and
// with every variable set to "" renders to the template without its tags.
func FuzzRenderScript(f *testing.F) {
	for _, s := range []string{"", "Hi {{contact.first_name}}", "{{", "}}{{a}}", "{{ a.b }}x{{c}}", "{{}}", "é{{é}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		names, err := TemplateVariables(tmpl)
		out, rerr := RenderScript(tmpl, nil)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("TemplateVariables and RenderScript disagree: %v / %v", err, rerr)
		}
		if err != nil {
			return
		}
		if len(out) > len(tmpl) {
			t.Fatalf("rendering with no values grew the text: %q → %q", tmpl, out)
		}
		if len(names) == 0 && out != tmpl {
			t.Fatalf("template without variables changed: %q → %q", tmpl, out)
		}
		if strings.Contains(out, "{{") && !strings.Contains(tmpl, "{{") {
			t.Fatalf("rendering invented braces: %q → %q", tmpl, out)
		}
	})
}
