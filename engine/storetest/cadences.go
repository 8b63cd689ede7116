package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func cadenceTests() []test {
	return []test{
		{"CreateGetCadence", testCreateGetCadence},
		{"CreateCadenceInvalidStatus", testCreateCadenceInvalidStatus},
		{"GetCadenceNotFound", testGetCadenceNotFound},
		{"TimesUTCMicroseconds", testTimesUTCMicroseconds},
		{"ListCadencesEmpty", testListCadencesEmpty},
		{"ListCadencesOldestFirst", testListCadencesOldestFirst},
		{"ListCadencesSameInstantOrderedByID", testListCadencesSameInstant},
		{"ListCadencesFilterStatus", testListCadencesFilterStatus},
		{"ListCadencesPages", testListCadencesPages},
		{"ListCadencesExactPages", testListCadencesExactPages},
		{"ListCadencesDefaultLimit", testListCadencesDefaultLimit},
		{"ListCadencesBadCursor", testListCadencesBadCursor},
		{"ListCadencesFilterPagesWithinStatus", testListCadencesFilterPages},
		{"UpdateCadenceNewVersion", testUpdateCadenceNewVersion},
		{"UpdateCadenceExpectVersion", testUpdateCadenceExpectVersion},
		{"UpdateCadenceConflictSavesNothing", testUpdateCadenceConflict},
		{"UpdateCadenceNotFound", testUpdateCadenceNotFound},
		{"UpdateCadenceRenamesInList", testUpdateCadenceRenames},
		{"SetCadenceStatusKeepsVersion", testSetCadenceStatus},
		{"SetCadenceStatusInvalid", testSetCadenceStatusInvalid},
		{"SetCadenceStatusNotFound", testSetCadenceStatusNotFound},
		{"ConcurrentUpdatesConsecutiveVersions", testConcurrentUpdates},
		{"ConcurrentExpectVersionOneWinner", testConcurrentExpectVersion},
	}
}

func testCreateGetCadence(t *testing.T, s engine.Store) {
	def := Definition("Speed to lead")
	c, err := s.CreateCadence(ctx(t), def, engine.StatusDraft, at(0))
	require.NoError(t, err)
	require.NotEmpty(t, c.ID)
	require.Equal(t, 1, c.Version)
	require.Equal(t, engine.StatusDraft, c.Status)
	require.Equal(t, stored(at(0)), c.CreatedAt)
	require.Equal(t, stored(at(0)), c.UpdatedAt)
	require.Equal(t, def, c.Definition)

	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, c, got)
}

func testCreateCadenceInvalidStatus(t *testing.T, s engine.Store) {
	_, err := s.CreateCadence(ctx(t), Definition("x"), engine.Status("paused"), at(0))
	requireField(t, err, "status")
	items, _, err := s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.Empty(t, items)
}

func testGetCadenceNotFound(t *testing.T, s engine.Store) {
	for _, id := range []string{missingID, "not-a-uuid", ""} {
		_, err := s.GetCadence(ctx(t), id)
		require.ErrorIs(t, err, engine.ErrNotFound, "id %q", id)
	}
}

func testTimesUTCMicroseconds(t *testing.T, s engine.Store) {
	zone := time.FixedZone("UTC-5", -5*3600)
	now := time.Date(2026, time.July, 4, 8, 15, 30, 999999999, zone)
	c, err := s.CreateCadence(ctx(t), Definition("zoned"), engine.StatusActive, now)
	require.NoError(t, err)
	want := time.Date(2026, time.July, 4, 13, 15, 30, 999999000, time.UTC)
	require.Equal(t, want, c.CreatedAt)
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, want, got.CreatedAt)
	require.Equal(t, time.UTC, got.CreatedAt.Location())
}

func testListCadencesEmpty(t *testing.T, s engine.Store) {
	items, next, err := s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.Empty(t, items)
	require.Empty(t, next)
}

// ids lists the ids of cadences.
func ids(cs []engine.Cadence) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testListCadencesOldestFirst(t *testing.T, s engine.Store) {
	// Created out of clock order: the list follows created_at, not insertion.
	c3 := newCadence(t, s, "third", engine.StatusDraft, at(3))
	c1 := newCadence(t, s, "first", engine.StatusDraft, at(1))
	c2 := newCadence(t, s, "second", engine.StatusActive, at(2))
	items, next, err := s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.Empty(t, next)
	require.Equal(t, []string{c1.ID, c2.ID, c3.ID}, ids(items))
	require.Equal(t, c2, items[1], "list items carry the full current cadence")
}

