#pragma once

// X.509 certificates signed inside the HSM. OpenSSL builds the to-be-signed part; the Signer
// (an HSM key) signs its SHA-256; the signature is spliced in. No private key ever reaches
// OpenSSL.

#include "common/ossl_ptr.h"
#include "common/signer.h"

#include <QDateTime>
#include <openssl/x509.h>

namespace keyline::hsm {

using X509Ptr = OsslPtr<X509, X509_free>;
using EvpPkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;

Result<EvpPkeyPtr> publicKeyFromSpki(const QByteArray& spki);
Result<X509Ptr> parseCertificate(const QByteArray& der);
QByteArray certificateDer(X509* cert);
QByteArray toPem(const QByteArray& der, const char* type); // "CERTIFICATE", "PUBLIC KEY", ...

// A random, positive serial of 127 bits (16 bytes, top bit clear, second bit set so the
// encoding is always 16 bytes): unguessable, as CA/B and RFC 5280 practice asks.
Result<void> setRandomSerial(X509* cert);

// Adds an extension from OpenSSL's configuration syntax ("critical,CA:FALSE"). `issuer` is
// needed for authorityKeyIdentifier.
Result<void> addExtension(X509* cert, X509* issuer, int nid, const char* value);

// Sets both signature algorithm fields to ecdsa-with-SHA256, signs the TBS encoding's SHA-256
// with `signer`, stores the signature and returns the certificate's DER. The caller has set
// everything else.
Result<QByteArray> signCertificate(X509* cert, const Signer& signer);

// A CA certificate for the development set and the ceremony's self-signed root: subject
// CN=`commonName`, O=Keyline; BasicConstraints critical CA:TRUE (pathlen given, -1 for none);
// KeyUsage critical keyCertSign, cRLSign; SKI, and AKI when `issuer` is set.
// `issuer` null: self-signed by `signer`, which must hold the key for `subjectSpki`.
Result<QByteArray> makeCaCertificate(const QString& commonName, const QByteArray& subjectSpki,
                                     X509* issuer, const Signer& signer, int validityDays,
                                     int pathLen);

// An end-entity certificate for a station key (the audit key): KeyUsage digitalSignature.
Result<QByteArray> makeSigningCertificate(const QString& commonName, const QByteArray& subjectSpki,
                                          X509* issuer, const Signer& signer, int validityDays);

} // namespace keyline::hsm
