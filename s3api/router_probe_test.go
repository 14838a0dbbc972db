package s3api

import "testing"

// TestRouteConfigProbesOfClients checks the configuration reads with the
// query parameters real clients send: minio-go (and so mc) adds
// withUpdatedAt to GetBucketLifecycle, the SDKs add x-id. An extra
// parameter that selects nothing must not turn a read into 501; a second
// sub-resource still does.
func TestRouteConfigProbesOfClients(t *testing.T) {
	rt := Router{}
	tests := []struct {
		line  string
		op    Operation
		unsup string
	}{
		// minio-go v7 GetBucketLifecycle (mc ilm rule ls).
		{"GET /b?lifecycle=&withUpdatedAt=true", OpGetBucketLifecycle, ""},
		// minio-go's other configuration reads.
		{"GET /b?policy=", OpGetBucketPolicy, ""},
		{"GET /b?cors=", OpGetBucketCors, ""},
		{"GET /b?cors=&x-id=GetBucketCors", OpGetBucketCors, ""},
		{"GET /b?encryption=", OpGetBucketEncryption, ""},
		{"GET /b?object-lock=", OpGetObjectLockConfiguration, ""},
		{"GET /b?object-lock&x-id=GetObjectLockConfiguration", OpGetObjectLockConfiguration, ""},
		{"GET /b?object-lock&cors", OpNotImplemented, "object-lock"},
		{"GET /b?replication=", OpGetBucketConfig, "replication"},
		{"GET /b?tagging=", OpGetBucketTagging, ""},
		{"GET /b?versioning=", OpGetBucketVersioning, ""},
		{"GET /b?location=", OpGetBucketLocation, ""},
		// boto3 / aws CLI v2.
		{"GET /b?lifecycle&x-id=GetBucketLifecycleConfiguration", OpGetBucketLifecycle, ""},
		{"GET /b?ownershipControls&x-id=GetBucketOwnershipControls", OpGetBucketOwnershipControls, ""},
		{"GET /b?requestPayment&x-id=GetBucketRequestPayment", OpGetBucketRequestPayment, ""},
		// A future or vendor parameter on a read that selects nothing.
		{"GET /b?publicAccessBlock&someVendorFlag=1", OpGetPublicAccessBlock, ""},
		{"GET /b?policy&tagging", OpNotImplemented, "policy"},
		{"PUT /b?policy&someVendorFlag=1", OpNotImplemented, "policy"},
		{"GET /b?ownershipControls&someVendorFlag=1", OpGetBucketOwnershipControls, ""},
		{"GET /b?requestPayment&someVendorFlag=1", OpGetBucketRequestPayment, ""},
		// Two sub-resources are not a plain read of one.
		{"GET /b?lifecycle&acl", OpNotImplemented, "acl"},
		{"GET /b?lifecycle&policy", OpNotImplemented, "policy"},
		{"GET /b?ownershipControls&versioning", OpNotImplemented, "versioning"},
		// Writes stay strict: an unknown parameter may change what they do.
		{"PUT /b?lifecycle&withUpdatedAt=true", OpNotImplemented, "withUpdatedAt"},
		{"PUT /b?ownershipControls&someVendorFlag=1", OpNotImplemented, "someVendorFlag"},
	}
	for _, tc := range tests {
		got := routeLine(t, rt, tc.line, "127.0.0.1:9000", nil)
		if got.Op != tc.op || got.Unsupported != tc.unsup {
			t.Errorf("%s: op %s (%q), want %s (%q)", tc.line, got.Op, got.Unsupported, tc.op, tc.unsup)
		}
	}
}
