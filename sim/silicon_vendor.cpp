#include "sim/silicon_vendor.h"

#include "sim/atomic_file.h"

#include <QDir>
#include <QFile>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace keyline::sim {
namespace {

// Both roots carry this name: a counterfeit chip is caught by the signature, not the name.
constexpr const char* kRootOrganization = "Simulated Silicon Vendor";
constexpr const char* kRootCommonName = "Simulated Silicon Vendor Root CA";
constexpr const char* kChipCommonName = "Keyline wearable chip";

Error certError(const QString& what) {
    return Error(ErrorCode::Internal, QStringLiteral("%1: %2").arg(what, ossl::lastError()));
}

bool addNameEntry(X509_NAME* name, const char* field, const QByteArray& value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.constData()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
}

bool addExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext)
        return false;
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

bool setRandomSerial(X509* cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1)
        return false;
    bytes[0] &= 0x7F; // a positive INTEGER
    BIGNUM* bn = BN_bin2bn(bytes, sizeof(bytes), nullptr);
    bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
    BN_free(bn);
    return ok;
}

// A v3 certificate for `subjectKey`; with issuerCert == nullptr it is self-signed.
Result<ossl::Cert> buildCertificate(EVP_PKEY* subjectKey, X509_NAME* subject, X509* issuerCert,
                                    EVP_PKEY* issuerKey, bool isCa, long validDays) {
    ossl::Cert cert(X509_new());
    if (!cert || X509_set_version(cert.get(), 2) != 1 || !setRandomSerial(cert.get()) ||
        X509_set_subject_name(cert.get(), subject) != 1 ||
        X509_set_issuer_name(cert.get(),
                             issuerCert ? X509_get_subject_name(issuerCert) : subject) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), validDays * 24L * 3600) ||
        X509_set_pubkey(cert.get(), subjectKey) != 1)
        return certError(QStringLiteral("building a certificate"));
    X509* issuer = issuerCert ? issuerCert : cert.get();
    bool extensionsOk =
        addExtension(cert.get(), issuer, NID_basic_constraints,
                     isCa ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
        addExtension(cert.get(), issuer, NID_key_usage,
                     isCa ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
        addExtension(cert.get(), issuer, NID_subject_key_identifier, "hash") &&
        addExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
    if (!extensionsOk || X509_sign(cert.get(), issuerKey, EVP_sha256()) <= 0)
        return certError(QStringLiteral("signing a certificate"));
    return cert;
}

} // namespace

Result<SiliconVendor::Root> SiliconVendor::loadOrCreateRoot(const QString& certPath,
                                                            const QString& keyPath) {
    Root root;
    if (QFile::exists(certPath) && QFile::exists(keyPath)) {
        KL_TRY_ASSIGN(QByteArray certPem, readWholeFile(certPath));
        KL_TRY_ASSIGN(QByteArray keyPem, readWholeFile(keyPath));
        KL_TRY_ASSIGN(root.cert, ossl::certificateFromPem(certPem));
        KL_TRY_ASSIGN(root.key, ossl::loadPrivateKeyPem(keyPem));
        return root;
    }
    KL_TRY_ASSIGN(root.key, ossl::generateP256());
    X509_NAME* name = X509_NAME_new();
    bool named =
        addNameEntry(name, "O", kRootOrganization) && addNameEntry(name, "CN", kRootCommonName);
    auto cert = named ? buildCertificate(root.key.get(), name, nullptr, root.key.get(), true, 36500)
                      : Result<ossl::Cert>(certError(QStringLiteral("root name")));
    X509_NAME_free(name);
    KL_TRY_ASSIGN(root.cert, std::move(cert));
    KL_TRY_ASSIGN(QByteArray keyPem, ossl::privateKeyPem(root.key.get()));
    KL_TRY_ASSIGN(QByteArray certPem, ossl::certificatePem(root.cert.get()));
    // The key first: a root certificate on disk always has its key next to it.
    KL_TRY(writeFileAtomically(keyPath, keyPem, true));
    KL_TRY(writeFileAtomically(certPath, certPem, false));
    return root;
}

Result<void> SiliconVendor::loadOrCreate(const QString& stateDir) {
    QDir dir(stateDir);
    if (!dir.mkpath(QStringLiteral("ca")))
        return Error(ErrorCode::Io, QStringLiteral("cannot create %1/ca").arg(stateDir));
    m_rootPath = dir.filePath(QStringLiteral("silicon-vendor-root.pem"));
    KL_TRY_ASSIGN(
        m_genuine,
        loadOrCreateRoot(m_rootPath, dir.filePath(QStringLiteral("ca/vendor-root-key.pem"))));
    KL_TRY_ASSIGN(m_counterfeit,
                  loadOrCreateRoot(dir.filePath(QStringLiteral("ca/counterfeit-root.pem")),
                                   dir.filePath(QStringLiteral("ca/counterfeit-root-key.pem"))));
    return success();
}

Result<QByteArray> SiliconVendor::issueChipCertificate(EVP_PKEY* chipKey, const QByteArray& chipUid,
                                                       bool counterfeit) const {
    const Root& root = counterfeit ? m_counterfeit : m_genuine;
    X509_NAME* name = X509_NAME_new();
    bool named = addNameEntry(name, "O", kRootOrganization) &&
                 addNameEntry(name, "CN", kChipCommonName) &&
                 addNameEntry(name, "serialNumber", chipUid.toHex());
    auto cert = named
                    ? buildCertificate(chipKey, name, root.cert.get(), root.key.get(), false, 36500)
                    : Result<ossl::Cert>(certError(QStringLiteral("chip certificate name")));
    X509_NAME_free(name);
    KL_TRY_ASSIGN(ossl::Cert issued, std::move(cert));
    return ossl::certificateDer(issued.get());
}

} // namespace keyline::sim
