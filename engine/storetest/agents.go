package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// AgentStore is a store with live agents and the contacts they own.
type AgentStore interface {
	engine.AgentStore
	engine.EnrollmentStore
}

// RunAgents runs the conformance cases of engine.AgentStore: teams, queues
// and agents with their rules (unique names, references that must exist,
// rows in use), their filters and pages, and the recorded history of
// contact owners, also under concurrent changes.
func RunAgents(t *testing.T, open func(t *testing.T) AgentStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s AgentStore)
	}{
		{"TeamCRUD", testTeamCRUD},
		{"TeamValidation", testTeamValidation},
		{"TeamUniqueName", testTeamUniqueName},
		{"QueueCRUD", testQueueCRUD},
		{"QueueValidation", testQueueValidation},
		{"QueueUniqueName", testQueueUniqueName},
		{"AgentCRUD", testAgentsCRUD},
		{"AgentValidation", testAgentsValidation},
		{"AgentUnknownRefs", testAgentsUnknownRefs},
		{"InUse", testAgentsInUse},
		{"AgentFilters", testAgentsFilters},
		{"Pages", testAgentsPages},
		{"OwnerChanges", testOwnerChanges},
		{"OwnerErrors", testOwnerErrors},
		{"OwnerDeletedAgent", testOwnerDeletedAgent},
		{"OwnerConcurrent", testOwnerConcurrent},
		{"OwnerUpsert", testOwnerUpsert},
		{"OwnerUpsertConcurrent", testOwnerUpsertConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func newTeam(t *testing.T, s AgentStore, name string, now time.Time) engine.Team {
	t.Helper()
	tm, err := s.CreateTeam(ctx(t), engine.Team{Name: name}, now)
	require.NoError(t, err)
	return tm
}

func newQueue(t *testing.T, s AgentStore, name string, now time.Time) engine.Queue {
	t.Helper()
	q, err := s.CreateQueue(ctx(t), engine.Queue{Name: name}, now)
	require.NoError(t, err)
	return q
}

func newAgent(t *testing.T, s AgentStore, name, teamID string, now time.Time, queues ...string) engine.Agent {
	t.Helper()
	a, err := s.CreateAgent(ctx(t), engine.Agent{Name: name, TeamID: teamID, Destination: "sip:" + name + "@pbx.example.com",
		Queues: queues}, now)
	require.NoError(t, err)
	return a
}

func newContact(t *testing.T, s AgentStore, phone string) engine.Contact {
	t.Helper()
	c, err := s.UpsertContact(ctx(t), engine.Contact{Phone: phone}, at(0))
	require.NoError(t, err)
	return c
}

func testTeamCRUD(t *testing.T, s AgentStore) {
	tm, err := s.CreateTeam(ctx(t), engine.Team{ID: "ignored", Name: "Closers", Description: "Day shift"}, at(0))
	require.NoError(t, err)
	require.NotEmpty(t, tm.ID)
	require.NotEqual(t, "ignored", tm.ID, "the store sets the id")
	require.Equal(t, stored(at(0)), tm.CreatedAt)
	require.Equal(t, stored(at(0)), tm.UpdatedAt)
	got, err := s.GetTeam(ctx(t), tm.ID)
	require.NoError(t, err)
	require.Equal(t, tm, got)

	up, err := s.UpdateTeam(ctx(t), engine.Team{ID: tm.ID, Name: "Openers"}, at(5))
	require.NoError(t, err)
	require.Equal(t, engine.Team{ID: tm.ID, Name: "Openers", CreatedAt: stored(at(0)), UpdatedAt: stored(at(5))}, up)
	got, err = s.GetTeam(ctx(t), tm.ID)
	require.NoError(t, err)
	require.Equal(t, up, got)

	require.NoError(t, s.DeleteTeam(ctx(t), tm.ID))
	_, err = s.GetTeam(ctx(t), tm.ID)
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteTeam(ctx(t), tm.ID), engine.ErrNotFound)
	_, err = s.UpdateTeam(ctx(t), engine.Team{ID: missingID, Name: "x"}, at(6))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetTeam(ctx(t), "not-an-id")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteTeam(ctx(t), "not-an-id"), engine.ErrNotFound)
}

