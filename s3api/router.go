package s3api

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Operation names what a request asks for, after the S3 operation it
// implements ("PutObject", "ListObjectsV2", ...). The access log and the
// error renderer use it; the dispatcher maps it to a handler.
type Operation string

// The operations the router resolves. Unsupported S3 operations resolve to
// OpNotImplemented (the Route names the sub-resource), never to a plain
// bucket or object operation.
const (
	OpNotImplemented   Operation = "NotImplemented"
	OpMethodNotAllowed Operation = "MethodNotAllowed"

	// Service level.
	OpListBuckets   Operation = "ListBuckets"
	OpListSnapshots Operation = "ListSnapshots" // GET / with X-Tigris-Snapshot: bucket

	// Bucket level.
	OpCreateBucket         Operation = "CreateBucket"
	OpForkBucket           Operation = "ForkBucket"     // CreateBucket with X-Tigris-Fork-Source-Bucket
	OpCreateSnapshot       Operation = "CreateSnapshot" // CreateBucket with X-Tigris-Snapshot: true
	OpHeadBucket           Operation = "HeadBucket"
	OpDeleteBucket         Operation = "DeleteBucket"
	OpDeleteSnapshot       Operation = "DeleteSnapshot" // DeleteBucket with X-Tigris-Snapshot-Version
	OpListObjects          Operation = "ListObjects"
	OpListObjectsV2        Operation = "ListObjectsV2"
	OpListObjectVersions   Operation = "ListObjectVersions"
	OpListMultipartUploads Operation = "ListMultipartUploads"
	OpGetBucketLocation    Operation = "GetBucketLocation"
	OpGetBucketVersioning  Operation = "GetBucketVersioning"
	OpPutBucketVersioning  Operation = "PutBucketVersioning"
	OpGetBucketAcl         Operation = "GetBucketAcl"
	OpPutBucketAcl         Operation = "PutBucketAcl"
	// Object Ownership: whether ACLs are in force.
	OpGetBucketOwnershipControls    Operation = "GetBucketOwnershipControls"
	OpPutBucketOwnershipControls    Operation = "PutBucketOwnershipControls"
	OpDeleteBucketOwnershipControls Operation = "DeleteBucketOwnershipControls"
	// Request payment: the bucket owner always pays.
	OpGetBucketRequestPayment Operation = "GetBucketRequestPayment"
	OpPutBucketRequestPayment Operation = "PutBucketRequestPayment"
	OpDeleteObjects           Operation = "DeleteObjects"

	// Object level.
	OpPutObject           Operation = "PutObject"
	OpCopyObject          Operation = "CopyObject"
	OpGetObject           Operation = "GetObject"
	OpHeadObject          Operation = "HeadObject"
	OpDeleteObject        Operation = "DeleteObject"
	OpGetObjectAcl        Operation = "GetObjectAcl"
	OpPutObjectAcl        Operation = "PutObjectAcl"
	OpGetObjectTagging    Operation = "GetObjectTagging"
	OpPutObjectTagging    Operation = "PutObjectTagging"
	OpDeleteObjectTagging Operation = "DeleteObjectTagging"
	OpGetObjectAttributes Operation = "GetObjectAttributes"
	// OpGetBucketConfig reads a bucket configuration forkstore never has
	// (lifecycle, policy, CORS, ...); Route.Unsupported names it.
	OpGetBucketConfig         Operation = "GetBucketConfig"
	OpCreateMultipartUpload   Operation = "CreateMultipartUpload"
	OpUploadPart              Operation = "UploadPart"
	OpUploadPartCopy          Operation = "UploadPartCopy"
	OpCompleteMultipartUpload Operation = "CompleteMultipartUpload"
	OpAbortMultipartUpload    Operation = "AbortMultipartUpload"
	OpListParts               Operation = "ListParts"

	// Object Lock.
	OpGetObjectLockConfiguration Operation = "GetObjectLockConfiguration"
	OpPutObjectLockConfiguration Operation = "PutObjectLockConfiguration"
	OpGetObjectRetention         Operation = "GetObjectRetention"
	OpPutObjectRetention         Operation = "PutObjectRetention"
	OpGetObjectLegalHold         Operation = "GetObjectLegalHold"
	OpPutObjectLegalHold         Operation = "PutObjectLegalHold"
	// Bucket lifecycle.
	OpGetBucketLifecycle    Operation = "GetBucketLifecycleConfiguration"
	OpPutBucketLifecycle    Operation = "PutBucketLifecycleConfiguration"
	OpDeleteBucketLifecycle Operation = "DeleteBucketLifecycle"

	// forkstore's own endpoints, outside the S3 namespace.
	OpAdmin       Operation = "Admin"
	OpPeer        Operation = "Peer"
	OpHealthLive  Operation = "HealthLive"
	OpHealthReady Operation = "HealthReady"
	OpMetrics     Operation = "Metrics" // GET /metrics, unsigned or with a bearer token
	OpConsole     Operation = "Console" // the web console, /_forkstore/console/ (its own sessions)

	// CORS: the bucket's rules and the preflight they answer (OPTIONS on
	// a bucket or an object, never signed).
	OpGetBucketCors    Operation = "GetBucketCors"
	OpPutBucketCors    Operation = "PutBucketCors"
	OpDeleteBucketCors Operation = "DeleteBucketCors"
	// Default encryption of a bucket (sse.go).
	OpGetBucketEncryption    Operation = "GetBucketEncryption"
	OpPutBucketEncryption    Operation = "PutBucketEncryption"
	OpDeleteBucketEncryption Operation = "DeleteBucketEncryption"
	OpPreflight              Operation = "PreflightObject"
	// POST Object: a browser form upload, authenticated by the signed
	// policy document in the form (post.go).
	OpPostObject Operation = "PostObject"
)