func testListCadencesSameInstant(t *testing.T, s engine.Store) {
	var want []string
	for i := range 5 {
		want = append(want, newCadence(t, s, fmt.Sprint("c", i), engine.StatusDraft, at(0)).ID)
	}
	var got []string
	page := engine.Page{Limit: 2}
	for {
		items, next, err := s.ListCadences(ctx(t), engine.CadenceFilter{Page: page})
		require.NoError(t, err)
		got = append(got, ids(items)...)
		if next == "" {
			break
		}
		page.After = next
	}
	require.ElementsMatch(t, want, got)
	require.IsIncreasing(t, got, "ties on created_at are ordered by id")
}

func testListCadencesFilterStatus(t *testing.T, s engine.Store) {
	a1 := newCadence(t, s, "a1", engine.StatusActive, at(1))
	newCadence(t, s, "d1", engine.StatusDraft, at(2))
	a2 := newCadence(t, s, "a2", engine.StatusActive, at(3))
	newCadence(t, s, "x1", engine.StatusArchived, at(4))
	items, _, err := s.ListCadences(ctx(t), engine.CadenceFilter{Status: engine.StatusActive})
	require.NoError(t, err)
	require.Equal(t, []string{a1.ID, a2.ID}, ids(items))
	items, _, err = s.ListCadences(ctx(t), engine.CadenceFilter{Status: engine.StatusInactive})
	require.NoError(t, err)
	require.Empty(t, items)
	items, _, err = s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.Len(t, items, 4)
	_, _, err = s.ListCadences(ctx(t), engine.CadenceFilter{Status: "bogus"})
	requireField(t, err, "status")
}

// listAll pages through every cadence with the given page size.
func listAll(t *testing.T, s engine.Store, f engine.CadenceFilter) (all []string, pages int) {
	t.Helper()
	for {
		items, next, err := s.ListCadences(ctx(t), f)
		require.NoError(t, err)
		require.LessOrEqual(t, len(items), f.Limit)
		pages++
		all = append(all, ids(items)...)
		if next == "" {
			return all, pages
		}
		require.Len(t, items, f.Limit, "only the last page is short")
		f.After = next
	}
}

func testListCadencesPages(t *testing.T, s engine.Store) {
	var want []string
	for i := range 7 {
		want = append(want, newCadence(t, s, fmt.Sprint("c", i), engine.StatusDraft, at(i)).ID)
	}
	got, pages := listAll(t, s, engine.CadenceFilter{Page: engine.Page{Limit: 3}})
	require.Equal(t, want, got)
	require.Equal(t, 3, pages)
}

func testListCadencesExactPages(t *testing.T, s engine.Store) {
	var want []string
	for i := range 4 {
		want = append(want, newCadence(t, s, fmt.Sprint("c", i), engine.StatusDraft, at(i)).ID)
	}
	got, pages := listAll(t, s, engine.CadenceFilter{Page: engine.Page{Limit: 2}})
	require.Equal(t, want, got)
	require.Equal(t, 2, pages, "a full last page has no next cursor")
}

func testListCadencesDefaultLimit(t *testing.T, s engine.Store) {
	for i := range 52 {
		newCadence(t, s, fmt.Sprint("c", i), engine.StatusDraft, at(i))
	}
	items, next, err := s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.Len(t, items, 50)
	require.NotEmpty(t, next)
	items, next, err = s.ListCadences(ctx(t), engine.CadenceFilter{Page: engine.Page{After: next, Limit: 1000}})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Empty(t, next)
}

func testListCadencesBadCursor(t *testing.T, s engine.Store) {
	newCadence(t, s, "c", engine.StatusDraft, at(0))
	for _, cur := range []string{"%%%", "bm90LWEtY3Vyc29y", "MTIzfA"} {
		_, _, err := s.ListCadences(ctx(t), engine.CadenceFilter{Page: engine.Page{After: cur}})
		requireField(t, err, "after")
	}
}

func testListCadencesFilterPages(t *testing.T, s engine.Store) {
	var want []string
	for i := range 6 {
		st := engine.StatusDraft
		if i%2 == 0 {
			st = engine.StatusActive
		}
		c := newCadence(t, s, fmt.Sprint("c", i), st, at(i))
		if st == engine.StatusActive {
			want = append(want, c.ID)
		}
	}
	got, pages := listAll(t, s, engine.CadenceFilter{Status: engine.StatusActive, Page: engine.Page{Limit: 2}})
	require.Equal(t, want, got)
	require.Equal(t, 2, pages)
}

