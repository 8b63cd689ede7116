package dialer

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// connectingDriver is a driver that can also connect its calls.
type connectingDriver struct {
	Driver
	err   error
	calls int
}

func (d *connectingDriver) Connect(context.Context, Leg, Call) error {
	d.calls++
	return d.err
}

func TestDriverConnectorDispatchesByTrunk(t *testing.T) {
	t.Parallel()
	sipDrv := &connectingDriver{}
	busyDrv := &connectingDriver{err: errors.New("agent busy")}
	c := DriverConnector(map[string]Driver{"sip": sipDrv, "busy": busyDrv, "plain": &fakeDriver{}})
	ctx := context.Background()
	require.NoError(t, c.Connect(ctx, nil, Call{Trunk: "sip"}))
	require.Equal(t, 1, sipDrv.calls)
	require.ErrorContains(t, c.Connect(ctx, nil, Call{Trunk: "busy"}), "agent busy")
	require.ErrorContains(t, c.Connect(ctx, nil, Call{Trunk: "plain"}), `trunk "plain": its driver cannot connect`)
	require.ErrorContains(t, c.Connect(ctx, nil, Call{Trunk: "nope"}), `trunk "nope"`)
	require.Equal(t, 1, sipDrv.calls, "only its own trunk's calls")
}
