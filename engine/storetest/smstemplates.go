package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// SMSTemplateStore is a store with cadences and the SMS templates their
// steps name.
type SMSTemplateStore interface {
	engine.Store
	engine.SMSTemplateStore
}

// RunSMSTemplates runs the conformance cases of engine.SMSTemplateStore:
// CRUD, lookup by id or name, unique names, validation of the text, pages,
// and the rule that a template an active cadence sends cannot be deleted.
func RunSMSTemplates(t *testing.T, open func(t *testing.T) SMSTemplateStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s SMSTemplateStore)
	}{
		{"CRUD", testSMSTemplateCRUD},
		{"NotFound", testSMSTemplateNotFound},
		{"UniqueName", testSMSTemplateUniqueName},
		{"GetByName", testSMSTemplateGetByName},
		{"Validation", testSMSTemplateValidation},
		{"Pages", testSMSTemplatePages},
		{"InUse", testSMSTemplateInUse},
		{"InUseByID", testSMSTemplateInUseByID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

const smsText = "Hi {{contact.first_name}}, {{ owner.first_name }} from {{company}} here. Reply STOP to opt out."

func newSMSTemplate(t *testing.T, s SMSTemplateStore, name string, n int) engine.SMSTemplate {
	t.Helper()
	tm, err := s.CreateSMSTemplate(ctx(t), engine.SMSTemplate{Name: name, Text: smsText}, at(n))
	require.NoError(t, err)
	return tm
}

func testSMSTemplateCRUD(t *testing.T, s SMSTemplateStore) {
	in := engine.SMSTemplate{Name: "follow-up", Text: smsText, Description: "After a missed call"}
	tm, err := s.CreateSMSTemplate(ctx(t), in, at(0))
	require.NoError(t, err)
	require.NotEmpty(t, tm.ID)
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = tm.ID, stored(at(0)), stored(at(0))
	require.Equal(t, want, tm)
	got, err := s.GetSMSTemplate(ctx(t), tm.ID)
	require.NoError(t, err)
	require.Equal(t, want, got)

	upd := engine.SMSTemplate{ID: tm.ID, Name: "missed-call", Text: "Sorry we missed you, {{contact.first_name}}!"}
	u, err := s.UpdateSMSTemplate(ctx(t), upd, at(3))
	require.NoError(t, err)
	want = upd
	want.CreatedAt, want.UpdatedAt = stored(at(0)), stored(at(3))
	require.Equal(t, want, u)
	got, err = s.GetSMSTemplate(ctx(t), "missed-call")
	require.NoError(t, err)
	require.Equal(t, want, got)
	_, err = s.GetSMSTemplate(ctx(t), "follow-up")
	require.ErrorIs(t, err, engine.ErrNotFound, "the old name is gone")

	require.NoError(t, s.DeleteSMSTemplate(ctx(t), tm.ID))
	_, err = s.GetSMSTemplate(ctx(t), tm.ID)
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteSMSTemplate(ctx(t), tm.ID), engine.ErrNotFound)
	items, next, err := s.ListSMSTemplates(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Empty(t, items)
	require.Empty(t, next)
}

func testSMSTemplateNotFound(t *testing.T, s SMSTemplateStore) {
	newSMSTemplate(t, s, "exists", 0)
	for _, id := range []string{missingID, "not-an-id", ""} {
		_, err := s.GetSMSTemplate(ctx(t), id)
		require.ErrorIs(t, err, engine.ErrNotFound, "get %q", id)
		_, err = s.UpdateSMSTemplate(ctx(t), engine.SMSTemplate{ID: id, Name: "x", Text: "hello"}, at(1))
		require.ErrorIs(t, err, engine.ErrNotFound, "update %q", id)
		require.ErrorIs(t, s.DeleteSMSTemplate(ctx(t), id), engine.ErrNotFound, "delete %q", id)
	}
	// Delete takes an id: a name does not delete.
	require.ErrorIs(t, s.DeleteSMSTemplate(ctx(t), "exists"), engine.ErrNotFound)
}

func testSMSTemplateUniqueName(t *testing.T, s SMSTemplateStore) {
	a := newSMSTemplate(t, s, "a", 0)
	b := newSMSTemplate(t, s, "b", 0)
	_, err := s.CreateSMSTemplate(ctx(t), engine.SMSTemplate{Name: "a", Text: "other"}, at(1))
	require.ErrorIs(t, err, engine.ErrConflict)
	require.ErrorContains(t, err, `"a"`)
	_, err = s.CreateSMSTemplate(ctx(t), engine.SMSTemplate{Name: "A", Text: "other"}, at(1))
	require.NoError(t, err, "names are case-sensitive, as steps name them")

	_, err = s.UpdateSMSTemplate(ctx(t), engine.SMSTemplate{ID: b.ID, Name: "a", Text: "other"}, at(2))
	require.ErrorIs(t, err, engine.ErrConflict)
	got, err := s.GetSMSTemplate(ctx(t), b.ID)
	require.NoError(t, err)
	require.Equal(t, b, got, "a refused update changes nothing")

	_, err = s.UpdateSMSTemplate(ctx(t), engine.SMSTemplate{ID: a.ID, Name: "a", Text: "new text"}, at(2))
	require.NoError(t, err, "keeping its own name is no conflict")
	require.NoError(t, s.DeleteSMSTemplate(ctx(t), a.ID))
	_, err = s.CreateSMSTemplate(ctx(t), engine.SMSTemplate{Name: "a", Text: "again"}, at(3))
	require.NoError(t, err, "a deleted template's name is free")
}

// A name may look like another template's id: the id match wins, as with
// assets.
func testSMSTemplateGetByName(t *testing.T, s SMSTemplateStore) {
	first := newSMSTemplate(t, s, "first", 0)
	lookalike := newSMSTemplate(t, s, first.ID, 1)
	got, err := s.GetSMSTemplate(ctx(t), first.ID)
	require.NoError(t, err)
	require.Equal(t, first, got)
	got, err = s.GetSMSTemplate(ctx(t), lookalike.ID)
	require.NoError(t, err)
	require.Equal(t, lookalike, got)

	spaced := newSMSTemplate(t, s, "Missed call — día 2", 2)
	got, err = s.GetSMSTemplate(ctx(t), "Missed call — día 2")
	require.NoError(t, err)
	require.Equal(t, spaced, got)
}

func testSMSTemplateValidation(t *testing.T, s SMSTemplateStore) {
	for _, tc := range []struct {
		in   engine.SMSTemplate
		path string
	}{
		{engine.SMSTemplate{Text: "hello"}, "name"},
		{engine.SMSTemplate{Name: "x"}, "text"},
		{engine.SMSTemplate{Name: "x", Text: "Hi {{contact.first_name"}, "text"},
		{engine.SMSTemplate{Name: "x", Text: "Hi {{contact.frist_name}}"}, "text"},
		{engine.SMSTemplate{Name: "x", Text: "Hi {{ }}"}, "text"},
		{engine.SMSTemplate{Name: "x", Text: strings.Repeat("x", engine.MaxSMSLength+1)}, "text"},
	} {
		_, err := s.CreateSMSTemplate(ctx(t), tc.in, at(0))
		requireField(t, err, tc.path)
	}
	items, _, err := s.ListSMSTemplates(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Empty(t, items, "refused templates are not stored")

	tm := newSMSTemplate(t, s, "ok", 0)
	_, err = s.UpdateSMSTemplate(ctx(t), engine.SMSTemplate{ID: tm.ID, Name: "ok", Text: "Hi {{contact.first_name"}, at(1))
	requireField(t, err, "text")
	got, err := s.GetSMSTemplate(ctx(t), tm.ID)
	require.NoError(t, err)
	require.Equal(t, tm, got)
}

func testSMSTemplatePages(t *testing.T, s SMSTemplateStore) {
	var ids []string
	for i := range 7 {
		// Pairs share an instant: the id breaks the tie.
		ids = append(ids, newSMSTemplate(t, s, fmt.Sprint("t", 6-i), 1+i/2).ID)
	}
	for _, limit := range []int{1, 2, 3, 7, 8} {
		var got []string
		pages := readPages(t, limit, func(p engine.Page) ([]engine.SMSTemplate, string, error) {
			return s.ListSMSTemplates(ctx(t), p)
		})
		for _, p := range pages {
			require.LessOrEqual(t, len(p), limit)
			for _, x := range p {
				require.Equal(t, smsText, x.Text, "listings carry the text")
				got = append(got, x.ID)
			}
		}
		require.Equal(t, ids, got, "limit %d", limit)
		require.Len(t, pages, (len(ids)+limit-1)/limit, "limit %d: no empty last page", limit)
	}
	_, _, err := s.ListSMSTemplates(ctx(t), engine.Page{After: "garbage!"})
	requireField(t, err, "after")
}

// smsDefinition is a cadence definition whose second step (an SMS step)
// names template.
func smsDefinition(name, template string) engine.Definition {
	def := Definition(name)
	def.Steps[1].SMS.Template = template
	return def
}

// Only the current definition of an active cadence holds a template.
func testSMSTemplateInUse(t *testing.T, s SMSTemplateStore) {
	tm := newSMSTemplate(t, s, "follow-up", 0)
	other := newSMSTemplate(t, s, "other", 0)

	// A draft, a deleted active cadence, and an active one whose older
	// version named the template do not hold it.
	_, err := s.CreateCadence(ctx(t), smsDefinition("draft", "follow-up"), engine.StatusDraft, at(1))
	require.NoError(t, err)
	gone, err := s.CreateCadence(ctx(t), smsDefinition("gone", "follow-up"), engine.StatusActive, at(1))
	require.NoError(t, err)
	require.NoError(t, s.DeleteCadence(ctx(t), gone.ID, true, at(2)))
	moved, err := s.CreateCadence(ctx(t), smsDefinition("moved", "follow-up"), engine.StatusActive, at(1))
	require.NoError(t, err)
	_, err = s.UpdateCadence(ctx(t), moved.ID, smsDefinition("moved", "other"), 0, at(2))
	require.NoError(t, err)
	// A call step's script mentioning the name is not an SMS step naming it.
	calls := Definition("calls")
	calls.Steps = calls.Steps[:1]
	calls.Steps[0].Call.Script = "follow-up"
	_, err = s.CreateCadence(ctx(t), calls, engine.StatusActive, at(1))
	require.NoError(t, err)

	err = s.DeleteSMSTemplate(ctx(t), other.ID)
	require.ErrorIs(t, err, engine.ErrInUse, "the current version of moved sends other")
	require.ErrorContains(t, err, `step 2 of active cadence "moved"`)

	// Now an active cadence sends it: the delete is refused until that
	// cadence is inactive.
	live, err := s.CreateCadence(ctx(t), smsDefinition("live", "follow-up"), engine.StatusActive, at(3))
	require.NoError(t, err)
	err = s.DeleteSMSTemplate(ctx(t), tm.ID)
	require.ErrorIs(t, err, engine.ErrInUse)
	require.ErrorContains(t, err, `"live"`)
	_, err = s.GetSMSTemplate(ctx(t), tm.ID)
	require.NoError(t, err, "a refused delete keeps the template")

	_, err = s.SetCadenceStatus(ctx(t), live.ID, engine.StatusInactive, at(4))
	require.NoError(t, err)
	require.NoError(t, s.DeleteSMSTemplate(ctx(t), tm.ID))
	_, err = s.GetSMSTemplate(ctx(t), tm.ID)
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// A step may name the template by id; a customized step still names it.
func testSMSTemplateInUseByID(t *testing.T, s SMSTemplateStore) {
	tm := newSMSTemplate(t, s, "by-id", 0)
	def := smsDefinition("by id", tm.ID)
	def.Steps[1].SMS.Customize = false
	def.Steps[1].SMS.Text = ""
	c, err := s.CreateCadence(ctx(t), def, engine.StatusActive, at(1))
	require.NoError(t, err)
	require.ErrorIs(t, s.DeleteSMSTemplate(ctx(t), tm.ID), engine.ErrInUse)

	def = smsDefinition("by id", "by-id")
	require.True(t, def.Steps[1].SMS.Customize)
	_, err = s.UpdateCadence(ctx(t), c.ID, def, 0, at(2))
	require.NoError(t, err)
	require.ErrorIs(t, s.DeleteSMSTemplate(ctx(t), tm.ID), engine.ErrInUse)

	def.Steps[1].SMS.Template = ""
	_, err = s.UpdateCadence(ctx(t), c.ID, def, 0, at(3))
	require.NoError(t, err)
	require.NoError(t, s.DeleteSMSTemplate(ctx(t), tm.ID))
}
