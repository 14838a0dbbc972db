package s3api

import "strings"

// Policy variables and whole-bucket reads in bucket policies.
//
// Policy variables: in a policy of Version 2012-10-17, "${key}" in a
// Resource, a NotResource or a value of a string or ARN condition stands
// for the request's value of the condition key key (case-insensitive):
// ${aws:username}, ${aws:userid}, ${aws:SourceIp}, ${s3:prefix}... What a
// variable puts in is literal text, never a wildcard. "${key, 'text'}"
// puts in text when the request has no value for key ('' is a quote in
// text). ${*}, ${?} and ${$} are a literal "*", "?" and "$". A variable
// whose key has no single value in the request (an anonymous request has
// no aws:username), or that is malformed, makes the element in which it
// appears match nothing, as on AWS. Substitution is done once: what a
// variable puts in is not read for variables again. With Version
// 2008-10-17 (or none) "${...}" is literal text.
//
// Whole-bucket reads: a fork reads every object of its source, so the
// s3:GetObject it needs is on every key at once (policyRequest.allKeys).
// An Allow applies only when one of its resources covers every key of the
// bucket ("arn:aws:s3:::src/*", "arn:aws:s3:::*", "*") and none of its
// conditions depends on the object (s3:ExistingObjectTag/...); a Deny
// applies when one of its resources could name some key of the bucket
// ("arn:aws:s3:::src/secret/*" too), whatever its conditions on the
// object say.

// perObjectKey reports the condition keys whose value depends on the
// object read.
func perObjectKey(key string) bool {
	return strings.HasPrefix(strings.ToLower(key), "s3:existingobjecttag/")
}

// resourceMatches reports whether the statement's Resource (or
// NotResource) applies to req.
func (st *PolicyStatement) resourceMatches(req *policyRequest) bool {
	in := false
	for _, r := range st.Resources {
		pat, lit := r, []bool(nil)
		if st.vars && strings.Contains(r, "${") {
			var ok bool
			if pat, lit, ok = expandVars(r, req.context); !ok {
				continue
			}
		}
		var m bool
		switch {
		case !req.allKeys:
			m = matchPat(pat, lit, req.resource)
		case st.Allow != st.NotResource:
			// An Allow's Resource must cover every key; a Deny's
			// NotResource keeps it from applying only when it does.
			m = coversAll(pat, lit, req.resource)
		default:
			// A Deny's Resource applies when it names some key; an
			// Allow's NotResource takes it away then.
			m = overlapsAny(pat, lit, req.resource)
		}
		if m {
			in = true
			break
		}
	}
	return in != st.NotResource
}

// takesVars reports whether the condition's operator substitutes policy
// variables in its values (the string and ARN operators).
func (c *policyCondition) takesVars() bool {
	return strings.HasPrefix(c.op, "string") || strings.HasPrefix(c.op, "arn")
}

// compareVars is compare for a policy value with variables.
func (c *policyCondition) compareVars(req *policyRequest, want, got string) bool {
	s, lit, ok := expandVars(want, req.context)
	if !ok {
		return false
	}
	switch c.op {
	case "stringequalsignorecase", "stringnotequalsignorecase":
		return strings.EqualFold(s, got)
	case "stringlike", "stringnotlike", "arnlike", "arnnotlike":
		return matchPat(s, lit, got)
	}
	return s == got
}

// expandVars substitutes the policy variables of v from the request's
// condition keys. lit marks the bytes of the result that stand for
// themselves ("*" and "?" put in by a variable); ok is false when a
// variable does not resolve or is malformed.
func expandVars(v string, context func(string) ([]string, bool)) (string, []bool, bool) {
	var (
		out []byte
		lit []bool
	)
	put := func(s string, literal bool) {
		out = append(out, s...)
		for range len(s) {
			lit = append(lit, literal)
		}
	}
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			put(v, false)
			return string(out), lit, true
		}
		put(v[:i], false)
		val, n, ok := expandVar(v[i+2:], context)
		if !ok {
			return "", nil, false
		}
		put(val, true)
		v = v[i+2+n:]
	}
}

