package redisstore

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeySize is the size of an encryption key, in bytes (AES-256).
const KeySize = 32

// formatVersion is the first byte of every value this package writes.
const formatVersion = 1

// Value layout: version (1) | key id (4) | nonce (12) | AES-GCM ciphertext and tag.
const (
	keyIDSize = 4
	headerLen = 1 + keyIDSize
)

// Kinds of sealed data, bound into the additional data so a value of one
// kind never opens as another.
const (
	kindGrant        = 'g'
	kindLedger       = 'o'
	kindInvalidation = 'i'
	kindDedup        = 'd'
)

// keyring holds what each user-supplied key is turned into: an AES-GCM
// cipher, a key id (so a reader picks the right key without trying them
// all), an HMAC key naming the Redis keys, and an HMAC key for the keyed
// hash of dedup values (compared in Redis). The first key seals and names;
// all open, and all names are looked under.
type keyring struct {
	aeads  []cipher.AEAD
	ids    [][keyIDSize]byte
	names  [][]byte
	values [][]byte
}

// errDecrypt is what open returns for a value it cannot open.
var errDecrypt = errors.New("value does not decrypt under any key for this key (wrong key, moved or altered)")

func newKeyring(keys [][]byte) (*keyring, error) {
	if len(keys) == 0 {
		return nil, invalid("encryption_key", "is required: pass WithEncryptionKey with a 32-byte key")
	}
	kr := &keyring{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, invalid("encryption_key", fmt.Sprintf("key %d is %d bytes, want %d", i, len(k), KeySize))
		}
		enc, err := hkdf.Key(sha256.New, k, nil, "sdkbroker/redisstore v1 encryption", KeySize)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		names, err := hkdf.Key(sha256.New, k, nil, "sdkbroker/redisstore v1 key names", 32)
		if err != nil {
			return nil, err
		}
		idKey, err := hkdf.Key(sha256.New, k, nil, "sdkbroker/redisstore v1 key id", 32)
		if err != nil {
			return nil, err
		}
		values, err := hkdf.Key(sha256.New, k, nil, "sdkbroker/redisstore v1 dedup values", 32)
		if err != nil {
			return nil, err
		}
		var id [keyIDSize]byte
		copy(id[:], idKey)
		for j, prev := range kr.ids {
			if prev == id {
				return nil, invalid("encryption_key", fmt.Sprintf("key %d repeats key %d", i, j))
			}
		}
		kr.aeads = append(kr.aeads, aead)
		kr.ids = append(kr.ids, id)
		kr.names = append(kr.names, names)
		kr.values = append(kr.values, values)
	}
	return kr, nil
}

// tag is the keyed hash of a logical key under key i: 32 hex digits, the
// part of a Redis key that names the entry (and its Cluster hash tag).
func (kr *keyring) tag(i int, logical string) string {
	m := hmac.New(sha256.New, kr.names[i])
	m.Write([]byte(logical))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// additionalData binds a sealed value to its kind and logical key (vendor
// and user id, ledger ref, or dedup key): a value copied to another key
// does not open.
func additionalData(kind byte, logical string) []byte {
	ad := make([]byte, 0, 32+len(logical))
	ad = append(ad, "sdkbroker/redisstore v1"...)
	ad = append(ad, 0, kind, 0)
	return append(ad, logical...)
}

// seal encrypts plaintext under the first key.
func (kr *keyring) seal(kind byte, logical string, plaintext []byte) []byte {
	aead := kr.aeads[0]
	out := make([]byte, headerLen+aead.NonceSize(), headerLen+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = formatVersion
	copy(out[1:headerLen], kr.ids[0][:])
	nonce := out[headerLen:]
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	return aead.Seal(out, nonce, plaintext, additionalData(kind, logical))
}

// open decrypts a value sealed by seal under any key of the ring.
func (kr *keyring) open(kind byte, logical string, value []byte) ([]byte, error) {
	if len(value) < headerLen || value[0] != formatVersion {
		return nil, errDecrypt
	}
	for i, id := range kr.ids {
		if [keyIDSize]byte(value[1:headerLen]) != id {
			continue
		}
		aead := kr.aeads[i]
		rest := value[headerLen:]
		if len(rest) < aead.NonceSize()+aead.Overhead() {
			return nil, errDecrypt
		}
		pt, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], additionalData(kind, logical))
		if err != nil {
			return nil, errDecrypt
		}
		return pt, nil
	}
	return nil, errDecrypt
}

// randomToken returns n random bytes in hex.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