// Route is a resolved request: the operation and what it addresses.
type Route struct {
	Op     Operation
	Bucket string
	Key    string
	// VirtualHost says the bucket came from the Host header.
	VirtualHost bool
	// Unsupported names the sub-resource or method behind OpNotImplemented
	// and OpMethodNotAllowed ("tagging", "acl", "POST", ...).
	Unsupported string
	// AdminPath is the path below /_forkstore/v1/ for OpAdmin, below
	// /_forkstore/peer/ for OpPeer.
	AdminPath string
}

// adminPrefix is where the admin API lives. Bucket names never start with
// "_", so it cannot shadow a bucket.
const adminPrefix = "/_forkstore/"

// Tigris-compatible snapshot and fork headers (matched case-insensitively).
const (
	hdrForkSource         = "X-Tigris-Fork-Source-Bucket"
	hdrForkSourceSnapshot = "X-Tigris-Fork-Source-Bucket-Snapshot"
	hdrSnapshot           = "X-Tigris-Snapshot"
	hdrSnapshotVersion    = "X-Tigris-Snapshot-Version"
	hdrIsForkParent       = "X-Tigris-Is-Fork-Parent"
	hdrEnableSnapshot     = "X-Tigris-Enable-Snapshot"
	// forkstore's own: a fork's lease (CreateBucket that forks) and its
	// expiry (HeadBucket).
	hdrForkTTL = "X-Forkstore-Fork-Ttl"
	hdrExpires = "X-Forkstore-Expires"
	// HeadBucket of a read-only snapshot view (forkstore snapshot mount).
	hdrSnapshotView = "X-Forkstore-Snapshot-View"
)

// unsupportedBucket are S3 bucket sub-resources forkstore does not
// implement. A request naming one answers NotImplemented: falling through
// to the plain operation would, for example, turn PutBucketTagging into
// CreateBucket.
var unsupportedBucket = map[string]bool{
	"accelerate": true, "analytics": true,
	"intelligent-tiering": true, "inventory": true,
	"logging": true, "metrics": true, "notification": true,
	"policy": true, "policyStatus": true,
	"publicAccessBlock": true, "replication": true,
	"tagging": true, "website": true, "torrent": true, "session": true,
	"metadataTable": true, "metadataConfiguration": true,
	"metadataInventoryTable": true, "metadataJournalTable": true, "abac": true,
	"restore": true, "select": true, "retention": true, "legal-hold": true,
	"attributes": true, "renameObject": true,
}