func testTeamValidation(t *testing.T, s AgentStore) {
	for _, tc := range []struct {
		team engine.Team
		path string
	}{
		{engine.Team{}, "name"},
		{engine.Team{Name: "  "}, "name"},
		{engine.Team{Name: strings.Repeat("é", engine.MaxNameLength+1)}, "name"},
		{engine.Team{Name: "ok", Description: strings.Repeat("d", engine.MaxDescriptionLength+1)}, "description"},
	} {
		_, err := s.CreateTeam(ctx(t), tc.team, at(0))
		requireField(t, err, tc.path)
	}
	tm := newTeam(t, s, "Valid", at(0))
	_, err := s.UpdateTeam(ctx(t), engine.Team{ID: tm.ID}, at(1))
	requireField(t, err, "name")
	_, err = s.CreateTeam(ctx(t), engine.Team{Name: strings.Repeat("é", engine.MaxNameLength)}, at(0))
	require.NoError(t, err, "the limit counts characters, not bytes")
}

func testTeamUniqueName(t *testing.T, s AgentStore) {
	a := newTeam(t, s, "Sales", at(0))
	b := newTeam(t, s, "Support", at(1))
	_, err := s.CreateTeam(ctx(t), engine.Team{Name: "Sales"}, at(2))
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = s.UpdateTeam(ctx(t), engine.Team{ID: b.ID, Name: "Sales"}, at(3))
	require.ErrorIs(t, err, engine.ErrConflict)
	got, err := s.GetTeam(ctx(t), b.ID)
	require.NoError(t, err)
	require.Equal(t, b, got, "a failed update changes nothing")
	_, err = s.UpdateTeam(ctx(t), engine.Team{ID: a.ID, Name: "Sales", Description: "same name"}, at(4))
	require.NoError(t, err, "a team keeps its own name")
	teams, _, err := s.ListTeams(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Len(t, teams, 2)
}

func testQueueCRUD(t *testing.T, s AgentStore) {
	in := engine.Queue{Name: "sales", Description: "Inbound leads", WrapUp: engine.Duration(45 * time.Second),
		MaxWait: engine.Duration(90*time.Second + 1500*time.Microsecond)}
	q, err := s.CreateQueue(ctx(t), in, at(0))
	require.NoError(t, err)
	in.CreatedAt, in.UpdatedAt = stored(at(0)), stored(at(0))
	require.Equal(t, in, q)
	got, err := s.GetQueue(ctx(t), "sales")
	require.NoError(t, err)
	require.Equal(t, in, got, "durations round-trip exactly")

	zero, err := s.CreateQueue(ctx(t), engine.Queue{Name: "support_2-b"}, at(1))
	require.NoError(t, err)
	require.Zero(t, zero.WrapUp, "zero means the server default and is kept as zero")

	up, err := s.UpdateQueue(ctx(t), engine.Queue{Name: "sales", Description: "Web leads", MaxWait: engine.Duration(time.Hour)}, at(5))
	require.NoError(t, err)
	want := engine.Queue{Name: "sales", Description: "Web leads", MaxWait: engine.Duration(time.Hour),
		CreatedAt: stored(at(0)), UpdatedAt: stored(at(5))}
	require.Equal(t, want, up)
	got, err = s.GetQueue(ctx(t), "sales")
	require.NoError(t, err)
	require.Equal(t, want, got)

	require.NoError(t, s.DeleteQueue(ctx(t), "sales"))
	_, err = s.GetQueue(ctx(t), "sales")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteQueue(ctx(t), "sales"), engine.ErrNotFound)
	_, err = s.UpdateQueue(ctx(t), engine.Queue{Name: "sales"}, at(6))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetQueue(ctx(t), "support_2-b")
	require.NoError(t, err, "deleting one queue leaves the others")
}

