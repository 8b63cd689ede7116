package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Group commit. Every claimed action costs two writes after its claim: the
// dialing mark before the hand-off and the outcome after it, and each was a
// transaction of its own: a commit (a WAL flush) and, for an outcome, five
// round trips. Concurrent MarkDialing and Complete calls of one Store are
// coalesced instead. A caller that finds one of the committer's slots free
// (defaultGroups of them) writes at once; callers that arrive while every
// slot is busy queue up, and the first writer to finish hands its slot and
// the whole queue to the first of them, who writes it as one group: BEGIN
// with one multi-row statement for the marks and one for the outcomes
// (fenced, with their attempts), then the tails (finishes, next actions,
// blocks) as multi-row statements with COMMIT — two round trips, whatever
// the group's size; a group of marks alone is one statement, one round
// trip. Nothing waits on a timer: groups grow with the load.
//
// Every caller gets its own result: a stale fence is that caller's
// ErrConflict and changes nothing of its row, and nobody returns before its
// row is committed. What a group cannot hold (a do-not-call tail, a second
// call on the same action, two outcomes of one enrollment, an invalid
// tail, any error or deadlock) rolls the group back or stays out of it, and
// runs alone through the transaction a call always had (completeOne).

// groupOp is one queued MarkDialing or Complete call.
type groupOp struct {
	mark bool // MarkDialing; Complete otherwise
	id   string
	// fence is the mark's fence (a completion carries its own).
	fence int64
	c     engine.Completion

	err  error
	done chan struct{}
	// batch is set, before done is closed, on the op whose caller must
	// lead the next group: the ops of that group, this one first.
	batch []*groupOp
}

// committer queues the group-committed calls of a Store. Its zero value is
// ready.
type committer struct {
	mu      sync.Mutex
	pending []*groupOp
	running int // groups being written
	// groups caps the groups written at once (defaultGroups when 0): more
	// overlap round trips when the database is slow to answer, fewer make
	// larger groups when it is busy.
	groups int
	// alone turns coalescing off (every call runs alone, as before group
	// commit), for benchmarks that compare the two.
	alone bool
}

// defaultGroups is how many groups a Store writes at once by default.
const defaultGroups = 2

// MarkDialing sets the dialing mark of a claimed action; it returns once
// the mark is committed.
func (s *Store) MarkDialing(ctx context.Context, actionID string, fence int64, _ time.Time) error {
	if !validID(actionID) {
		return fmt.Errorf("mark dialing %s: %w", actionID, engine.ErrNotFound)
	}
	return s.grouped(ctx, &groupOp{mark: true, id: actionID, fence: fence})
}

// Complete records an outcome and its tail in one transaction (shared with
// concurrent calls, see committer); it returns once they are committed.
func (s *Store) Complete(ctx context.Context, c engine.Completion) error {
	if !validID(c.ActionID) {
		return fmt.Errorf("complete action %s: %w", c.ActionID, engine.ErrNotFound)
	}
	return s.grouped(ctx, &groupOp{id: c.ActionID, c: c})
}

// grouped queues op and waits for its result, leading a group when fewer
// than the limit are being written.
func (s *Store) grouped(ctx context.Context, op *groupOp) error {
	q, err := loadScheduleQueries()
	if err != nil {
		return err
	}
	g := &s.commits
	if g.alone {
		s.runAlone(ctx, q, op)
		return op.err
	}
	op.done = make(chan struct{})
	limit := g.groups
	if limit <= 0 {
		limit = defaultGroups
	}
	var ops []*groupOp
	g.mu.Lock()
	if g.running < limit {
		// Queued ops only exist while every slot is taken: this op is
		// alone, and leads.
		g.running++
		g.mu.Unlock()
		ops = []*groupOp{op}
	} else {
		g.pending = append(g.pending, op)
		g.mu.Unlock()
		select {
		case <-op.done:
		case <-ctx.Done():
			g.mu.Lock()
			if i := slices.Index(g.pending, op); i >= 0 {
				// Not taken into a group yet: withdraw.
				g.pending = slices.Delete(g.pending, i, i+1)
				g.mu.Unlock()
				return ctx.Err()
			}
			g.mu.Unlock()
			<-op.done // taken: its write is under way, wait for it
		}
		if op.batch == nil {
			return op.err // written in someone else's group
		}
		ops = op.batch
	}

	switch {
	case len(ops) == 1 && op.mark:
		s.runAlone(ctx, q, op) // one statement: the fewest round trips
	case len(ops) == 1:
		// A group of one still takes two round trips where the
		// transaction of a call alone takes five.
		s.runGroup(ctx, q, ops, op)
	default:
		// The group writes for every caller in it: the leader's own
		// cancellation must not fail the others.
		s.runGroup(context.WithoutCancel(ctx), q, ops, op)
	}

	// Hand the slot, with everything queued meanwhile, to the first in
	// line; or free it.
	g.mu.Lock()
	if len(g.pending) > 0 {
		next := g.pending[0]
		next.batch, g.pending = g.pending, nil
		close(next.done)
	} else {
		g.running--
	}
	g.mu.Unlock()
	return op.err
}

