package storetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func authTests() []test {
	return []test{
		{"APIKeyByHash", testAPIKeyByHash},
		{"APIKeyDuplicateHash", testAPIKeyDuplicateHash},
		{"APIKeyLastUsed", testAPIKeyLastUsed},
		{"APIKeyUnknownHash", testAPIKeyUnknownHash},
		{"APIKeyInvalidRole", testAPIKeyInvalidRole},
		{"APIKeyAgentBinding", testAPIKeyAgentBinding},
		{"APIKeyAgentOnlyForRoleAgent", testAPIKeyAgentOnlyForRoleAgent},
		{"APIKeyListCount", testAPIKeyListCount},
		{"APIKeyDelete", testAPIKeyDelete},
		{"IdempotentPutGet", testIdempotentPutGet},
		{"IdempotentMissing", testIdempotentMissing},
		{"IdempotentSecondPutConflicts", testIdempotentConflict},
		{"IdempotentScopedByAPIKey", testIdempotentScoped},
		{"IdempotentPurge", testIdempotentPurge},
		{"IdempotentInvalid", testIdempotentInvalid},
	}
}

// hashOf is the stored form of a secret.
func hashOf(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func newKey(t *testing.T, s engine.Store, name string, role engine.Role, now time.Time) engine.APIKey {
	t.Helper()
	k, err := s.CreateAPIKey(ctx(t), engine.APIKey{Name: name, Role: role, Prefix: "cdz_" + name[:1], Hash: hashOf("secret-" + name)}, now)
	require.NoError(t, err)
	return k
}

func testAPIKeyByHash(t *testing.T, s engine.Store) {
	k := newKey(t, s, "ops", engine.RoleManager, at(0))
	require.NotEmpty(t, k.ID)
	require.Equal(t, stored(at(0)), k.CreatedAt)
	require.Nil(t, k.LastUsedAt)
	got, err := s.APIKeyByHash(ctx(t), hashOf("secret-ops"), at(5))
	require.NoError(t, err)
	require.Equal(t, k.ID, got.ID)
	require.Equal(t, "ops", got.Name)
	require.Equal(t, engine.RoleManager, got.Role)
	require.Equal(t, "cdz_o", got.Prefix)
	require.Equal(t, hashOf("secret-ops"), got.Hash)
	require.Equal(t, k.CreatedAt, got.CreatedAt)
	require.NotNil(t, got.LastUsedAt)
	require.Equal(t, stored(at(5)), *got.LastUsedAt)
}

func testAPIKeyDuplicateHash(t *testing.T, s engine.Store) {
	newKey(t, s, "ops", engine.RoleAdmin, at(0))
	_, err := s.CreateAPIKey(ctx(t), engine.APIKey{Name: "copy", Role: engine.RoleViewer, Hash: hashOf("secret-ops")}, at(1))
	require.ErrorIs(t, err, engine.ErrConflict)
	n, err := s.CountAPIKeys(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func testAPIKeyLastUsed(t *testing.T, s engine.Store) {
	k := newKey(t, s, "ops", engine.RoleAgent, at(0))
	use := func(now time.Time) time.Time {
		got, err := s.APIKeyByHash(ctx(t), k.Hash, now)
		require.NoError(t, err)
		require.NotNil(t, got.LastUsedAt)
		return *got.LastUsedAt
	}
	require.Equal(t, stored(at(10)), use(at(10)))
	// Within a minute of the recorded use the store need not write again.
	within := use(at(10).Add(30 * time.Second))
	require.True(t, !within.Before(stored(at(10))) && !within.After(stored(at(10).Add(30*time.Second))))
	require.Equal(t, stored(at(12)), use(at(12)))
	items, _, err := s.ListAPIKeys(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.NotNil(t, items[0].LastUsedAt)
	require.Equal(t, stored(at(12)), *items[0].LastUsedAt, "the use is stored, not only returned")
}

func testAPIKeyUnknownHash(t *testing.T, s engine.Store) {
	newKey(t, s, "ops", engine.RoleAdmin, at(0))
	_, err := s.APIKeyByHash(ctx(t), hashOf("wrong"), at(1))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.APIKeyByHash(ctx(t), nil, at(1))
	require.ErrorIs(t, err, engine.ErrNotFound)
}

func testAPIKeyInvalidRole(t *testing.T, s engine.Store) {
	_, err := s.CreateAPIKey(ctx(t), engine.APIKey{Name: "x", Role: "root", Hash: hashOf("x")}, at(0))
	requireField(t, err, "role")
	_, err = s.CreateAPIKey(ctx(t), engine.APIKey{Name: "x", Role: engine.RoleAdmin}, at(0))
	requireField(t, err, "hash")
	n, err := s.CountAPIKeys(ctx(t))
	require.NoError(t, err)
	require.Zero(t, n)
}

// boundAgentID is an agent for a bound key: a stored one when s keeps
// agents, else a well-formed id (the store does not check it exists).
func boundAgentID(t *testing.T, s engine.Store) (string, func()) {
	t.Helper()
	as, ok := s.(engine.AgentStore)
	if !ok {
		return "0190a3c2-5b1e-7000-8000-00000000a9e1", func() {}
	}
	a, err := as.CreateAgent(ctx(t), engine.Agent{Name: "Ana", Destination: "PJSIP/ana"}, at(0))
	require.NoError(t, err)
	return a.ID, func() { require.NoError(t, as.DeleteAgent(ctx(t), a.ID)) }
}

func testAPIKeyAgentBinding(t *testing.T, s engine.Store) {
	agentID, deleteAgent := boundAgentID(t, s)
	k, err := s.CreateAPIKey(ctx(t), engine.APIKey{Name: "ana", Role: engine.RoleAgent, Prefix: "cdz_a", Hash: hashOf("secret-ana"), AgentID: agentID}, at(1))
	require.NoError(t, err)
	require.Equal(t, agentID, k.AgentID)
	free := newKey(t, s, "desk", engine.RoleAgent, at(2))
	require.Empty(t, free.AgentID)

	got, err := s.APIKeyByHash(ctx(t), hashOf("secret-ana"), at(3))
	require.NoError(t, err)
	require.Equal(t, agentID, got.AgentID)
	got, err = s.APIKeyByHash(ctx(t), hashOf("secret-desk"), at(3))
	require.NoError(t, err)
	require.Empty(t, got.AgentID, "an unbound key reads back unbound")

	items, _, err := s.ListAPIKeys(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, agentID, items[0].AgentID)
	require.Empty(t, items[1].AgentID)

	// Deleting the agent keeps the key and its binding: the API refuses it
	// for agent routes, and the key can still be listed and deleted.
	deleteAgent()
	got, err = s.APIKeyByHash(ctx(t), hashOf("secret-ana"), at(4))
	require.NoError(t, err)
	require.Equal(t, agentID, got.AgentID)
	require.NoError(t, s.DeleteAPIKey(ctx(t), k.ID))
}

func testAPIKeyAgentOnlyForRoleAgent(t *testing.T, s engine.Store) {
	agentID, _ := boundAgentID(t, s)
	for _, r := range []engine.Role{engine.RoleAdmin, engine.RoleManager, engine.RoleViewer} {
		_, err := s.CreateAPIKey(ctx(t), engine.APIKey{Name: "x", Role: r, Hash: hashOf("x-" + string(r)), AgentID: agentID}, at(0))
		requireField(t, err, "agent_id")
	}
	n, err := s.CountAPIKeys(ctx(t))
	require.NoError(t, err)
	require.Zero(t, n)
}

func testAPIKeyListCount(t *testing.T, s engine.Store) {
	n, err := s.CountAPIKeys(ctx(t))
	require.NoError(t, err)
	require.Zero(t, n)
	var want []string
	for i, r := range []engine.Role{engine.RoleAdmin, engine.RoleManager, engine.RoleAgent, engine.RoleViewer, engine.RoleViewer} {
		want = append(want, newKey(t, s, fmt.Sprint(r, i), r, at(i)).ID)
	}
	n, err = s.CountAPIKeys(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 5, n)
	var got []string
	page := engine.Page{Limit: 3}
	for {
		items, next, err := s.ListAPIKeys(ctx(t), page)
		require.NoError(t, err)
		for _, k := range items {
			got = append(got, k.ID)
			require.NotEmpty(t, k.Hash)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	require.Equal(t, want, got)
}

func testAPIKeyDelete(t *testing.T, s engine.Store) {
	k := newKey(t, s, "ops", engine.RoleAdmin, at(0))
	other := newKey(t, s, "dev", engine.RoleAdmin, at(0))
	for _, owner := range []string{k.ID, other.ID} {
		require.NoError(t, s.PutIdempotent(ctx(t), engine.IdempotentResponse{APIKeyID: owner, Key: "k1",
			RequestHash: hashOf("req"), Status: 201, ContentType: "application/json", Body: []byte(`{}`), CreatedAt: at(1)}))
	}
	require.NoError(t, s.DeleteAPIKey(ctx(t), k.ID))
	_, err := s.APIKeyByHash(ctx(t), k.Hash, at(2))
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteAPIKey(ctx(t), k.ID), engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteAPIKey(ctx(t), "not-a-uuid"), engine.ErrNotFound)
	n, err := s.CountAPIKeys(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, ok, err := s.GetIdempotent(ctx(t), k.ID, "k1")
	require.NoError(t, err)
	require.False(t, ok, "a deleted key's stored responses go with it")
	_, ok, err = s.GetIdempotent(ctx(t), other.ID, "k1")
	require.NoError(t, err)
	require.True(t, ok)
}

func response(apiKeyID, key string, now time.Time) engine.IdempotentResponse {
	return engine.IdempotentResponse{
		APIKeyID:    apiKeyID,
		Key:         key,
		RequestHash: hashOf("POST /v1/cadences " + key),
		Status:      201,
		ContentType: "application/json",
		Body:        []byte(`{"id":"c1","name":"Speed to lead"}` + "\n"),
		CreatedAt:   stored(now),
	}
}

func testIdempotentPutGet(t *testing.T, s engine.Store) {
	r := response("key-1", "abc-123", at(0))
	require.NoError(t, s.PutIdempotent(ctx(t), r))
	got, ok, err := s.GetIdempotent(ctx(t), "key-1", "abc-123")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, r, got)
}

func testIdempotentMissing(t *testing.T, s engine.Store) {
	got, ok, err := s.GetIdempotent(ctx(t), "key-1", "nope")
	require.NoError(t, err)
	require.False(t, ok)
	require.Zero(t, got)
}

func testIdempotentConflict(t *testing.T, s engine.Store) {
	first := response("key-1", "abc", at(0))
	require.NoError(t, s.PutIdempotent(ctx(t), first))
	second := response("key-1", "abc", at(1))
	second.Status, second.Body = 500, []byte("boom")
	require.ErrorIs(t, s.PutIdempotent(ctx(t), second), engine.ErrConflict)
	got, ok, err := s.GetIdempotent(ctx(t), "key-1", "abc")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, first, got, "the first response stays")
}

func testIdempotentScoped(t *testing.T, s engine.Store) {
	a, b := response("key-a", "same", at(0)), response("key-b", "same", at(0))
	b.Status = 200
	require.NoError(t, s.PutIdempotent(ctx(t), a))
	require.NoError(t, s.PutIdempotent(ctx(t), b))
	got, ok, err := s.GetIdempotent(ctx(t), "key-b", "same")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 200, got.Status)
}

func testIdempotentPurge(t *testing.T, s engine.Store) {
	for i := range 5 {
		require.NoError(t, s.PutIdempotent(ctx(t), response("key-1", fmt.Sprint("k", i), at(i*60))))
	}
	n, err := s.PurgeIdempotent(ctx(t), at(120))
	require.NoError(t, err)
	require.Equal(t, 2, n, "strictly before the cutoff")
	for i := range 5 {
		_, ok, err := s.GetIdempotent(ctx(t), "key-1", fmt.Sprint("k", i))
		require.NoError(t, err)
		require.Equal(t, i >= 2, ok, "k%d", i)
	}
	n, err = s.PurgeIdempotent(ctx(t), at(120))
	require.NoError(t, err)
	require.Zero(t, n)
}

func testIdempotentInvalid(t *testing.T, s engine.Store) {
	for path, mutate := range map[string]func(*engine.IdempotentResponse){
		"api_key_id":   func(r *engine.IdempotentResponse) { r.APIKeyID = "" },
		"key":          func(r *engine.IdempotentResponse) { r.Key = "" },
		"request_hash": func(r *engine.IdempotentResponse) { r.RequestHash = nil },
		"status":       func(r *engine.IdempotentResponse) { r.Status = 42 },
		"created_at":   func(r *engine.IdempotentResponse) { r.CreatedAt = time.Time{} },
	} {
		r := response("key-1", "k", at(0))
		mutate(&r)
		requireField(t, s.PutIdempotent(ctx(t), r), path)
	}
	_, ok, err := s.GetIdempotent(ctx(t), "key-1", "k")
	require.NoError(t, err)
	require.False(t, ok)
}