// unsupportedObject are the object sub-resources forkstore does not
// implement (PutObjectTagging must never overwrite the object).
var unsupportedObject = map[string]bool{
	"tagging": true, "torrent": true,
	"restore": true, "select": true, "select-type": true,
	"renameObject": true, "policy": true, "cors": true, "lifecycle": true,
	"website": true, "versioning": true, "location": true, "encryption": true,
	"replication": true, "notification": true, "logging": true,
	"object-lock": true, "publicAccessBlock": true, "ownershipControls": true,
}

// Router resolves requests to operations. It is a pure function of its
// inputs and Domains.
type Router struct {
	// Domains are the base domains of virtual-host style requests: Host
	// "photos.s3.example.com" with domain "s3.example.com" addresses
	// bucket "photos".
	Domains []string
	// Metrics routes GET /metrics, unsigned or with a bearer token, to
	// OpMetrics; otherwise (and always when SigV4-signed) it addresses
	// the bucket "metrics".
	Metrics bool
}

// Route resolves a request. path is the URL-decoded path as sent (no
// dot-segment or slash cleaning: keys may contain "//" and ".."), host the
// Host header, query the decoded query parameters.
func (rt Router) Route(method, host, path string, query url.Values, header http.Header) Route {
	var r Route
	if b, ok := rt.virtualBucket(host); ok {
		r.Bucket, r.VirtualHost = b, true
		r.Key = strings.TrimPrefix(path, "/")
	} else {
		if rest, ok := strings.CutPrefix(path, adminPrefix+"v1"); ok && (rest == "" || rest[0] == '/') {
			return Route{Op: OpAdmin, AdminPath: strings.TrimPrefix(rest, "/")}
		}
		if rt.Metrics && isMetricsRequest(method, path, header, signed(query, header)) {
			return Route{Op: OpMetrics}
		}
		if rest, ok := strings.CutPrefix(path, consolePrefix); ok && (rest == "" || rest[0] == '/') {
			return Route{Op: OpConsole, AdminPath: strings.TrimPrefix(rest, "/")}
		}
		if rest, ok := strings.CutPrefix(path, adminPrefix+"peer/"); ok {
			return Route{Op: OpPeer, AdminPath: rest}
		}
		if (method == http.MethodGet || method == http.MethodHead) && !signed(query, header) {
			switch path {
			case "/health/live":
				return Route{Op: OpHealthLive}
			case "/health/ready":
				return Route{Op: OpHealthReady}
			}
		}
		p := strings.TrimPrefix(path, "/")
		r.Bucket, r.Key, _ = strings.Cut(p, "/")
	}
	switch {
	case method == http.MethodOptions && r.Bucket != "":
		r.Op = OpPreflight
	case r.Bucket == "":
		r.Op, r.Unsupported = serviceOp(method, header)
	case r.Key == "":
		r.Op, r.Unsupported = bucketOp(method, query, header)
	default:
		r.Op, r.Unsupported = objectOp(method, query, header)
	}
	return r
}

// virtualBucket extracts the bucket from a virtual-host style Host.
func (rt Router) virtualBucket(host string) (string, bool) {
	h := strings.ToLower(stripPort(host))
	for _, d := range rt.Domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if d == "" {
			continue
		}
		if b, ok := strings.CutSuffix(h, "."+d); ok && b != "" {
			return b, true
		}
	}
	return "", false
}

// stripPort removes a ":port" from a Host header value.
func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

// signed reports whether a request carries any form of authentication;
// unsigned GETs of /health/* are health checks, signed ones are S3.
func signed(query url.Values, header http.Header) bool {
	if header.Get("Authorization") != "" {
		return true
	}
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Credential", "Signature", "AWSAccessKeyId"} {
		if query.Has(k) {
			return true
		}
	}
	return false
}

