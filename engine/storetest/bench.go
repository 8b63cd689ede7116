package storetest

import (
	"context"
	"testing"

	"github.com/cadenza-dialer/cadenza/engine"
)

// BenchCreateCadence measures CreateCadence (two inserts in a transaction).
func BenchCreateCadence(b *testing.B, s engine.Store) {
	ctx := context.Background()
	def := Definition("bench")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.CreateCadence(ctx, def, engine.StatusActive, at(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchGetCadence measures GetCadence of one of 100 cadences.
func BenchGetCadence(b *testing.B, s engine.Store) {
	ctx := context.Background()
	var ids []string
	for i := range 100 {
		c, err := s.CreateCadence(ctx, Definition("bench"), engine.StatusActive, at(i))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.GetCadence(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
