package api

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/cadenza-dialer/cadenza/amd/audio"
	"github.com/cadenza-dialer/cadenza/engine"
)

// reAssetName is what an asset may be called: definitions refer to assets
// by id or name, so names stay simple tokens.
var reAssetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// uploadAsset: POST /v1/assets?name=NAME with a WAV body (8/16/24/32/48
// kHz PCM or G.711, mono or stereo). The audio is stored as 8 kHz 16-bit
// mono PCM; anything else is a 422 naming what is wrong.
func (s *Server) uploadAsset(req *request) (*reply, error) {
	name := req.URL.Query().Get("name")
	switch {
	case name == "":
		return nil, fieldProblem("name", "is required (POST /v1/assets?name=NAME)")
	case !reAssetName.MatchString(name):
		return nil, fieldProblem("name", "must be 1 to 100 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	pcm, err := audio.DecodeWAV(bytes.NewReader(req.body))
	if err != nil {
		return nil, fieldProblem("body", strings.TrimPrefix(err.Error(), "wav: "))
	}
	if len(pcm) == 0 {
		return nil, fieldProblem("body", "the WAV file holds no audio")
	}
	raw := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(raw[2*i:], uint16(v))
	}
	a, err := s.store.CreateAsset(req.Context(), engine.Asset{
		Name:       name,
		DurationMS: int64(len(pcm)) * 1000 / audio.Rate,
		PCM:        raw,
	}, s.now())
	if err != nil {
		if p := storeProblem(err, "asset", name); p != nil && p.Status == http.StatusConflict {
			p.Detail = fmt.Sprintf("an asset named %q exists; delete it first or choose another name", name)
			p.Errors = []engine.FieldError{{Path: "name", Message: "is taken"}}
			return nil, p
		}
		return nil, storeError(err, "asset", name, "create asset")
	}
	return jsonReply(http.StatusCreated, a)
}

// listAssets: GET /v1/assets (metadata only).
func (s *Server) listAssets(req *request) (*reply, error) {
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	as, next, err := s.store.ListAssets(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list assets")
	}
	return pageReply(req.Request, as, next)
}

// getAsset: GET /v1/assets/{id} returns metadata; ?format=wav downloads the
// stored audio as an 8 kHz mono WAV file. {id} may also be the name.
func (s *Server) getAsset(req *request) (*reply, error) {
	id := req.PathValue("id")
	format := req.URL.Query().Get("format")
	if format != "" && format != "json" && format != "wav" {
		return nil, fieldProblem("format", "must be json or wav")
	}
	a, err := s.store.GetAsset(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "asset", id, "get asset")
	}
	if format != "wav" {
		return jsonReply(http.StatusOK, a)
	}
	pcm := make([]int16, len(a.PCM)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(a.PCM[2*i:]))
	}
	var buf bytes.Buffer
	if err := audio.EncodeWAV(&buf, pcm); err != nil {
		return nil, fmt.Errorf("encode asset %s: %w", a.ID, err)
	}
	return &reply{status: http.StatusOK, header: http.Header{
		"Content-Type":        {"audio/wav"},
		"Content-Disposition": {fmt.Sprintf(`attachment; filename="%s.wav"`, fileSlug(a.Name))},
	}, body: buf.Bytes()}, nil
}

// deleteAsset: DELETE /v1/assets/{id}[?force=true] ({id} may also be the
// name). An asset that active cadences play is 409 unless force.
func (s *Server) deleteAsset(req *request) (*reply, error) {
	id := req.PathValue("id")
	force := false
	if v := req.URL.Query().Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fieldProblem("force", "must be true or false")
		}
		force = b
	}
	a, err := s.store.GetAsset(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "asset", id, "get asset")
	}
	if !force {
		users, err := s.activeUsers(req.Context(), func(d engine.Definition) bool { return usesAsset(d, a) })
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			return nil, inUseBy("asset", id, users)
		}
	}
	if err := s.store.DeleteAsset(req.Context(), a.ID); err != nil {
		return nil, storeError(err, "asset", id, "delete asset")
	}
	return noContent()
}
