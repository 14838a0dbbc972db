package s3api

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Names that XML 1.0 cannot carry. A key may hold any character, but XML
// 1.0 allows only tab, LF and CR below U+0020 and neither U+FFFE nor
// U+FFFF; encoding/xml writes U+FFFD for them, which lists the key as a
// different name. AWS writes such characters as character references
// (&#x1;), which keeps the name (clients that cannot parse them ask for
// encoding-type=url, as botocore and minio-go always do). So does
// marshalXML: when the plain encoding shows a U+FFFD, the document is
// encoded again with each such character replaced by a marker pair that
// encoding/xml passes through, and the pairs become references.

// refMarker starts a marker pair; the second rune of the pair encodes the
// character (refBase + index), or is refMarker itself for a literal
// U+10FFFF (a character XML carries as it is).
const (
	refMarker = '\U0010FFFF'
	refBase   = 0x10FF00
)

// replacementUTF8 is U+FFFD as encoding/xml writes it.
var replacementUTF8 = []byte("\uFFFD")

// nonXMLIndex returns the index of a character XML 1.0 cannot carry, or -1.
func nonXMLIndex(r rune) int {
	switch {
	case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
		return int(r)
	case r == 0xFFFE, r == 0xFFFF:
		return 0x20 + int(r-0xFFFE)
	}
	return -1
}

func nonXMLRune(i int) rune {
	if i < 0x20 {
		return rune(i)
	}
	return 0xFFFE + rune(i-0x20)
}

// markNonXML returns s with every character XML cannot carry (and every
// refMarker) replaced by a marker pair, and whether it changed.
func markNonXML(s string) (string, bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return r == refMarker || nonXMLIndex(r) >= 0 })
	if i < 0 {
		return s, false
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch idx := nonXMLIndex(r); {
		case r == refMarker:
			b.WriteRune(refMarker)
			b.WriteRune(refMarker)
		case idx >= 0:
			b.WriteRune(refMarker)
			b.WriteRune(refBase + rune(idx))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), true
}

// markValue applies markNonXML to every settable string reachable from v.
func markValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if s, ok := markNonXML(v.String()); ok && v.CanSet() {
			v.SetString(s)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			markValue(v.Field(i))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			markValue(v.Index(i))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			markValue(v.Elem())
		}
	}
}

// marshalXMLRefs encodes v with its non-XML characters as character
// references. It may modify strings that v points to.
func marshalXMLRefs(v any) ([]byte, error) {
	cp := reflect.New(reflect.TypeOf(v))
	cp.Elem().Set(reflect.ValueOf(v))
	markValue(cp.Elem())
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(cp.Interface()); err != nil {
		return nil, err
	}
	return unmarkXML(b.Bytes()), nil
}

// unmarkXML turns the marker pairs of an encoded document into character
// references.
func unmarkXML(doc []byte) []byte {
	var marker [utf8.UTFMax]byte
	n := utf8.EncodeRune(marker[:], refMarker)
	out := make([]byte, 0, len(doc)+64)
	for {
		i := bytes.Index(doc, marker[:n])
		if i < 0 {
			return append(out, doc...)
		}
		out = append(out, doc[:i]...)
		doc = doc[i+n:]
		r, size := utf8.DecodeRune(doc)
		doc = doc[size:]
		if r == refMarker {
			out = append(out, marker[:n]...)
			continue
		}
		out = append(out, "&#x"...)
		out = append(out, strings.ToUpper(strconv.FormatUint(uint64(nonXMLRune(int(r-refBase))), 16))...)
		out = append(out, ';')
	}
}
