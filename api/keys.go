package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cadenza-dialer/cadenza/engine"
)

// keyBody is the body of POST /v1/api-keys.
type keyBody struct {
	Name string      `json:"name"`
	Role engine.Role `json:"role"`
	// AgentID binds a key of role agent to one agent (engine.APIKey.AgentID).
	AgentID string `json:"agent_id"`
}

// createdKey is the one response that shows a secret.
type createdKey struct {
	engine.APIKey
	// Secret is the bearer token; it is shown here once and never again.
	Secret string `json:"secret"`
}

// createAPIKey: POST /v1/api-keys {"name", "role", "agent_id"} (admin).
// The secret is in this response only; the store keeps its hash. agent_id
// binds a key of role agent to one agent, which is recommended for keys
// handed to agent UIs: unbound agent keys may act for any agent.
func (s *Server) createAPIKey(req *request) (*reply, error) {
	var b keyBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	var errs engine.FieldErrors
	if msg := validKeyName(b.Name); msg != "" {
		errs = append(errs, engine.FieldError{Path: "name", Message: msg})
	}
	if b.Role.Rank() == 0 {
		errs = append(errs, engine.FieldError{Path: "role", Message: "must be admin, manager, agent or viewer"})
	}
	if b.AgentID != "" && b.Role.Rank() != 0 && b.Role != engine.RoleAgent {
		errs = append(errs, engine.FieldError{Path: "agent_id", Message: fmt.Sprintf("only a key of role agent can be bound to an agent, not %s", b.Role)})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	secret, k, err := CreateKeyWith(req.Context(), s.store, KeySpec{Name: b.Name, Role: b.Role, AgentID: b.AgentID}, s.now())
	if err != nil {
		return nil, storeError(err, "api key", b.Name, "create api key")
	}
	rep, err := jsonReply(http.StatusCreated, createdKey{APIKey: k, Secret: secret})
	if err != nil {
		return nil, err
	}
	rep.header.Set("Cache-Control", "no-store")
	return rep, nil
}

// listAPIKeys: GET /v1/api-keys (admin); never shows secrets or hashes.
func (s *Server) listAPIKeys(req *request) (*reply, error) {
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	ks, next, err := s.store.ListAPIKeys(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list api keys")
	}
	return pageReply(req.Request, ks, next)
}

// deleteAPIKey: DELETE /v1/api-keys/{id} (admin). The last admin key
// cannot be deleted: nobody could manage keys afterwards.
func (s *Server) deleteAPIKey(req *request) (*reply, error) {
	id := req.PathValue("id")
	target, admins, err := s.findKey(req.Context(), id)
	if err != nil {
		return nil, err
	}
	if target == nil {
		return nil, notFound("api key", id)
	}
	if target.Role == engine.RoleAdmin && admins <= 1 {
		return nil, conflict(fmt.Sprintf("api key %q is the last admin key; create another admin key first", id))
	}
	if err := s.store.DeleteAPIKey(req.Context(), id); err != nil {
		return nil, storeError(err, "api key", id, "delete api key")
	}
	return noContent()
}

// findKey pages through every key to find id and count the admins.
func (s *Server) findKey(ctx context.Context, id string) (*engine.APIKey, int, error) {
	var target *engine.APIKey
	admins := 0
	page := engine.Page{Limit: maxLimit}
	for {
		ks, next, err := s.store.ListAPIKeys(ctx, page)
		if err != nil {
			return nil, 0, fmt.Errorf("list api keys: %w", err)
		}
		for i := range ks {
			if ks[i].Role == engine.RoleAdmin {
				admins++
			}
			if ks[i].ID == id {
				k := ks[i]
				target = &k
			}
		}
		if next == "" || len(ks) == 0 {
			return target, admins, nil
		}
		page.After = next
	}
}
