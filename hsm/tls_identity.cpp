#include "hsm/tls_identity.h"

#include "hsm/helper_context.h"
#include "hsm/key_objects.h"
#include "hsm/p11.h"
#include "hsm/pkcs11_hsm.h"

#include <openssl/evp.h>
// pkcs11h-openssl.h declares pkcs11h_openssl_session_getRSA() with the RSA type, which OpenSSL
// 3.0 hides under OPENSSL_NO_DEPRECATED. Only the opaque name is needed (never used here).
typedef struct rsa_st RSA;
#include <pkcs11-helper-1.0/pkcs11h-certificate.h>
#include <pkcs11-helper-1.0/pkcs11h-openssl.h>

namespace keyline::hsm {

Result<std::unique_ptr<TlsClientIdentity>> TlsClientIdentity::open(Pkcs11Hsm& hsm,
                                                                   const QString& modulePath,
                                                                   PinSource pins,
                                                                   const KeyUri& key) {
    std::unique_ptr<TlsClientIdentity> identity(new TlsClientIdentity);
    identity->m_label = key.object;
    KeyUri certUri = key;
    certUri.type = QStringLiteral("cert");
    auto der = hsm.certificate(certUri);
    if (!der)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the TLS client key '%1' has no certificate on token '%2': "
                                    "run 'keyline hsm init-dev' (development) or import it "
                                    "(docs/key-inventory.md)")
                         .arg(key.object, hsm.tokenLabel()));
    identity->m_certificateDer = *der;
    QByteArray id = key.id;
    if (id.isEmpty()) {
        KL_TRY_ASSIGN(SessionLease s, hsm.pool().acquire());
        KL_TRY_ASSIGN(const auto cert, findOne(s, {CKO_CERTIFICATE, key.object, {}}));
        if (!cert)
            return Error(ErrorCode::EnvironmentNotReady,
                         QStringLiteral("no certificate '%1' on the token").arg(key.object));
        KL_TRY_ASSIGN(id, getAttribute(s, *cert, CKA_ID));
    }
    KL_TRY_ASSIGN(identity->m_helper, HelperContext::open(modulePath, std::move(pins)));
    KL_TRY_ASSIGN(const HelperContext::HelperCertificate opened,
                  identity->m_helper->openCertificate(hsm.tokenLabel(), id));
    pkcs11h_certificate_t cert = opened.handle;
    pkcs11h_openssl_session_t session = pkcs11h_openssl_createSession(cert);
    if (!session) {
        pkcs11h_certificate_freeCertificate(cert);
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("pkcs11-helper cannot make an OpenSSL session for '%1'")
                         .arg(key.object));
    }
    identity->m_session = session; // owns `cert` from here on
    EVP_PKEY* probe = identity->newPrivateKey();
    if (!probe)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("pkcs11-helper gives no OpenSSL key for '%1'").arg(key.object));
    const bool ec = EVP_PKEY_get_base_id(probe) == EVP_PKEY_EC;
    EVP_PKEY_free(probe);
    if (!ec)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("the TLS client key '%1' is not an EC key").arg(key.object));
    return identity;
}

TlsClientIdentity::~TlsClientIdentity() {
    if (m_session)
        pkcs11h_openssl_freeSession(static_cast<pkcs11h_openssl_session_t>(m_session));
    m_helper.reset();
}

EVP_PKEY* TlsClientIdentity::newPrivateKey() const {
    return pkcs11h_openssl_session_getEVP(static_cast<pkcs11h_openssl_session_t>(m_session));
}

} // namespace keyline::hsm
