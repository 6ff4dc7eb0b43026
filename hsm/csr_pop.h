#pragma once

// Proof-of-possession checks for device CSRs: ECDSA P-256 with SHA-256, on the cheap path.
// OpenSSL 3.0 spends most of a naive verification fetching algorithms and building an EC group
// for every key; this fetches SHA-256 once and keeps one P-256 key object per thread whose
// public point is replaced for each request, so only the point check and the ECDSA arithmetic
// remain per call.

#include "common/ossl_ptr.h"
#include "common/result.h"

#include <QByteArrayView>
#include <openssl/evp.h>

namespace keyline::hsm {

// A device's P-256 public key, ready to verify. Borrows the calling thread's key object and
// gives it back on destruction, so use it on the thread that made it.
class P256PublicKey {
public:
    // BadInput unless `point65` is an uncompressed point on P-256 (not infinity); Internal if
    // OpenSSL cannot make the key object.
    static Result<P256PublicKey> fromPoint(QByteArrayView point65);

    // True if `derSignature` (ECDSA-Sig-Value, strict DER) is this key's signature over
    // SHA-256(`message`).
    bool verifySha256(QByteArrayView message, QByteArrayView derSignature) const;

    P256PublicKey(P256PublicKey&&) noexcept = default;
    P256PublicKey& operator=(P256PublicKey&&) noexcept = default;
    ~P256PublicKey();

private:
    P256PublicKey() = default;
    OsslPtr<EVP_PKEY, EVP_PKEY_free> m_key;
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> m_ctx;
};

} // namespace keyline::hsm