func testQueueValidation(t *testing.T, s AgentStore) {
	for _, tc := range []struct {
		queue engine.Queue
		path  string
	}{
		{engine.Queue{}, "name"},
		{engine.Queue{Name: "Sales"}, "name"},
		{engine.Queue{Name: "sales team"}, "name"},
		{engine.Queue{Name: "sales:1"}, "name"},
		{engine.Queue{Name: strings.Repeat("q", 65)}, "name"},
		{engine.Queue{Name: "q", Description: strings.Repeat("d", engine.MaxDescriptionLength+1)}, "description"},
		{engine.Queue{Name: "q", WrapUp: -1}, "wrap_up"},
		{engine.Queue{Name: "q", MaxWait: -1}, "max_wait"},
		{engine.Queue{Name: "q", MaxWait: engine.MaxQueueWait + 1}, "max_wait"},
	} {
		_, err := s.CreateQueue(ctx(t), tc.queue, at(0))
		requireField(t, err, tc.path)
	}
	_, err := s.CreateQueue(ctx(t), engine.Queue{Name: strings.Repeat("q", 64), MaxWait: engine.MaxQueueWait}, at(0))
	require.NoError(t, err, "the limits themselves are allowed")
	_, err = s.UpdateQueue(ctx(t), engine.Queue{Name: strings.Repeat("q", 64), WrapUp: -1}, at(1))
	requireField(t, err, "wrap_up")
	items, _, err := s.ListQueues(ctx(t), engine.Page{})
	require.NoError(t, err)
	require.Len(t, items, 1, "invalid queues are not stored")
}

func testQueueUniqueName(t *testing.T, s AgentStore) {
	newQueue(t, s, "sales", at(0))
	_, err := s.CreateQueue(ctx(t), engine.Queue{Name: "sales", Description: "again"}, at(1))
	require.ErrorIs(t, err, engine.ErrConflict)
	got, err := s.GetQueue(ctx(t), "sales")
	require.NoError(t, err)
	require.Empty(t, got.Description, "the first queue is untouched")
}

func testAgentsCRUD(t *testing.T, s AgentStore) {
	team := newTeam(t, s, "Closers", at(0))
	newQueue(t, s, "sales", at(0))
	newQueue(t, s, "support", at(0))
	in := engine.Agent{Name: "Ana Pérez", TeamID: team.ID, Destination: "sip:ana@pbx.example.com",
		Queues: []string{"support", "sales"}}
	a, err := s.CreateAgent(ctx(t), in, at(1))
	require.NoError(t, err)
	require.NotEmpty(t, a.ID)
	in.ID, in.CreatedAt, in.UpdatedAt = a.ID, stored(at(1)), stored(at(1))
	require.Equal(t, in, a)
	got, err := s.GetAgent(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, in, got, "queues keep their order")

	bare, err := s.CreateAgent(ctx(t), engine.Agent{Name: "Bo", Destination: "PJSIP/agent-1"}, at(2))
	require.NoError(t, err)
	require.Equal(t, []string{}, bare.Queues, "no queues is an empty list, never null")
	got, err = s.GetAgent(ctx(t), bare.ID)
	require.NoError(t, err)
	require.Equal(t, bare, got)
	require.Empty(t, got.TeamID)

	up, err := s.UpdateAgent(ctx(t), engine.Agent{ID: a.ID, Name: "Ana P.", Destination: "sips:ana@pbx.example.com",
		Queues: []string{"sales"}}, at(7))
	require.NoError(t, err)
	want := engine.Agent{ID: a.ID, Name: "Ana P.", Destination: "sips:ana@pbx.example.com", Queues: []string{"sales"},
		CreatedAt: stored(at(1)), UpdatedAt: stored(at(7))}
	require.Equal(t, want, up, "the team is cleared and the queues replaced")
	got, err = s.GetAgent(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, want, got)

	require.NoError(t, s.DeleteAgent(ctx(t), a.ID))
	_, err = s.GetAgent(ctx(t), a.ID)
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.ErrorIs(t, s.DeleteAgent(ctx(t), a.ID), engine.ErrNotFound)
	_, err = s.UpdateAgent(ctx(t), engine.Agent{ID: a.ID, Name: "x", Destination: "PJSIP/x"}, at(8))
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetAgent(ctx(t), "not-an-id")
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.NoError(t, s.DeleteQueue(ctx(t), "sales"), "a deleted agent no longer holds its queues")
}

