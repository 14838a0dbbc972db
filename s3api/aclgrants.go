package s3api

import (
	"sort"
	"strings"
)

// ACLs that grant users: a grant list naming another user's canonical id
// is stored, in the ACL string meta keeps, as "grants:" followed by its
// entries "PERMISSION|id|<canonical id>" or "PERMISSION|uri|<group>",
// sorted and joined by ";". A grant list equal to a canned ACL is stored
// as that name, as before. meta treats both alike: any ACL but "" is not
// private.

const grantsPrefix = "grants:"

// storedGrant is one entry of a stored grant list.
type storedGrant struct{ kind, value, perm string }

// encodeGrants stores a grant list.
func encodeGrants(gs []grant) string {
	seen := map[string]bool{}
	var entries []string
	for _, g := range gs {
		e := g.perm + "|" + g.kind + "|" + g.value
		if !seen[e] {
			seen[e] = true
			entries = append(entries, e)
		}
	}
	sort.Strings(entries)
	return grantsPrefix + strings.Join(entries, ";")
}

// storedGrants returns what a stored ACL grants: a canned ACL's group
// grants, or a stored grant list (the owner's FULL_CONTROL is not in it
// unless the list names the owner).
func storedGrants(acl string) []storedGrant {
	rest, ok := strings.CutPrefix(acl, grantsPrefix)
	if !ok {
		var out []storedGrant
		for _, g := range cannedGroupGrants[acl] {
			out = append(out, storedGrant{"uri", g.group, g.perm})
		}
		return out
	}
	var out []storedGrant
	for e := range strings.SplitSeq(rest, ";") {
		p := strings.SplitN(e, "|", 3)
		if len(p) == 3 {
			out = append(out, storedGrant{p[1], p[2], p[0]})
		}
	}
	return out
}

// grantsTo reports whether a stored ACL gives grantee (kind "uri" or
// "id") perm (FULL_CONTROL gives every permission).
func grantsTo(acl, kind, value, perm string) bool {
	if value == "" {
		return false
	}
	for _, g := range storedGrants(acl) {
		if g.kind == kind && g.value == value && (g.perm == perm || g.perm == permFullControl) {
			return true
		}
	}
	return false
}
