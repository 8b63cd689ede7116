// Package aritest is a fake Asterisk for testing the ARI driver where no
// Asterisk can run: it serves the REST calls the driver makes and the events
// WebSocket in Asterisk's own JSON, including event types the client library
// does not know, and its externalMedia channels really send and receive RTP.
// Channels follow scripts chosen by the dialed number: ring then answer and
// talk (a person, a voicemail greeting with its beep), busy, no answer,
// invalid number, rejected, network failure. An agent endpoint such as
// PJSIP/agent-1 is scripted the same way (its number is "agent-1"). Bridges
// take channels in and out and keep a log of who joined and left when, so
// a test can see an agent join a customer's bridge.
package aritest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Script is what a dialed channel does.
type Script struct {
	// RingFor is how long it rings before its outcome.
	RingFor time.Duration
	// Answer makes the far end pick up after RingFor; otherwise the channel
	// ends with Cause after RingFor (or rings until the originate timeout
	// when Cause is 0).
	Answer bool
	// Cause is the Q.850 cause of an unanswered end (17 busy, 1 unallocated,
	// 21 rejected, 34 no circuit…).
	Cause int
	// Audio is what the far end says once bridged (8 kHz PCM), e.g. a hello
	// or a greeting that ends in a beep.
	Audio []int16
	// HangupAfter, when > 0, makes the far end hang up that long after its
	// audio ends; 0 stays on until we hang up.
	HangupAfter time.Duration
}

// CallRecord is what the fake saw of one call.
type CallRecord struct {
	ChannelID string
	Endpoint  string
	CallerID  string
	Answered  bool
	Cause     int
	HungUpBy  string // "us" or "far_end"
	// AudioEnd is when the far end's audio finished (e.g. the beep ended),
	// from answer; MessageStart is when our first non-silent RTP arrived,
	// from answer; MessageMS is how much non-silent audio we sent.
	AudioEnd     time.Duration
	MessageStart time.Duration
	MessageMS    int
	ReceivedRTP  int
}

// BridgeChange is one channel joining or leaving a bridge.
type BridgeChange struct {
	Bridge  string
	Channel string
	Joined  bool // false: left (removed, hung up, or the bridge destroyed)
	At      time.Time
}

// Server is the fake Asterisk.
type Server struct {
	User, Password string
	// Scripts picks a script per dialed number (the {number} of the endpoint).
	Scripts func(number string) Script

	http *httptest.Server
	up   websocket.Upgrader

	mu       sync.Mutex
	conns    map[*websocket.Conn]string // → app
	channels map[string]*fakeChannel
	bridges  map[string][]string
	bridgeLg []BridgeChange
	records  []*CallRecord
	refuseWS bool
	unknown  int // unknown-type events sent
}

// New starts a fake on a loopback port.
func New(user, password string, scripts func(number string) Script) *Server {
	s := &Server{User: user, Password: password, Scripts: scripts, conns: map[*websocket.Conn]string{}, channels: map[string]*fakeChannel{}, bridges: map[string][]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ari/events", s.events)
	mux.HandleFunc("GET /ari/asterisk/info", s.info)
	mux.HandleFunc("POST /ari/channels", s.originate)
	mux.HandleFunc("GET /ari/channels", s.listChannels)
	mux.HandleFunc("POST /ari/channels/externalMedia", s.externalMedia)
	mux.HandleFunc("DELETE /ari/channels/{id}", s.hangup)
	mux.HandleFunc("GET /ari/channels/{id}/variable", s.variable)
	mux.HandleFunc("POST /ari/bridges/{id}", s.createBridge)
	mux.HandleFunc("POST /ari/bridges/{id}/addChannel", s.addChannel)
	mux.HandleFunc("POST /ari/bridges/{id}/removeChannel", s.removeChannel)
	mux.HandleFunc("DELETE /ari/bridges/{id}", s.destroyBridge)
	s.http = httptest.NewServer(s.auth(mux))
	return s
}

// URL is the ARI base URL, http://127.0.0.1:PORT/ari.
func (s *Server) URL() string { return s.http.URL + "/ari" }

// Close stops the fake and every channel.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	chans := make([]*fakeChannel, 0, len(s.channels))
	for _, c := range s.channels {
		chans = append(chans, c)
	}
	s.mu.Unlock()
	for _, c := range chans {
		c.stop()
	}
	s.http.CloseClientConnections()
	s.http.Close()
}

// Records returns what the fake saw, one record per call.
func (s *Server) Records() []CallRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallRecord, len(s.records))
	for i, r := range s.records {
		out[i] = *r
	}
	return out
}