func testAgentsValidation(t *testing.T, s AgentStore) {
	newQueue(t, s, "sales", at(0))
	ok := engine.Agent{Name: "Ana", Destination: "sip:ana@pbx"}
	for _, tc := range []struct {
		name string
		edit func(a *engine.Agent)
		path string // "" when valid
	}{
		{"sip", func(a *engine.Agent) {}, ""},
		{"sips", func(a *engine.Agent) { a.Destination = "sips:ana@pbx:5061" }, ""},
		{"endpoint", func(a *engine.Agent) { a.Destination = "PJSIP/agent-1" }, ""},
		{"local endpoint", func(a *engine.Agent) { a.Destination = "Local/100@agents" }, ""},
		{"no name", func(a *engine.Agent) { a.Name = "" }, "name"},
		{"long name", func(a *engine.Agent) { a.Name = strings.Repeat("n", engine.MaxNameLength+1) }, "name"},
		{"no destination", func(a *engine.Agent) { a.Destination = "" }, "destination"},
		{"queue destination", func(a *engine.Agent) { a.Destination = "queue:sales" }, "destination"},
		{"bare word", func(a *engine.Agent) { a.Destination = "ana" }, "destination"},
		{"empty sip", func(a *engine.Agent) { a.Destination = "sip:" }, "destination"},
		{"space", func(a *engine.Agent) { a.Destination = "sip:ana @pbx" }, "destination"},
		{"bad queue", func(a *engine.Agent) { a.Queues = []string{"Sales"} }, "queues[0]"},
		{"duplicate queue", func(a *engine.Agent) { a.Queues = []string{"sales", "sales"} }, "queues[1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.edit(&a)
			_, err := s.CreateAgent(ctx(t), a, at(1))
			if tc.path == "" {
				require.NoError(t, err)
				return
			}
			requireField(t, err, tc.path)
		})
	}
	a := newAgent(t, s, "bo", "", at(2))
	_, err := s.UpdateAgent(ctx(t), engine.Agent{ID: a.ID, Name: "bo", Destination: "queue:sales"}, at(3))
	requireField(t, err, "destination")
}

func testAgentsUnknownRefs(t *testing.T, s AgentStore) {
	team := newTeam(t, s, "Closers", at(0))
	newQueue(t, s, "sales", at(0))

	_, err := s.CreateAgent(ctx(t), engine.Agent{Name: "Ana", TeamID: missingID, Destination: "PJSIP/ana"}, at(1))
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.Contains(t, err.Error(), "team_id: ")
	_, err = s.CreateAgent(ctx(t), engine.Agent{Name: "Ana", TeamID: "not-an-id", Destination: "PJSIP/ana"}, at(1))
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.Contains(t, err.Error(), "team_id: ")
	_, err = s.CreateAgent(ctx(t), engine.Agent{Name: "Ana", TeamID: team.ID, Destination: "PJSIP/ana",
		Queues: []string{"sales", "nope"}}, at(1))
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.Contains(t, err.Error(), `queues[1]: queue "nope": not found`)
	items, _, err := s.ListAgents(ctx(t), engine.AgentFilter{})
	require.NoError(t, err)
	require.Empty(t, items, "a failed create stores nothing")

	a := newAgent(t, s, "ana", team.ID, at(2), "sales")
	_, err = s.UpdateAgent(ctx(t), engine.Agent{ID: a.ID, Name: "ana", Destination: "PJSIP/ana", Queues: []string{"gone"}}, at(3))
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.Contains(t, err.Error(), `queues[0]: queue "gone": not found`)
	_, err = s.UpdateAgent(ctx(t), engine.Agent{ID: a.ID, Name: "ana", TeamID: missingID, Destination: "PJSIP/ana"}, at(3))
	require.ErrorIs(t, err, engine.ErrNotFound)
	require.Contains(t, err.Error(), "team_id: ")
	got, err := s.GetAgent(ctx(t), a.ID)
	require.NoError(t, err)
	require.Equal(t, a, got, "a failed update changes nothing")
}

