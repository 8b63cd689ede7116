package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// The owner of a contact changes through SetContactOwner only, and every
// change is recorded with where it came from.
func testOwnerChanges(t *testing.T, s AgentStore) {
	a1 := newAgent(t, s, "a1", "", at(0))
	a2 := newAgent(t, s, "a2", "", at(0))
	c := newContact(t, s, "+12125550180")
	hist, err := s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Empty(t, hist)

	ch, ok, err := s.SetContactOwner(ctx(t), c.ID, a1.ID, engine.OwnerReasonAPI, "", at(1))
	require.NoError(t, err)
	require.True(t, ok)
	require.NotEmpty(t, ch.ID)
	first := engine.OwnerChange{ID: ch.ID, ContactID: c.ID, From: "", To: a1.ID, Reason: engine.OwnerReasonAPI, At: stored(at(1))}
	require.Equal(t, first, ch)
	got, err := s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, a1.ID, got.Owner)
	require.Equal(t, stored(at(1)), got.UpdatedAt)

	// The owner it already has: nothing happens.
	ch, ok, err = s.SetContactOwner(ctx(t), c.ID, a1.ID, engine.OwnerReasonRoundRobin, missingID, at(2))
	require.NoError(t, err)
	require.False(t, ok)
	require.Zero(t, ch)
	got, err = s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, stored(at(1)), got.UpdatedAt, "a no-op does not touch the contact")

	second, ok, err := s.SetContactOwner(ctx(t), c.ID, a2.ID, engine.OwnerReasonRoundRobin, missingID, at(3))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a1.ID, second.From)
	require.Equal(t, a2.ID, second.To)
	require.Equal(t, missingID, second.CadenceID)

	cleared, ok, err := s.SetContactOwner(ctx(t), c.ID, "", engine.OwnerReasonFirstToAnswer, "", at(4))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a2.ID, cleared.From)
	require.Empty(t, cleared.To)
	got, err = s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Empty(t, got.Owner)
	_, ok, err = s.SetContactOwner(ctx(t), c.ID, "", engine.OwnerReasonAPI, "", at(5))
	require.NoError(t, err)
	require.False(t, ok, "clearing a cleared owner is a no-op")

	// A later change recorded at an earlier instant (a node with a slow
	// clock) still comes after the ones made before it.
	last, ok, err := s.SetContactOwner(ctx(t), c.ID, a1.ID, engine.OwnerReasonAPI, "", at(0))
	require.NoError(t, err)
	require.True(t, ok)

	hist, err = s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, []engine.OwnerChange{first, second, cleared, last}, hist)

	other := newContact(t, s, "+12125550181")
	hist, err = s.OwnerChanges(ctx(t), other.ID)
	require.NoError(t, err)
	require.Empty(t, hist, "histories are per contact")
}

func testOwnerErrors(t *testing.T, s AgentStore) {
	a := newAgent(t, s, "a", "", at(0))
	c := newContact(t, s, "+12125550182")
	for _, id := range []string{missingID, "not-an-id"} {
		_, _, err := s.SetContactOwner(ctx(t), id, a.ID, engine.OwnerReasonAPI, "", at(1))
		require.ErrorIs(t, err, engine.ErrNotFound, "unknown contact %q", id)
		_, _, err = s.SetContactOwner(ctx(t), c.ID, id, engine.OwnerReasonAPI, "", at(1))
		require.ErrorIs(t, err, engine.ErrNotFound, "unknown agent %q", id)
		_, err = s.OwnerChanges(ctx(t), id)
		require.ErrorIs(t, err, engine.ErrNotFound, "unknown contact %q", id)
	}
	_, _, err := s.SetContactOwner(ctx(t), c.ID, a.ID, "because", "", at(1))
	requireField(t, err, "reason")
	_, _, err = s.SetContactOwner(ctx(t), c.ID, a.ID, "", "", at(1))
	requireField(t, err, "reason")

	got, err := s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Empty(t, got.Owner, "failed calls change nothing")
	hist, err := s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Empty(t, hist)
}

// An owner set by an import (not an agent of this store) or a deleted agent
// is still the From of the next change.
func testOwnerDeletedAgent(t *testing.T, s AgentStore) {
	c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: "+12125550183", Owner: "crm-user-7"}, at(0))
	require.NoError(t, err)
	a := newAgent(t, s, "a", "", at(0))
	ch, ok, err := s.SetContactOwner(ctx(t), c.ID, a.ID, engine.OwnerReasonAPI, "", at(1))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "crm-user-7", ch.From)

	require.NoError(t, s.DeleteAgent(ctx(t), a.ID))
	_, _, err = s.SetContactOwner(ctx(t), c.ID, a.ID, engine.OwnerReasonAPI, "", at(2))
	require.ErrorIs(t, err, engine.ErrNotFound, "a deleted agent cannot be made owner")
	ch, ok, err = s.SetContactOwner(ctx(t), c.ID, "", engine.OwnerReasonAPI, "", at(2))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a.ID, ch.From)
}

