package s3api

import (
	"errors"
	"strconv"
	"strings"

	"github.com/forkstore/forkstore/gateway"
	"github.com/forkstore/forkstore/meta"
)

// objectAttributeNames are the values x-amz-object-attributes may list.
var objectAttributeNames = map[string]bool{
	"ETag": true, "Checksum": true, "ObjectParts": true, "StorageClass": true, "ObjectSize": true,
}

// getObjectAttributes is GetObjectAttributes: the attributes named in
// x-amz-object-attributes of a version (or of the object at
// X-Tigris-Snapshot-Version), parts paged by x-amz-max-parts and
// x-amz-part-number-marker.
func (s *Server) getObjectAttributes(r *request) (*response, error) {
	want := map[string]bool{}
	for _, v := range r.header.Values("X-Amz-Object-Attributes") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !objectAttributeNames[name] {
				return nil, invalidArg("Invalid attribute name specified.", "x-amz-object-attributes", name)
			}
			want[name] = true
		}
	}
	if len(want) == 0 {
		return nil, invalidRequest("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	}
	maxParts := maxListKeys
	if v := strings.TrimSpace(r.header.Get("X-Amz-Max-Parts")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, invalidArg("Provided max-parts not an integer or within integer range", "x-amz-max-parts", v)
		}
		maxParts = min(n, maxListKeys)
	}
	marker := 0
	if v := strings.TrimSpace(r.header.Get("X-Amz-Part-Number-Marker")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, invalidArg("Provided part-number-marker not an integer or within integer range", "x-amz-part-number-marker", v)
		}
		marker = n
	}
	vid, err := r.versionIDParam()
	if err != nil {
		return nil, err
	}
	at, err := s.readAt(r, r.route.Bucket)
	if err != nil {
		return nil, err
	}
	o, err := s.svc.HeadObject(r.ctx, gateway.GetObjectInput{Bucket: r.route.Bucket, Key: r.route.Key, VersionID: vid, At: at})
	if err != nil {
		if o != nil && o.DeleteMarker {
			setDeleteMarkerHeaders(r, o)
			if errors.Is(err, meta.ErrMethodNotAllowed) {
				r.set("Last-Modified", httpTime(o.LastModified))
			}
		}
		return nil, err
	}
	r.set("Last-Modified", httpTime(o.LastModified))
	setVersionHeader(r, o)
	out := GetObjectAttributesResponse{}
	if want["ETag"] {
		out.ETag = strings.Trim(o.ETag, `"`)
	}
	if want["Checksum"] && o.Checksum.Value != "" {
		out.Checksum = &ChecksumXML{checksumXML: newChecksumXML(o.Checksum.Algorithm, o.Checksum.Value), ChecksumType: o.Checksum.Type}
	}
	if want["ObjectParts"] && len(o.Parts) > 0 {
		out.ObjectParts = objectParts(o, marker, maxParts)
	}
	if want["StorageClass"] {
		out.StorageClass = storageClass
	}
	if want["ObjectSize"] {
		size := o.Size
		out.ObjectSize = &size
	}
	return &response{xml: out}, nil
}

// objectParts is the page of o's parts after marker (at most max).
func objectParts(o *meta.Object, marker, max int) *ObjectPartsXML {
	p := &ObjectPartsXML{PartNumberMarker: marker, MaxParts: max, PartsCount: len(o.Parts)}
	for _, part := range o.Parts {
		if part.Number <= marker {
			continue
		}
		if len(p.Parts) == max {
			p.IsTruncated = true
			break
		}
		x := ObjectPartXML{PartNumber: part.Number, Size: part.Size}
		if part.Checksum != "" {
			x.checksumXML = newChecksumXML(o.Checksum.Algorithm, part.Checksum)
		}
		p.Parts = append(p.Parts, x)
		p.NextPartNumberMarker = part.Number
	}
	return p
}