// harmless reports query parameters that never select an operation:
// presigned-URL authentication, hoisted x-amz-* headers and the SDKs'
// x-id operation hint.
func harmless(k string) bool {
	switch k {
	case "x-id", "AWSAccessKeyId", "Signature", "Expires":
		return true
	}
	// botocore's SigV2 presigned URLs carry the signed Content-Type and
	// Content-MD5 as query parameters.
	if strings.EqualFold(k, "content-type") || strings.EqualFold(k, "content-md5") {
		return true
	}
	return len(k) > 6 && strings.EqualFold(k[:6], "x-amz-")
}

// firstUnknown returns the first query parameter of a write that is neither
// allowed nor harmless, in sorted order so the answer is stable.
func firstUnknown(query url.Values, allowed ...string) string {
	var bad string
	for k := range query {
		if harmless(k) || contains(allowed, k) {
			continue
		}
		if bad == "" || k < bad {
			bad = k
		}
	}
	return bad
}

// bucketSubresources are the query parameters that select a bucket
// operation other than a listing.
var bucketSubresources = map[string]bool{
	"acl": true, "location": true, "versioning": true, "versions": true,
	"uploads": true, "ownershipControls": true, "requestPayment": true,
	"delete": true, "cors": true, "object-lock": true, "lifecycle": true,
	"policy": true, "policyStatus": true, "publicAccessBlock": true, "tagging": true, "encryption": true,
}

// otherSubresource returns a query parameter, other than sub, that selects
// a bucket operation, in sorted order. A read of one configuration ignores
// any other parameter: clients add their own (minio-go, and so mc, sends
// ?lifecycle&withUpdatedAt=true), and a read changes nothing, so only a
// second sub-resource makes the request ambiguous. Writes stay strict
// (firstUnknown).
func otherSubresource(query url.Values, sub string) string {
	var found string
	for k := range query {
		if k != sub && (bucketSubresources[k] || unsupportedBucket[k]) && (found == "" || k < found) {
			found = k
		}
	}
	return found
}

// has reports whether the header is present, even empty.
func has(header http.Header, name string) bool { return len(header.Values(name)) > 0 }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// firstUnknownRead returns a sub-resource other than tagging and versionId
// on GetObjectTagging (e.g. ?tagging&acl), which must not be answered as
// if it were only a tagging read.
func firstUnknownRead(query url.Values) string {
	for k := range query {
		if k != "tagging" && k != "versionId" && (unsupportedObject[k] || k == "retention" || k == "legal-hold") {
			return k
		}
	}
	return ""
}

// firstOf returns the sorted-first query parameter found in set.
func firstOf(query url.Values, set map[string]bool) string {
	var found string
	for k := range query {
		if set[k] && (found == "" || k < found) {
			found = k
		}
	}
	return found
}

func serviceOp(method string, header http.Header) (Operation, string) {
	switch method {
	case http.MethodGet:
		if header.Get(hdrSnapshot) != "" {
			return OpListSnapshots, ""
		}
		return OpListBuckets, ""
	case http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete:
		return OpMethodNotAllowed, method
	}
	return OpNotImplemented, method
}