// runAlone runs one op the way it always ran: a statement or a transaction
// of its own.
func (s *Store) runAlone(ctx context.Context, q *scheduleQueries, op *groupOp) {
	if op.mark {
		op.err = s.markDialingOne(ctx, q, op.id, op.fence)
	} else {
		op.err = s.completeOne(ctx, q, op.c)
	}
}

// errRegroup rolls a group back so that its calls run one by one.
var errRegroup = errors.New("group commit: run the calls one by one")

// runGroup writes ops in one transaction and sets each op's result; the
// leader's op is among them. Ops that cannot share the transaction (a
// do-not-call tail, a second op on the same action) and every op of a
// group that rolled back run alone afterwards. It closes the done of
// every op but the leader's.
func (s *Store) runGroup(ctx context.Context, q *scheduleQueries, ops []*groupOp, leader *groupOp) {
	var grouped, alone []*groupOp
	seen := make(map[string]bool, len(ops))
	for _, op := range ops {
		switch {
		case seen[op.id], !op.mark && op.c.Tail.DNC:
			alone = append(alone, op)
		default:
			seen[op.id] = true
			grouped = append(grouped, op)
		}
	}
	// Rows are locked in id order, as far as the planner follows it.
	slices.SortFunc(grouped, func(a, b *groupOp) int { return strings.Compare(a.id, b.id) })
	if len(grouped) > 0 {
		if err := s.groupWrite(ctx, q, grouped); err != nil {
			alone = append(grouped, alone...)
		}
	}
	for _, op := range alone {
		s.runAlone(ctx, q, op)
	}
	for _, op := range ops {
		if op != leader {
			close(op.done)
		}
	}
}

// groupWrite runs groupTx on a connection of the pool; whatever it left
// open is rolled back.
func (s *Store) groupWrite(ctx context.Context, q *scheduleQueries, ops []*groupOp) error {
	if !slices.ContainsFunc(ops, func(op *groupOp) bool { return !op.mark }) {
		return s.markGroup(ctx, q, ops)
	}
	return s.connTxOnce(ctx, func(conn *pgx.Conn) error { return groupTx(ctx, conn, q, ops) })
}

// markGroup writes a group of dialing marks alone as one statement, its own
// transaction: one round trip, where BEGIN … COMMIT around it takes two.
func (s *Store) markGroup(ctx context.Context, q *scheduleQueries, ops []*groupOp) error {
	ids, fences := make([]string, len(ops)), make([]int64, len(ops))
	for i, op := range ops {
		ids[i], fences[i] = op.id, op.fence
	}
	rows, err := s.pool.Query(ctx, q.MarkDialingGroup, ids, fences)
	if err != nil {
		return fmt.Errorf("mark dialing: %w", err)
	}
	marked, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("mark dialing: %w", err)
	}
	held := make(map[string]bool, len(marked))
	for _, id := range marked {
		held[id] = true
	}
	for _, op := range ops {
		op.markResult(held[op.id])
	}
	return nil
}

// markResult sets a dialing mark's result: held tells whether its fence
// held and the row was marked.
func (op *groupOp) markResult(held bool) {
	op.err = nil
	if !held {
		op.err = fmt.Errorf("mark dialing %s: %w: stale fence %d or action not processing", op.id, engine.ErrConflict, op.fence)
	}
}