func testUpdateCadenceNewVersion(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "v1", engine.StatusActive, at(0))
	def := Definition("v2")
	def.Steps = def.Steps[:1]
	def.Harassment = engine.Harassment{UseBusiness: true}
	u, err := s.UpdateCadence(ctx(t), c.ID, def, 0, at(5))
	require.NoError(t, err)
	require.Equal(t, 2, u.Version)
	require.Equal(t, def, u.Definition)
	require.Equal(t, c.CreatedAt, u.CreatedAt)
	require.Equal(t, stored(at(5)), u.UpdatedAt)
	require.Equal(t, engine.StatusActive, u.Status)
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, u, got)
}

func testUpdateCadenceExpectVersion(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "v1", engine.StatusDraft, at(0))
	u, err := s.UpdateCadence(ctx(t), c.ID, Definition("v2"), 1, at(1))
	require.NoError(t, err)
	require.Equal(t, 2, u.Version)
	u, err = s.UpdateCadence(ctx(t), c.ID, Definition("v3"), 2, at(2))
	require.NoError(t, err)
	require.Equal(t, 3, u.Version)
}

func testUpdateCadenceConflict(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "v1", engine.StatusDraft, at(0))
	_, err := s.UpdateCadence(ctx(t), c.ID, Definition("v2"), 1, at(1))
	require.NoError(t, err)
	_, err = s.UpdateCadence(ctx(t), c.ID, Definition("stale"), 1, at(2))
	require.ErrorIs(t, err, engine.ErrConflict)
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, 2, got.Version)
	require.Equal(t, "v2", got.Name)
	vs, err := s.ListVersions(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, vs, 2)
}

func testUpdateCadenceNotFound(t *testing.T, s engine.Store) {
	_, err := s.UpdateCadence(ctx(t), missingID, Definition("x"), 0, at(0))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.UpdateCadence(ctx(t), "not-a-uuid", Definition("x"), 3, at(0))
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testUpdateCadenceRenames(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "old name", engine.StatusDraft, at(0))
	_, err := s.UpdateCadence(ctx(t), c.ID, Definition("new name"), 0, at(1))
	require.NoError(t, err)
	items, _, err := s.ListCadences(ctx(t), engine.CadenceFilter{})
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, "new name", items[0].Name)
	require.Equal(t, 2, items[0].Version)
}

func testSetCadenceStatus(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "c", engine.StatusDraft, at(0))
	for i, st := range []engine.Status{engine.StatusActive, engine.StatusInactive, engine.StatusArchived} {
		u, err := s.SetCadenceStatus(ctx(t), c.ID, st, at(i+1))
		require.NoError(t, err)
		require.Equal(t, st, u.Status)
		require.Equal(t, 1, u.Version)
		require.Equal(t, stored(at(i+1)), u.UpdatedAt)
		require.Equal(t, c.Definition, u.Definition)
	}
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, engine.StatusArchived, got.Status)
	vs, err := s.ListVersions(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, vs, 1, "a status change is not a version")
}

func testSetCadenceStatusInvalid(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "c", engine.StatusDraft, at(0))
	_, err := s.SetCadenceStatus(ctx(t), c.ID, "running", at(1))
	requireField(t, err, "status")
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, engine.StatusDraft, got.Status)
}

func testSetCadenceStatusNotFound(t *testing.T, s engine.Store) {
	_, err := s.SetCadenceStatus(ctx(t), missingID, engine.StatusActive, at(0))
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testConcurrentUpdates(t *testing.T, s engine.Store) {
	const n = 12
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	versions := make(chan int, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			u, err := s.UpdateCadence(ctx(t), c.ID, Definition(fmt.Sprint("writer ", i)), 0, at(i+1))
			if err != nil {
				errs <- err
				return
			}
			versions <- u.Version
		}()
	}
	seen := map[int]bool{}
	for range n {
		select {
		case err := <-errs:
			require.NoError(t, err)
		case v := <-versions:
			require.False(t, seen[v], "version %d returned twice", v)
			seen[v] = true
		}
	}
	for v := 2; v <= n+1; v++ {
		require.True(t, seen[v], "version %d missing", v)
	}
	vs, err := s.ListVersions(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, vs, n+1)
	for i, v := range vs {
		require.Equal(t, n+1-i, v.Version)
	}
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, n+1, got.Version)
	require.Equal(t, vs[0].Definition, got.Definition, "the current definition is the newest version's")
}

func testConcurrentExpectVersion(t *testing.T, s engine.Store) {
	const n = 8
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.UpdateCadence(ctx(t), c.ID, Definition(fmt.Sprint("writer ", i)), 1, at(1))
			errs <- err
		}()
	}
	wins := 0
	for range n {
		err := <-errs
		if err == nil {
			wins++
			continue
		}
		require.ErrorIs(t, err, engine.ErrConflict)
	}
	require.Equal(t, 1, wins)
	got, err := s.GetCadence(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, 2, got.Version)
}
