package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func versionTests() []test {
	return []test{
		{"ListVersionsNewestFirst", testListVersionsNewestFirst},
		{"GetVersion", testGetVersion},
		{"GetVersionNotFound", testGetVersionNotFound},
		{"ListVersionsNotFound", testListVersionsNotFound},
		{"VersionsImmutable", testVersionsImmutable},
		{"VersionsIndependentPerCadence", testVersionsPerCadence},
	}
}

func testListVersionsNewestFirst(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "v1", engine.StatusDraft, at(0))
	_, err := s.UpdateCadence(ctx(t), c.ID, Definition("v2"), 0, at(1))
	require.NoError(t, err)
	_, err = s.UpdateCadence(ctx(t), c.ID, Definition("v3"), 0, at(2))
	require.NoError(t, err)
	vs, err := s.ListVersions(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	for i, want := range []struct {
		version int
		name    string
		minute  int
	}{{3, "v3", 2}, {2, "v2", 1}, {1, "v1", 0}} {
		require.Equal(t, c.ID, vs[i].CadenceID)
		require.Equal(t, want.version, vs[i].Version)
		require.Equal(t, Definition(want.name), vs[i].Definition)
		require.Equal(t, stored(at(want.minute)), vs[i].CreatedAt)
	}
}

func testGetVersion(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "v1", engine.StatusDraft, at(0))
	_, err := s.UpdateCadence(ctx(t), c.ID, Definition("v2"), 0, at(1))
	require.NoError(t, err)
	v, err := s.GetVersion(ctx(t), c.ID, 1)
	require.NoError(t, err)
	require.Equal(t, engine.CadenceVersion{CadenceID: c.ID, Version: 1, CreatedAt: stored(at(0)), Definition: Definition("v1")}, v)
	v, err = s.GetVersion(ctx(t), c.ID, 2)
	require.NoError(t, err)
	require.Equal(t, "v2", v.Definition.Name)
}

func testGetVersionNotFound(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "v1", engine.StatusDraft, at(0))
	for _, n := range []int{0, -1, 2} {
		_, err := s.GetVersion(ctx(t), c.ID, n)
		require.ErrorIs(t, err, engine.ErrNotFound, "version %d", n)
	}
	_, err := s.GetVersion(ctx(t), missingID, 1)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetVersion(ctx(t), "not-a-uuid", 1)
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testListVersionsNotFound(t *testing.T, s engine.Store) {
	_, err := s.ListVersions(ctx(t), missingID)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.ListVersions(ctx(t), "not-a-uuid")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testVersionsImmutable(t *testing.T, s engine.Store) {
	c := newCadence(t, s, "original", engine.StatusDraft, at(0))
	for i := range 3 {
		def := Definition("edited")
		def.Steps[0].Call.Script = "edit " + string(rune('a'+i))
		_, err := s.UpdateCadence(ctx(t), c.ID, def, 0, at(i+1))
		require.NoError(t, err)
		_, err = s.SetCadenceStatus(ctx(t), c.ID, engine.StatusActive, at(i+1))
		require.NoError(t, err)
	}
	v1, err := s.GetVersion(ctx(t), c.ID, 1)
	require.NoError(t, err)
	require.Equal(t, Definition("original"), v1.Definition)
	require.Equal(t, stored(at(0)), v1.CreatedAt)
	v3, err := s.GetVersion(ctx(t), c.ID, 3)
	require.NoError(t, err)
	require.Equal(t, "edit b", v3.Definition.Steps[0].Call.Script)
}

func testVersionsPerCadence(t *testing.T, s engine.Store) {
	a := newCadence(t, s, "a", engine.StatusDraft, at(0))
	b := newCadence(t, s, "b", engine.StatusDraft, at(0))
	_, err := s.UpdateCadence(ctx(t), a.ID, Definition("a2"), 1, at(1))
	require.NoError(t, err)
	u, err := s.UpdateCadence(ctx(t), b.ID, Definition("b2"), 1, at(1))
	require.NoError(t, err, "b's version counter is its own")
	require.Equal(t, 2, u.Version)
	vs, err := s.ListVersions(ctx(t), b.ID)
	require.NoError(t, err)
	require.Len(t, vs, 2)
	require.Equal(t, "b", vs[1].Definition.Name)
}
