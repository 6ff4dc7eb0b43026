#pragma once

// What the station does with OpenSSL in the device tests: verify the device's proofs and play
// the HSM's part of the OTP key agreement. Written against OpenSSL directly, not against the
// simulator's own helpers, so that a shared mistake cannot hide.
#include "flashing/commands.h"

#include <QByteArray>
#include <QString>
#include <memory>
#include <openssl/evp.h>

namespace keyline::devicetest {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

QByteArray randomBytes(int size);
QByteArray sha256(const QByteArray& bytes);

// Empty when the DER certificate chains to the PEM root in `rootPath`, else why not.
QString chainError(const QByteArray& certificateDer, const QString& rootPath);
// The subject's serialNumber and commonName of a DER certificate.
QString certificateSerialNumber(const QByteArray& certificateDer);
QString certificateCommonName(const QByteArray& certificateDer);
Pkey certificatePublicKey(const QByteArray& certificateDer);

// ECDSA-SHA256 with a DER signature.
bool verifySignature(EVP_PKEY* key, const QByteArray& message, const QByteArray& signature);

struct CsrInfo {
    bool signatureValid = false;
    QString commonName;
    Pkey publicKey;
};
CsrInfo inspectCsr(const QByteArray& csrDer);

bool samePublicKey(EVP_PKEY* a, EVP_PKEY* b);

// The station's half of otp-burn for the device's ephemeral point: its own ephemeral key,
// ECDH to Z (X coordinate) and the image key wrapped under Z (RFC 5649).
protocol::OtpBurnRequest makeOtpBurn(const QByteArray& devicePoint, const QByteArray& imageKey);
// First 3 bytes of AES-256-ECB(key, 0^128).
QByteArray keyCheckValue(const QByteArray& key);

// A leaf certificate for `subjectKey`, CN=<commonName>, from a throwaway test CA.
QByteArray issueCertificate(EVP_PKEY* subjectKey, const QString& commonName);

} // namespace keyline::devicetest
