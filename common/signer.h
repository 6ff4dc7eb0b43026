#pragma once

#include "common/result.h"

#include <QByteArray>

namespace keyline {

// A signing key whose private half lives somewhere the caller must not see (an HSM, a device).
// It is the seam between the parts that need signatures (keystores, certificates, audit exports)
// and the part that holds keys (hsm/), so that neither links the other.
//
// Algorithm: ECDSA on P-256 over a SHA-256 digest the caller computed, the only algorithm the
// station signs with. Implementations must be safe to call from several threads at once.
class Signer {
public:
    virtual ~Signer() = default;

    // `sha256Digest` is exactly 32 bytes; the answer is a DER-encoded ECDSA-Sig-Value.
    virtual Result<QByteArray> signDigest(const QByteArray& sha256Digest) const = 0;

    // The verifying key as a DER SubjectPublicKeyInfo, so callers can check signatures and
    // name the key (e.g. a keystore records the hash of it).
    virtual QByteArray publicKeyDer() const = 0;
};

} // namespace keyline
