// Package sqlfile reads the SQL files the store drivers embed: named
// statements ("-- name: NAME" blocks) loaded into a struct of strings by
// their `sql:"name"` tags, and numbered migrations (NNNN_name.sql). Both
// drivers share it so the rules — every field finds its statement, every
// statement is used, migrations run 1..n without gaps — are the same and
// a typo stops Open instead of a request.
package sqlfile

import (
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Parse reads the "-- name: NAME" blocks of the files matching pattern into
// a map from name to statement. Other lines starting with "--" are dropped:
// comments document the query, the database need not see them. SQL before
// the first name, an empty statement and a name defined twice are errors.
func Parse(fsys fs.FS, pattern string) (map[string]string, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, file := range files {
		b, err := fs.ReadFile(fsys, file)
		if err != nil {
			return nil, err
		}
		var name string
		var body strings.Builder
		flush := func() error {
			if name == "" {
				if strings.TrimSpace(body.String()) != "" {
					return fmt.Errorf("%s: SQL before the first \"-- name:\" line", file)
				}
				return nil
			}
			text := strings.TrimSpace(body.String())
			if text == "" {
				return fmt.Errorf("%s: query %q is empty", file, name)
			}
			if _, dup := out[name]; dup {
				return fmt.Errorf("%s: query %q defined twice", file, name)
			}
			out[name] = text
			return nil
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
				if err := flush(); err != nil {
					return nil, err
				}
				name = strings.TrimSpace(rest)
				body.Reset()
				continue
			}
			if strings.HasPrefix(strings.TrimSpace(line), "--") {
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
		}
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Load parses the files matching pattern and returns a T whose string
// fields hold the statements named by their `sql` tags. It fails when a
// field finds no statement or a statement is used by no field, so the
// struct and the files cannot drift apart. T must be a struct of string
// fields, each with a `sql` tag.
func Load[T any](fsys fs.FS, pattern string) (*T, error) {
	named, err := Parse(fsys, pattern)
	if err != nil {
		return nil, err
	}
	out := new(T)
	v := reflect.ValueOf(out).Elem()
	if v.Kind() != reflect.Struct {
		return nil, fmt.Errorf("sqlfile: %s is not a struct", v.Type())
	}
	used := make(map[string]bool, len(named))
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name, ok := f.Tag.Lookup("sql")
		if !ok || name == "" || f.Type.Kind() != reflect.String || !f.IsExported() {
			return nil, fmt.Errorf("sqlfile: field %s.%s: want an exported string with a sql tag", v.Type(), f.Name)
		}
		text, ok := named[name]
		if !ok {
			return nil, fmt.Errorf("query %q: not found in %s", name, pattern)
		}
		used[name] = true
		v.Field(i).SetString(text)
	}
	// Sorted so that the error names the same statement on every run.
	names := make([]string, 0, len(named))
	for name := range named {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !used[name] {
			return nil, fmt.Errorf("query %q: defined but never used", name)
		}
	}
	return out, nil
}

// Migration is one numbered migration file, NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the files matching pattern, each named NNNN_name.sql,
// in version order. Versions must be unique and run from 1 without gaps, so
// a lost or doubled file is noticed before anything is applied.
func Migrations(fsys fs.FS, pattern string) ([]Migration, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, f := range files {
		base := path.Base(f)
		num, name, ok := strings.Cut(strings.TrimSuffix(base, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", base)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortStableFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: expected version %d", m.Version, m.Name, i+1)
		}
	}
	return ms, nil
}
