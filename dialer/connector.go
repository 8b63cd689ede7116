package dialer

import (
	"context"
	"fmt"
)

// DriverConnector returns a Connector that hands each call to the
// Connector of the driver that placed it (drivers[c.Trunk]): a bridge is
// made by the back end that holds the leg (the native SIP driver calls the
// agent itself; an ARI driver would bridge in Asterisk). A trunk whose
// driver cannot connect fails the connect, which the dialer reports as
// abandoned.
func DriverConnector(drivers map[string]Driver) Connector {
	return driverConnector(drivers)
}

type driverConnector map[string]Driver

func (m driverConnector) Connect(ctx context.Context, leg Leg, c Call) error {
	conn, ok := m[c.Trunk].(Connector)
	if !ok {
		return fmt.Errorf("connect: trunk %q: its driver cannot connect calls", c.Trunk)
	}
	return conn.Connect(ctx, leg, c)
}
