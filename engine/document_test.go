package engine

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var updateGolden = flag.Bool("update-invalid", false, "rewrite testdata/invalid/*.errors from the current output")

const examplesDir = "../configs/cadences"

func readTestdata(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// errorLines renders errors one "path: message" per line, as in the
// .errors files.
func errorLines(errs FieldErrors) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestInvalidDocuments imports every document of testdata/invalid and
// compares all its errors with the sibling .errors file.
func TestInvalidDocuments(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob("testdata/invalid/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(docs), 25, "the corpus must hold at least 25 invalid documents")
	golden, err := filepath.Glob("testdata/invalid/*.errors")
	require.NoError(t, err)
	if !*updateGolden {
		require.Len(t, golden, len(docs), "every invalid document needs a .errors file and vice versa")
	}
	for _, path := range docs {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, errs := ImportDocument(readTestdata(t, path))
			require.NotEmpty(t, errs, "an invalid document imported cleanly")
			requirePathsExist(t, readTestdata(t, path), errs)
			got := errorLines(errs)
			want := strings.TrimSuffix(path, ".json") + ".errors"
			if *updateGolden {
				require.NoError(t, os.WriteFile(want, []byte(got), 0o644))
				return
			}
			require.Equal(t, string(readTestdata(t, want)), got)
		})
	}
}

// TestExampleCadences imports the shipped examples and checks that they say
// what seed 000's table and seed 001's example say.
func TestExampleCadences(t *testing.T) {
	t.Parallel()
	five, errs := ImportDocument(readTestdata(t, filepath.Join(examplesDir, "five-step.json")))
	require.Empty(t, errs)
	require.Len(t, five.Steps, 5)
	wantDelay := []time.Duration{0, 4 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour}
	wantStrategy := []CallerIDStrategy{CallerIDRandom, CallerIDRandom, CallerIDRandom, CallerIDRotating, CallerIDRotating}
	wantPool := []string{"main", "main", "main", "rotation", "rotation"}
	wantVoicemail := []bool{false, false, true, false, true}
	for i, s := range five.Steps {
		require.Equal(t, StepCall, s.Type, "step %d", i+1)
		require.Equal(t, FromPrevious, s.Timing.From, "step %d", i+1)
		require.Equal(t, wantDelay[i], s.Timing.Delay.D(), "step %d", i+1)
		require.Equal(t, wantStrategy[i], s.Call.CallerID.Strategy, "step %d", i+1)
		require.Equal(t, wantPool[i], s.Call.CallerID.Pool, "step %d", i+1)
		require.Equal(t, wantVoicemail[i], s.Call.Voicemail.Enabled, "step %d", i+1)
		require.GreaterOrEqual(t, s.Call.RingTimeout, MinRingTimeout)
		require.Equal(t, ActionRetry, s.Routing[0].Action.Type)
		require.Equal(t, DispositionBusy, s.Routing[0].Disposition)
		require.Equal(t, 4*time.Hour, s.Routing[0].Action.After.D())
		require.Equal(t, 2, s.Routing[0].Action.MaxTimes)
		require.NotNil(t, s.Default)
	}
	require.Equal(t, "vm-intro", five.Steps[2].Call.Voicemail.Asset)
	require.Equal(t, "vm-final", five.Steps[4].Call.Voicemail.Asset)
	require.Equal(t, "America/New_York", five.TimeZone)
	require.Equal(t, &Limit{Max: 3, Period: Duration(24 * time.Hour)}, five.Harassment.Calls)

	stl, errs := ImportDocument(readTestdata(t, filepath.Join(examplesDir, "speed-to-lead.json")))
	require.Empty(t, errs)
	require.Len(t, stl.Steps, 3)
	require.Equal(t, StepSMS, stl.Steps[0].Type)
	require.Equal(t, StepCall, stl.Steps[1].Type)
	require.Equal(t, StepCall, stl.Steps[2].Type)
	for _, s := range stl.Steps {
		require.Equal(t, FromEnrollment, s.Timing.From)
	}
	require.Zero(t, stl.Steps[0].Timing.Delay, "the text goes out right away")
	require.NotEmpty(t, stl.Queue)
	require.True(t, stl.Owner.UseExisting, "texts and calls come from the contact's owner")
	require.Greater(t, stl.Steps[1].Call.Retry.Attempts, 0)
}

