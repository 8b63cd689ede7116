package agents

import (
	"fmt"
	"time"
)

// Update replaces an agent's details (name, team, destination, queues) as
// an administrator edits them, keeping everything live: its state and the
// time it entered it, a reservation or call in progress (with the queue it
// was made for), its wrap-up deadline, state totals and event subscriptions.
// A call already bridged to the agent is not disturbed; the new destination
// and queues apply to the next reservation. It fails with ErrUnknownAgent
// when the roster does not hold a.ID.
func (r *Roster) Update(a Agent) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("update agent: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.get(a.ID)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	rec.a = a.clone()
	return nil
}

// SetWrapUp sets the wrap-up time of queue's calls, as a queue is created or
// edited: d > 0 is the wrap-up, d < 0 means no wrap-up, and d == 0 removes
// the override so the queue uses Options.DefaultWrapUp again (a queue's
// zero wrap-up means "server default", and deleting a queue resets it the
// same way). It applies to calls that hang up from now on; agents already
// in wrap-up keep the deadline they got.
func (r *Roster) SetWrapUp(queue string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d == 0 {
		delete(r.opts.WrapUp, queue)
		return
	}
	r.opts.WrapUp[queue] = d
}
