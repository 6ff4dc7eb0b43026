#pragma once

// Object-level PKCS#11 operations on a leased session: find, read attributes, generate keys,
// store certificates. Free functions so the HSM facade, the dev-token set-up and the ceremony
// share them without sharing state.

#include "hsm/session_pool.h"

#include <optional>

namespace keyline::hsm {

struct ObjectQuery {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    QString label; // empty: any
    QByteArray id; // empty: any
};

Result<std::vector<CK_OBJECT_HANDLE>> findObjects(SessionLease& s, const ObjectQuery& q);
// Exactly one match or none; two matches is an error (an ambiguous key name is never guessed).
Result<std::optional<CK_OBJECT_HANDLE>> findOne(SessionLease& s, const ObjectQuery& q);

// The raw value; a refused read (e.g. CKR_ATTRIBUTE_SENSITIVE) is an error carrying the CK_RV
// in Error::detail().
Result<QByteArray> getAttribute(SessionLease& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type);
Result<bool> getBool(SessionLease& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type);
Result<CK_ULONG> getUlong(SessionLease& s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type);

enum class EcUsage { Sign, Derive };

struct EcKeySpec {
    QString label;
    QByteArray id;
    EcUsage usage = EcUsage::Sign;
    bool token = true;        // false: a session object, gone when the session closes
    bool extractable = false; // the station never needs to move an EC private key
};
struct KeyPair {
    CK_OBJECT_HANDLE privateKey = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE publicKey = CK_INVALID_HANDLE;
};
// P-256, private half CKA_SENSITIVE=true and CKA_PRIVATE=true always.
Result<KeyPair> generateP256(SessionLease& s, const EcKeySpec& spec);

// AES-256 secret key, CKA_SENSITIVE=true. `extractable` only for keys that must leave wrapped
// (the image key). It may encrypt and decrypt (AES-GCM of OS images, the image key's job) and
// nothing else (no sign, verify, wrap, unwrap, derive).
Result<CK_OBJECT_HANDLE> generateAes256(SessionLease& s, const QString& label, const QByteArray& id,
                                        bool extractable);

// The attributes of that key, without CKA_VALUE_LEN: shared by generation (which adds the
// length) and the ceremony's import (where the unwrapped data gives the length), so a
// generated and an imported image key can never differ.
Template aes256KeyTemplate(const QString& label, const QByteArray& id, bool extractable);

// An X.509 certificate object with the key's CKA_ID, so pkcs11-helper finds the key through it.
Result<CK_OBJECT_HANDLE> storeCertificate(SessionLease& s, const QString& label,
                                          const QByteArray& id, const QByteArray& der);

// The 65-byte uncompressed point of an EC public key object.
Result<QByteArray> ecPublicPoint(SessionLease& s, CK_OBJECT_HANDLE publicKey);

// Length in bytes of an AES key: CKA_VALUE_LEN, or, where the module leaves that at 0 (SoftHSM2
// 2.6 for unwrapped keys) and the key is extractable, measured inside the HSM without any key
// bytes reaching the station. An error when neither works.
Result<CK_ULONG> secretKeyLength(SessionLease& s, CK_OBJECT_HANDLE key);

// Template of a 256-bit AES session key that can only wrap and never leaves the HSM: the
// key-encryption keys of the image-key burn and of key-length measurement.
Template wrapOnlySessionKeyTemplate();

// KCV of an AES key, AES-ECB(key, 0^16)[0..3): CKA_CHECK_VALUE when the module keeps one, else
// computed in the HSM with the key (SoftHSM2 2.6 keeps none for unwrapped keys; the image key
// may encrypt). The key itself is never read.
Result<QByteArray> keyCheckValue(SessionLease& s, CK_OBJECT_HANDLE key);

// Destroys a session object when it goes out of scope (ephemeral keys, the derived KEK), also
// on every error path.
class ObjectGuard {
public:
    ObjectGuard(SessionLease& s, CK_OBJECT_HANDLE h)
        : m_s(s)
        , m_h(h) {}
    ~ObjectGuard();
    ObjectGuard(const ObjectGuard&) = delete;
    ObjectGuard& operator=(const ObjectGuard&) = delete;
    CK_OBJECT_HANDLE get() const { return m_h; }

private:
    SessionLease& m_s;
    CK_OBJECT_HANDLE m_h;
};

} // namespace keyline::hsm