// FarEndHangup ends a channel as if its far end hung up (e.g. an agent
// putting the phone down). It reports whether the channel existed.
func (s *Server) FarEndHangup(id string) bool {
	c := s.channel(id)
	if c == nil {
		return false
	}
	c.destroy(16, "Normal Clearing", "far_end")
	return true
}

// BridgeMembers returns the channels now in bridge id, in joining order,
// and whether the bridge exists.
func (s *Server) BridgeMembers(id string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bridges[id]
	return append([]string(nil), m...), ok
}

// BridgeLog returns every bridge membership change so far, in order.
func (s *Server) BridgeLog() []BridgeChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BridgeChange(nil), s.bridgeLg...)
}

// leaveBridgesLocked takes a channel out of every bridge; s.mu is held.
func (s *Server) leaveBridgesLocked(channelID string) {
	for b, members := range s.bridges {
		for i, m := range members {
			if m == channelID {
				s.bridges[b] = append(members[:i:i], members[i+1:]...)
				s.bridgeLg = append(s.bridgeLg, BridgeChange{Bridge: b, Channel: channelID, At: time.Now()})
				break
			}
		}
	}
}

// UnknownEventsSent counts events of types the client library doesn't know.
func (s *Server) UnknownEventsSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unknown
}

// EventConns counts the events WebSockets the server holds. The client can
// see its handshake complete before the server has registered the
// connection: a test that drops connections waits for this first.
func (s *Server) EventConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// DropEvents closes every events WebSocket, as a network blip would; clients
// may reconnect at once.
func (s *Server) DropEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
		delete(s.conns, c)
	}
}

// Restart forgets every channel without a word, as a crashed and restarted
// Asterisk would, and drops the events connections.
func (s *Server) Restart() {
	s.mu.Lock()
	chans := s.channels
	s.channels = map[string]*fakeChannel{}
	s.bridges = map[string][]string{}
	for c := range s.conns {
		c.Close()
		delete(s.conns, c)
	}
	s.mu.Unlock()
	for _, c := range chans {
		c.silence()
	}
}

// RefuseEvents makes the events endpoint refuse (true) or accept connections.
func (s *Server) RefuseEvents(refuse bool) {
	s.mu.Lock()
	s.refuseWS = refuse
	s.mu.Unlock()
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok {
			if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Basic ") {
				if b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic ")); err == nil {
					u, p, ok = strings.Cut(string(b), ":")
				}
			}
		}
		if !ok || u != s.User || p != s.Password {
			w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Authentication required"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	refuse := s.refuseWS
	s.mu.Unlock()
	app := r.URL.Query().Get("app")
	if refuse || app == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Invalid application provided in param [app]."})
		return
	}
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conns[c] = app
	s.mu.Unlock()
	// Asterisk 22 greets an application with events older libraries don't know.
	s.send(map[string]any{"type": "ApplicationRegistered", "application": app})
	s.send(map[string]any{"type": "ApplicationReplaced", "application": app, "note": "not really; an unknown-to-v5 type"})
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
			return
		}
	}
}

// unknownTypes are real Asterisk 18–22 events that ari/v5.3.1 does not model.
var unknownTypes = map[string]bool{"ApplicationRegistered": true, "ApplicationReplaced": true, "ChannelToneDetected": true, "ChannelTransfer": true, "ChannelVarset": true}

// send writes an event to every events connection, stamping it like Asterisk.
func (s *Server) send(ev map[string]any) {
	ev["timestamp"] = time.Now().UTC().Format("2006-01-02T15:04:05.000-0700")
	ev["asterisk_id"] = "00:00:00:00:00:01"
	data, _ := json.Marshal(ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, _ := ev["type"].(string); unknownTypes[t] {
		s.unknown++
	}
	for c, app := range s.conns {
		if a, ok := ev["application"].(string); ok && a != app {
			continue
		}
		_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_ = c.WriteMessage(websocket.TextMessage, data)
	}
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"system": map[string]any{"version": "22.0.0-fake", "entity_id": "00:00:00:00:00:01"}})
}

func (s *Server) listChannels(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]map[string]any, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.json())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) channel(id string) *fakeChannel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[id]
}

