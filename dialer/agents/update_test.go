package agents

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestUpdateKeepsLiveState(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a1")
	events, cancel, err := r.Subscribe("a1")
	require.NoError(t, err)
	defer cancel()

	require.NoError(t, r.Login("a1", t0))
	_, err = r.Reserve("sales", t0.Add(time.Second))
	require.NoError(t, err)
	require.NoError(t, r.Connect("a1", ConnectInfo{CallID: "c1", Contact: "Ada"}, t0.Add(2*time.Second)))
	for range 4 { // login, reserve, connecting, on_call
		<-events
	}

	// Moving the agent to another queue and phone mid-call keeps the call.
	upd := Agent{ID: "a1", Name: "Ada L.", Team: "t2", Destination: "sip:a1@new", Queues: []string{"support"}}
	require.NoError(t, r.Update(upd))
	st, err := r.Get("a1", t0.Add(3*time.Second))
	require.NoError(t, err)
	require.Equal(t, OnCall, st.State)
	require.Equal(t, t0.Add(2*time.Second), st.Since)
	require.Equal(t, "sales", st.Queue, "the call keeps the queue it was reserved for")
	require.Equal(t, upd, st.Agent)

	// The subscription survived and the call ends normally.
	require.NoError(t, r.Hangup("a1", t0.Add(time.Minute)))
	e := <-events
	require.Equal(t, EventState, e.Kind)
	require.Equal(t, WrapUp, e.To)

	// The next reservation uses the new queues.
	require.Equal(t, Available, state(t, r, "a1", t0.Add(2*time.Minute)))
	_, err = r.Reserve("sales", t0.Add(2*time.Minute))
	require.ErrorIs(t, err, ErrNoAgent)
	got, err := r.Reserve("support", t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, "sip:a1@new", got.Destination)

	// The caller's slice is copied, not kept.
	upd.Queues[0] = "mutated"
	st, err = r.Get("a1", t0.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, []string{"support"}, st.Agent.Queues)
}

func TestUpdateErrors(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{}, "a1")
	for _, tc := range []struct {
		name string
		a    Agent
		want string
		is   error
	}{
		{"unknown", Agent{ID: "zz", Name: "Z", Destination: "sip:z@pbx"}, "unknown agent", ErrUnknownAgent},
		{"no name", Agent{ID: "a1", Destination: "sip:a1@pbx"}, "name: must not be empty", nil},
		{"no destination", Agent{ID: "a1", Name: "A"}, "destination: must not be empty", nil},
		{"empty queue", Agent{ID: "a1", Name: "A", Destination: "sip:a1@pbx", Queues: []string{""}}, "queues[0]: must not be empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Update(tc.a)
			require.ErrorContains(t, err, tc.want)
			if tc.is != nil {
				require.True(t, errors.Is(err, tc.is))
			}
		})
	}
	st, err := r.Get("a1", t0)
	require.NoError(t, err)
	require.Equal(t, "Agent a1", st.Agent.Name, "a failed update changes nothing")
}

func TestSetWrapUp(t *testing.T) {
	t.Parallel()
	r := newRoster(t, Options{DefaultWrapUp: 30 * time.Second}, "a1")
	call := func(at time.Time) {
		t.Helper()
		_, err := r.Reserve("sales", at)
		require.NoError(t, err)
		require.NoError(t, r.Connect("a1", ConnectInfo{CallID: "c"}, at))
		require.NoError(t, r.Hangup("a1", at.Add(time.Second)))
	}
	require.NoError(t, r.Login("a1", t0))

	// Per-queue wrap-up of 5 s.
	r.SetWrapUp("sales", 5*time.Second)
	call(t0)
	require.Equal(t, WrapUp, state(t, r, "a1", t0.Add(5*time.Second)))
	require.Equal(t, Available, state(t, r, "a1", t0.Add(6*time.Second)))

	// Negative: no wrap-up at all.
	r.SetWrapUp("sales", -1)
	at := t0.Add(time.Minute)
	call(at)
	require.Equal(t, Available, state(t, r, "a1", at.Add(time.Second)))

	// Zero: back to the default 30 s.
	r.SetWrapUp("sales", 0)
	at = t0.Add(2 * time.Minute)
	call(at)
	require.Equal(t, WrapUp, state(t, r, "a1", at.Add(30*time.Second)))
	require.Equal(t, Available, state(t, r, "a1", at.Add(31*time.Second)))

	// A change does not move a wrap-up already running.
	at = t0.Add(3 * time.Minute)
	call(at)
	r.SetWrapUp("sales", time.Second)
	require.Equal(t, WrapUp, state(t, r, "a1", at.Add(10*time.Second)))
	require.Equal(t, Available, state(t, r, "a1", at.Add(31*time.Second)))
}
