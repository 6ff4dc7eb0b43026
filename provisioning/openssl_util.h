#pragma once

#include "common/ossl_ptr.h"
#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <memory>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <vector>

// Owning handles and small helpers for the OpenSSL objects the engine checks devices with.
namespace keyline::ossl {

using Pkey = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using SharedPkey = std::shared_ptr<EVP_PKEY>;
using Certificate = OsslPtr<X509, X509_free>;
using CertificateStore = OsslPtr<X509_STORE, X509_STORE_free>;

// The most recent OpenSSL error as text, and clears the queue.
QString lastError();

Result<Certificate> certificateFromDer(const QByteArray& der);
Result<std::vector<Certificate>> certificatesFromPemFile(const QString& path);

// Verifies a DER ECDSA signature with SHA-256 over `message`.
Result<void> verifySha256Signature(EVP_PKEY* key, const QByteArray& message,
                                   const QByteArray& signature);

// True when the key is an EC key on NIST P-256.
bool isP256(EVP_PKEY* key);

} // namespace keyline::ossl
