package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// agentFieldPaths returns the field paths of a FieldErrors, nil for no error.
func agentFieldPaths(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	es, ok := err.(FieldErrors)
	require.True(t, ok, "%T is not FieldErrors", err)
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Path
	}
	return out
}

func TestTeamValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		team Team
		want []string
	}{
		{Team{Name: "Closers"}, nil},
		{Team{}, []string{"name"}},
		{Team{Name: "\t "}, []string{"name"}},
		{Team{Name: strings.Repeat("ñ", MaxNameLength)}, nil},
		{Team{Name: strings.Repeat("ñ", MaxNameLength+1), Description: strings.Repeat("d", MaxDescriptionLength+1)},
			[]string{"name", "description"}},
	} {
		require.Equal(t, tc.want, agentFieldPaths(t, tc.team.Validate()), "%+v", tc.team)
	}
}

func TestQueueValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		queue Queue
		want  []string
	}{
		{Queue{Name: "sales"}, nil},
		{Queue{Name: "a_b-0", WrapUp: Duration(time.Minute), MaxWait: MaxQueueWait}, nil},
		{Queue{Name: strings.Repeat("q", 64)}, nil},
		{Queue{Name: strings.Repeat("q", 65)}, []string{"name"}},
		{Queue{}, []string{"name"}},
		{Queue{Name: "Sales"}, []string{"name"}},
		{Queue{Name: "sales.team"}, []string{"name"}},
		{Queue{Name: "q", WrapUp: -1, MaxWait: -1}, []string{"wrap_up", "max_wait"}},
		{Queue{Name: "q", MaxWait: MaxQueueWait + 1}, []string{"max_wait"}},
	} {
		require.Equal(t, tc.want, agentFieldPaths(t, tc.queue.Validate()), "%+v", tc.queue)
	}
}

func TestAgentValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		agent Agent
		want  []string
	}{
		{Agent{Name: "Ana", Destination: "sip:ana@pbx.example.com"}, nil},
		{Agent{Name: "Ana", Destination: "sips:ana@pbx.example.com:5061", Queues: []string{"a", "b"}}, nil},
		{Agent{Name: "Ana", Destination: "PJSIP/agent-1"}, nil},
		{Agent{}, []string{"name", "destination"}},
		{Agent{Name: "Ana", Destination: "queue:sales"}, []string{"destination"}},
		{Agent{Name: "Ana", Destination: "sip:"}, []string{"destination"}},
		{Agent{Name: "Ana", Destination: "http://x"}, []string{"destination"}},
		{Agent{Name: "Ana", Destination: "sip:" + strings.Repeat("a", 500)}, []string{"destination"}},
		{Agent{Name: "Ana", Destination: "PJSIP/a", Queues: []string{"a", "B", "a", "a"}}, []string{"queues[1]", "queues[2]", "queues[3]"}},
	} {
		require.Equal(t, tc.want, agentFieldPaths(t, tc.agent.Validate()), "%+v", tc.agent)
	}
}

func TestValidOwnerReason(t *testing.T) {
	t.Parallel()
	for _, r := range []string{OwnerReasonRoundRobin, OwnerReasonFirstToAnswer, OwnerReasonAPI} {
		require.True(t, ValidOwnerReason(r), r)
	}
	for _, r := range []string{"", "API", "manual"} {
		require.False(t, ValidOwnerReason(r), r)
	}
}
