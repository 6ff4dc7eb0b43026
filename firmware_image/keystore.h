#pragma once

// The customer keystore: the customer's public keys, customer ID and environment, with a serial
// for anti-rollback, signed by the vendor keystore signing key. Format: docs/keystore-format.md.
// Signing goes through the injected keyline::Signer, so this library does not know the HSM.

#include "common/result.h"
#include "common/signer.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <memory>
#include <openssl/types.h>
#include <vector>

namespace keyline::firmware {

enum class Environment : quint8 { Development = 1, Production = 2 };
enum class KeyPurpose : quint8 { ApplicationSigning = 1, UpdateAuthorisation = 2, BackendE2e = 3 };
enum class KeyAlgorithm : quint8 { EcdsaP256 = 1, EcdhP256 = 2 };

QString environmentName(Environment e); // "dev", "prod"
Result<Environment> parseEnvironment(const QString& text);
// The customer ID rule of keystores, packages and orders: 1-64 of A-Z a-z 0-9 . _ -
bool isValidCustomerId(const QString& id);
QString purposeName(KeyPurpose p); // "application-signing", ...
Result<KeyPurpose> parsePurpose(const QString& text);
QString algorithmName(KeyAlgorithm a); // "ecdsa-p256", "ecdh-p256"
// The algorithm a purpose requires: signing keys ECDSA, the back-end key ECDH.
KeyAlgorithm algorithmFor(KeyPurpose p);

struct KeystoreEntry {
    KeyPurpose purpose;
    KeyAlgorithm algorithm;
    QByteArray publicKey; // 65-byte uncompressed P-256 point
};

struct KeystoreContent {
    QString customerId;
    Environment environment = Environment::Development;
    quint64 serial = 1; // anti-rollback: a device accepts only a serial >= the one it holds
    std::vector<KeystoreEntry> entries; // one per purpose, all three
};

struct Keystore {
    KeystoreContent content;
    QByteArray signerKeyId; // SHA-256 of the signing key's SubjectPublicKeyInfo (DER)
    QByteArray signature;   // DER ECDSA-Sig-Value
    QByteArray signedBytes; // every byte before the signature length field
};

inline constexpr qsizetype kMaxKeystoreBytes = 64 * 1024;

// Encodes the unsigned part. InvalidArgument if the content breaks a rule (missing or repeated
// purpose, wrong algorithm for a purpose, a key that is not a P-256 point, bad customer ID).
Result<QByteArray> encodeKeystoreBody(const KeystoreContent& content,
                                      const QByteArray& signerKeyId);

// Checks, encodes (entries in purpose order: one content has one encoding) and signs.
Result<QByteArray> buildKeystore(const KeystoreContent& content, const Signer& signer);

// Structure only, strictly: every field in range, nothing missing, nothing after the signature.
// BadInput naming the field otherwise. Never trusts a length before checking it against what is
// left.
Result<Keystore> parseKeystore(const QByteArray& bytes);

// A P-256 public key parsed once, for a holder that verifies against it many times (a device
// and its vendor key): in OpenSSL 3, parsing a key costs more than checking a signature.
// Cheap to copy; a default-constructed one is null.
class PublicKey {
public:
    PublicKey() = default;
    // PEM or DER SubjectPublicKeyInfo, or a 65-byte point; BadInput unless a P-256 key.
    static Result<PublicKey> parse(const QByteArray& key);

    bool isNull() const { return !m_key; }
    EVP_PKEY* get() const { return m_key.get(); }
    const QByteArray& spkiDer() const { return m_spkiDer; }
    const QByteArray& keyId() const { return m_keyId; } // SHA-256 of the DER form

private:
    std::shared_ptr<EVP_PKEY> m_key;
    QByteArray m_spkiDer;
    QByteArray m_keyId;
};

// parseKeystore, then the signer key id and the signature against `vendorKeySpki` (DER
// SubjectPublicKeyInfo or PEM, e.g. <data dir>/export/keystore-signing.pub.pem).
// VerificationFailed if either does not match.
Result<Keystore> verifyKeystore(const QByteArray& bytes, const QByteArray& vendorKeySpki);
Result<Keystore> verifyKeystore(const QByteArray& bytes, const PublicKey& vendorKey);

// The environment rule: a development keystore holds only the common development keys; a
// production keystore holds none of them. Refused otherwise. `developmentKeys` are 65-byte
// points (or SPKIs) of the common development keys.
Result<void> checkEnvironmentKeys(const KeystoreContent& content,
                                  const QList<QByteArray>& developmentKeys);

// A P-256 public key (PEM or DER SubjectPublicKeyInfo, or a 65-byte point) as its 65-byte point.
Result<QByteArray> p256PointFromPublicKey(const QByteArray& key);

} // namespace keyline::firmware
