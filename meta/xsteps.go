package meta

import "fmt"

// The commands of forks and merges across shards that write per item (a
// fork, a change) are applied in steps (steps.go) when they may be large:
// a batch's PinRemoteForks (two records per fork), CreateRemoteForks (a
// fork's records, lease and key each) and RemoteMergeEntry (a change's
// record and chunk references each). Their checks come first, before the
// first write; each step then finishes whole items.

func (c *PinRemoteForks) step(a *applier, state []byte) ([]byte, *Result, bool, error) {
	next, base := 0, uint64(0)
	var src *Bucket
	if state == nil {
		var err error
		if src, base, err = a.pinPrepare(c); err != nil {
			return nil, nil, false, err
		}
	} else {
		d := decoder{b: state}
		next, base = d.int(), d.uvarint()
		if err := d.done(); err != nil {
			return nil, nil, false, err
		}
		var err error
		a.r.mergeBypass = true // as the first step found it
		if src, err = a.r.liveBucket(c.Source); err != nil {
			return nil, nil, false, fmt.Errorf("%w: fork source vanished mid-command", ErrCorrupt)
		}
	}
	for ; next < len(c.Forks); next++ {
		if a.spent() {
			e := encoder{}
			e.int(next)
			e.uvarint(base)
			return e.b, nil, false, nil
		}
		if err := a.pinWrite(c, src, base, c.Forks[next]); err != nil {
			return nil, nil, false, err
		}
	}
	res, err := a.pinResult(c, src, base)
	return nil, res, err == nil, err
}

func (c *CreateRemoteForks) step(a *applier, state []byte) ([]byte, *Result, bool, error) {
	next := 0
	if state == nil {
		if _, _, err := a.createRemotePrepare(c); err != nil {
			return nil, nil, false, err
		}
	} else {
		d := decoder{b: state}
		next = d.int()
		if err := d.done(); err != nil {
			return nil, nil, false, err
		}
	}
	tb, enc, err := decodeTemplate(c.Template)
	if err != nil {
		return nil, nil, false, err
	}
	for ; next < len(c.Forks); next++ {
		if a.spent() {
			e := encoder{}
			e.int(next)
			return e.b, nil, false, nil
		}
		if _, err := a.createRemoteFork(c, next, tb, enc); err != nil {
			return nil, nil, false, err
		}
	}
	res, err := a.createRemoteResult(c)
	return nil, res, err == nil, err
}

func (c *RemoteMergeEntry) step(a *applier, state []byte) ([]byte, *Result, bool, error) {
	a.r.mergeBypass = true
	var (
		s    *RemoteMergeState
		next int
	)
	if state == nil {
		var res *Result
		var err error
		if s, res, err = a.remoteEntryPrepare(c); err != nil || res != nil {
			return nil, res, res != nil, err
		}
	} else {
		d := decoder{b: state}
		next = d.int()
		raw := d.bytes()
		if err := d.done(); err != nil {
			return nil, nil, false, err
		}
		var err error
		if s, err = DecodeRemoteMergeState(raw); err != nil {
			return nil, nil, false, err
		}
	}
	m, err := a.xmergeSource(s)
	if err != nil {
		return nil, nil, false, err
	}
	for ; m != nil && next < len(c.Changes); next++ {
		if a.spent() {
			e := encoder{}
			e.int(next)
			e.bytes(encodeXMergeState(s))
			return e.b, nil, false, nil
		}
		if err := a.remoteEntryChange(m, s, c.Changes[next]); err != nil {
			return nil, nil, false, err
		}
	}
	res, err := a.remoteEntryEnd(c, s, m)
	return nil, res, err == nil, err
}
