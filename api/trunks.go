package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
)

// TrunkInfo is a configured trunk as the API shows it: where calls go and
// how fast, never credentials.
type TrunkInfo struct {
	Name string `json:"name"`
	// Driver is "sip" (Cadenza speaks SIP) or "ari" (through Asterisk).
	Driver       string   `json:"driver"`
	Host         string   `json:"host,omitempty"`
	Port         int      `json:"port,omitempty"`
	Transport    string   `json:"transport,omitempty"`
	NumberFormat string   `json:"number_format,omitempty"`
	Codecs       []string `json:"codecs,omitempty"`
	// MaxChannels and CPS are the trunk's caps; 0 means no cap.
	MaxChannels int     `json:"max_channels"`
	CPS         float64 `json:"cps"`
	// Endpoint is the ARI dial string (driver ari only).
	Endpoint string `json:"endpoint,omitempty"`
}

// CallerIDs is what the API uses of the caller-ID pools;
// *callerid.Service implements it.
type CallerIDs interface {
	Pools(ctx context.Context) ([]callerid.PoolStatus, error)
	Rest(ctx context.Context, number string, until time.Time) error
}

var _ CallerIDs = (*callerid.Service)(nil)

func (s *Server) listTrunks(*request) (*reply, error) {
	items := s.trunks
	if items == nil {
		items = []TrunkInfo{}
	}
	return jsonReply(http.StatusOK, map[string]any{"items": items})
}

func (s *Server) getTrunk(r *request) (*reply, error) {
	name := r.PathValue("name")
	for _, t := range s.trunks {
		if t.Name == name {
			return jsonReply(http.StatusOK, t)
		}
	}
	return nil, notFound("trunk", name)
}

// listCallerIDPools shows every pool with each number's state. A server
// without pools lists none (an empty list is the truth, not an outage).
func (s *Server) listCallerIDPools(r *request) (*reply, error) {
	pools := []callerid.PoolStatus{}
	if s.callerIDs != nil {
		got, err := s.callerIDs.Pools(r.Context())
		if err != nil {
			return nil, fmt.Errorf("caller-ID pools: %w", err)
		}
		if got != nil {
			pools = got
		}
	}
	for i := range pools {
		if pools[i].Numbers == nil {
			pools[i].Numbers = []callerid.NumberStatus{}
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"items": pools})
}

// restBody rests a number until a moment; a moment in the past (or now)
// ends a rest at once.
type restBody struct {
	Number string    `json:"number"`
	Until  time.Time `json:"until"`
}

func (s *Server) restCallerID(r *request) (*reply, error) {
	var b restBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	b.Number = strings.TrimSpace(b.Number)
	if !callerid.ValidE164(b.Number) {
		return nil, fieldProblem("number", "must be an E.164 number such as +14155550100")
	}
	if b.Until.IsZero() {
		return nil, fieldProblem("until", "is required (RFC 3339); a past time ends the rest")
	}
	if s.callerIDs == nil {
		return nil, unavailable("caller-ID pools are not configured")
	}
	pools, err := s.callerIDs.Pools(r.Context())
	if err != nil {
		return nil, fmt.Errorf("caller-ID pools: %w", err)
	}
	found := false
	for _, p := range pools {
		for _, n := range p.Numbers {
			found = found || n.E164 == b.Number
		}
	}
	if !found {
		p := notFound("caller-ID number", b.Number)
		p.Errors = append(p.Errors, fieldErr("number", "is in no caller-ID pool"))
		return nil, p
	}
	if err := s.callerIDs.Rest(r.Context(), b.Number, b.Until); err != nil {
		return nil, fmt.Errorf("rest caller ID: %w", err)
	}
	resting := b.Until.After(s.now())
	out := map[string]any{"number": b.Number, "resting": resting}
	if resting {
		out["until"] = b.Until.UTC()
	}
	return jsonReply(http.StatusOK, out)
}