func testAgentsInUse(t *testing.T, s AgentStore) {
	team := newTeam(t, s, "Closers", at(0))
	newQueue(t, s, "sales", at(0))
	newQueue(t, s, "support", at(0))
	a := newAgent(t, s, "ana", team.ID, at(1), "sales", "support")

	require.ErrorIs(t, s.DeleteTeam(ctx(t), team.ID), engine.ErrInUse)
	require.ErrorIs(t, s.DeleteQueue(ctx(t), "support"), engine.ErrInUse)
	_, err := s.GetTeam(ctx(t), team.ID)
	require.NoError(t, err, "a refused delete keeps the team")

	_, err = s.UpdateAgent(ctx(t), engine.Agent{ID: a.ID, Name: "ana", TeamID: team.ID, Destination: "PJSIP/ana",
		Queues: []string{"sales"}}, at(2))
	require.NoError(t, err)
	require.NoError(t, s.DeleteQueue(ctx(t), "support"), "no agent lists the queue any more")
	require.ErrorIs(t, s.DeleteTeam(ctx(t), team.ID), engine.ErrInUse)

	// Deleting an agent that owns a contact is allowed; the contact keeps
	// the owner, and the recorded history stays.
	c := newContact(t, s, "+12125550170")
	_, ok, err := s.SetContactOwner(ctx(t), c.ID, a.ID, engine.OwnerReasonAPI, "", at(3))
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.DeleteAgent(ctx(t), a.ID))
	got, err := s.GetContact(ctx(t), c.ID)
	require.NoError(t, err)
	require.Equal(t, a.ID, got.Owner)
	hist, err := s.OwnerChanges(ctx(t), c.ID)
	require.NoError(t, err)
	require.Len(t, hist, 1)

	require.NoError(t, s.DeleteTeam(ctx(t), team.ID))
	require.NoError(t, s.DeleteQueue(ctx(t), "sales"))
}

func agentIDs(items []engine.Agent) []string {
	out := make([]string, len(items))
	for i, a := range items {
		out[i] = a.ID
	}
	return out
}

func testAgentsFilters(t *testing.T, s AgentStore) {
	ta := newTeam(t, s, "A", at(0))
	tb := newTeam(t, s, "B", at(0))
	newQueue(t, s, "q1", at(0))
	newQueue(t, s, "q2", at(0))
	a1 := newAgent(t, s, "a1", ta.ID, at(1), "q1")
	a2 := newAgent(t, s, "a2", tb.ID, at(2), "q2", "q1")
	a3 := newAgent(t, s, "a3", ta.ID, at(3), "q2")
	a4 := newAgent(t, s, "a4", "", at(4))

	for _, tc := range []struct {
		name string
		f    engine.AgentFilter
		want []engine.Agent
	}{
		{"all", engine.AgentFilter{}, []engine.Agent{a1, a2, a3, a4}},
		{"team A", engine.AgentFilter{TeamID: ta.ID}, []engine.Agent{a1, a3}},
		{"team B", engine.AgentFilter{TeamID: tb.ID}, []engine.Agent{a2}},
		{"queue q1", engine.AgentFilter{Queue: "q1"}, []engine.Agent{a1, a2}},
		{"queue q2", engine.AgentFilter{Queue: "q2"}, []engine.Agent{a2, a3}},
		{"queue q2 team A", engine.AgentFilter{Queue: "q2", TeamID: ta.ID}, []engine.Agent{a3}},
		{"queue q1 team B", engine.AgentFilter{Queue: "q1", TeamID: tb.ID}, []engine.Agent{a2}},
		{"unknown team", engine.AgentFilter{TeamID: missingID}, nil},
		{"team not an id", engine.AgentFilter{TeamID: "not-an-id"}, nil},
		{"unknown queue", engine.AgentFilter{Queue: "q9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next, err := s.ListAgents(ctx(t), tc.f)
			require.NoError(t, err)
			require.Empty(t, next)
			require.Equal(t, agentIDs(tc.want), agentIDs(got))
			for i := range got {
				require.Equal(t, tc.want[i], got[i], "listed agents carry every field")
			}
		})
	}
}