func bucketOp(method string, query url.Values, header http.Header) (Operation, string) {
	if op, sub, ok := bucketConfigOp(method, query); ok {
		return op, sub
	}
	if sub := firstOf(query, unsupportedBucket); sub != "" {
		// Reading a configuration that cannot be set answers what AWS
		// answers for a bucket without one (tools probe these).
		if method == http.MethodGet && unconfigured[sub] != nil && otherSubresource(query, sub) == "" {
			return OpGetBucketConfig, sub
		}
		return OpNotImplemented, sub
	}
	if query.Has("ownershipControls") {
		if u := firstUnknown(query, "ownershipControls"); u != "" && (method != http.MethodGet || otherSubresource(query, "ownershipControls") != "") {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetBucketOwnershipControls, ""
		case http.MethodPut:
			return OpPutBucketOwnershipControls, ""
		case http.MethodDelete:
			return OpDeleteBucketOwnershipControls, ""
		}
		return OpNotImplemented, "ownershipControls"
	}
	if query.Has("cors") {
		if u := firstUnknown(query, "cors"); u != "" && (method != http.MethodGet || otherSubresource(query, "cors") != "") {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetBucketCors, ""
		case http.MethodPut:
			return OpPutBucketCors, ""
		case http.MethodDelete:
			return OpDeleteBucketCors, ""
		}
		return OpNotImplemented, "cors"
	}
	if query.Has("encryption") {
		if u := firstUnknown(query, "encryption"); u != "" && (method != http.MethodGet || otherSubresource(query, "encryption") != "") {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetBucketEncryption, ""
		case http.MethodPut:
			return OpPutBucketEncryption, ""
		case http.MethodDelete:
			return OpDeleteBucketEncryption, ""
		}
		return OpNotImplemented, "encryption"
	}
	if query.Has("object-lock") {
		if u := firstUnknown(query, "object-lock"); u != "" && (method != http.MethodGet || otherSubresource(query, "object-lock") != "") {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetObjectLockConfiguration, ""
		case http.MethodPut:
			return OpPutObjectLockConfiguration, ""
		}
		return OpNotImplemented, "object-lock"
	}
	if query.Has("lifecycle") {
		if u := firstUnknown(query, "lifecycle"); u != "" && (method != http.MethodGet || otherSubresource(query, "lifecycle") != "") {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetBucketLifecycle, ""
		case http.MethodPut:
			return OpPutBucketLifecycle, ""
		case http.MethodDelete:
			return OpDeleteBucketLifecycle, ""
		}
		return OpNotImplemented, "lifecycle"
	}
	if query.Has("requestPayment") {
		if u := firstUnknown(query, "requestPayment"); u != "" && (method != http.MethodGet || otherSubresource(query, "requestPayment") != "") {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetBucketRequestPayment, ""
		case http.MethodPut:
			return OpPutBucketRequestPayment, ""
		}
		return OpNotImplemented, "requestPayment"
	}
	switch method {
	case http.MethodGet:
		switch {
		case query.Has("acl"):
			return OpGetBucketAcl, ""
		case query.Has("location"):
			return OpGetBucketLocation, ""
		case query.Has("versioning"):
			return OpGetBucketVersioning, ""
		case query.Has("versions"):
			return OpListObjectVersions, ""
		case query.Has("uploads"):
			return OpListMultipartUploads, ""
		case query.Get("list-type") == "2":
			return OpListObjectsV2, ""
		}
		return OpListObjects, ""
	case http.MethodHead:
		return OpHeadBucket, ""
	case http.MethodPut:
		switch {
		case query.Has("acl"):
			if u := firstUnknown(query, "acl"); u != "" {
				return OpNotImplemented, u
			}
			return OpPutBucketAcl, ""
		case query.Has("versioning"):
			if u := firstUnknown(query, "versioning"); u != "" {
				return OpNotImplemented, u
			}
			return OpPutBucketVersioning, ""
		}
		if u := firstUnknown(query); u != "" {
			return OpNotImplemented, u
		}
		switch {
		case has(header, hdrForkSource) || has(header, hdrForkSourceSnapshot):
			// Even empty: a fork without a source is refused, never an
			// ordinary bucket.
			return OpForkBucket, ""
		case header.Get(hdrSnapshot) != "":
			return OpCreateSnapshot, ""
		}
		return OpCreateBucket, ""
	case http.MethodDelete:
		if u := firstUnknown(query); u != "" {
			return OpNotImplemented, u
		}
		if header.Get(hdrSnapshotVersion) != "" {
			return OpDeleteSnapshot, ""
		}
		return OpDeleteBucket, ""
	case http.MethodPost:
		if query.Has("delete") {
			if u := firstUnknown(query, "delete"); u != "" {
				return OpNotImplemented, u
			}
			return OpDeleteObjects, ""
		}
		// POST Object: a browser form upload.
		if mt, _, _ := strings.Cut(header.Get("Content-Type"), ";"); strings.EqualFold(strings.TrimSpace(mt), "multipart/form-data") {
			if u := firstUnknown(query); u != "" {
				return OpNotImplemented, u
			}
			return OpPostObject, ""
		}
		return OpNotImplemented, "POST"
	}
	return OpNotImplemented, method
}