// TestRoundTripByteIdentical: export → import → export gives the same bytes,
// for both examples and for a document that sets every field.
func TestRoundTripByteIdentical(t *testing.T) {
	t.Parallel()
	paths := []string{
		filepath.Join(examplesDir, "five-step.json"),
		filepath.Join(examplesDir, "speed-to-lead.json"),
		"testdata/valid/maximal.json",
		"testdata/valid/minimal.json",
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			d, errs := ImportDocument(readTestdata(t, path))
			require.Empty(t, errs)
			first, err := ExportDocument(d)
			require.NoError(t, err)
			d2, errs := ImportDocument(first)
			require.Empty(t, errs)
			require.Equal(t, d, d2)
			second, err := ExportDocument(d2)
			require.NoError(t, err)
			require.Equal(t, string(first), string(second))
		})
	}
}

// TestMaximalDocumentIsCanonical: the maximal document is written exactly as
// export writes it, so every field survives a round trip unchanged.
func TestMaximalDocumentIsCanonical(t *testing.T) {
	t.Parallel()
	raw := readTestdata(t, "testdata/valid/maximal.json")
	d, errs := ImportDocument(raw)
	require.Empty(t, errs)
	out, err := ExportDocument(d)
	require.NoError(t, err)
	require.Equal(t, string(raw), string(out))

	// Every field of the model is set somewhere in it: compare the key sets
	// of the document with those of the model.
	var tree any
	require.NoError(t, json.Unmarshal(raw, &tree))
	seen := map[string]bool{}
	collectKeys(tree, seen)
	for _, key := range []string{
		"name", "description", "time_zone", "cadence_hours", "target_hours", "days", "start", "end",
		"runs", "total", "restart_delay", "after", "action", "cadence", "allow_reenrollment", "queue",
		"owner", "assign", "use_existing", "harassment", "use_business", "calls", "sms", "max", "period",
		"steps", "type", "timing", "delay", "from", "call", "script", "variables", "caller_id",
		"strategy", "pool", "number", "voicemail", "enabled", "asset", "retry", "attempts", "min_gap",
		"ring_timeout", "amd_profile", "dial_mode", "on_human", "destination", "template", "customize", "text",
		"routing", "disposition", "when", "field", "op", "value", "max_times", "step", "default",
	} {
		require.True(t, seen[key], "maximal.json does not use %q", key)
	}
}

func collectKeys(v any, seen map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, v := range x {
			seen[k] = true
			collectKeys(v, seen)
		}
	case []any:
		for _, v := range x {
			collectKeys(v, seen)
		}
	}
}

func TestExportDocumentShape(t *testing.T) {
	t.Parallel()
	d := validDefinition()
	d.Steps[0].Call.Script = "Press <1> & talk to {{owner.name}}"
	d.Steps[0].Timing.Delay = Duration(90 * time.Minute)
	out, err := ExportDocument(d)
	require.NoError(t, err)
	s := string(out)
	require.True(t, strings.HasPrefix(s, "{\n  \"format\": \"cadenza.cadence/v1\",\n  \"cadence\": {\n    \"name\": "), s)
	require.True(t, strings.HasSuffix(s, "}\n"))
	require.Contains(t, s, `"script": "Press <1> & talk to {{owner.name}}"`, "no HTML escaping")
	require.Contains(t, s, `"delay": "1h30m"`, "durations are canonical")
	require.Contains(t, s, `"ring_timeout": "15s"`, "defaults are written out")
	require.NotContains(t, s, `"source"`)

	// Export normalizes a copy: the caller's definition is untouched.
	require.Zero(t, d.Steps[0].Call.RingTimeout)
	require.Empty(t, d.Owner.Assign)
}