// expandVar reads one variable after its "${": its value and the bytes
// read (up to and including its "}").
func expandVar(v string, context func(string) ([]string, bool)) (string, int, bool) {
	end := strings.IndexAny(v, ",}")
	if end < 0 {
		return "", 0, false
	}
	name := strings.TrimSpace(v[:end])
	if name == "" || strings.ContainsAny(name, " \t") {
		return "", 0, false
	}
	n := end + 1
	var def *string
	if v[end] == ',' {
		// ${key, 'default'}: a quoted text, '' for a quote.
		rest := v[end+1:]
		trimmed := strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(trimmed, "'") {
			return "", 0, false
		}
		pos := len(v) - len(trimmed) + 1
		var text []byte
		closed := false
		for pos < len(v) {
			if v[pos] == '\'' {
				if pos+1 < len(v) && v[pos+1] == '\'' {
					text = append(text, '\'')
					pos += 2
					continue
				}
				pos++
				closed = true
				break
			}
			text = append(text, v[pos])
			pos++
		}
		for closed && pos < len(v) && v[pos] == ' ' {
			pos++
		}
		if !closed || pos >= len(v) || v[pos] != '}' {
			return "", 0, false
		}
		d := string(text)
		def, n = &d, pos+1
	}
	switch name {
	case "*", "?", "$":
		return name, n, true
	}
	if context != nil {
		if vals, ok := context(conditionKey(name)); ok && len(vals) == 1 {
			return vals[0], n, true
		}
	}
	if def != nil {
		return *def, n, true
	}
	return "", 0, false
}

// matchPat is wildcardMatch (case-sensitive) for a pattern whose bytes
// marked in lit stand for themselves.
func matchPat(pattern string, lit []bool, s string) bool {
	if lit == nil {
		return wildcardMatch(pattern, s, false)
	}
	st := patStates(pattern, lit, s)
	return st != nil && st[len(pattern)]
}

// coversAll reports whether pattern matches every string that starts
// with prefix and goes on (every key of a bucket after
// "arn:aws:s3:::bucket/"): after prefix, only "*" is left.
func coversAll(pattern string, lit []bool, prefix string) bool {
	st := patStates(pattern, lit, prefix)
	for i := range st {
		if st[i] && i < len(pattern) && onlyStars(pattern[i:], lit, i) {
			return true
		}
	}
	return false
}

// overlapsAny reports whether pattern matches some string that starts
// with prefix.
func overlapsAny(pattern string, lit []bool, prefix string) bool {
	return patStates(pattern, lit, prefix) != nil
}

func onlyStars(rest string, lit []bool, off int) bool {
	for j := 0; j < len(rest); j++ {
		if !isWild(rest, lit, j, off, '*') {
			return false
		}
	}
	return true
}

// isWild reports whether byte j of p (at offset off of the whole
// pattern, for lit) is the wildcard c.
func isWild(p string, lit []bool, j, off int, c byte) bool {
	return p[j] == c && (lit == nil || !lit[off+j])
}

// patStates runs pattern as an automaton over s: which positions of the
// pattern can follow a match of all of s (position len(pattern): the
// whole pattern matched); nil when none can.
func patStates(pattern string, lit []bool, s string) []bool {
	n := len(pattern)
	star := func(p int) bool { return isWild(pattern, lit, p, 0, '*') }
	closure := func(st []bool) {
		for p := 0; p < n; p++ {
			if st[p] && star(p) {
				st[p+1] = true
			}
		}
	}
	cur := make([]bool, n+1)
	cur[0] = true
	closure(cur)
	for i := 0; i < len(s); i++ {
		next := make([]bool, n+1)
		live := false
		for p := 0; p < n; p++ {
			if !cur[p] {
				continue
			}
			switch {
			case star(p):
				next[p], live = true, true
			case isWild(pattern, lit, p, 0, '?') || pattern[p] == s[i]:
				next[p+1], live = true, true
			}
		}
		if !live {
			return nil
		}
		closure(next)
		cur = next
	}
	return cur
}
