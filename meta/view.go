package meta

import "fmt"

// Snapshot views. A view is a bucket that shows one snapshot of another
// bucket and refuses every write: a fork of the snapshot (same parent
// link, same fork index entry, so it pins the snapshot's history exactly
// as a fork does, and a deleted snapshot or source keeps what the view
// needs) with a view record beside its bucket record. Tools that cannot
// send the X-Tigris-Snapshot-Version header read a snapshot through a
// view as through any bucket. A view is made by MountView and removed by
// UnmountView only (DeleteBucket of a view is refused like any write);
// it leaves nothing behind.

// MountView creates the view Name of Bucket at a snapshot: SnapshotName,
// or else Version (a snapshot version or, with a history window, any
// version inside it).
type MountView struct {
	Header
	Name         string
	Region       string
	Bucket       string
	Version      uint64
	SnapshotName string
	MaxForkDepth int // 0 means the default
}

// UnmountView removes the view Name (ErrNotAView for any other bucket).
type UnmountView struct {
	Header
	Name string
}

// isView reports whether a bucket id is a snapshot view.
func (r *Reader) isView(id uint64) (bool, error) {
	return exists(r.txn, keyView(id))
}

// writableBucket is liveBucket for the commands that change a bucket or
// its objects: a snapshot view is ErrReadOnlyView.
func (a *applier) writableBucket(name string) (*Bucket, error) {
	b, err := a.r.liveBucket(name)
	if err != nil {
		return nil, err
	}
	view, err := a.r.isView(b.ID)
	if err != nil {
		return nil, err
	}
	if view {
		return nil, fmt.Errorf("%w: %q", ErrReadOnlyView, name)
	}
	return b, nil
}

func (a *applier) mountView(c *MountView) (*Result, error) {
	res, err := a.createBucket(&CreateBucket{
		Name: c.Name, Region: c.Region, ForkSource: c.Bucket, ForkVersion: c.Version,
		ForkSnapshotName: c.SnapshotName, MaxForkDepth: c.MaxForkDepth,
	})
	if err != nil {
		return nil, err
	}
	if err := a.set(keyView(res.Bucket.ID), []byte{fmtV1}); err != nil {
		return nil, err
	}
	return res, nil
}

func (a *applier) unmountView(c *UnmountView) (*Result, error) {
	b, err := a.r.liveBucket(c.Name)
	if err != nil {
		return nil, err
	}
	view, err := a.r.isView(b.ID)
	if err != nil {
		return nil, err
	}
	if !view {
		return nil, fmt.Errorf("%w: %q", ErrNotAView, c.Name)
	}
	if err := a.del(keyView(b.ID)); err != nil {
		return nil, err
	}
	return nil, a.retireBucket(b)
}
