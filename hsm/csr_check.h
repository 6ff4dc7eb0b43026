#pragma once

// The checks a device CSR passes before the issuing CA signs anything for it.

#include "common/result.h"

#include <QByteArray>
#include <QString>

namespace keyline::hsm {

// Why a CSR was refused; carried in Error::detail() so the engine and tests can tell them apart.
enum class CsrRejection {
    Malformed = 1,    // not a DER (or PEM) PKCS#10 request, or trailing bytes
    TooLarge = 2,     // over 4096 bytes, the protocol's limit
    NotEcKey = 3,     // RSA, Ed25519, …: the station issues for EC P-256 keys only
    WrongCurve = 4,   // EC, but not P-256
    WrongSubject = 5, // subject is not exactly CN=<device ID the station assigned>
    BadSignature = 6, // the request is not signed by its own key: no proof of possession
};
QString csrRejectionName(CsrRejection r);

// A CSR that passed every check. Only checkDeviceCsr() makes one, so the CA cannot be handed an
// unchecked request.
class CheckedCsr {
public:
    const QString& deviceId() const { return m_deviceId; }
    const QByteArray& publicKeySpki() const { return m_spki; } // DER SubjectPublicKeyInfo
    const QByteArray& publicPoint() const { return m_point; }  // 65-byte uncompressed P-256

private:
    friend Result<CheckedCsr> checkDeviceCsr(const QByteArray&, const QString&);
    CheckedCsr() = default;
    QString m_deviceId;
    QByteArray m_spki;
    QByteArray m_point;
};

// Checks size, DER structure, key (EC P-256), subject (exactly CN=expectedDeviceId) and the
// signature (proof of possession), in that order, cheapest first. Refusals are BadInput, the
// bad signature VerificationFailed; detail() is the CsrRejection. Accepts DER or PEM.
Result<CheckedCsr> checkDeviceCsr(const QByteArray& csr, const QString& expectedDeviceId);

// Device IDs, customer IDs: 1..64 of [A-Za-z0-9._-], so they are safe in a subject and a file
// name. InvalidArgument otherwise.
Result<void> checkIdentifier(const QString& what, const QString& value);

} // namespace keyline::hsm