func objectOp(method string, query url.Values, header http.Header) (Operation, string) {
	// Object tags: read, replaced or removed per version.
	if query.Has("tagging") && firstOf(query, unsupportedObject) == "tagging" {
		if u := firstUnknownRead(query); u != "" {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return OpGetObjectTagging, ""
		case http.MethodPut:
			if u := firstUnknown(query, "tagging", "versionId"); u != "" {
				return OpNotImplemented, u
			}
			return OpPutObjectTagging, ""
		case http.MethodDelete:
			if u := firstUnknown(query, "tagging", "versionId"); u != "" {
				return OpNotImplemented, u
			}
			return OpDeleteObjectTagging, ""
		}
		return OpNotImplemented, "tagging"
	}
	if sub := firstOf(query, unsupportedObject); sub != "" {
		return OpNotImplemented, sub
	}
	// Object Lock: a version's retention and legal hold.
	for _, sub := range []struct {
		name     string
		get, put Operation
	}{{"retention", OpGetObjectRetention, OpPutObjectRetention}, {"legal-hold", OpGetObjectLegalHold, OpPutObjectLegalHold}} {
		if !query.Has(sub.name) {
			continue
		}
		if u := firstUnknown(query, sub.name, "versionId"); u != "" {
			return OpNotImplemented, u
		}
		switch method {
		case http.MethodGet:
			return sub.get, ""
		case http.MethodPut:
			return sub.put, ""
		}
		return OpNotImplemented, sub.name
	}
	if query.Has("attributes") {
		if method != http.MethodGet {
			return OpNotImplemented, "attributes"
		}
		if u := firstUnknown(query, "attributes", "versionId"); u != "" {
			return OpNotImplemented, u
		}
		return OpGetObjectAttributes, ""
	}
	switch method {
	case http.MethodGet:
		switch {
		case query.Has("acl"):
			return OpGetObjectAcl, ""
		case query.Has("uploadId"):
			return OpListParts, ""
		}
		return OpGetObject, ""
	case http.MethodHead:
		return OpHeadObject, ""
	case http.MethodPut:
		if query.Has("acl") {
			if u := firstUnknown(query, "acl", "versionId"); u != "" {
				return OpNotImplemented, u
			}
			return OpPutObjectAcl, ""
		}
		if query.Has("uploadId") || query.Has("partNumber") {
			if u := firstUnknown(query, "uploadId", "partNumber"); u != "" {
				return OpNotImplemented, u
			}
			if header.Get("X-Amz-Copy-Source") != "" {
				return OpUploadPartCopy, ""
			}
			return OpUploadPart, ""
		}
		if u := firstUnknown(query); u != "" {
			return OpNotImplemented, u
		}
		if header.Get("X-Amz-Copy-Source") != "" {
			return OpCopyObject, ""
		}
		return OpPutObject, ""
	case http.MethodPost:
		switch {
		case query.Has("uploads"):
			if u := firstUnknown(query, "uploads"); u != "" {
				return OpNotImplemented, u
			}
			return OpCreateMultipartUpload, ""
		case query.Has("uploadId"):
			if u := firstUnknown(query, "uploadId"); u != "" {
				return OpNotImplemented, u
			}
			return OpCompleteMultipartUpload, ""
		}
		return OpNotImplemented, "POST"
	case http.MethodDelete:
		if query.Has("uploadId") {
			if u := firstUnknown(query, "uploadId"); u != "" {
				return OpNotImplemented, u
			}
			return OpAbortMultipartUpload, ""
		}
		if u := firstUnknown(query, "versionId"); u != "" {
			return OpNotImplemented, u
		}
		return OpDeleteObject, ""
	}
	return OpNotImplemented, method
}
