package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DocumentFormat tags an exported cadence document. A later incompatible
// layout gets a new tag; import refuses tags it does not know.
const DocumentFormat = "cadenza.cadence/v1"

// MaxDocumentSize caps the JSON a cadence document or definition may take.
const MaxDocumentSize = 1 << 20

// Document is the export/import envelope (seed 000 "Export Cadence" /
// "Import Cadence"):
//
//	{"format": "cadenza.cadence/v1", "source": {…}, "cadence": {…definition…}}
//
// Source is informational (where the document came from) and is ignored by
// import. The cadence's status is not part of a document: an imported cadence
// starts as a draft.
type Document struct {
	Format  string          `json:"format"`
	Source  *DocumentSource `json:"source,omitempty"`
	Cadence Definition      `json:"cadence"`
}

// DocumentSource records which stored cadence a document was exported from.
type DocumentSource struct {
	ID         string    `json:"id,omitempty"`
	Version    int       `json:"version,omitempty"`
	ExportedAt time.Time `json:"exported_at,omitzero"`
}

// ExportDocument writes d as a cadence document: normalized (see Normalize),
// in Definition field order, durations canonical, map keys sorted, indented
// by two spaces, with a trailing newline. Importing the result and exporting
// it again yields the same bytes. d itself is not modified, and it is not
// validated: what is stored is what is exported.
func ExportDocument(d Definition) ([]byte, error) {
	return encodeDocument(Document{Format: DocumentFormat, Cadence: d})
}

// ExportCadenceDocument is ExportDocument for a stored cadence, recording its
// id, version and the export time in "source". Only those differ between two
// exports of the same definition.
func ExportCadenceDocument(c Cadence, exportedAt time.Time) ([]byte, error) {
	src := &DocumentSource{ID: c.ID, Version: c.Version, ExportedAt: exportedAt.UTC()}
	return encodeDocument(Document{Format: DocumentFormat, Source: src, Cadence: c.Definition})
}

func encodeDocument(doc Document) ([]byte, error) {
	doc.Cadence = doc.Cadence.Clone()
	doc.Cadence.Normalize()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // scripts and texts stay readable: "<", ">", "&" as is
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("export cadence document: %w", err)
	}
	return buf.Bytes(), nil
}

// ImportDocument reads a cadence document: the format tag must be
// DocumentFormat (a missing or unknown tag is an error at path "format"),
// then the "cadence" member is decoded as by DecodeDefinition. Error paths
// inside the cadence are relative to it, without a "cadence." prefix
// (`steps[2].routing[0].action.type: …`), so they read the same for a
// document and for a bare definition. On success the definition is
// normalized.
func ImportDocument(data []byte) (Definition, FieldErrors) {
	doc, errs := DecodeDocument(data)
	return doc.Cadence, errs
}

// DecodeDocument is ImportDocument that also returns the envelope (source).
func DecodeDocument(data []byte) (Document, FieldErrors) {
	var doc Document
	root, fe := parseStrictJSON(data)
	if fe != nil {
		return doc, FieldErrors{*fe}
	}
	if root.kind != jsonObject {
		return doc, FieldErrors{{Message: fmt.Sprintf(`must be a JSON object {"format": %q, "cadence": {…}}, got %s`, DocumentFormat, root.kindName())}}
	}
	sd := newStrictDecoder()
	var cadence *jsonNode
	hasFormat := false
	seen := map[string]bool{}
	for i, key := range root.keys {
		val := root.vals[i]
		if seen[key] {
			sd.fail(key, "duplicate field")
			continue
		}
		seen[key] = true
		switch key {
		case "format":
			hasFormat = true
			if val.kind != jsonString {
				sd.fail("format", fmt.Sprintf("must be the string %q, got %s", DocumentFormat, val.kindName()))
			} else if val.text != DocumentFormat {
				sd.fail("format", fmt.Sprintf("unsupported format %q: want %q", val.text, DocumentFormat))
			}
		case "source":
			sd.decode(val, reflect.ValueOf(&doc.Source).Elem(), "source")
		case "cadence":
			cadence = val
		default:
			sd.fail(key, "unknown field")
		}
	}
	if !hasFormat {
		msg := fmt.Sprintf("required: %q", DocumentFormat)
		if !seen["cadence"] && (seen["name"] || seen["steps"]) {
			// Its members would all be "unknown field": one clear error instead.
			msg = fmt.Sprintf(`required; this looks like a bare cadence definition: wrap it as {"format": %q, "cadence": {…}}`, DocumentFormat)
			return doc, FieldErrors{{Path: "format", Message: msg}}
		}
		sd.errs = append(FieldErrors{{Path: "format", Message: msg}}, sd.errs...)
	}
	switch {
	case len(sd.errs) > 0 && (!hasFormat || sd.bad["format"]):
		// Not a document we understand: the cadence's errors would be noise.
		return doc, sd.errs
	case cadence == nil:
		sd.errs = append(sd.errs, FieldError{Path: "cadence", Message: "required: the cadence definition"})
		return doc, sd.errs
	case cadence.kind != jsonObject:
		sd.errs = append(sd.errs, FieldError{Path: "cadence", Message: "must be an object, got " + cadence.kindName()})
		return doc, sd.errs
	}
	def, errs := decodeDefinitionNode(cadence)
	doc.Cadence = def
	return doc, append(sd.errs, errs...)
}

