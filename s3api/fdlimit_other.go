//go:build !unix

package s3api

// RaiseFDLimit does nothing where there is no RLIMIT_NOFILE.
func RaiseFDLimit() (uint64, error) { return 0, nil }

// FDLimit returns 0: unknown.
func FDLimit() uint64 { return 0 }
