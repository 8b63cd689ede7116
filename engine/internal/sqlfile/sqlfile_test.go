package sqlfile

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestParse(t *testing.T) {
	t.Parallel()
	got, err := Parse(mapFS(map[string]string{
		"q/x.sql": "-- header\n\n-- name: a\n-- doc\nSELECT 1\nFROM t;\n-- name: b\nSELECT 2;\n",
		"q/y.sql": "  -- name:   c  \nSELECT 3;\n",
	}), "q/*.sql")
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "SELECT 1\nFROM t;", "b": "SELECT 2;", "c": "SELECT 3;"}, got)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing name", map[string]string{"q/x.sql": "SELECT 1;\n-- name: a\nSELECT 2;\n"}, `q/x.sql: SQL before the first "-- name:" line`},
		{"empty name", map[string]string{"q/x.sql": "-- name:\nSELECT 1;\n"}, `q/x.sql: SQL before the first "-- name:" line`},
		{"empty query", map[string]string{"q/x.sql": "-- name: a\n-- only a comment\n-- name: b\nSELECT 1;\n"}, `q/x.sql: query "a" is empty`},
		{"duplicate name", map[string]string{"q/x.sql": "-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n"}, `q/x.sql: query "a" defined twice`},
		{"duplicate across files", map[string]string{"q/x.sql": "-- name: a\nSELECT 1;\n", "q/y.sql": "-- name: a\nSELECT 2;\n"}, `q/y.sql: query "a" defined twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(mapFS(tc.files), "q/*.sql")
			require.EqualError(t, err, tc.want)
		})
	}
	_, err := Parse(fstest.MapFS{}, "[")
	require.Error(t, err, "a bad pattern is an error")
}

type twoQueries struct {
	A string `sql:"a"`
	B string `sql:"b"`
}

func TestLoad(t *testing.T) {
	t.Parallel()
	q, err := Load[twoQueries](mapFS(map[string]string{"q/x.sql": "-- name: b\nSELECT 2;\n-- name: a\nSELECT 1;\n"}), "q/*.sql")
	require.NoError(t, err)
	require.Equal(t, &twoQueries{A: "SELECT 1;", B: "SELECT 2;"}, q)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		body string
		want string
	}{
		{"missing field", "-- name: a\nSELECT 1;\n", `query "b": not found in q/*.sql`},
		{"unused statement", "-- name: a\nSELECT 1;\n-- name: b\nSELECT 2;\n-- name: d\nSELECT 4;\n-- name: c\nSELECT 3;\n", `query "c": defined but never used`},
		{"parse error", "SELECT 0;\n", `q/x.sql: SQL before the first "-- name:" line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load[twoQueries](mapFS(map[string]string{"q/x.sql": tc.body}), "q/*.sql")
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestLoadBadStruct(t *testing.T) {
	t.Parallel()
	fsys := mapFS(map[string]string{"q/x.sql": "-- name: a\nSELECT 1;\n"})
	type untagged struct {
		A string `sql:"a"`
		B string
	}
	_, err := Load[untagged](fsys, "q/*.sql")
	require.ErrorContains(t, err, "field sqlfile.untagged.B")
	type notString struct {
		A int `sql:"a"`
	}
	_, err = Load[notString](fsys, "q/*.sql")
	require.ErrorContains(t, err, "field sqlfile.notString.A")
	_, err = Load[string](fsys, "q/*.sql")
	require.ErrorContains(t, err, "not a struct")
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms, err := Migrations(mapFS(map[string]string{
		"m/0002_more.sql":  "CREATE TABLE b ();",
		"m/0001_init.sql":  "CREATE TABLE a ();",
		"m/0003_x_y_z.sql": "CREATE TABLE c ();",
		"m/README":         "not matched",
	}), "m/*.sql")
	require.NoError(t, err)
	require.Equal(t, []Migration{
		{Version: 1, Name: "init", SQL: "CREATE TABLE a ();"},
		{Version: 2, Name: "more", SQL: "CREATE TABLE b ();"},
		{Version: 3, Name: "x_y_z", SQL: "CREATE TABLE c ();"},
	}, ms)

	ms, err = Migrations(fstest.MapFS{}, "m/*.sql")
	require.NoError(t, err)
	require.Empty(t, ms)
}

func TestMigrationsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"no underscore", []string{"m/0001.sql"}, "migration 0001.sql: want NNNN_name.sql"},
		{"not a number", []string{"m/abcd_init.sql"}, "migration abcd_init.sql: want NNNN_name.sql"},
		{"zero", []string{"m/0000_init.sql"}, "migration 0000_init.sql: want NNNN_name.sql"},
		{"gap", []string{"m/0001_a.sql", "m/0003_c.sql"}, "migration 0003_c: expected version 2"},
		{"not from one", []string{"m/0002_b.sql"}, "migration 0002_b: expected version 1"},
		{"duplicate version", []string{"m/0001_a.sql", "m/0001_b.sql"}, "migration 0001_b: expected version 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys[f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			_, err := Migrations(fsys, "m/*.sql")
			require.EqualError(t, err, tc.want)
		})
	}
}

// FuzzParse checks that whatever parses yields non-empty, comment-free
// statements under non-empty names.
func FuzzParse(f *testing.F) {
	f.Add("-- name: a\nSELECT 1;\n")
	f.Add("SELECT 1;\n-- name: a\n")
	f.Add("-- name: a\n-- doc\n-- name: a\nx\n")
	f.Fuzz(func(t *testing.T, body string) {
		got, err := Parse(fstest.MapFS{"q/x.sql": {Data: []byte(body)}}, "q/*.sql")
		if err != nil {
			return
		}
		for name, text := range got {
			require.NotEmpty(t, name)
			require.NotEmpty(t, text)
			require.Equal(t, strings.TrimSpace(text), text)
		}
	})
}