// DecodeDefinition reads a bare cadence definition strictly: every unknown
// field (`steps[1].call.colour: unknown field`), duplicate field and
// type error (`steps[0].timing.delay: invalid duration "4 hours": …`) is
// reported with its path, then ValidateDefinition runs on what could be read
// (its errors under a field that failed to decode are left out). All errors
// come in document order. Malformed JSON is one error with path "" naming the
// line and column. On success the definition is normalized.
func DecodeDefinition(data []byte) (Definition, FieldErrors) {
	root, fe := parseStrictJSON(data)
	if fe != nil {
		return Definition{}, FieldErrors{*fe}
	}
	return decodeDefinitionNode(root)
}

func decodeDefinitionNode(root *jsonNode) (Definition, FieldErrors) {
	var d Definition
	sd := newStrictDecoder()
	sd.decode(root, reflect.ValueOf(&d).Elem(), "")
	errs := sd.errs
	for _, e := range ValidateDefinition(d) {
		if !sd.under(e.Path) {
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 {
		d.Normalize()
		return d, nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return sd.position(errs[i].Path) < sd.position(errs[j].Path) })
	return d, errs
}

// Normalize fills the defaults a valid definition leaves implicit, so that
// what is stored and exported says what will happen: runs.total 1,
// runs.after.action idle, owner.assign round_robin, harassment use_business
// when no own limits are set, timing.from previous_step, ring_timeout 15s,
// amd_profile balanced, on_human.action connect, dial_mode as
// CallStep.ResolvedDialMode says. Window days are put in
// week order (mon first) and empty variable maps are dropped. It is
// idempotent and never turns a valid definition invalid. An empty
// on_human.destination stays empty: it means the cadence's queue at dial
// time (see CallStep.ConnectDestination), so a later queue change applies.
//
// DecodeDefinition and ImportDocument normalize what they return; ExportDocument
// normalizes a copy, which is why export → import → export is byte-identical.
func (d *Definition) Normalize() {
	for _, ws := range [][]Window{d.CadenceHours, d.TargetHours} {
		for i := range ws {
			sortWeekdays(ws[i].Days)
		}
	}
	if d.Runs.Total == 0 {
		d.Runs.Total = 1
	}
	if d.Runs.After.Action == "" {
		d.Runs.After.Action = AfterIdle
	}
	if d.Owner.Assign == "" {
		d.Owner.Assign = OwnerRoundRobin
	}
	if h := &d.Harassment; !h.UseBusiness && h.Calls == nil && h.SMS == nil {
		h.UseBusiness = true
	}
	if d.Steps == nil {
		d.Steps = []Step{}
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		if s.Timing.From == "" {
			s.Timing.From = FromPrevious
		}
		if c := s.Call; c != nil {
			if c.RingTimeout == 0 {
				c.RingTimeout = MinRingTimeout
			}
			if c.AMDProfile == "" {
				c.AMDProfile = DefaultAMDProfile
			}
			if c.OnHuman.Action == "" {
				c.OnHuman.Action = HumanConnect
			}
			if c.DialMode == "" {
				c.DialMode = c.ResolvedDialMode(d.Queue)
			}
			if len(c.Variables) == 0 {
				c.Variables = nil
			}
		}
		if m := s.SMS; m != nil && len(m.Variables) == 0 {
			m.Variables = nil
		}
	}
}

// ConnectDestination is where a human who answers this call is connected:
// OnHuman.Destination, or the cadence's queue ("queue:NAME") when empty.
func (c *CallStep) ConnectDestination(queue string) string {
	if c.OnHuman.Destination != "" || queue == "" {
		return c.OnHuman.Destination
	}
	return "queue:" + queue
}

// sortWeekdays puts days in week order, unknown names last.
func sortWeekdays(days []string) {
	rank := func(d string) int {
		if k := weekdayIndex(d); k >= 0 {
			return k
		}
		return 7
	}
	sort.SliceStable(days, func(i, j int) bool { return rank(days[i]) < rank(days[j]) })
}

// Clone returns a deep copy of d: no slice, map or pointer is shared.
func (d Definition) Clone() Definition {
	var out Definition
	deepCopyInto(reflect.ValueOf(&out).Elem(), reflect.ValueOf(d))
	return out
}

// deepCopyInto copies src into the settable dst, following pointers, slices
// and maps, so every field added to the model later is copied too.
func deepCopyInto(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Elem().Type())
		deepCopyInto(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		dst.Set(src) // unexported fields (e.g. in time.Time) as they are
		for i := range src.NumField() {
			if f := dst.Field(i); f.CanSet() {
				deepCopyInto(f, src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopyInto(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			deepCopyInto(v, iter.Value())
			m.SetMapIndex(iter.Key(), v)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}

// jsonKind is the type of a parsed JSON value.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonNode is a parsed JSON value that keeps object members in document
// order and where each value started, so that errors can be reported in
// document order with their paths.
type jsonNode struct {
	kind   jsonKind
	text   string // string value or number literal
	truth  bool
	keys   []string    // object member names
	vals   []*jsonNode // object member values, or array items
	offset int64
}

func (n *jsonNode) kindName() string {
	switch n.kind {
	case jsonBool:
		return "boolean"
	case jsonNumber:
		return "number"
	case jsonString:
		return "string"
	case jsonArray:
		return "array"
	case jsonObject:
		return "object"
	}
	return "null"
}

// appendJSON re-encodes n (for types with their own UnmarshalJSON).
func (n *jsonNode) appendJSON(b []byte) []byte {
	switch n.kind {
	case jsonBool:
		if n.truth {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case jsonNumber:
		return append(b, n.text...)
	case jsonString:
		q, _ := json.Marshal(n.text)
		return append(b, q...)
	case jsonArray, jsonObject:
		open, closing := byte('['), byte(']')
		if n.kind == jsonObject {
			open, closing = '{', '}'
		}
		b = append(b, open)
		for i, v := range n.vals {
			if i > 0 {
				b = append(b, ',')
			}
			if n.kind == jsonObject {
				q, _ := json.Marshal(n.keys[i])
				b = append(append(b, q...), ':')
			}
			b = v.appendJSON(b)
		}
		return append(b, closing)
	}
	return append(b, "null"...)
}

// parseStrictJSON parses exactly one JSON value. A syntax error is returned as
// a FieldError with path "" naming the line and column.
func parseStrictJSON(data []byte) (*jsonNode, *FieldError) {
	if len(data) > MaxDocumentSize {
		return nil, &FieldError{Message: fmt.Sprintf("document too large: %d bytes, at most %d", len(data), MaxDocumentSize)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &FieldError{Message: "empty document"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := readJSONNode(dec, 0)
	if err != nil {
		return nil, syntaxFieldError(data, dec, err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		line, col := lineColumn(data, off+int64(len(data[off:])-len(bytes.TrimLeft(data[off:], " \t\r\n"))))
		return nil, &FieldError{Message: fmt.Sprintf("invalid JSON at line %d, column %d: unexpected data after the document", line, col)}
	}
	return root, nil
}

// maxJSONDepth bounds nesting: a definition is about eight levels deep, and
// json.Decoder.Token alone would follow a megabyte of "[" down the stack.
const maxJSONDepth = 64

// errTooDeep is a document nested deeper than maxJSONDepth.
type errTooDeep struct{ offset int64 }

func (e *errTooDeep) Error() string { return fmt.Sprintf("nested deeper than %d levels", maxJSONDepth) }

func readJSONNode(dec *json.Decoder, depth int) (*jsonNode, error) {
	off := dec.InputOffset()
	if depth > maxJSONDepth {
		return nil, &errTooDeep{offset: off}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	n := &jsonNode{offset: off}
	switch t := tok.(type) {
	case nil:
		n.kind = jsonNull
	case bool:
		n.kind, n.truth = jsonBool, t
	case json.Number:
		n.kind, n.text = jsonNumber, string(t)
	case string:
		n.kind, n.text = jsonString, t
	case json.Delim:
		n.kind = jsonArray
		if t == '{' {
			n.kind = jsonObject
		}
		for dec.More() {
			if n.kind == jsonObject {
				ktok, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := ktok.(string) // the decoder only yields strings here
				n.keys = append(n.keys, key)
			}
			v, err := readJSONNode(dec, depth+1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	}
	return n, nil
}

func syntaxFieldError(data []byte, dec *json.Decoder, err error) *FieldError {
	off := dec.InputOffset()
	msg := err.Error()
	var se *json.SyntaxError
	var deep *errTooDeep
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &deep):
		off = deep.offset
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		off, msg = int64(len(data)), "unexpected end of JSON"
	}
	line, col := lineColumn(data, off)
	return &FieldError{Message: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, msg)}
}

// lineColumn turns a byte offset into a 1-based line and column (in bytes).
func lineColumn(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// strictDecoder fills Go values from jsonNodes by reflection over their json
// tags, recording every unknown field, duplicate field and type error with
// its path instead of stopping at the first. Fields that fail keep their zero
// value.
type strictDecoder struct {
	errs FieldErrors
	bad  map[string]bool  // paths whose value failed to decode
	pos  map[string]int64 // where each decoded path starts
}

func newStrictDecoder() *strictDecoder {
	return &strictDecoder{bad: map[string]bool{}, pos: map[string]int64{}}
}

func (sd *strictDecoder) fail(path, msg string) {
	sd.bad[path] = true
	sd.errs = append(sd.errs, FieldError{Path: path, Message: msg})
}

// under reports whether path is, or lies inside, a value that failed to
// decode: validation errors there only repeat the decode error.
func (sd *strictDecoder) under(path string) bool {
	for p := path; ; p = parentPath(p) {
		if sd.bad[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// position is where path (or its nearest decoded ancestor) starts.
func (sd *strictDecoder) position(path string) int64 {
	for p := path; ; p = parentPath(p) {
		if off, ok := sd.pos[p]; ok || p == "" {
			return off
		}
	}
}

// parentPath drops the last ".name" or "[i]" of a path.
func parentPath(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return ""
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// mapKeyPath writes a map key as ".key", or as `["key"]` when it would not
// read back as one path element.
func mapKeyPath(parent, key string) string {
	if key != "" && validTemplateName(key) && !strings.Contains(key, ".") {
		return joinPath(parent, key)
	}
	q, _ := json.Marshal(key)
	return parent + "[" + string(q) + "]"
}

// decode fills v (settable) from n.
func (sd *strictDecoder) decode(n *jsonNode, v reflect.Value, path string) {
	if _, ok := sd.pos[path]; !ok {
		sd.pos[path] = n.offset
	}
	t := v.Type()
	if t == reflect.TypeFor[time.Time]() {
		if n.kind != jsonString {
			sd.fail(path, "must be an RFC 3339 time such as \"2026-01-02T15:04:05Z\", got "+n.kindName())
		} else if tm, err := time.Parse(time.RFC3339Nano, n.text); err != nil {
			sd.fail(path, fmt.Sprintf("invalid time %q: want RFC 3339 such as \"2026-01-02T15:04:05Z\"", n.text))
		} else {
			v.Set(reflect.ValueOf(tm))
		}
		return
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(n.appendJSON(nil)); err != nil {
			sd.fail(path, err.Error())
		}
		return
	}
	want := ""
	switch t.Kind() {
	case reflect.Pointer:
		if n.kind == jsonNull {
			v.SetZero()
			return
		}
		p := reflect.New(t.Elem())
		sd.decode(n, p.Elem(), path)
		v.Set(p)
		return
	case reflect.Struct:
		if n.kind == jsonObject {
			sd.decodeStruct(n, v, path)
			return
		}
		want = "an object"
	case reflect.Slice:
		switch n.kind {
		case jsonNull:
			v.SetZero()
			return
		case jsonArray:
			s := reflect.MakeSlice(t, len(n.vals), len(n.vals))
			for i, item := range n.vals {
				sd.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
			v.Set(s)
			return
		}
		want = "an array"
	case reflect.Map:
		switch {
		case n.kind == jsonNull:
			v.SetZero()
			return
		case n.kind == jsonObject && t.Key().Kind() == reflect.String:
			sd.decodeMap(n, v, path)
			return
		}
		want = "an object"
	case reflect.String:
		if n.kind == jsonString {
			v.SetString(n.text)
			return
		}
		want = "a string"
	case reflect.Bool:
		if n.kind == jsonBool {
			v.SetBool(n.truth)
			return
		}
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind == jsonNumber {
			sd.decodeInt(n, v, path)
			return
		}
		want = "an integer"
	case reflect.Interface:
		var x any
		if err := json.Unmarshal(n.appendJSON(nil), &x); err == nil && t.NumMethod() == 0 {
			if x != nil {
				v.Set(reflect.ValueOf(x))
			}
			return
		}
		want = "a value of type " + t.String()
	default:
		want = "a value of type " + t.String()
	}
	sd.fail(path, fmt.Sprintf("must be %s, got %s", want, n.kindName()))
}

func (sd *strictDecoder) decodeInt(n *jsonNode, v reflect.Value, path string) {
	i, err := strconv.ParseInt(n.text, 10, v.Type().Bits())
	if err != nil {
		msg := "must be an integer, got " + n.text
		if errors.Is(err, strconv.ErrRange) {
			msg = "integer out of range: " + n.text
		}
		sd.fail(path, msg)
		return
	}
	v.SetInt(i)
}

func (sd *strictDecoder) decodeStruct(n *jsonNode, v reflect.Value, path string) {
	fields := jsonFields(v.Type())
	seen := make(map[string]bool, len(n.keys))
	for i, key := range n.keys {
		p := joinPath(path, key)
		if seen[key] {
			sd.fail(p, "duplicate field")
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			msg := "unknown field"
			for name := range fields {
				if strings.EqualFold(name, key) {
					msg = fmt.Sprintf("unknown field (did you mean %q?)", name)
				}
			}
			sd.fail(p, msg)
			continue
		}
		f, err := v.FieldByIndexErr(idx)
		if err != nil { // an embedded nil pointer: allocate it
			f = fieldByIndexAlloc(v, idx)
		}
		sd.decode(n.vals[i], f, p)
	}
}

func (sd *strictDecoder) decodeMap(n *jsonNode, v reflect.Value, path string) {
	t := v.Type()
	m := reflect.MakeMapWithSize(t, len(n.keys))
	seen := make(map[string]bool, len(n.keys))
	for i, key := range n.keys {
		p := mapKeyPath(path, key)
		if seen[key] {
			sd.fail(p, "duplicate field")
			continue
		}
		seen[key] = true
		elem := reflect.New(t.Elem()).Elem()
		sd.decode(n.vals[i], elem, p)
		m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
	}
	v.Set(m)
}

// jsonFields maps the JSON names of t's fields to their index paths, as
// encoding/json sees them (tags, "-", embedded structs flattened; names an
// outer struct declares win over embedded ones).
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			idx := append(append([]int(nil), prefix...), i)
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				defer walk(ft, idx) // after the outer fields, which take precedence
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if _, taken := out[name]; !taken {
				out[name] = idx
			}
		}
	}
	walk(t, nil)
	return out
}

func fieldByIndexAlloc(v reflect.Value, idx []int) reflect.Value {
	for i, x := range idx {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}
