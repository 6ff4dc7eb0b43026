#pragma once

// Device-side stand-ins for the CA tests and the benchmark: key pairs and PKCS#10 requests made
// with OpenSSL, good and deliberately bad.

#include "common/ossl_ptr.h"

#include <QByteArray>
#include <QString>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace keyline::test {

using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;

inline PkeyPtr makeEcKey(const char* curve = "P-256") {
    return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

inline PkeyPtr makeRsaKey() {
    return PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048)));
}

// A CSR for `key` with subject CN=cn (and O=extraO when given), signed by `signWith` (the same
// key unless a different one is passed, which makes a request without proof of possession).
inline QByteArray makeCsr(EVP_PKEY* key, const QString& cn, EVP_PKEY* signWith = nullptr,
                          const char* extraO = nullptr) {
    OsslPtr<X509_REQ, X509_REQ_free> req(X509_REQ_new());
    X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    if (extraO)
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(extraO), -1, -1, 0);
    const QByteArray c = cn.toUtf8();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(c.constData()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    X509_REQ_sign(req.get(), signWith ? signWith : key, EVP_sha256());
    unsigned char* der = nullptr;
    const int len = i2d_X509_REQ(req.get(), &der);
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

} // namespace keyline::test
