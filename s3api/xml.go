package s3api

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/forkstore/forkstore/meta"
)

// s3NS is the namespace of every S3 response document except Error.
const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxXMLBody caps the request documents (CreateBucketConfiguration, Delete,
// CompleteMultipartUpload, VersioningConfiguration). A Delete of 1000 long
// keys and a CompleteMultipartUpload of 10000 parts with checksums fit.
const maxXMLBody = 2 << 20

// maxDeleteObjects is the most keys one DeleteObjects may name.
const maxDeleteObjects = 1000

// iso8601 is the timestamp format of S3 XML bodies (milliseconds, UTC).
const iso8601 = "2006-01-02T15:04:05.000Z"

// xmlTime formats Unix nanoseconds for an S3 XML body.
func xmlTime(ns int64) string { return time.Unix(0, ns).UTC().Format(iso8601) }

// httpTime formats Unix nanoseconds for Last-Modified and similar headers
// (RFC 1123, GMT, second precision).
func httpTime(ns int64) string { return time.Unix(0, ns).UTC().Format(http1123) }

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// marshalXML renders v as an S3 response document.
func marshalXML(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	if bytes.Contains(b.Bytes(), replacementUTF8) {
		// A character XML cannot carry, or a genuine U+FFFD (xml_refs.go).
		return marshalXMLRefs(v)
	}
	return b.Bytes(), nil
}

// decodeXML reads a request document of at most maxXMLBody bytes into v.
// Anything unreadable as v, empty or too large is MalformedXML.
func decodeXML(body io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(body, maxXMLBody+1))
	if err != nil {
		return err
	}
	return unmarshalXML(data, v)
}

func unmarshalXML(data []byte, v any) error {
	if len(data) > maxXMLBody || len(bytes.TrimSpace(data)) == 0 {
		return ErrMalformedXML
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(v); err != nil {
		return ErrMalformedXML
	}
	return nil
}

// Owner is the single owner of every bucket and object.
type Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// checksumXML holds the checksum elements of object-describing results.
type checksumXML struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

// newChecksumXML fills the element of alg with value.
func newChecksumXML(alg, value string) checksumXML {
	var c checksumXML
	switch strings.ToUpper(alg) {
	case "CRC32":
		c.ChecksumCRC32 = value
	case "CRC32C":
		c.ChecksumCRC32C = value
	case "CRC64NVME":
		c.ChecksumCRC64NVME = value
	case "SHA1":
		c.ChecksumSHA1 = value
	case "SHA256":
		c.ChecksumSHA256 = value
	}
	return c
}

// get returns the value given for alg.
func (c checksumXML) get(alg string) string {
	switch strings.ToUpper(alg) {
	case "CRC32":
		return c.ChecksumCRC32
	case "CRC32C":
		return c.ChecksumCRC32C
	case "CRC64NVME":
		return c.ChecksumCRC64NVME
	case "SHA1":
		return c.ChecksumSHA1
	case "SHA256":
		return c.ChecksumSHA256
	}
	return ""
}

// ---- Service and bucket documents ----

// ListAllMyBucketsResult is the ListBuckets response.
type ListAllMyBucketsResult struct {
	XMLName           xml.Name    `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner             Owner       `xml:"Owner"`
	Buckets           []BucketXML `xml:"Buckets>Bucket"`
	ContinuationToken string      `xml:"ContinuationToken,omitempty"`
	Prefix            string      `xml:"Prefix,omitempty"`
}

// BucketXML is one bucket of ListAllMyBucketsResult.
type BucketXML struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

// LocationConstraint is the GetBucketLocation response (empty for
// us-east-1).
type LocationConstraint struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Location string   `xml:",chardata"`
}

// VersioningConfiguration is the GetBucketVersioning response and the
// PutBucketVersioning request.
type VersioningConfiguration struct {
	XMLName   xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

// versioningRequest decodes a VersioningConfiguration in any namespace.
type versioningRequest struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	Status    string   `xml:"Status"`
	MfaDelete string   `xml:"MfaDelete"`
}

// createBucketConfiguration is the optional CreateBucket request body.
type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

// RequestPaymentConfiguration is the GetBucketRequestPayment response
// and the PutBucketRequestPayment request.
type RequestPaymentConfiguration struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ RequestPaymentConfiguration"`
	Payer   string   `xml:"Payer"`
}

// requestPaymentRequest decodes a RequestPaymentConfiguration in any
// namespace.
type requestPaymentRequest struct {
	XMLName xml.Name `xml:"RequestPaymentConfiguration"`
	Payer   string   `xml:"Payer"`
}

// Tagging is the GetObjectTagging response.
type Tagging struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
	TagSet  []Tag    `xml:"TagSet>Tag"`
}

