#pragma once

// The station's TLS client identity for the back-end: the certificate from the token and an
// OpenSSL EVP_PKEY whose private operations run in the HSM (pkcs11-helper's
// pkcs11h_openssl_session_getEVP; the key never leaves the token). hsm/ does not link
// QtNetwork: the caller wraps the handle as QSslKey(Qt::HANDLE(pkey), QSsl::PrivateKey), which
// with Qt's OpenSSL backend takes the EVP_PKEY over.

#include "common/result.h"
#include "hsm/key_uri.h"
#include "hsm/pin_source.h"

#include <QByteArray>
#include <QString>
#include <memory>

typedef struct evp_pkey_st EVP_PKEY;

namespace keyline::hsm {

class HelperContext;
class Pkcs11Hsm;

class TlsClientIdentity {
public:
    // Finds `key`'s certificate on the open HSM (label or id of the URI), then opens the key
    // through pkcs11-helper with the module and PINs of `modulePath` / `pins` (the same ones the
    // HSM was opened with). EnvironmentNotReady naming the fix when the key or its certificate
    // is missing.
    static Result<std::unique_ptr<TlsClientIdentity>>
    open(Pkcs11Hsm& hsm, const QString& modulePath, PinSource pins, const KeyUri& key);
    ~TlsClientIdentity();
    TlsClientIdentity(const TlsClientIdentity&) = delete;
    TlsClientIdentity& operator=(const TlsClientIdentity&) = delete;

    // DER of the client certificate (leaf only).
    const QByteArray& certificateDer() const { return m_certificateDer; }
    // A new EVP_PKEY reference backed by the token; the caller owns it (EVP_PKEY_free, or hand
    // it to QSslKey). Valid while this object lives; nullptr if pkcs11-helper refuses.
    EVP_PKEY* newPrivateKey() const;

private:
    TlsClientIdentity() = default;
    std::shared_ptr<HelperContext> m_helper;
    void* m_session = nullptr; // pkcs11h_openssl_session_t
    QByteArray m_certificateDer;
    QString m_label;
};

} // namespace keyline::hsm
