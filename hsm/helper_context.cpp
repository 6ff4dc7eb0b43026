#include "hsm/helper_context.h"

#include "common/ossl_ptr.h"
#include "hsm/ec_util.h"
#include "hsm/p11.h"

#include <QFile>
#include <QFileInfo>
#include <atomic>
#include <cstring>
#include <mutex>
#include <openssl/x509.h>
#include <pkcs11-helper-1.0/pkcs11h-certificate.h>
#include <pkcs11-helper-1.0/pkcs11h-core.h>
#include <pkcs11-helper-1.0/pkcs11h-token.h>

namespace keyline::hsm {

namespace {

// The library is process-wide; these count its users. Not a service locator: nothing is found
// through them, they only pair pkcs11h_initialize with pkcs11h_terminate.
std::mutex g_libMutex;
int g_libUsers = 0;
std::atomic<int> g_providerCounter{0};

PKCS11H_BOOL pinPrompt(void* /*global*/, void* userData, const pkcs11h_token_id_t token,
                       const unsigned retry, char* const pin, const size_t pinMax) {
    // A retry means the module refused the PIN we gave: give up instead of spending another
    // attempt on the same wrong PIN (three of those lock a real HSM).
    if (retry > 0 || !userData)
        return FALSE;
    const auto* ctx = static_cast<const HelperContext*>(userData);
    auto resolved = ctx->pins().resolve(QString::fromUtf8(token->label));
    if (!resolved.ok())
        return FALSE;
    QByteArray p = std::move(resolved).value();
    if (std::size_t(p.size()) + 1 > pinMax) {
        p.fill('\0');
        return FALSE;
    }
    std::memcpy(pin, p.constData(), std::size_t(p.size()));
    pin[p.size()] = '\0';
    p.fill('\0');
    return TRUE;
}

PKCS11H_BOOL tokenPrompt(void*, void*, const pkcs11h_token_id_t, const unsigned) {
    // Never "insert the token and press enter": a station reports and stops.
    return FALSE;
}

struct TokenIdListFree {
    void operator()(pkcs11h_token_id_list_t l) const { pkcs11h_token_freeTokenIdList(l); }
};
struct CertIdListFree {
    void operator()(pkcs11h_certificate_id_list_t l) const {
        pkcs11h_certificate_freeCertificateIdList(l);
    }
};
using TokenIdList = std::unique_ptr<pkcs11h_token_id_list_s, TokenIdListFree>;
using CertIdList = std::unique_ptr<pkcs11h_certificate_id_list_s, CertIdListFree>;

Error helperError(const QString& what, CK_RV rv) {
    return p11Error(
        what +
            QStringLiteral(" (pkcs11-helper: %1)").arg(QString::fromUtf8(pkcs11h_getMessage(rv))),
        rv);
}

class CertificateSigner final : public Signer {
public:
    CertificateSigner(pkcs11h_certificate_t cert, QByteArray spki, QString label)
        : m_cert(cert)
        , m_spki(std::move(spki))
        , m_label(std::move(label)) {}
    ~CertificateSigner() override { pkcs11h_certificate_freeCertificate(m_cert); }

    Result<QByteArray> signDigest(const QByteArray& digest) const override {
        if (digest.size() != 32)
            return Error(ErrorCode::InvalidArgument, QStringLiteral("digest must be 32 bytes"));
        unsigned char raw[128];
        size_t rawLen = sizeof raw;
        // The helper's session is shared by every user of this certificate: lock it, as its
        // documentation requires for threaded use.
        CK_RV rv = pkcs11h_certificate_lockSession(m_cert);
        if (rv != CKR_OK)
            return helperError(QStringLiteral("locking the session of '%1'").arg(m_label), rv);
        rv = pkcs11h_certificate_signAny(m_cert, CKM_ECDSA,
                                         reinterpret_cast<const unsigned char*>(digest.constData()),
                                         std::size_t(digest.size()), raw, &rawLen);
        pkcs11h_certificate_releaseSession(m_cert);
        if (rv != CKR_OK)
            return helperError(QStringLiteral("signing with '%1'").arg(m_label), rv);
        return ecdsaRawToDer(QByteArray(reinterpret_cast<const char*>(raw), int(rawLen)));
    }
    QByteArray publicKeyDer() const override { return m_spki; }

private:
    pkcs11h_certificate_t m_cert;
    QByteArray m_spki;
    QString m_label;
};

} // namespace

Result<std::shared_ptr<HelperContext>> HelperContext::open(const QString& modulePath,
                                                           PinSource pins) {
    if (!QFileInfo(modulePath).isFile())
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("PKCS#11 module '%1' does not exist: install the HSM vendor's "
                                    "module or set [hsm] module in keyline.conf (SoftHSM2: "
                                    "/usr/lib/softhsm/libsofthsm2.so)")
                         .arg(modulePath));
    std::shared_ptr<HelperContext> ctx(new HelperContext);
    ctx->m_pins = std::move(pins);
    {
        std::lock_guard lock(g_libMutex);
        if (g_libUsers == 0) {
            CK_RV rv = pkcs11h_initialize();
            if (rv != CKR_OK)
                return helperError(QStringLiteral("initialising pkcs11-helper"), rv);
            pkcs11h_setPINPromptHook(pinPrompt, nullptr);
            pkcs11h_setTokenPromptHook(tokenPrompt, nullptr);
            // Defence in depth beside the hook's own refusal of retries.
            pkcs11h_setMaxLoginRetries(1);
            pkcs11h_setProtectedAuthentication(FALSE);
        }
        ++g_libUsers;
    }
    ctx->m_reference = "keyline-" + QByteArray::number(g_providerCounter.fetch_add(1));
    const CK_RV rv = pkcs11h_addProvider(
        ctx->m_reference.constData(), QFile::encodeName(modulePath).constData(), FALSE,
        PKCS11H_PRIVATEMODE_MASK_AUTO, PKCS11H_SLOTEVENT_METHOD_AUTO, 0, FALSE);
    if (rv != CKR_OK) {
        auto err = helperError(QStringLiteral("loading PKCS#11 module '%1'").arg(modulePath), rv);
        ctx->m_reference.clear(); // nothing to remove in the destructor
        return Error(ErrorCode::EnvironmentNotReady,
                     err.message() + QStringLiteral(": check [hsm] module in keyline.conf"),
                     int(rv));
    }
    return ctx;
}