// Tag is one object tag.
type Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// AccessControlPolicy is the GetBucketAcl/GetObjectAcl response.
type AccessControlPolicy struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ AccessControlPolicy"`
	Owner   Owner    `xml:"Owner"`
	Grants  []Grant  `xml:"AccessControlList>Grant"`
}

// Grant is one entry of an access control list.
type Grant struct {
	Grantee    Grantee `xml:"Grantee"`
	Permission string  `xml:"Permission"`
}

// Grantee is a canonical user (ID) or a group (URI).
type Grantee struct {
	XMLNSXSI    string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

// GetObjectAttributesResponse is the GetObjectAttributes response; only
// the attributes asked for are present.
type GetObjectAttributesResponse struct {
	XMLName      xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ GetObjectAttributesResponse"`
	ETag         string          `xml:"ETag,omitempty"`
	Checksum     *ChecksumXML    `xml:"Checksum,omitempty"`
	ObjectParts  *ObjectPartsXML `xml:"ObjectParts,omitempty"`
	StorageClass string          `xml:"StorageClass,omitempty"`
	ObjectSize   *int64          `xml:"ObjectSize,omitempty"`
}

// ChecksumXML is an object's checksum with its type.
type ChecksumXML struct {
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// ObjectPartsXML is a page of a multipart object's parts.
type ObjectPartsXML struct {
	PartNumberMarker     int             `xml:"PartNumberMarker"`
	NextPartNumberMarker int             `xml:"NextPartNumberMarker"`
	MaxParts             int             `xml:"MaxParts"`
	IsTruncated          bool            `xml:"IsTruncated"`
	Parts                []ObjectPartXML `xml:"Part"`
	PartsCount           int             `xml:"PartsCount"`
}

// ObjectPartXML is one part of ObjectPartsXML.
type ObjectPartXML struct {
	checksumXML
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

// ---- Listings ----

// ObjectXML is one Contents entry of ListObjects (v1 and v2).
type ObjectXML struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *Owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

// CommonPrefix is one rolled-up prefix of a delimited listing.
type CommonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// ListBucketResult is the ListObjects (v1) response.
type ListBucketResult struct {
	XMLName        xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	Contents       []ObjectXML    `xml:"Contents"`
	CommonPrefixes []CommonPrefix `xml:"CommonPrefixes"`
}

// ListBucketResultV2 is the ListObjectsV2 response.
type ListBucketResultV2 struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	Contents              []ObjectXML    `xml:"Contents"`
	CommonPrefixes        []CommonPrefix `xml:"CommonPrefixes"`
}

// ListVersionsResult is the ListObjectVersions response. Entries holds
// *VersionXML and *DeleteMarkerXML in listing order.
type ListVersionsResult struct {
	XMLName             xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
	Name                string   `xml:"Name"`
	Prefix              string   `xml:"Prefix"`
	KeyMarker           string   `xml:"KeyMarker"`
	VersionIDMarker     string   `xml:"VersionIdMarker"`
	NextKeyMarker       string   `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string   `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int      `xml:"MaxKeys"`
	Delimiter           string   `xml:"Delimiter,omitempty"`
	IsTruncated         bool     `xml:"IsTruncated"`
	EncodingType        string   `xml:"EncodingType,omitempty"`
	Entries             []any
	CommonPrefixes      []CommonPrefix `xml:"CommonPrefixes"`
}

// VersionXML is a Version entry of ListVersionsResult.
type VersionXML struct {
	XMLName           xml.Name `xml:"Version"`
	Key               string   `xml:"Key"`
	VersionID         string   `xml:"VersionId"`
	IsLatest          bool     `xml:"IsLatest"`
	LastModified      string   `xml:"LastModified"`
	ETag              string   `xml:"ETag"`
	ChecksumAlgorithm string   `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
	Size              int64    `xml:"Size"`
	StorageClass      string   `xml:"StorageClass"`
	Owner             Owner    `xml:"Owner"`
}

// DeleteMarkerXML is a DeleteMarker entry of ListVersionsResult.
type DeleteMarkerXML struct {
	XMLName      xml.Name `xml:"DeleteMarker"`
	Key          string   `xml:"Key"`
	VersionID    string   `xml:"VersionId"`
	IsLatest     bool     `xml:"IsLatest"`
	LastModified string   `xml:"LastModified"`
	Owner        Owner    `xml:"Owner"`
}

// ---- Multipart ----

// InitiateMultipartUploadResult is the CreateMultipartUpload response.
type InitiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

// CompleteMultipartUploadResult is the CompleteMultipartUpload response.
type CompleteMultipartUploadResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
	checksumXML
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// completeMultipartUpload is the CompleteMultipartUpload request body.
type completeMultipartUpload struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []completePart `xml:"Part"`
}

type completePart struct {
	PartNumber string `xml:"PartNumber"`
	ETag       string `xml:"ETag"`
	checksumXML
}

// PartXML is one Part of ListPartsResult.
type PartXML struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	checksumXML
}

// ListPartsResult is the ListParts response.
type ListPartsResult struct {
	XMLName              xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []PartXML `xml:"Part"`
	Initiator            Owner     `xml:"Initiator"`
	Owner                Owner     `xml:"Owner"`
	StorageClass         string    `xml:"StorageClass"`
	ChecksumAlgorithm    string    `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType         string    `xml:"ChecksumType,omitempty"`
}

// UploadXML is one Upload of ListMultipartUploadsResult.
type UploadXML struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         Owner  `xml:"Initiator"`
	Owner             Owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

// ListMultipartUploadsResult is the ListMultipartUploads response.
type ListMultipartUploadsResult struct {
	XMLName            xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string         `xml:"Bucket"`
	KeyMarker          string         `xml:"KeyMarker"`
	UploadIDMarker     string         `xml:"UploadIdMarker"`
	NextKeyMarker      string         `xml:"NextKeyMarker"`
	NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
	Delimiter          string         `xml:"Delimiter,omitempty"`
	Prefix             string         `xml:"Prefix"`
	MaxUploads         int            `xml:"MaxUploads"`
	IsTruncated        bool           `xml:"IsTruncated"`
	EncodingType       string         `xml:"EncodingType,omitempty"`
	Uploads            []UploadXML    `xml:"Upload"`
	CommonPrefixes     []CommonPrefix `xml:"CommonPrefixes"`
}

// ---- Copy and delete ----

// CopyObjectResult is the CopyObject response.
type CopyObjectResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	ChecksumType string   `xml:"ChecksumType,omitempty"`
	checksumXML
}

// CopyPartResult is the UploadPartCopy response.
type CopyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
	checksumXML
}