// groupTx writes the dialing marks and the outcomes of ops with their tails
// in one transaction of two round trips — BEGIN with the fenced updates,
// then the tails with COMMIT — and sets each op's result. On error the
// caller rolls back, and the results set here are overwritten by the calls
// run alone.
//
// One difference with a call alone: a tail whose enrollment finished
// between the two round trips (an operator's stop) is skipped, the outcome
// kept, as a call alone does when it sees the enrollment finished before
// its tail; alone, the same race fails the whole call with ErrConflict.
func groupTx(ctx context.Context, conn *pgx.Conn, q *scheduleQueries, ops []*groupOp) error {
	var (
		markIDs, doneIDs, doneDisps []string
		markFences, doneFences      []int64
		doneAts                     []time.Time
		donePlaced                  []bool
		completions                 = map[string]*groupOp{}
		marks                       = map[string]*groupOp{}
		planned                     = map[string][]any{}
	)
	for _, op := range ops {
		if op.mark {
			markIDs, markFences = append(markIDs, op.id), append(markFences, op.fence)
			marks[op.id] = op
			continue
		}
		c := op.c
		if n := c.Tail.Next; n != nil {
			args, err := plannedArgs(*n, c.Now)
			if err != nil {
				return err // the call alone will report it
			}
			planned[op.id] = args
		}
		doneIDs, doneFences, doneAts = append(doneIDs, op.id), append(doneFences, c.Fence), append(doneAts, utc(c.Now))
		doneDisps, donePlaced = append(doneDisps, c.Disposition), append(donePlaced, c.Placed)
		completions[op.id] = op
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(pkPlans)
	if len(markIDs) > 0 {
		b.Queue(q.MarkDialingGroup, markIDs, markFences)
	}
	if len(doneIDs) > 0 {
		b.Queue(q.CompleteGroup, doneIDs, doneFences, doneAts, doneDisps, donePlaced)
	}
	marked, doneResult, err := readFenced(conn.SendBatch(ctx, b), len(markIDs) > 0, len(doneIDs) > 0)
	if err != nil {
		return err
	}

	// The tails. Two outcomes of one enrollment would each have seen the
	// other's tail: they run alone instead.
	var tl tails
	enrollments := map[string]bool{}
	for _, id := range doneIDs {
		e, ok := doneResult[id]
		if !ok {
			continue
		}
		if enrollments[e.ID] {
			return errRegroup
		}
		enrollments[e.ID] = true
		op := completions[id]
		if err := tl.add(e, op.c.Tail, op.c.Now, planned[id]); err != nil {
			return err
		}
	}
	if err := tl.write(ctx, conn, q); err != nil {
		return err
	}

	for id, op := range marks {
		op.markResult(marked[id])
	}
	for id, op := range completions {
		op.err = nil
		if _, ok := doneResult[id]; !ok {
			op.err = fmt.Errorf("complete action %s: %w: stale fence %d or action not processing", id, engine.ErrConflict, op.c.Fence)
		}
	}
	return nil
}

// readFenced reads the first round trip of a group: BEGIN, then the marks
// that held their fence, then the completions that held theirs, each with
// its enrollment.
func readFenced(br pgx.BatchResults, marks, completes bool) (map[string]bool, map[string]engine.Enrollment, error) {
	defer br.Close()
	marked, done := map[string]bool{}, map[string]engine.Enrollment{}
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, nil, fmt.Errorf("planner settings: %w", err)
	}
	if marks {
		rows, err := br.Query()
		if err != nil {
			return nil, nil, fmt.Errorf("mark dialing: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("mark dialing: %w", err)
			}
			marked[id] = true
		}
		if rows.Close(); rows.Err() != nil {
			return nil, nil, fmt.Errorf("mark dialing: %w", rows.Err())
		}
	}
	if completes {
		rows, err := br.Query()
		if err != nil {
			return nil, nil, fmt.Errorf("complete: %w", err)
		}
		for rows.Next() {
			var (
				id, status string
				e          engine.Enrollment
			)
			if err := rows.Scan(&id, &e.ID, &e.CadenceID, &e.CadenceVersion, &e.ContactID, &status, &e.CreatedAt, &e.StoppedAt, &e.StopReason); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("complete: %w", err)
			}
			e.Status, e.CreatedAt, e.StoppedAt = engine.EnrollmentStatus(status), e.CreatedAt.UTC(), utcPtr(e.StoppedAt)
			done[id] = e
		}
		if rows.Close(); rows.Err() != nil {
			return nil, nil, fmt.Errorf("complete: %w", rows.Err())
		}
	}
	return marked, done, br.Close()
}

