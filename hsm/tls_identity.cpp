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
#include <pkcs11-helper-1.0/pkcs11h-core.h>
#include <pkcs11-helper-1.0/pkcs11h-openssl.h>
#include <pkcs11-helper-1.0/pkcs11h-token.h>

namespace keyline::hsm {

namespace {

Error helperError(const QString& what, CK_RV rv) {
    return Error(
        ErrorCode::EnvironmentNotReady,
        what +
            QStringLiteral(" (pkcs11-helper: %1)").arg(QString::fromUtf8(pkcs11h_getMessage(rv))),
        int(rv));
}

struct TokenIdListFree {
    void operator()(pkcs11h_token_id_list_t l) const { pkcs11h_token_freeTokenIdList(l); }
};
struct CertIdListFree {
    void operator()(pkcs11h_certificate_id_list_t l) const {
        pkcs11h_certificate_freeCertificateIdList(l);
    }
};

// The pkcs11-helper certificate object of the certificate with CKA_ID `id` on `tokenLabel`.
Result<pkcs11h_certificate_t> openHelperCertificate(HelperContext& ctx, const QString& tokenLabel,
                                                    const QByteArray& id) {
    pkcs11h_token_id_list_t rawTokens = nullptr;
    CK_RV rv = pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, &rawTokens);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("listing tokens"), rv);
    std::unique_ptr<pkcs11h_token_id_list_s, TokenIdListFree> tokens(rawTokens);
    pkcs11h_token_id_t token = nullptr;
    for (auto* e = tokens.get(); e; e = e->next)
        if (QString::fromUtf8(e->token_id->label) == tokenLabel)
            token = e->token_id;
    if (!token)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("pkcs11-helper sees no token labelled '%1'").arg(tokenLabel));
    pkcs11h_certificate_id_list_t rawIssuers = nullptr, rawEnds = nullptr;
    rv = pkcs11h_certificate_enumTokenCertificateIds(token, PKCS11H_ENUM_METHOD_RELOAD, &ctx,
                                                     PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                                     &rawIssuers, &rawEnds);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("listing certificates on '%1'").arg(tokenLabel), rv);
    std::unique_ptr<pkcs11h_certificate_id_list_s, CertIdListFree> issuers(rawIssuers),
        ends(rawEnds);
    pkcs11h_certificate_id_t found = nullptr;
    for (auto* list : {ends.get(), issuers.get()})
        for (auto* e = list; e && !found; e = e->next)
            if (QByteArray(reinterpret_cast<const char*>(e->certificate_id->attrCKA_ID),
                           qsizetype(e->certificate_id->attrCKA_ID_size)) == id)
                found = e->certificate_id;
    if (!found)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("pkcs11-helper finds no certificate with id '%1' on '%2'")
                         .arg(QString::fromLatin1(id.toHex()), tokenLabel));
    pkcs11h_certificate_t cert = nullptr;
    rv = pkcs11h_certificate_create(found, &ctx, PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                    PKCS11H_PIN_CACHE_INFINITE, &cert);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("opening the key of certificate '%1'")
                               .arg(QString::fromLatin1(id.toHex())),
                           rv);
    return cert;
}

} // namespace

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
    KL_TRY_ASSIGN(pkcs11h_certificate_t cert,
                  openHelperCertificate(*identity->m_helper, hsm.tokenLabel(), id));
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
