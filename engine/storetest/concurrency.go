package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

func concurrencyTests() []test {
	return []test{
		{"ConcurrentEnrollAndForceDelete", testConcurrentEnrollDelete},
		{"ConcurrentScheduleAndStop", testConcurrentScheduleStop},
		{"ConcurrentUpsertSamePhone", testConcurrentUpsert},
	}
}

// testConcurrentEnrollDelete enrolls contacts while the cadence is deleted
// with force: every enrollment either fails (the cadence is gone) or is
// stopped by the delete. None may stay active on a deleted cadence.
func testConcurrentEnrollDelete(t *testing.T, s engine.Store) {
	const n = 10
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	var contacts []engine.Contact
	for i := range n {
		ct, err := es.UpsertContact(ctx(t), engine.Contact{Phone: fmt.Sprintf("+1512555%04d", i)}, at(0))
		require.NoError(t, err)
		contacts = append(contacts, ct)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		errs    []error
	)
	for _, ct := range contacts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := es.CreateEnrollment(ctx(t), engine.Enrollment{CadenceID: c.ID, ContactID: ct.ID}, at(1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			created = append(created, e.ID)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := s.DeleteCadence(ctx(t), c.ID, true, at(2))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("delete: %w", err))
		}
	}()
	wg.Wait()
	for _, err := range errs {
		require.ErrorIs(t, err, engine.ErrNotFound, "only enrollments after the delete may fail")
	}
	require.Len(t, created, n-len(errs))
	for _, id := range created {
		e, err := es.GetEnrollment(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, engine.EnrollmentStopped, e.Status, "enrollment %s survived the delete", id)
	}
	requireGone(t, s, c.ID)
}

// testConcurrentScheduleStop schedules actions while the enrollment stops:
// afterwards no scheduled action may belong to the stopped enrollment.
func testConcurrentScheduleStop(t *testing.T, s engine.Store) {
	const n = 10
	es := enrollments(t, s)
	c := newCadence(t, s, "c", engine.StatusActive, at(0))
	e := enrolled(t, s, c, "+15125550200")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		actions []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := es.ScheduleAction(ctx(t), engine.ScheduledAction{EnrollmentID: e.ID, Step: 1 + i%2,
				Type: engine.StepCall, DueAt: at(100 + i)}, at(1))
			if err != nil {
				if !errors.Is(err, engine.ErrConflict) {
					t.Errorf("schedule: %v", err)
				}
				return
			}
			mu.Lock()
			actions = append(actions, a.ID)
			mu.Unlock()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := es.StopEnrollment(ctx(t), e.ID, "stop", at(2)); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	wg.Wait()
	for _, id := range actions {
		a, err := es.GetAction(ctx(t), id)
		require.NoError(t, err)
		require.Equal(t, engine.ActionCancelled, a.State, "action %s outlived its enrollment", id)
	}
}

// testConcurrentUpsertSamePhone upserts one phone from many goroutines: one
// contact results.
func testConcurrentUpsert(t *testing.T, s engine.Store) {
	const n = 8
	es := enrollments(t, s)
	ids := make(chan string, n)
	for i := range n {
		go func() {
			c, err := es.UpsertContact(ctx(t), engine.Contact{Phone: "+15125550300", FirstName: fmt.Sprint("v", i)}, at(i))
			if err != nil {
				t.Errorf("upsert: %v", err)
				ids <- ""
				return
			}
			ids <- c.ID
		}()
	}
	first := <-ids
	require.NotEmpty(t, first)
	for range n - 1 {
		require.Equal(t, first, <-ids)
	}
}
