#include "sim/registry/certificates.h"

#include "common/ossl_ptr.h"

#include <QCryptographicHash>
#include <QFile>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <optional>
#include <vector>

namespace keyline::registry {

namespace {

using X509Ptr = OsslPtr<X509, X509_free>;
using StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
// sk_X509_free is a macro-generated inline, not a function one can take the address of.
void freeStack(STACK_OF(X509) * stack) {
    sk_X509_free(stack);
}
using StackPtr = OsslPtr<STACK_OF(X509), freeStack>;

Error bad(const QString& why) {
    return Error(ErrorCode::BadInput, why);
}

X509Ptr parseDer(const QByteArray& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    X509Ptr cert(d2i_X509(nullptr, &p, der.size()));
    // Trailing bytes after the certificate would make two different byte strings "the same
    // certificate": refuse them.
    if (cert && p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size())
        return nullptr;
    return cert;
}

// The one value of `nid` in the subject; empty if absent; nullopt if repeated or unreadable.
std::optional<QString> subjectField(X509_NAME* name, int nid) {
    const int index = X509_NAME_get_index_by_NID(name, nid, -1);
    if (index < 0)
        return QString();
    if (X509_NAME_get_index_by_NID(name, nid, index) >= 0)
        return std::nullopt;
    unsigned char* utf8 = nullptr;
    const int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
    if (length < 0)
        return std::nullopt;
    QString value = QString::fromUtf8(reinterpret_cast<const char*>(utf8), length);
    OPENSSL_free(utf8);
    return value;
}

bool isP256(X509* cert) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return false;
    char group[64] = {};
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1)
        return false;
    return QByteArray(group, static_cast<int>(length)) == "prime256v1";
}

} // namespace

Result<QList<QByteArray>> certificatesFromPem(const QByteArray& pem) {
    static const QByteArray begin = "-----BEGIN CERTIFICATE-----";
    static const QByteArray end = "-----END CERTIFICATE-----";
    QList<QByteArray> out;
    qsizetype pos = 0;
    while (true) {
        const qsizetype start = pem.indexOf(begin, pos);
        const QByteArray gap = pem.mid(pos, start < 0 ? -1 : start - pos).trimmed();
        if (!gap.isEmpty())
            return bad(QStringLiteral("unexpected text outside the PEM certificate blocks"));
        if (start < 0)
            break;
        const qsizetype stop = pem.indexOf(end, start);
        if (stop < 0)
            return bad(QStringLiteral("a PEM certificate block has no END line"));
        const QByteArray body = pem.mid(start + begin.size(), stop - start - begin.size());
        const auto decoded =
            QByteArray::fromBase64Encoding(QByteArray(body).replace('\n', "").replace('\r', ""),
                                           QByteArray::AbortOnBase64DecodingErrors);
        if (!decoded || !parseDer(*decoded))
            return bad(QStringLiteral("a PEM certificate block is not an X.509 certificate"));
        out.append(*decoded);
        pos = stop + end.size();
    }
    if (out.isEmpty())
        return bad(QStringLiteral("no PEM certificate found"));
    return out;
}

Result<CertificateInfo> describeCertificate(const QByteArray& der) {
    X509Ptr cert = parseDer(der);
    if (!cert)
        return bad(QStringLiteral("not a DER X.509 certificate"));
    X509_NAME* subject = X509_get_subject_name(cert.get());
    const auto cn = subjectField(subject, NID_commonName);
    const auto o = subjectField(subject, NID_organizationName);
    const auto ou = subjectField(subject, NID_organizationalUnitName);
    if (!cn || !o || !ou)
        return bad(QStringLiteral("the subject repeats CN, O or OU, or one is unreadable"));
    CertificateInfo info;
    info.der = der;
    info.sha256 = QCryptographicHash::hash(der, QCryptographicHash::Sha256);
    info.commonName = *cn;
    info.organization = *o;
    info.organizationalUnit = *ou;
    info.p256 = isP256(cert.get());
    return info;
}

struct CertificateVerifier::Store {
    StorePtr store;
};

CertificateVerifier::CertificateVerifier(std::unique_ptr<Store> store, QList<QByteArray> caDer)
    : m_store(std::move(store))
    , m_caDer(std::move(caDer)) {}
CertificateVerifier::~CertificateVerifier() = default;
CertificateVerifier::CertificateVerifier(CertificateVerifier&&) noexcept = default;
CertificateVerifier& CertificateVerifier::operator=(CertificateVerifier&&) noexcept = default;

Result<CertificateVerifier> CertificateVerifier::fromPemFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    auto ders = certificatesFromPem(file.readAll());
    if (!ders)
        return std::move(ders).error().context(path);
    auto store = std::make_unique<Store>();
    store->store.reset(X509_STORE_new());
    bool anchor = false;
    for (const QByteArray& der : *ders) {
        X509Ptr cert = parseDer(der);
        anchor = anchor || X509_check_issued(cert.get(), cert.get()) == X509_V_OK;
        if (X509_STORE_add_cert(store->store.get(), cert.get()) != 1)
            return Error(ErrorCode::BadInput, QStringLiteral("%1: cannot add a certificate "
                                                             "to the trust store")
                                                  .arg(path));
    }
    if (!anchor)
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("%1: no self-signed root CA certificate in the file").arg(path));
    X509_STORE_set_flags(store->store.get(), X509_V_FLAG_X509_STRICT);
    X509_STORE_set_purpose(store->store.get(), X509_PURPOSE_SSL_CLIENT);
    return CertificateVerifier(std::move(store), *ders);
}

Result<void> CertificateVerifier::verify(const QByteArray& leafDer,
                                         const QList<QByteArray>& chain) const {
    X509Ptr leaf = parseDer(leafDer);
    if (!leaf)
        return bad(QStringLiteral("not a DER X.509 certificate"));
    StackPtr untrusted(sk_X509_new_null());
    std::vector<X509Ptr> keep;
    for (const QByteArray& der : chain) {
        X509Ptr cert = parseDer(der);
        if (!cert)
            return bad(QStringLiteral("a chain certificate is not DER X.509"));
        sk_X509_push(untrusted.get(), cert.get());
        keep.push_back(std::move(cert));
    }
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx ||
        X509_STORE_CTX_init(ctx.get(), m_store->store.get(), leaf.get(), untrusted.get()) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("cannot set up X.509 verification"));
    if (X509_verify_cert(ctx.get()) == 1)
        return success();
    return Error(ErrorCode::VerificationFailed, QString::fromUtf8(X509_verify_cert_error_string(
                                                    X509_STORE_CTX_get_error(ctx.get()))));
}

} // namespace keyline::registry
