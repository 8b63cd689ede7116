package ari

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// event is the part of any ARI event we read. Every event type decodes into
// it, so a type this code has never seen is simply ignored: the library's
// decoder in v5.3.1 instead reconnects or panics on events it doesn't know,
// and Asterisk 22 sends many newer ones.
type event struct {
	Type        string  `json:"type"`
	Application string  `json:"application"`
	Channel     channel `json:"channel"`
	Cause       int     `json:"cause"`
	CauseTxt    string  `json:"cause_txt"`
	Args        []string
}

// eventHandler receives decoded events in order, from one goroutine.
type eventHandler interface {
	handleEvent(ev event)
	// resync runs after every (re)connection, before new events are
	// delivered: events missed while disconnected are recovered from the
	// channel list.
	resync(ctx context.Context)
}

// eventStream keeps one events WebSocket to ARI open: it connects with a
// deadline (the library's Connect can block forever), reconnects with
// capped exponential backoff, and hands events to the handler inline, so no
// bounded buffer can drop them (the library drops past 100).
type eventStream struct {
	wsURL    string
	user     string
	password string
	logger   *slog.Logger
	handler  eventHandler
	metrics  *metrics

	mu        sync.Mutex
	connected bool
	ready     chan struct{} // closed at the first successful connection
	readyOnce sync.Once
	conn      *websocket.Conn
}

func newEventStream(base, user, password, app string, logger *slog.Logger, h eventHandler, m *metrics) (*eventStream, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/events")
	if err != nil {
		return nil, fmt.Errorf("ari url: %w", err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("ari url: scheme %q must be http or https", u.Scheme)
	}
	q := u.Query()
	q.Set("app", app)
	// Asterisk 16.? and later: include channel variables in events.
	u.RawQuery = q.Encode()
	return &eventStream{wsURL: u.String(), user: user, password: password, logger: logger, handler: h, metrics: m, ready: make(chan struct{})}, nil
}

// Connected reports whether the WebSocket is up.
func (s *eventStream) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// run connects and reads until ctx ends.
func (s *eventStream) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		s.metrics.reconnects.Inc()
		s.logger.Warn("ari events disconnected; reconnecting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
		if err == nil { // a session that ran cleanly resets the backoff
			backoff = 100 * time.Millisecond
		}
	}
}

// session runs one WebSocket connection to its end.
func (s *eventStream) session(ctx context.Context) error {
	dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	hdr := http.Header{}
	hdr.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.user+":"+s.password)))
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, resp, err := dialer.DialContext(dctx, s.wsURL, hdr)
	cancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("connect events websocket: %w", err)
	}
	s.mu.Lock()
	s.conn, s.connected = conn, true
	s.mu.Unlock()
	s.metrics.connected.Set(1)
	defer func() {
		s.mu.Lock()
		s.conn, s.connected = nil, false
		s.mu.Unlock()
		s.metrics.connected.Set(0)
		conn.Close()
	}()
	// Close the socket when ctx ends so ReadMessage returns.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	// Pings keep NATs and proxies from dropping an idle socket and detect a
	// dead Asterisk within a minute.
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(60 * time.Second)) })
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	pingDone := make(chan struct{})
	defer close(pingDone)
	go func() {
		t := time.NewTicker(20 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-pingDone:
				return
			case <-t.C:
				_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
			}
		}
	}()

	s.handler.resync(ctx)
	s.readyOnce.Do(func() { close(s.ready) })
	s.logger.Info("ari events connected", "url", redactWS(s.wsURL))

	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("read event: %w", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		var ev event
		if err := json.Unmarshal(data, &ev); err != nil {
			// A malformed event must not cost us the connection.
			s.metrics.badEvents.Inc()
			s.logger.Warn("ari: undecodable event ignored", "err", err, "bytes", len(data))
			continue
		}
		s.metrics.events.Inc()
		s.handler.handleEvent(ev)
	}
}

func redactWS(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}