HelperContext::~HelperContext() {
    if (!m_reference.isEmpty())
        pkcs11h_removeProvider(m_reference.constData());
    std::lock_guard lock(g_libMutex);
    if (--g_libUsers == 0)
        pkcs11h_terminate();
}

Result<QStringList> HelperContext::tokenLabels() const {
    pkcs11h_token_id_list_t raw = nullptr;
    const CK_RV rv = pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, &raw);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("listing tokens"), rv);
    TokenIdList list(raw);
    QStringList labels;
    for (auto* e = list.get(); e; e = e->next)
        labels << QString::fromUtf8(e->token_id->label);
    return labels;
}

Result<HelperContext::HelperCertificate> HelperContext::openCertificate(const QString& tokenLabel,
                                                                        const QByteArray& id) {
    pkcs11h_token_id_list_t rawTokens = nullptr;
    CK_RV rv = pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, &rawTokens);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("listing tokens"), rv);
    TokenIdList tokens(rawTokens);
    pkcs11h_token_id_t token = nullptr;
    for (auto* e = tokens.get(); e; e = e->next)
        if (QString::fromUtf8(e->token_id->label) == tokenLabel)
            token = e->token_id;
    if (!token)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("pkcs11-helper sees no token labelled '%1': connect the HSM or "
                                    "run 'keyline hsm init-dev'")
                         .arg(tokenLabel));

    pkcs11h_certificate_id_list_t rawIssuers = nullptr;
    pkcs11h_certificate_id_list_t rawEnds = nullptr;
    rv = pkcs11h_certificate_enumTokenCertificateIds(token, PKCS11H_ENUM_METHOD_RELOAD, this,
                                                     PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                                     &rawIssuers, &rawEnds);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("listing certificates on '%1'").arg(tokenLabel), rv);
    CertIdList issuers(rawIssuers);
    CertIdList ends(rawEnds);
    pkcs11h_certificate_id_t found = nullptr;
    for (auto* list : {issuers.get(), ends.get()})
        for (auto* e = list; e && !found; e = e->next)
            if (QByteArray(reinterpret_cast<const char*>(e->certificate_id->attrCKA_ID),
                           qsizetype(e->certificate_id->attrCKA_ID_size)) == id)
                found = e->certificate_id;
    if (!found)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("no certificate with id '%1' on token '%2': import the key's "
                                    "certificate (see docs/key-inventory.md) or run "
                                    "'keyline hsm init-dev'")
                         .arg(QString::fromLatin1(id.toHex()), tokenLabel));

    HelperCertificate opened;
    opened.der = QByteArray(reinterpret_cast<const char*>(found->certificate_blob),
                            qsizetype(found->certificate_blob_size));
    rv = pkcs11h_certificate_create(found, this, PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                    PKCS11H_PIN_CACHE_INFINITE, &opened.handle);
    if (rv != CKR_OK)
        return helperError(QStringLiteral("opening the key of certificate '%1'")
                               .arg(QString::fromLatin1(id.toHex())),
                           rv);
    return opened;
}

Result<std::shared_ptr<Signer>> HelperContext::certificateSigner(const QString& tokenLabel,
                                                                 const QByteArray& id) {
    KL_TRY_ASSIGN(const HelperCertificate opened, openCertificate(tokenLabel, id));
    // Frees the helper's object on every way out until the signer owns it.
    std::unique_ptr<pkcs11h_certificate_s, void (*)(pkcs11h_certificate_t)> cert(
        opened.handle, [](pkcs11h_certificate_t c) { pkcs11h_certificate_freeCertificate(c); });
    // The public key comes from the certificate the helper read, so the signer's identity is
    // exactly what pkcs11-helper bound the key to.
    const auto* blob = reinterpret_cast<const unsigned char*>(opened.der.constData());
    OsslPtr<X509, X509_free> x509(d2i_X509(nullptr, &blob, long(opened.der.size())));
    if (!x509)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("certificate with id '%1' on token '%2' does not parse")
                         .arg(QString::fromLatin1(id.toHex()), tokenLabel));
    unsigned char* spki = nullptr;
    const int spkiLen = i2d_PUBKEY(X509_get0_pubkey(x509.get()), &spki);
    if (spkiLen <= 0)
        return Error(ErrorCode::BadInput, QStringLiteral("certificate has no usable public key"));
    QByteArray spkiDer(reinterpret_cast<const char*>(spki), spkiLen);
    OPENSSL_free(spki);

    return std::shared_ptr<Signer>(
        std::make_shared<CertificateSigner>(cert.release(), spkiDer, QString::fromUtf8(id)));
}

} // namespace keyline::hsm