func (s *Server) originate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	endpoint, app := q.Get("endpoint"), q.Get("app")
	if endpoint == "" || app == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Endpoint and app are required"})
		return
	}
	var body struct {
		Variables map[string]string `json:"variables"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Invalid JSON body"})
			return
		}
	}
	timeout, _ := strconv.Atoi(q.Get("timeout"))
	id := q.Get("channelId")
	if id == "" {
		id = fmt.Sprintf("fake-%d", time.Now().UnixNano())
	}
	number := endpoint
	if i := strings.IndexByte(number, '/'); i >= 0 {
		number = number[i+1:]
	}
	if i := strings.IndexByte(number, '@'); i >= 0 {
		number = number[:i]
	}
	rec := &CallRecord{ChannelID: id, Endpoint: endpoint, CallerID: q.Get("callerId")}
	c := &fakeChannel{s: s, id: id, name: "PJSIP/carrier-" + id[len(id)-min(8, len(id)):], app: app, state: "Down", number: number, vars: body.Variables, rec: rec, script: s.Scripts(number), timeout: time.Duration(timeout) * time.Second, quit: make(chan struct{})}
	s.mu.Lock()
	if _, dup := s.channels[id]; dup {
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, map[string]string{"message": "Channel with given unique ID already exists"})
		return
	}
	s.channels[id] = c
	s.records = append(s.records, rec)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, c.json())
	go c.run()
}

func (s *Server) hangup(w http.ResponseWriter, r *http.Request) {
	c := s.channel(r.PathValue("id"))
	if c == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Channel not found"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
	go c.destroy(16, "Normal Clearing", "us")
}

func (s *Server) variable(w http.ResponseWriter, r *http.Request) {
	c := s.channel(r.PathValue("id"))
	if c == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Channel not found"})
		return
	}
	name := r.URL.Query().Get("variable")
	c.mu.Lock()
	v, ok := c.vars[name]
	c.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Provided variable was not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": v})
}

func (s *Server) externalMedia(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	host, format, app := q.Get("external_host"), q.Get("format"), q.Get("app")
	if host == "" || format == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "external_host and format are required"})
		return
	}
	if format != "ulaw" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Unsupported format"})
		return
	}
	to, err := net.ResolveUDPAddr("udp", host)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Invalid external_host"})
		return
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	id := q.Get("channelId")
	local := conn.LocalAddr().(*net.UDPAddr)
	c := &fakeChannel{s: s, id: id, name: "UnicastRTP/" + host + "-" + id, app: app, state: "Up", media: true, rtp: conn, rtpTo: to, quit: make(chan struct{}),
		vars: map[string]string{"UNICASTRTP_LOCAL_ADDRESS": local.IP.String(), "UNICASTRTP_LOCAL_PORT": strconv.Itoa(local.Port)}}
	s.mu.Lock()
	s.channels[id] = c
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, c.json())
	s.send(map[string]any{"type": "StasisStart", "application": app, "args": []string{}, "channel": c.json()})
}

func (s *Server) createBridge(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	s.bridges[id] = nil
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "technology": "simple_bridge", "bridge_type": "mixing", "channels": []string{}})
}

func (s *Server) addChannel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ids := strings.Split(r.URL.Query().Get("channel"), ",")
	s.mu.Lock()
	if _, ok := s.bridges[id]; !ok {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Bridge not found"})
		return
	}
	for _, cid := range ids {
		if _, ok := s.channels[cid]; !ok {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Channel not found"})
			return
		}
	}
	now := time.Now()
	for _, cid := range ids {
		s.leaveBridgesLocked(cid) // a channel is in one bridge at a time
		s.bridgeLg = append(s.bridgeLg, BridgeChange{Bridge: id, Channel: cid, Joined: true, At: now})
	}
	s.bridges[id] = append(s.bridges[id], ids...)
	members := append([]string(nil), s.bridges[id]...)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
	s.connectBridge(members, ids)
}

func (s *Server) removeChannel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ids := strings.Split(r.URL.Query().Get("channel"), ",")
	s.mu.Lock()
	defer s.mu.Unlock()
	members, ok := s.bridges[id]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Bridge not found"})
		return
	}
	for _, cid := range ids {
		if !slices.Contains(members, cid) {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Channel not in bridge"})
			return
		}
	}
	for _, cid := range ids {
		s.leaveBridgesLocked(cid)
	}
	w.WriteHeader(http.StatusNoContent)
}

// connectBridge starts the audio path once the first call channel and a
// media channel share a bridge, when one of them was just added: the call's
// script audio goes out as RTP, and RTP coming in is recorded against the
// call. A later channel (an agent) joins the mix without a new audio path.
func (s *Server) connectBridge(members, added []string) {
	var call, media *fakeChannel
	for _, id := range members {
		c := s.channel(id)
		switch {
		case c == nil:
		case c.media:
			media = c
		case call == nil:
			call = c
		}
	}
	if call == nil || media == nil || (!slices.Contains(added, call.id) && !slices.Contains(added, media.id)) {
		return
	}
	go media.receive(call)
	go call.talk(media)
}

func (s *Server) destroyBridge(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	members, ok := s.bridges[id]
	for _, m := range members {
		s.bridgeLg = append(s.bridgeLg, BridgeChange{Bridge: id, Channel: m, At: time.Now()})
	}
	delete(s.bridges, id)
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Bridge not found"})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
