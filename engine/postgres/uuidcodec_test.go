package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

func TestCanonicalUUID(t *testing.T) {
	want := [16]byte{0x01, 0x90, 0xf0, 0xa0, 0x12, 0x34, 0x70, 0x00, 0x80, 0x00, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"0190f0a0-1234-7000-8000-abcdef012345", true},
		{"0190F0A0-1234-7000-8000-ABCDEF012345", true},
		{"0190f0a012347000-8000-abcdef012345", false},
		{"{0190f0a0-1234-7000-8000-abcdef012345}", false},
		{"0190f0a0-1234-7000-8000-abcdef01234", false},
		{"0190f0a0-1234-7000-8000-abcdef01234g", false},
		{"0190f0a0_1234_7000_8000_abcdef012345", false},
		{"", false},
	} {
		got, ok := canonicalUUID(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		if ok {
			require.Equal(t, want, got, tc.in)
		}
	}
}

// TestStringUUIDParameters sends ids as Go strings, alone and in arrays,
// through a store's connection: canonical ones go in binary, every other
// form PostgreSQL accepts still works (through the text format), and a
// malformed one is still PostgreSQL's clear error.
func TestStringUUIDParameters(t *testing.T) {
	url, schema := testSchema(t)
	s, err := Open(t.Context(), url, WithSchema(schema), WithMaxConns(2))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	const canonical = "0190f0a0-1234-7000-8000-abcdef012345"
	for _, in := range []string{canonical, "0190F0A0-1234-7000-8000-ABCDEF012345",
		"{0190f0a0-1234-7000-8000-abcdef012345}", "0190f0a0123470008000abcdef012345"} {
		var got string
		require.NoError(t, s.pool.QueryRow(ctx, "SELECT $1::uuid::text", in).Scan(&got), in)
		require.Equal(t, canonical, got, in)
		var n int
		require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM unnest($1::uuid[]) u WHERE u = $2::uuid",
			[]string{in, canonical, "00000000-0000-0000-0000-000000000000"}, canonical).Scan(&n), in)
		require.Equal(t, 2, n, in)
	}
	var got string
	err = s.pool.QueryRow(ctx, "SELECT $1::uuid::text", "not-a-uuid").Scan(&got)
	require.ErrorContains(t, err, "invalid input syntax for type uuid")

	// Every connection of the store has the codec, for uuid and uuid[].
	pc, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	tm := pc.Conn().TypeMap()
	pc.Release()
	u, ok := tm.TypeForOID(pgtype.UUIDOID)
	require.True(t, ok)
	require.IsType(t, stringUUIDCodec{}, u.Codec)
	ua, ok := tm.TypeForOID(pgtype.UUIDArrayOID)
	require.True(t, ok)
	require.Same(t, u, ua.Codec.(*pgtype.ArrayCodec).ElementType)

	// The plan is the binary one for a string, UUIDCodec's for the rest.
	m := pgtype.NewMap()
	plan := stringUUIDCodec{}.PlanEncode(m, pgtype.UUIDOID, pgtype.BinaryFormatCode, canonical)
	require.IsType(t, encodeStringUUID{}, plan)
	buf, err := plan.Encode(canonical, nil)
	require.NoError(t, err)
	require.Len(t, buf, 16)
	require.Nil(t, stringUUIDCodec{}.PlanEncode(m, pgtype.UUIDOID, pgtype.BinaryFormatCode, 42))
}
