package gateway

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Secrets of scoped access keys are sealed before they are proposed, so
// that neither the Raft log, nor the metadata, nor a Raft snapshot holds
// them in the clear: AES-256-GCM under a key derived (HKDF-SHA256) from
// the root password, with the access key id as additional data (a sealed
// secret cannot be moved to another key).
//
// A sealed secret is: format byte (1) | 4-byte fingerprint of the sealing
// key | 12-byte nonce | ciphertext and tag. The fingerprint tells which
// root password sealed it. When the root password changes, the previous
// one (Config.PreviousRootPassword) still opens what it sealed, and the
// leader re-seals those secrets under the new one (ResealKeys); once that
// is done the previous password is no longer needed. A secret sealed
// under a password the node does not know cannot be opened: that key
// does not authenticate (it has to be created again).

const sealFormat byte = 1

// errUnsealable marks a sealed secret no known root password opens.
var errUnsealable = errors.New("gateway: access key secret sealed under an unknown root password")

type sealKey struct {
	fp   [4]byte
	aead cipher.AEAD
}

// sealer seals with the current root password and opens with the current
// or the previous one.
type sealer struct {
	current  sealKey
	previous *sealKey
}

func deriveSealKey(password string) (sealKey, error) {
	k, err := hkdf.Key(sha256.New, []byte(password), []byte("forkstore access key seal v1"), "forkstore access key secrets", 32)
	if err != nil {
		return sealKey{}, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return sealKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealKey{}, err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte("fingerprint"))
	var sk sealKey
	copy(sk.fp[:], m.Sum(nil))
	sk.aead = aead
	return sk, nil
}

func newSealer(password, previous string) (*sealer, error) {
	cur, err := deriveSealKey(password)
	if err != nil {
		return nil, err
	}
	s := &sealer{current: cur}
	if previous != "" && previous != password {
		prev, err := deriveSealKey(previous)
		if err != nil {
			return nil, err
		}
		s.previous = &prev
	}
	return s, nil
}

func aad(id string) []byte { return []byte("forkstore access key " + id) }

// seal seals the secret of access key id.
func (s *sealer) seal(id, secret string) []byte {
	out := make([]byte, 0, 1+4+12+len(secret)+16)
	out = append(out, sealFormat)
	out = append(out, s.current.fp[:]...)
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	out = append(out, nonce[:]...)
	return s.current.aead.Seal(out, nonce[:], []byte(secret), aad(id))
}

// open returns the secret of access key id and whether it was sealed
// under the previous root password (it should be re-sealed).
func (s *sealer) open(id string, sealed []byte) (secret string, stale bool, err error) {
	if len(sealed) < 1+4+12+16 || sealed[0] != sealFormat {
		return "", false, fmt.Errorf("%w: malformed", errUnsealable)
	}
	k := &s.current
	if [4]byte(sealed[1:5]) != k.fp {
		if s.previous == nil || [4]byte(sealed[1:5]) != s.previous.fp {
			return "", false, errUnsealable
		}
		k, stale = s.previous, true
	}
	plain, err := k.aead.Open(nil, sealed[5:17], sealed[17:], aad(id))
	if err != nil {
		return "", false, fmt.Errorf("%w: %v", errUnsealable, err)
	}
	return string(plain), stale, nil
}