func TestExportCadenceDocumentSource(t *testing.T) {
	t.Parallel()
	c := Cadence{ID: "cad_42", Status: StatusActive, Version: 7, Definition: validDefinition()}
	at := time.Date(2026, 11, 23, 14, 0, 0, 0, time.FixedZone("EST", -5*3600))
	out, err := ExportCadenceDocument(c, at)
	require.NoError(t, err)
	require.Contains(t, string(out), "\"source\": {\n    \"id\": \"cad_42\",\n    \"version\": 7,\n    \"exported_at\": \"2026-11-23T19:00:00Z\"\n  },")

	doc, errs := DecodeDocument(out)
	require.Empty(t, errs)
	require.Equal(t, &DocumentSource{ID: "cad_42", Version: 7, ExportedAt: at.UTC()}, doc.Source)

	// Apart from "source", the bytes are those of a plain export.
	plain, err := ExportDocument(doc.Cadence)
	require.NoError(t, err)
	var a, b map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &a))
	require.NoError(t, json.Unmarshal(plain, &b))
	require.JSONEq(t, string(a["cadence"]), string(b["cadence"]))
}

func TestDecodeDefinitionStrict(t *testing.T) {
	t.Parallel()
	valid, err := json.Marshal(validDefinition())
	require.NoError(t, err)
	d, errs := DecodeDefinition(valid)
	require.Empty(t, errs)
	require.Equal(t, OwnerRoundRobin, d.Owner.Assign, "decoding normalizes")

	tests := []struct {
		name string
		edit func(m map[string]any)
		raw  string
		want []string
	}{
		{
			name: "unknown nested field",
			edit: func(m map[string]any) { stepOf(m, 0)["call"].(map[string]any)["colour"] = "blue" },
			want: []string{"steps[0].call.colour: unknown field"},
		},
		{
			name: "case mismatch is unknown, with a hint",
			edit: func(m map[string]any) { m["Queue"] = "x" },
			want: []string{`Queue: unknown field (did you mean "queue"?)`},
		},
		{
			name: "invalid duration names the path",
			edit: func(m map[string]any) { stepOf(m, 0)["timing"].(map[string]any)["delay"] = "4 hours" },
			want: []string{`steps[0].timing.delay: invalid duration "4 hours": want e.g. "4h", "30m", "3d"`},
		},
		{
			name: "type errors, all of them, in document order",
			edit: func(m map[string]any) {
				m["name"] = 7
				m["steps"].([]any)[0].(map[string]any)["name"] = true
			},
			want: []string{"name: must be a string, got number", "steps[0].name: must be a string, got boolean"},
		},
		{
			name: "decode and validation errors together",
			edit: func(m map[string]any) {
				m["time_zone"] = "Mars/Olympus"
				stepOf(m, 0)["call"].(map[string]any)["ring_timeout"] = "5x"
			},
			// json.Marshal sorts map keys: "steps" comes before "time_zone"
			// in this document, and so does its error.
			want: []string{
				`steps[0].call.ring_timeout: invalid duration "5x": want e.g. "4h", "30m", "3d"`,
				`time_zone: unknown time zone "Mars/Olympus": want an IANA name such as "America/New_York"`,
			},
		},
		{
			name: "syntax error with line and column",
			raw:  "{\n  \"name\": \"x\",\n  \"steps\": [,]\n}",
			want: []string{"invalid JSON at line 3, column 13: invalid character ',' looking for beginning of value"},
		},
		{
			name: "validation errors under a field that failed to decode are left out",
			edit: func(m map[string]any) {
				m["steps"] = "call, then text"
				m["runs"] = map[string]any{"total": "two"}
			},
			want: []string{"runs.total: must be an integer, got string", "steps: must be an array, got string"},
		},
		{
			name: "not an object",
			raw:  `"cadence"`,
			want: []string{"must be an object, got string"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data := []byte(tc.raw)
			if tc.edit != nil {
				var m map[string]any
				require.NoError(t, json.Unmarshal(valid, &m))
				tc.edit(m)
				var err error
				data, err = json.Marshal(m)
				require.NoError(t, err)
			}
			_, errs := DecodeDefinition(data)
			require.Equal(t, strings.Join(tc.want, "\n")+"\n", errorLines(errs))
		})
	}
}

