#pragma once

// The DER of device certificates (docs/certificate-profile.md), assembled from parts that are
// fixed per issuing CA and computed once (issuer name, constant extensions, the authority key
// identifier) and the few that change per device. Building a certificate through OpenSSL's
// X509 object cost about as much as the HSM's signature; this costs a few microseconds.
// tests/hsm/test_device_cert_builder.cpp proves the bytes equal what OpenSSL's X509 API makes.

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <openssl/x509.h>

namespace keyline::hsm {

struct DeviceCertificateFields {
    QByteArray serial;      // 16 bytes, top bit clear: a positive INTEGER with no padding
    QByteArray notBefore;   // DER UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5)
    QByteArray notAfter;    // as notBefore
    QByteArray customerId;  // UTF-8, subject O
    QByteArray environment; // UTF-8, subject OU
    QByteArray deviceId;    // UTF-8, subject CN
    QByteArray point;       // 65-byte uncompressed P-256 point, checked by the caller
};

class DeviceCertificateBuilder {
public:
    // Takes the issuer name and authority key identifier from the CA certificate, which must
    // have a subject key identifier.
    static Result<DeviceCertificateBuilder> forIssuer(X509* ca);

    // The TBSCertificate: what the HSM signs the SHA-256 of.
    QByteArray toBeSigned(const DeviceCertificateFields& fields) const;

    // Certificate ::= SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING signature }.
    static QByteArray certificate(QByteArrayView toBeSigned, QByteArrayView derSignature);

private:
    DeviceCertificateBuilder() = default;
    QByteArray m_issuerName;
    QByteArray m_fixedExtensions; // basicConstraints, keyUsage, extendedKeyUsage
    QByteArray m_authorityKeyId;  // the whole extension
};

// An ASN1_TIME as DER, with the tag OpenSSL chose (UTCTime until 2049, then GeneralizedTime).
QByteArray timeDer(const ASN1_TIME* time);

} // namespace keyline::hsm
