#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>
#include <memory>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <vector>

// Owning handles and small helpers for the OpenSSL objects the engine checks devices with.
namespace keyline::ossl {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct X509StoreFree {
    void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using SharedPkey = std::shared_ptr<EVP_PKEY>;
using Certificate = std::unique_ptr<X509, X509Free>;
using CertificateStore = std::unique_ptr<X509_STORE, X509StoreFree>;

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
