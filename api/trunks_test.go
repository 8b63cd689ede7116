package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/engine"
)

func TestTrunksAndCallerIDPools(t *testing.T) {
	t.Parallel()
	trunks := []TrunkInfo{
		{Name: "carrier-a", Driver: "sip", Host: "sip.example.net", Port: 5060, Transport: "udp", NumberFormat: "e164",
			Codecs: []string{"pcmu", "pcma"}, MaxChannels: 30, CPS: 5},
		{Name: "pbx", Driver: "ari", Endpoint: "PJSIP/{number}@carrier", MaxChannels: 10},
	}
	var svc *callerid.Service
	e := newEngineEnv(t, func(o *Options) {
		o.Trunks = trunks
		svc = callerIDService(t, o.Now)
		o.CallerIDs = svc
	})

	var list struct{ Items []TrunkInfo }
	e.documented(t, "GET", "/v1/trunks", e.do("GET", "/v1/trunks", e.viewer, nil)).ok(t, http.StatusOK, &list)
	require.Equal(t, trunks, list.Items)
	var one TrunkInfo
	e.documented(t, "GET", "/v1/trunks/{name}", e.do("GET", "/v1/trunks/pbx", e.viewer, nil)).ok(t, http.StatusOK, &one)
	require.Equal(t, trunks[1], one)
	e.documented(t, "GET", "/v1/trunks/{name}", e.do("GET", "/v1/trunks/none", e.viewer, nil)).problem(t, http.StatusNotFound, "")
	e.do("GET", "/v1/trunks", "", nil).problem(t, http.StatusUnauthorized, "Authorization")

	var pools struct{ Items []callerid.PoolStatus }
	e.documented(t, "GET", "/v1/callerid-pools", e.do("GET", "/v1/callerid-pools", e.viewer, nil)).ok(t, http.StatusOK, &pools)
	require.Len(t, pools.Items, 1)
	require.Equal(t, "main", pools.Items[0].Name)
	require.Equal(t, 2, pools.Items[0].Usable)

	// Rest a number; a time in the past ends the rest.
	until := e.clock.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	const rest = "/v1/callerid-pools/rest"
	e.do("POST", rest, e.viewer, map[string]any{"number": "+12125550100", "until": until}).problem(t, http.StatusForbidden, "")
	var rr struct {
		Number  string
		Resting bool
		Until   time.Time
	}
	r := e.do("POST", rest, e.manager, map[string]any{"number": "+12125550100", "until": until})
	e.documented(t, "POST", rest, r).ok(t, http.StatusOK, &rr)
	require.True(t, rr.Resting)
	require.True(t, until.Equal(rr.Until))
	e.do("GET", "/v1/callerid-pools", e.viewer, nil).ok(t, http.StatusOK, &pools)
	require.Equal(t, 1, pools.Items[0].Usable)
	n := pools.Items[0].Numbers[0]
	require.False(t, n.Usable)
	require.NotNil(t, n.RestingUntil)

	r = e.do("POST", rest, e.manager, map[string]any{"number": "+12125550100", "until": e.clock.Now().Add(-time.Minute)})
	e.documented(t, "POST", rest, r).ok(t, http.StatusOK, &rr)
	require.False(t, rr.Resting)
	e.do("GET", "/v1/callerid-pools", e.viewer, nil).ok(t, http.StatusOK, &pools)
	require.Equal(t, 2, pools.Items[0].Usable)

	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"number":"+19995550100","until":"2030-01-01T00:00:00Z"}`, 404, "number"},
		{`{"number":"555","until":"2030-01-01T00:00:00Z"}`, 422, "number"},
		{`{"number":"+12125550100"}`, 422, "until"},
		{`{"number":"+12125550100","until":"tomorrow"}`, 400, "body"},
		{`{"number":"+12125550100","until":"2030-01-01T00:00:00Z","x":1}`, 422, "x"},
	} {
		e.documented(t, "POST", rest, e.do("POST", rest, e.manager, tc.body)).problem(t, tc.status, tc.field)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	e := newEngineEnv(t)
	var c cadenceJSON
	e.do("POST", "/v1/cadences", e.manager, fiveStep(t)).ok(t, http.StatusCreated, &c)
	const pattern = "/v1/cadences/{id}/dryrun"
	path := "/v1/cadences/" + c.ID + "/dryrun"

	// A draft plays too; nothing of it reaches the server's store.
	body := `{"start":"2026-03-09T08:00:00-05:00","days":3,"outcomes":"+12125550123=busy,human;*=no_answer",
		"contacts":[{"phone":"+12125550123","first_name":"Ada","state":"NY"},{"phone":"+13125550124","state":"IL"},{"phone":"12"}]}`
	e.documented(t, "POST", pattern, e.do("POST", path, e.manager, body)).problem(t, http.StatusUnprocessableEntity, "contacts[2].phone")
	body = `{"start":"2026-03-09T08:00:00-05:00","days":3,"outcomes":"+12125550123=busy,human;*=no_answer",
		"contacts":[{"phone":"+12125550123","first_name":"Ada","state":"NY"},{"phone":"+13125550124","state":"IL"}]}`
	var res dryrunResult
	e.documented(t, "POST", pattern, e.do("POST", path, e.manager, body)).ok(t, http.StatusOK, &res)
	require.Empty(t, res.Errors)
	require.False(t, res.Truncated)
	kinds := map[engine.EventType]int{}
	var adaCalls []string
	for i, ev := range res.Events {
		kinds[ev.Type]++
		if i > 0 {
			require.False(t, ev.At.Before(res.Events[i-1].At), "events are in time order")
		}
		if ev.Type == engine.EventCall && ev.Phone == "+12125550123" {
			adaCalls = append(adaCalls, ev.Disposition)
		}
	}
	require.Equal(t, 2, kinds[engine.EventEnrolled])
	require.GreaterOrEqual(t, kinds[engine.EventSMS], 2)
	require.NotZero(t, kinds[engine.EventCall])
	require.Equal(t, []string{"busy", "human"}, adaCalls[:2])
	require.Empty(t, e.eventsOf(engine.EventEnrolled), "the server's engine saw nothing")
	e.do("GET", "/v1/cadences/"+c.ID, e.viewer, nil).ok(t, http.StatusOK, &c)
	require.Zero(t, c.Stats.Invocations)

	// NDJSON: the same events, one per line.
	r := e.do("POST", path, e.manager, body, "Accept", "application/x-ndjson")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, "application/x-ndjson", r.header.Get("Content-Type"))
	// Contacts due at the same instant run concurrently, so only the set
	// of events is the same from run to run.
	var want, got []string
	for _, ev := range res.Events {
		want = append(want, string(ev.Type)+" "+ev.Phone+" "+ev.At.String())
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n") {
		var ev engine.Event
		require.NoError(t, json.Unmarshal([]byte(l), &ev))
		got = append(got, string(ev.Type)+" "+ev.Phone+" "+ev.At.String())
	}
	require.ElementsMatch(t, want, got)

	// A small event limit truncates.
	e2 := newEngineEnv(t, func(o *Options) { o.DryRun.MaxEvents = 3 })
	e2.do("POST", "/v1/cadences", e2.manager, fiveStep(t)).ok(t, http.StatusCreated, &c)
	e2.do("POST", "/v1/cadences/"+c.ID+"/dryrun", e2.manager, body).ok(t, http.StatusOK, &res)
	require.True(t, res.Truncated)
	require.Len(t, res.Events, 3)

	for _, tc := range []struct {
		body   string
		status int
		field  string
	}{
		{`{"contacts":[{"phone":"+12125550123"}],"days":0}`, 422, "days"},
		{`{"contacts":[{"phone":"+12125550123"}],"days":400}`, 422, "days"},
		{`{"contacts":[]}`, 422, "contacts"},
		{`{"contacts":[{"phone":"+12125550123"}],"outcomes":"ringing"}`, 422, "outcomes"},
		{`{"contacts":[{"phone":"+12125550123"}],"start":"1900-01-01T00:00:00Z"}`, 422, "start"},
		{`{"contacts":[{"phone":"+12125550123"}],"start":"yesterday"}`, 400, "body"},
	} {
		e.documented(t, "POST", pattern, e.do("POST", path, e.manager, tc.body)).problem(t, tc.status, tc.field)
	}
	e.documented(t, "POST", pattern, e.do("POST", "/v1/cadences/none/dryrun", e.manager, `{"contacts":[{"phone":"+12125550123"}]}`)).
		problem(t, http.StatusNotFound, "")
	e.do("POST", path, e.viewer, body).problem(t, http.StatusForbidden, "")
}
