package ari

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	ariv5 "github.com/CyCoreSystems/ari/v5"
)

// asterisk is the handful of ARI operations the driver uses, each bounded by
// a context. It is deliberately ours and small (STYLE.md: no 36-method
// Channel), so the fake in aritest and a real Asterisk are interchangeable.
type asterisk interface {
	Info(ctx context.Context) error
	Originate(ctx context.Context, req ariv5.OriginateRequest, vars map[string]string) (channel, error)
	Hangup(ctx context.Context, channelID, reason string) error
	Channels(ctx context.Context) ([]channel, error)
	ExternalMedia(ctx context.Context, opts ariv5.ExternalMediaOptions) (channel, error)
	Variable(ctx context.Context, channelID, name string) (string, error)
	CreateBridge(ctx context.Context, id, kind string) error
	AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	RemoveFromBridge(ctx context.Context, bridgeID string, channelIDs ...string) error
	DestroyBridge(ctx context.Context, id string) error
}

// channel is the part of Asterisk's Channel JSON we read. The library's
// ari.ChannelData cannot be used for decoding: its creationtime is a protobuf
// Timestamp, which encoding/json cannot fill from Asterisk's string.
type channel struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	State       string            `json:"state"`
	ChannelVars map[string]string `json:"channelvars,omitempty"`
}

// httpError is a non-2xx ARI answer.
type httpError struct {
	Status  int
	Message string
}

func (e *httpError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("ari: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("ari: HTTP %d", e.Status)
}

// isNotFound reports a 404 from ARI (a channel or bridge already gone).
func isNotFound(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}

// rest talks to ARI's REST interface with a context and a timeout on every
// request.
type rest struct {
	base     string // http://host:8088/ari
	user     string
	password string
	app      string
	client   *http.Client
}

func newREST(base, user, password, app string, timeout time.Duration) *rest {
	return &rest{
		base:     strings.TrimRight(base, "/"),
		user:     user,
		password: password,
		app:      app,
		client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
		},
	}
}

func (r *rest) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := r.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("ari: encode %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	req.SetBasicAuth(r.user, r.password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("ari: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("ari: read %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var msg struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &msg)
		return &httpError{Status: resp.StatusCode, Message: msg.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("ari: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

func (r *rest) Info(ctx context.Context) error {
	return r.do(ctx, http.MethodGet, "/asterisk/info", nil, nil, nil)
}

func (r *rest) Originate(ctx context.Context, req ariv5.OriginateRequest, vars map[string]string) (channel, error) {
	q := url.Values{}
	q.Set("endpoint", req.Endpoint)
	q.Set("app", req.App)
	if req.AppArgs != "" {
		q.Set("appArgs", req.AppArgs)
	}
	if req.CallerID != "" {
		q.Set("callerId", req.CallerID)
	}
	q.Set("timeout", strconv.Itoa(req.Timeout))
	if req.ChannelID != "" {
		q.Set("channelId", req.ChannelID)
	}
	if req.Formats != "" {
		q.Set("formats", req.Formats)
	}
	var body any
	if len(vars) > 0 {
		body = map[string]any{"variables": vars}
	}
	var ch channel
	err := r.do(ctx, http.MethodPost, "/channels", q, body, &ch)
	return ch, err
}

func (r *rest) Hangup(ctx context.Context, channelID, reason string) error {
	q := url.Values{}
	if reason != "" {
		q.Set("reason", reason)
	}
	return r.do(ctx, http.MethodDelete, "/channels/"+url.PathEscape(channelID), q, nil, nil)
}

func (r *rest) Channels(ctx context.Context) ([]channel, error) {
	var out []channel
	err := r.do(ctx, http.MethodGet, "/channels", nil, nil, &out)
	return out, err
}

func (r *rest) ExternalMedia(ctx context.Context, o ariv5.ExternalMediaOptions) (channel, error) {
	q := url.Values{}
	q.Set("app", o.App)
	q.Set("external_host", o.ExternalHost)
	q.Set("format", o.Format)
	if o.ChannelID != "" {
		q.Set("channelId", o.ChannelID)
	}
	for k, v := range map[string]string{"encapsulation": o.Encapsulation, "transport": o.Transport, "connection_type": o.ConnectionType, "direction": o.Direction} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var ch channel
	err := r.do(ctx, http.MethodPost, "/channels/externalMedia", q, nil, &ch)
	return ch, err
}

func (r *rest) Variable(ctx context.Context, channelID, name string) (string, error) {
	var out struct {
		Value string `json:"value"`
	}
	err := r.do(ctx, http.MethodGet, "/channels/"+url.PathEscape(channelID)+"/variable", url.Values{"variable": {name}}, nil, &out)
	return out.Value, err
}

func (r *rest) CreateBridge(ctx context.Context, id, kind string) error {
	return r.do(ctx, http.MethodPost, "/bridges/"+url.PathEscape(id), url.Values{"type": {kind}}, nil, nil)
}

func (r *rest) AddToBridge(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return r.do(ctx, http.MethodPost, "/bridges/"+url.PathEscape(bridgeID)+"/addChannel", url.Values{"channel": {strings.Join(channelIDs, ",")}}, nil, nil)
}

func (r *rest) RemoveFromBridge(ctx context.Context, bridgeID string, channelIDs ...string) error {
	return r.do(ctx, http.MethodPost, "/bridges/"+url.PathEscape(bridgeID)+"/removeChannel", url.Values{"channel": {strings.Join(channelIDs, ",")}}, nil, nil)
}

func (r *rest) DestroyBridge(ctx context.Context, id string) error {
	return r.do(ctx, http.MethodDelete, "/bridges/"+url.PathEscape(id), nil, nil, nil)
}
