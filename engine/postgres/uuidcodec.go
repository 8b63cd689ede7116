package postgres

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// The store keeps ids as Go strings, and pgx's UUIDCodec encodes only
// UUIDValuer values. So every string bound to a uuid or uuid[] parameter
// first failed pgx's preferred binary format, and the error it built on the
// way (fmt's %#v of the whole value: a claim's 100 ids) was thrown away
// before the text format was tried. Under load that was a sixth of the
// engine's CPU per action (BenchmarkRunDuePostgres, CPU profile of the
// measured part). stringUUIDCodec encodes the canonical string form in
// binary directly; any other form still takes the text path, where
// PostgreSQL parses it, or rejects it, as before.

// stringUUIDCodec is pgtype.UUIDCodec that also binary-encodes a string.
type stringUUIDCodec struct{ pgtype.UUIDCodec }

// PlanEncode plans strings itself and leaves everything else to UUIDCodec.
func (c stringUUIDCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(string); ok && format == pgtype.BinaryFormatCode {
		return encodeStringUUID{}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

// encodeStringUUID writes a canonical uuid string's 16 bytes.
type encodeStringUUID struct{}

// errNotCanonicalUUID sends a string to the text format.
var errNotCanonicalUUID = errors.New("not a canonical uuid string")

func (encodeStringUUID) Encode(value any, buf []byte) ([]byte, error) {
	u, ok := canonicalUUID(value.(string))
	if !ok {
		return nil, errNotCanonicalUUID
	}
	return append(buf, u[:]...), nil
}

// canonicalUUID parses the 8-4-4-4-12 hex form.
func canonicalUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	var h [32]byte
	copy(h[0:8], s[0:8])
	copy(h[8:12], s[9:13])
	copy(h[12:16], s[14:18])
	copy(h[16:20], s[19:23])
	copy(h[20:32], s[24:36])
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return u, false
	}
	return u, true
}

// registerUUIDCodec installs stringUUIDCodec for uuid and uuid[] on a new
// connection (the array's codec names its element type, so it is
// registered again around the new one).
func registerUUIDCodec(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: stringUUIDCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
	return nil
}