// Eight writers changing one contact's owner at once leave a history that
// chains: each change starts from the owner the previous one set, and the
// last one set the contact's owner.
func testOwnerConcurrent(t *testing.T, s AgentStore) {
	const writers, rounds = 8, 6
	var agents []string
	for i := range 3 {
		agents = append(agents, newAgent(t, s, fmt.Sprint("agent", i), "", at(0)).ID)
	}
	c := newContact(t, s, "+12125550184")

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changed int
		errs    []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				to := agents[(w+r)%len(agents)]
				if (w+r)%4 == 3 {
					to = ""
				}
				_, ok, err := s.SetContactOwner(ctx(t), c.ID, to, engine.OwnerReasonRoundRobin, "", at(1))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					changed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)

	hist, err := s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, hist, changed, "one recorded change per change reported")
	require.NotEmpty(t, hist)
	prev := ""
	for i, ch := range hist {
		require.Equal(t, prev, ch.From, "change %d starts where change %d ended", i, i-1)
		require.NotEqual(t, ch.From, ch.To, "change %d changes something", i)
		prev = ch.To
	}
	got, err := s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, prev, got.Owner)
}

// UpsertContact keeps the owner when it gives none, and records a change
// (OwnerReasonAPI) when it gives another; creating a contact with an owner
// is not a change.
func testOwnerUpsert(t *testing.T, s AgentStore) {
	const phone = "+12125550185"
	a1 := newAgent(t, s, "a1", "", at(0))
	c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone, Owner: "crm-user-7"}, at(0))
	require.NoError(t, err)
	hist, err := s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Empty(t, hist, "a new contact's owner is not a change")

	// No owner given: the stored one stays, nothing is recorded.
	u, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone, FirstName: "Ada"}, at(1))
	require.NoError(t, err)
	require.Equal(t, "crm-user-7", u.Owner)
	require.Equal(t, "Ada", u.FirstName)
	// The same owner again: nothing is recorded either.
	_, err = s.UpsertContact(ctx(t), engine.Contact{Phone: phone, Owner: "crm-user-7"}, at(2))
	require.NoError(t, err)
	hist, err = s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Empty(t, hist)

	// Another owner: set and recorded, from the stored one.
	u, err = s.UpsertContact(ctx(t), engine.Contact{Phone: phone, Owner: a1.ID}, at(3))
	require.NoError(t, err)
	require.Equal(t, a1.ID, u.Owner)
	hist, err = s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.NotEmpty(t, hist[0].ID)
	first := engine.OwnerChange{ID: hist[0].ID, ContactID: c.ID, From: "crm-user-7", To: a1.ID,
		Reason: engine.OwnerReasonAPI, At: stored(at(3))}
	require.Equal(t, first, hist[0])

	// Changes by upsert and by SetContactOwner make one chain.
	a2 := newAgent(t, s, "a2", "", at(0))
	second, ok, err := s.SetContactOwner(ctx(t), c.ID, a2.ID, engine.OwnerReasonRoundRobin, missingID, at(4))
	require.NoError(t, err)
	require.True(t, ok)
	u, err = s.UpsertContact(ctx(t), engine.Contact{Phone: phone}, at(5))
	require.NoError(t, err)
	require.Equal(t, a2.ID, u.Owner, "an upsert without owner keeps the assigned agent")
	_, err = s.UpsertContact(ctx(t), engine.Contact{Phone: phone, Owner: "crm-user-8"}, at(6))
	require.NoError(t, err)
	hist, err = s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, hist, 3)
	require.Equal(t, []engine.OwnerChange{first, second}, hist[:2])
	require.Equal(t, a2.ID, hist[2].From)
	require.Equal(t, "crm-user-8", hist[2].To)
	require.Equal(t, engine.OwnerReasonAPI, hist[2].Reason)
	require.Empty(t, hist[2].CadenceID)
	got, err := s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, "crm-user-8", got.Owner)
}

// Upserts of one phone with different owners, some creating the contact,
// racing with SetContactOwner, leave a history that chains to the owner the
// contact ends with.
func testOwnerUpsertConcurrent(t *testing.T, s AgentStore) {
	const (
		phone           = "+12125550186"
		writers, rounds = 8, 5
	)
	agent := newAgent(t, s, "a", "", at(0))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		ids  = map[string]bool{}
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				owner := fmt.Sprint("crm-", (w+r)%3)
				if (w+r)%4 == 3 {
					owner = ""
				}
				c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone, Owner: owner}, at(1))
				if err == nil && w%4 == 0 {
					_, _, err = s.SetContactOwner(ctx(t), c.ID, agent.ID, engine.OwnerReasonFirstToAnswer, "", at(1))
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids[c.ID] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Len(t, ids, 1, "one contact")

	c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone}, at(2))
	require.NoError(t, err)
	require.True(t, ids[c.ID])
	hist, err := s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.NotEmpty(t, hist)
	got, err := s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	prev := hist[0].From // the owner the contact was created with
	for i, ch := range hist {
		require.Equal(t, prev, ch.From, "change %d starts where change %d ended", i, i-1)
		require.NotEqual(t, ch.From, ch.To, "change %d changes something", i)
		prev = ch.To
	}
	require.Equal(t, prev, got.Owner)
}