func stepOf(m map[string]any, i int) map[string]any {
	return m["steps"].([]any)[i].(map[string]any)
}

// TestImportPathsHaveNoCadencePrefix: the example error reads the
// same for a document and for a bare definition.
func TestImportPathsHaveNoCadencePrefix(t *testing.T) {
	t.Parallel()
	raw := readTestdata(t, "testdata/invalid/33-unknown-action.json")
	_, errs := ImportDocument(raw)
	require.Contains(t, errorLines(errs), `steps[2].routing[0].action.type: unknown action "foo"`)
	for _, e := range errs {
		require.False(t, strings.HasPrefix(e.Path, "cadence."), e.Path)
	}
	var doc struct{ Cadence json.RawMessage }
	require.NoError(t, json.Unmarshal(raw, &doc))
	_, bare := DecodeDefinition(doc.Cadence)
	require.Equal(t, errs, bare)
}

func TestDocumentTooLarge(t *testing.T) {
	t.Parallel()
	big := append([]byte(`{"format":"cadenza.cadence/v1","cadence":{"name":"`), bytes.Repeat([]byte("x"), MaxDocumentSize)...)
	_, errs := ImportDocument(big)
	require.Len(t, errs, 1)
	require.Contains(t, errs[0].Message, "document too large")
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	d := Definition{
		Name:         "n",
		CadenceHours: []Window{{Days: []string{"fri", "mon", "wed"}, Start: "09:00", End: "17:00"}},
		Steps: []Step{
			{Name: "c", Type: StepCall, Call: &CallStep{Variables: map[string]string{}}},
			{Name: "s", Type: StepSMS, SMS: &SMSStep{Text: "hi", Variables: map[string]string{}}},
		},
	}
	d.Normalize()
	require.Equal(t, []string{"mon", "wed", "fri"}, d.CadenceHours[0].Days)
	require.Equal(t, Runs{Total: 1, After: AfterRuns{Action: AfterIdle}}, d.Runs)
	require.Equal(t, OwnerRoundRobin, d.Owner.Assign)
	require.Equal(t, Harassment{UseBusiness: true}, d.Harassment)
	require.Equal(t, FromPrevious, d.Steps[0].Timing.From)
	require.Equal(t, MinRingTimeout, d.Steps[0].Call.RingTimeout)
	require.Equal(t, DefaultAMDProfile, d.Steps[0].Call.AMDProfile)
	require.Equal(t, HumanConnect, d.Steps[0].Call.OnHuman.Action)
	require.Nil(t, d.Steps[0].Call.Variables)
	require.Nil(t, d.Steps[1].SMS.Variables)

	again := d.Clone()
	again.Normalize()
	require.Equal(t, d, again, "Normalize is idempotent")

	own := Definition{Harassment: Harassment{Calls: &Limit{Max: 3, Period: Duration(time.Hour)}}}
	own.Normalize()
	require.False(t, own.Harassment.UseBusiness, "own limits stay own limits")
	require.NotNil(t, own.Steps)
}

func TestNormalizeKeepsValidDefinitionsValid(t *testing.T) {
	t.Parallel()
	d := validDefinition()
	require.Empty(t, ValidateDefinition(d))
	d.Normalize()
	require.Empty(t, ValidateDefinition(d))
}