func testAgentsPages(t *testing.T, s AgentStore) {
	team := newTeam(t, s, "T", at(0))
	var teams, queues, agents, inQueue []string
	teams = append(teams, team.ID)
	for i := range 7 {
		// Pairs share an instant: the id (or name) breaks the tie.
		now := at(1 + i/2)
		teams = append(teams, newTeam(t, s, fmt.Sprint("team ", i), now).ID)
		queues = append(queues, newQueue(t, s, fmt.Sprintf("q%d", 6-i), now).Name)
	}
	for i := range 7 {
		now := at(10 + i/2)
		qs := []string{"q0"}
		if i%2 == 0 {
			qs = []string{"q1", "q0"}
		}
		a := newAgent(t, s, fmt.Sprint("agent", i), team.ID, now, qs...)
		agents = append(agents, a.ID)
		if i%2 == 0 {
			inQueue = append(inQueue, a.ID)
		}
	}
	// Within an instant queues come by name.
	for i := 0; i+1 < len(queues); i += 2 {
		queues[i], queues[i+1] = queues[i+1], queues[i]
	}

	for _, limit := range []int{1, 2, 3, 7, 8} {
		var gotTeams, gotQueues, gotAgents, gotInQueue, gotInTeam []string
		for _, p := range readPages(t, limit, func(p engine.Page) ([]engine.Team, string, error) { return s.ListTeams(ctx(t), p) }) {
			require.LessOrEqual(t, len(p), limit)
			for _, x := range p {
				gotTeams = append(gotTeams, x.ID)
			}
		}
		for _, p := range readPages(t, limit, func(p engine.Page) ([]engine.Queue, string, error) { return s.ListQueues(ctx(t), p) }) {
			for _, x := range p {
				gotQueues = append(gotQueues, x.Name)
			}
		}
		list := func(f engine.AgentFilter) func(p engine.Page) ([]engine.Agent, string, error) {
			return func(p engine.Page) ([]engine.Agent, string, error) {
				f.Page = p
				return s.ListAgents(ctx(t), f)
			}
		}
		for _, p := range readPages(t, limit, list(engine.AgentFilter{})) {
			gotAgents = append(gotAgents, agentIDs(p)...)
		}
		for _, p := range readPages(t, limit, list(engine.AgentFilter{Queue: "q1"})) {
			gotInQueue = append(gotInQueue, agentIDs(p)...)
		}
		for _, p := range readPages(t, limit, list(engine.AgentFilter{TeamID: team.ID})) {
			gotInTeam = append(gotInTeam, agentIDs(p)...)
		}
		require.Equal(t, teams, gotTeams, "limit %d", limit)
		require.Equal(t, queues, gotQueues, "limit %d", limit)
		require.Equal(t, agents, gotAgents, "limit %d", limit)
		require.Equal(t, inQueue, gotInQueue, "limit %d", limit)
		require.Equal(t, agents, gotInTeam, "limit %d", limit)
	}

	_, _, err := s.ListTeams(ctx(t), engine.Page{After: "garbage!"})
	requireField(t, err, "after")
	_, _, err = s.ListQueues(ctx(t), engine.Page{After: "garbage!"})
	requireField(t, err, "after")
	_, _, err = s.ListAgents(ctx(t), engine.AgentFilter{Queue: "q0", Page: engine.Page{After: "garbage!"}})
	requireField(t, err, "after")
}