// tails collects the tails of a group's outcomes as multi-row statements.
type tails struct {
	finishIDs, finishStatus, finishReasons []string
	finishAts                              []time.Time
	// next holds insert_planned_action's arguments, column by column.
	nextIDs, nextEnrollments, nextTypes, nextRetries []string
	nextSteps, nextAttempts, nextRuns                []int
	nextDue, nextCreated                             []time.Time
	nextStarted                                      []*time.Time
	// blocks, column by column; blockNew marks those naming a next action.
	blockActions, blockContacts, blockCodes, blockReasons []string
	blockAts                                              []time.Time
	blockNext                                             []*time.Time
	blockNew                                              []bool
	notify                                                bool
}

// add queues the tail t of an outcome of enrollment e, as applyTailTo
// writes it (without do-not-call, which a group never holds). next is
// plannedArgs of t.Next.
func (tl *tails) add(e engine.Enrollment, t engine.Tail, now time.Time, next []any) error {
	var blockAction string
	if t.Block != nil {
		blockAction = t.Block.ActionID
	}
	isNew := false
	if e.Status == engine.EnrollmentActive {
		switch {
		case t.Finish != nil:
			f := *t.Finish
			if f.Status != engine.EnrollmentCompleted && f.Status != engine.EnrollmentStopped {
				return errRegroup // the call alone names the field
			}
			tl.finishIDs, tl.finishStatus = append(tl.finishIDs, e.ID), append(tl.finishStatus, string(f.Status))
			tl.finishAts, tl.finishReasons = append(tl.finishAts, utc(now)), append(tl.finishReasons, f.Reason)
		case t.Next != nil:
			id := next[0].(string)
			tl.nextIDs, tl.nextEnrollments = append(tl.nextIDs, id), append(tl.nextEnrollments, e.ID)
			tl.nextSteps, tl.nextTypes = append(tl.nextSteps, next[2].(int)), append(tl.nextTypes, next[3].(string))
			tl.nextDue, tl.nextAttempts = append(tl.nextDue, next[4].(time.Time)), append(tl.nextAttempts, next[5].(int))
			tl.nextCreated, tl.nextRuns = append(tl.nextCreated, next[6].(time.Time)), append(tl.nextRuns, next[7].(int))
			tl.nextStarted, tl.nextRetries = append(tl.nextStarted, next[8].(*time.Time)), append(tl.nextRetries, next[9].(string))
			blockAction, isNew = id, true
			if !t.Next.DueAt.After(now) {
				tl.notify = true
			}
		}
	}
	if bl := t.Block; bl != nil {
		tl.blockActions, tl.blockContacts = append(tl.blockActions, blockAction), append(tl.blockContacts, bl.ContactID)
		tl.blockAts, tl.blockCodes = append(tl.blockAts, utc(bl.At)), append(tl.blockCodes, bl.Code)
		tl.blockReasons, tl.blockNext = append(tl.blockReasons, bl.Reason), append(tl.blockNext, nullTime(bl.NextEligible))
		tl.blockNew = append(tl.blockNew, isNew)
	}
	return nil
}

// write sends the tails and COMMIT in one pipelined batch.
func (tl *tails) write(ctx context.Context, conn *pgx.Conn, q *scheduleQueries) error {
	b := &pgx.Batch{}
	if len(tl.finishIDs) > 0 {
		b.Queue(q.FinishEnrollments, tl.finishIDs, tl.finishStatus, tl.finishAts, tl.finishReasons)
	}
	if len(tl.nextIDs) > 0 {
		b.Queue(q.InsertPlanned, tl.nextIDs, tl.nextEnrollments, tl.nextSteps, tl.nextTypes, tl.nextDue, tl.nextAttempts,
			tl.nextCreated, tl.nextRuns, tl.nextStarted, tl.nextRetries)
	}
	if len(tl.blockActions) > 0 {
		b.Queue(q.InsertBlocks, tl.blockActions, tl.blockContacts, tl.blockAts, tl.blockCodes, tl.blockReasons, tl.blockNext, tl.blockNew)
	}
	if tl.notify {
		b.Queue(q.NotifyDue)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	defer br.Close()
	for range b.Len() {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("apply tails: %w", err)
		}
	}
	return br.Close()
}