func TestConnectDestination(t *testing.T) {
	t.Parallel()
	c := &CallStep{}
	require.Equal(t, "queue:sales", c.ConnectDestination("sales"))
	require.Empty(t, c.ConnectDestination(""))
	c.OnHuman.Destination = "sip:ai@bots.example.com"
	require.Equal(t, "sip:ai@bots.example.com", c.ConnectDestination("sales"))
}

func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	d, errs := ImportDocument(readTestdata(t, "testdata/valid/maximal.json"))
	require.Empty(t, errs)
	c := d.Clone()
	require.Equal(t, d, c)
	c.CadenceHours[0].Days[0] = "sun"
	c.Steps[0].Call.Variables["offer"] = "changed"
	c.Steps[0].Call.CallerID.Pool = "changed"
	c.Steps[0].Routing[0].When[0].Value = "changed"
	c.Steps[0].Default.Type = ActionStop
	c.Harassment.Calls.Max = 99
	require.NotEqual(t, "sun", d.CadenceHours[0].Days[0])
	require.NotEqual(t, "changed", d.Steps[0].Call.Variables["offer"])
	require.NotEqual(t, "changed", d.Steps[0].Call.CallerID.Pool)
	require.NotEqual(t, "changed", d.Steps[0].Routing[0].When[0].Value)
	require.NotEqual(t, ActionStop, d.Steps[0].Default.Type)
	require.NotEqual(t, 99, d.Harassment.Calls.Max)
}

// fuzzSeeds adds every document of testdata and the examples.
func fuzzSeeds(f *testing.F, cadenceOnly bool) {
	var paths []string
	for _, glob := range []string{"testdata/invalid/*.json", "testdata/valid/*.json", examplesDir + "/*.json"} {
		m, err := filepath.Glob(glob)
		require.NoError(f, err)
		paths = append(paths, m...)
	}
	for _, p := range paths {
		b := readTestdata(f, p)
		if cadenceOnly {
			var doc struct{ Cadence json.RawMessage }
			if json.Unmarshal(b, &doc) == nil && doc.Cadence != nil {
				b = doc.Cadence
			}
		}
		f.Add(b)
	}
}

// FuzzImportDocument: no input panics, errors always carry a message, and
// whatever imports cleanly round-trips byte for byte.
func FuzzImportDocument(f *testing.F) {
	fuzzSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, errs := ImportDocument(data)
		for _, e := range errs {
			if e.Message == "" {
				t.Fatalf("error without message at %q", e.Path)
			}
		}
		if len(errs) > 0 {
			return
		}
		first, err := ExportDocument(d)
		if err != nil {
			t.Fatal(err)
		}
		d2, errs := ImportDocument(first)
		if len(errs) > 0 {
			t.Fatalf("re-import of an export failed: %v\n%s", errs, first)
		}
		second, err := ExportDocument(d2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("round trip changed the document:\n%s\n---\n%s", first, second)
		}
	})
}

// FuzzDecodeDefinition: no input panics; a clean decode validates cleanly.
func FuzzDecodeDefinition(f *testing.F) {
	fuzzSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, errs := DecodeDefinition(data)
		if len(errs) == 0 {
			if v := ValidateDefinition(d); len(v) > 0 {
				t.Fatalf("decoded cleanly but does not validate: %v", v)
			}
		}
	})
}

