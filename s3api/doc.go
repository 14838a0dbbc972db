// Package s3api is forkstore's HTTP front end: the S3 API (path-style and
// virtual-host style) that aws CLI, boto3 and minio-go use unmodified, the
// Tigris-compatible snapshot and fork headers, the JSON admin API under
// /_forkstore/v1/, and the health endpoints. It mounts the web console
// (package console, an http.Handler) under /_forkstore/console/ and gives
// it SignIn and Authorize, so that the console decides with the same
// authentication and authorization as S3 requests (console.go).
//
// It owns routing (router.go, a pure function tested with AWS request
// lines), SigV4 authentication (auth*.go, chunked.go), the XML documents
// (xml.go), and THE table mapping gateway and meta errors to S3 error
// codes (errors.go). Handlers are named after S3 operations; each returns
// a response or an error, and one place renders either.
//
// s3api calls the use cases of package gateway and reads meta's types and
// sentinels. It must not import raft, dragonboat or badger, and fiber.Ctx
// never leaves this package. Every request gets a context with a deadline
// (Fiber v2's UserContext is never cancelled), a request id, and one
// access log line.
package s3api