// deleteRequest is the DeleteObjects request body.
type deleteRequest struct {
	XMLName xml.Name        `xml:"Delete"`
	Quiet   string          `xml:"Quiet"`
	Objects []deleteRequObj `xml:"Object"`
}

type deleteRequObj struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId"`
	// Conditions of a conditional delete of this object.
	ETag             string `xml:"ETag"`
	LastModifiedTime string `xml:"LastModifiedTime"`
	Size             string `xml:"Size"`
}

// condition is the entry's conditional delete.
func (o *deleteRequObj) condition() (meta.DeleteCondition, error) {
	c := meta.DeleteCondition{IfMatch: condETag(o.ETag)}
	if v := strings.TrimSpace(o.LastModifiedTime); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return c, ErrMalformedXML
		}
		c.ModifiedFrom, c.ModifiedTo = timeWindow(t)
	}
	if v := strings.TrimSpace(o.Size); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return c, ErrMalformedXML
		}
		c.Size, c.HasSize = n, true
	}
	return c, nil
}

// DeleteResult is the DeleteObjects response.
type DeleteResult struct {
	XMLName xml.Name         `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []DeletedXML     `xml:"Deleted"`
	Errors  []DeleteErrorXML `xml:"Error"`
}

// DeletedXML is one deleted key.
type DeletedXML struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

// DeleteErrorXML is one key that could not be deleted.
type DeleteErrorXML struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
}

// ---- Errors ----

// ErrorXML is the body of every S3 error response (no namespace, as AWS).
type ErrorXML struct {
	XMLName          xml.Name `xml:"Error"`
	Code             string   `xml:"Code"`
	Message          string   `xml:"Message"`
	BucketName       string   `xml:"BucketName,omitempty"`
	Key              string   `xml:"Key,omitempty"`
	VersionID        string   `xml:"VersionId,omitempty"`
	UploadID         string   `xml:"UploadId,omitempty"`
	ArgumentName     string   `xml:"ArgumentName,omitempty"`
	ArgumentValue    string   `xml:"ArgumentValue,omitempty"`
	Condition        string   `xml:"Condition,omitempty"`
	RangeRequested   string   `xml:"RangeRequested,omitempty"`
	ActualObjectSize string   `xml:"ActualObjectSize,omitempty"`
	Resource         string   `xml:"Resource,omitempty"`
	RequestID        string   `xml:"RequestId"`
	HostID           string   `xml:"HostId"`
}

// ---- Helpers shared by the listings ----

// versionID is the S3 VersionId of an object record.
func versionID(o *meta.Object) string {
	if o.Null {
		return "null"
	}
	return strconv.FormatUint(o.Version, 10)
}

// storageClass is the only class forkstore has.
const storageClass = "STANDARD"

// s3URLEncode encodes a listing field for encoding-type=url the way S3
// does: every byte other than letters, digits and "-_.*/" becomes %XX
// (UTF-8 bytes one by one; a space is %20, a '+' is %2B), so that both
// unquote and unquote_plus style decoders get the key back.
func s3URLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if s3Escape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case s3Escape(c):
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func s3Escape(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return false
	}
	switch c {
	case '-', '_', '.', '*', '/':
		return false
	}
	return true
}