// TestStrictDecoderGeneric: the decoder follows any json-tagged shape
// (embedded structs, pointers, maps, integers of every size), so fields
// added to the model later are checked without new code.
func TestStrictDecoderGeneric(t *testing.T) {
	t.Parallel()
	type inner struct {
		N  int8            `json:"n"`
		M  map[string]*int `json:"m"`
		Xs []uint8         `json:"-"`
	}
	type outer struct {
		inner
		Name  string   `json:"name"`
		Ptr   *inner   `json:"ptr,omitempty"`
		Any   any      `json:"any"`
		Hours Duration `json:"hours"`
		Cad   Cadence  `json:"cad"`
	}
	raw := `{"n": 300, "m": {"a b": "x", "ok": 2, "ok": 3}, "name": "x", "ptr": {"n": 1, "extra": true},
		"any": [1, {"k": null}], "hours": "90m", "Xs": [1], "cad": {"id": "c1", "name": "n", "status": 5}}`
	root, fe := parseStrictJSON([]byte(raw))
	require.Nil(t, fe)
	var out outer
	sd := newStrictDecoder()
	sd.decode(root, reflect.ValueOf(&out).Elem(), "")
	require.Equal(t, strings.Join([]string{
		"n: integer out of range: 300",
		`m["a b"]: must be an integer, got string`,
		"m.ok: duplicate field",
		"ptr.extra: unknown field",
		"Xs: unknown field",
		"cad.status: must be a string, got number",
	}, "\n")+"\n", errorLines(sd.errs))
	require.Equal(t, 2, *out.M["ok"])
	require.Equal(t, "x", out.Name)
	require.Equal(t, int8(1), out.Ptr.N)
	require.Equal(t, []any{float64(1), map[string]any{"k": nil}}, out.Any)
	require.Equal(t, Duration(90*time.Minute), out.Hours)
	require.Equal(t, "c1", out.Cad.ID)
	require.Equal(t, "n", out.Cad.Name, "embedded Definition fields are found")
}

// requirePathsExist checks that every error points into the document: the
// value at its path, or at least the object holding it (a missing field),
// exists in the cadence member or at the top level.
func requirePathsExist(t *testing.T, raw []byte, errs FieldErrors) {
	t.Helper()
	var top any
	if json.Unmarshal(raw, &top) != nil {
		return // syntax errors carry line and column instead
	}
	var cadence any
	if m, ok := top.(map[string]any); ok {
		cadence = m["cadence"]
	}
	for _, e := range errs {
		if e.Path == "" {
			continue
		}
		parent := parentPath(e.Path)
		if !resolvePath(cadence, parent) && !resolvePath(top, parent) {
			t.Errorf("error %q: %q is not in the document", e.Error(), parent)
		}
	}
}

// resolvePath reports whether path (as in FieldError.Path) exists in v.
func resolvePath(v any, path string) bool {
	for path != "" {
		switch {
		case strings.HasPrefix(path, "[\""):
			end := strings.Index(path, "\"]")
			var key string
			if end < 0 || json.Unmarshal([]byte(path[1:end+1]), &key) != nil {
				return false
			}
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = m[key]; !ok {
				return false
			}
			path = path[end+2:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			n, err := strconv.Atoi(path[1:max(end, 1)])
			a, ok := v.([]any)
			if end < 0 || err != nil || !ok || n < 0 || n >= len(a) {
				return false
			}
			v, path = a[n], path[end+1:]
		default:
			path = strings.TrimPrefix(path, ".")
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			if v, ok = m[path[:end]]; !ok {
				return false
			}
			path = path[end:]
		}
	}
	return true
}

func TestResolvePath(t *testing.T) {
	t.Parallel()
	var v any
	require.NoError(t, json.Unmarshal([]byte(`{"steps": [{"call": {"variables": {"a b": "x", "ok": "y"}}}], "name": "n"}`), &v))
	for _, p := range []string{"", "name", "steps", "steps[0]", "steps[0].call", "steps[0].call.variables", `steps[0].call.variables["a b"]`, "steps[0].call.variables.ok"} {
		require.True(t, resolvePath(v, p), p)
	}
	for _, p := range []string{"nope", "steps[1]", "steps[0].sms", "name.x", `steps[0].call.variables["zz"]`, "steps[x]", "steps[0].call.variables.ok.deeper"} {
		require.False(t, resolvePath(v, p), p)
	}
}
