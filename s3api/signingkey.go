package s3api

import "sync"

// signingKeys caches derived SigV4 signing keys by secret, date and
// region: deriving one is four HMAC-SHA256 rounds, which every signed
// request paid (about 1.5% of a 4 KiB PUT's server CPU), and a client
// signs with the same one all day. The secret is part of the cache key,
// so a changed secret never meets a key derived from the old one. The
// cache is dropped whole when it fills (a few thousand clients a day).
var signingKeys = signingKeyCache{max: 4096}

type signingKeyCache struct {
	mu  sync.Mutex
	m   map[string][]byte
	max int
}

// cachedSigningKey returns signingKey(secret, date, region), derived once
// per day and scope. Callers must not modify the result.
func cachedSigningKey(secret, date, region string) []byte {
	return signingKeys.get(secret, date, region)
}

func (c *signingKeyCache) get(secret, date, region string) []byte {
	id := secret + "\x00" + date + "\x00" + region
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = signingKey(secret, date, region)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string][]byte)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}
