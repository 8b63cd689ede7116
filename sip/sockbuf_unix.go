//go:build unix

package sip

import (
	"net"
	"syscall"
)

// readBufferSize is the receive buffer the kernel granted the socket
// (SO_RCVBUF). Linux reports twice what was granted (its bookkeeping
// overhead) and silently caps requests at net.core.rmem_max, so a request
// can only be checked by reading the size back.
func readBufferSize(c *net.UDPConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var size int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		size, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	}); err != nil {
		return 0, err
	}
	return size, serr
}

// drainSocket hands every datagram already queued on c to handle without
// waiting for more, using buf. Go's sockets are non-blocking: read(2)
// says EAGAIN when the queue is empty.
func drainSocket(c *net.UDPConn, buf []byte, handle func([]byte)) {
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	for {
		n := -1
		if err := raw.Read(func(fd uintptr) bool {
			var rerr error
			if n, rerr = syscall.Read(int(fd), buf); rerr != nil {
				n = -1
			}
			return true // never wait for readiness
		}); err != nil || n < 0 {
			return
		}
		handle(buf[:n])
	}
}
