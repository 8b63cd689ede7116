package storetest

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func libraryTests() []test {
	return []test{
		{"TemplateCreateGet", testTemplateCreateGet},
		{"TemplateList", testTemplateList},
		{"TemplateDelete", testTemplateDelete},
		{"TemplateNotFound", testTemplateNotFound},
		{"AssetByIDAndName", testAssetByIDAndName},
		{"AssetPCMRoundTrip", testAssetPCMRoundTrip},
		{"AssetDuplicateName", testAssetDuplicateName},
		{"AssetListWithoutPCM", testAssetList},
		{"AssetDelete", testAssetDelete},
		{"AssetNotFound", testAssetNotFound},
		{"AssetNameRequired", testAssetNameRequired},
	}
}

func testTemplateCreateGet(t *testing.T, s engine.Store) {
	in := engine.Template{ID: "ignored", Name: "Speed to lead", Description: "Two steps", Definition: Definition("tpl")}
	tp, err := s.CreateTemplate(ctx(t), in, at(0))
	require.NoError(t, err)
	require.NotEmpty(t, tp.ID)
	require.NotEqual(t, "ignored", tp.ID, "the store sets the id")
	require.Equal(t, stored(at(0)), tp.CreatedAt)
	got, err := s.GetTemplate(ctx(t), tp.ID)
	require.NoError(t, err)
	require.Equal(t, tp, got)
	require.Equal(t, Definition("tpl"), got.Definition)
}

func testTemplateList(t *testing.T, s engine.Store) {
	var want []string
	for i := range 5 {
		tp, err := s.CreateTemplate(ctx(t), engine.Template{Name: fmt.Sprint("t", i), Definition: Definition("d")}, at(i))
		require.NoError(t, err)
		want = append(want, tp.ID)
	}
	var got []string
	page := engine.Page{Limit: 2}
	for {
		items, next, err := s.ListTemplates(ctx(t), page)
		require.NoError(t, err)
		for _, it := range items {
			got = append(got, it.ID)
			require.Equal(t, Definition("d"), it.Definition)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	require.Equal(t, want, got)
}

func testTemplateDelete(t *testing.T, s engine.Store) {
	a, err := s.CreateTemplate(ctx(t), engine.Template{Name: "a", Definition: Definition("a")}, at(0))
	require.NoError(t, err)
	b, err := s.CreateTemplate(ctx(t), engine.Template{Name: "b", Definition: Definition("b")}, at(1))
	require.NoError(t, err)
	require.NoError(t, s.DeleteTemplate(ctx(t), a.ID))
	_, err = s.GetTemplate(ctx(t), a.ID)
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteTemplate(ctx(t), a.ID), engine.ErrNotFound)
	items, _, err := s.ListTemplates(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, b.ID, items[0].ID)
}

func testTemplateNotFound(t *testing.T, s engine.Store) {
	for _, id := range []string{missingID, "not-a-uuid"} {
		_, err := s.GetTemplate(ctx(t), id)
		require.ErrorIs(t, err, engine.ErrNotFound)
		require.ErrorIs(t, s.DeleteTemplate(ctx(t), id), engine.ErrNotFound)
	}
}

// tone returns ms milliseconds of a 440 Hz tone as 8 kHz 16-bit LE PCM.
func tone(ms int) []byte {
	n := ms * 8
	b := make([]byte, 2*n)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func testAssetByIDAndName(t *testing.T, s engine.Store) {
	a, err := s.CreateAsset(ctx(t), engine.Asset{Name: "vm-intro", DurationMS: 250, PCM: tone(250)}, at(0))
	require.NoError(t, err)
	require.NotEmpty(t, a.ID)
	require.Equal(t, stored(at(0)), a.CreatedAt)
	byID, err := s.GetAsset(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, a, byID)
	byName, err := s.GetAsset(ctx(t), "vm-intro")
	require.NoError(t, err)
	require.Equal(t, a, byName)
}

func testAssetPCMRoundTrip(t *testing.T, s engine.Store) {
	// 30 s of audio, and bytes that would break any text handling.
	pcm := append(tone(30000), 0x00, 0xff, 0x00, 0x80, '\'', '\\')
	a, err := s.CreateAsset(ctx(t), engine.Asset{Name: "long", DurationMS: 30000, PCM: pcm}, at(0))
	require.NoError(t, err)
	got, err := s.GetAsset(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, pcm, got.PCM)
	require.Equal(t, int64(30000), got.DurationMS)
}

func testAssetDuplicateName(t *testing.T, s engine.Store) {
	first, err := s.CreateAsset(ctx(t), engine.Asset{Name: "beep", DurationMS: 10, PCM: tone(10)}, at(0))
	require.NoError(t, err)
	_, err = s.CreateAsset(ctx(t), engine.Asset{Name: "beep", DurationMS: 20, PCM: tone(20)}, at(1))
	require.ErrorIs(t, err, engine.ErrConflict)
	got, err := s.GetAsset(ctx(t), "beep")
	require.NoError(t, err)
	require.Equal(t, first.ID, got.ID)
	require.Equal(t, tone(10), got.PCM)
}

func testAssetList(t *testing.T, s engine.Store) {
	var want []string
	for i := range 3 {
		a, err := s.CreateAsset(ctx(t), engine.Asset{Name: fmt.Sprint("a", i), DurationMS: 20, PCM: tone(20)}, at(i))
		require.NoError(t, err)
		want = append(want, a.ID)
	}
	items, next, err := s.ListAssets(ctx(t), engine.Page{Limit: 2})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.NotEmpty(t, next)
	rest, next2, err := s.ListAssets(ctx(t), engine.Page{Limit: 2, After: next})
	require.NoError(t, err)
	require.Empty(t, next2)
	items = append(items, rest...)
	var got []string
	for _, a := range items {
		got = append(got, a.ID)
		require.Empty(t, a.PCM, "listings leave PCM out")
		require.Equal(t, int64(20), a.DurationMS)
		require.NotEmpty(t, a.Name)
	}
	require.Equal(t, want, got)
}

func testAssetDelete(t *testing.T, s engine.Store) {
	a, err := s.CreateAsset(ctx(t), engine.Asset{Name: "gone", DurationMS: 10, PCM: tone(10)}, at(0))
	require.NoError(t, err)
	require.NoError(t, s.DeleteAsset(ctx(t), a.ID))
	_, err = s.GetAsset(ctx(t), a.ID)
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetAsset(ctx(t), "gone")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteAsset(ctx(t), a.ID), engine.ErrNotFound)
	_, err = s.CreateAsset(ctx(t), engine.Asset{Name: "gone", DurationMS: 10, PCM: tone(10)}, at(1))
	require.NoError(t, err, "a deleted asset's name is free again")
}

func testAssetNotFound(t *testing.T, s engine.Store) {
	for _, id := range []string{missingID, "no-such-name", ""} {
		_, err := s.GetAsset(ctx(t), id)
		require.ErrorIs(t, err, engine.ErrNotFound, "asset %q", id)
	}
	require.ErrorIs(t, s.DeleteAsset(ctx(t), missingID), engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteAsset(ctx(t), "not-a-uuid"), engine.ErrNotFound)
}

func testAssetNameRequired(t *testing.T, s engine.Store) {
	_, err := s.CreateAsset(ctx(t), engine.Asset{DurationMS: 10, PCM: tone(10)}, at(0))
	requireField(t, err, "name")
	items, _, err := s.ListAssets(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Empty(t, items)
}
