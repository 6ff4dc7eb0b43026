#pragma once

#include "common/der_writer.h"
#include "common/result.h"

#include <QByteArray>

namespace keyline::hsm {

// PKCS#11 answers raw r‖s for CKM_ECDSA; X.509, CMS and keystores want DER ECDSA-Sig-Value.
Result<QByteArray> ecdsaRawToDer(const QByteArray& raw);

// CKA_EC_POINT comes DER-wrapped (an OCTET STRING, as the standard says) from SoftHSM2 and raw
// from some other modules; both become the 65-byte uncompressed P-256 point.
Result<QByteArray> p256PointFromEcPoint(const QByteArray& ecPoint);

// The uncompressed point as a DER SubjectPublicKeyInfo (id-ecPublicKey, prime256v1).
using der::p256SpkiFromPoint;

// Checks that `point` is a 65-byte uncompressed point on P-256 (not at infinity): a device
// point that is not is refused before it reaches the HSM (invalid-curve attacks).
Result<void> checkP256Point(const QByteArray& point);

QByteArray sha256(const QByteArray& data);

} // namespace keyline::hsm
