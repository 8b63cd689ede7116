//go:build !unix

package sip

import (
	"errors"
	"net"
)

// readBufferSize cannot read SO_RCVBUF back on this platform.
func readBufferSize(*net.UDPConn) (int, error) { return 0, errors.ErrUnsupported }

// drainSocket is a no-op here: what is queued at close is dropped.
func drainSocket(*net.UDPConn, []byte, func([]byte)) {}
