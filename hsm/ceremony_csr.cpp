// PKCS#10 requests signed inside the HSM: OpenSSL builds the request info, the HSM key signs its
// SHA-256 (as in x509_sign.cpp for certificates), and the signature is spliced in.
#include "hsm/ceremony.h"
#include "hsm/x509_sign.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace keyline::hsm {

namespace {

using X509NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using X509ReqPtr = OsslPtr<X509_REQ, X509_REQ_free>;

Error badSubject(const QString& why) {
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("subject: %1 (write it as \"CN=…,O=…\")").arg(why));
}

Result<X509NamePtr> buildName(const QString& text) {
    static const QStringList allowed{QStringLiteral("CN"),          QStringLiteral("O"),
                                     QStringLiteral("OU"),          QStringLiteral("C"),
                                     QStringLiteral("L"),           QStringLiteral("ST"),
                                     QStringLiteral("serialNumber")};
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty() || trimmed.size() > 512)
        return badSubject(QStringLiteral("empty or longer than 512 characters"));
    // OpenSSL's "/O=x/CN=y" form as well as the RFC 4514-like "CN=y,O=x" engineers type.
    const bool slashForm = trimmed.startsWith(QLatin1Char('/'));
    const QStringList parts =
        slashForm ? trimmed.mid(1).split(QLatin1Char('/')) : trimmed.split(QLatin1Char(','));
    X509NamePtr name(X509_NAME_new());
    bool haveCn = false;
    for (const QString& raw : parts) {
        const QString part = raw.trimmed();
        const qsizetype eq = part.indexOf(QLatin1Char('='));
        if (eq <= 0)
            return badSubject(QStringLiteral("'%1' is not attribute=value").arg(part.left(64)));
        const QString attr = part.left(eq).trimmed();
        const QString value = part.mid(eq + 1).trimmed();
        if (!allowed.contains(attr))
            return badSubject(QStringLiteral("attribute '%1' is not one of %2")
                                  .arg(attr.left(32), allowed.join(QStringLiteral(", "))));
        if (value.isEmpty() || value.size() > 64)
            return badSubject(QStringLiteral("%1 must be 1 to 64 characters").arg(attr));
        for (QChar c : value)
            if (c.category() == QChar::Other_Control)
                return badSubject(QStringLiteral("%1 holds a control character").arg(attr));
        haveCn = haveCn || attr == QLatin1String("CN");
        const QByteArray a = attr.toLatin1();
        const QByteArray v = value.toUtf8();
        if (!X509_NAME_add_entry_by_txt(name.get(), a.constData(), MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(v.constData()),
                                        int(v.size()), -1, 0))
            return badSubject(QStringLiteral("OpenSSL refused %1=%2").arg(attr, value));
    }
    if (!haveCn)
        return badSubject(QStringLiteral("a CN is required"));
    return name;
}

} // namespace

Result<QByteArray> parseSubject(const QString& text) {
    KL_TRY_ASSIGN(X509NamePtr name, buildName(text));
    unsigned char* der = nullptr;
    const int len = i2d_X509_NAME(name.get(), &der);
    if (len <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the subject"));
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

Result<QByteArray> makeSignedCsr(const Signer& signer, const QString& subject) {
    KL_TRY_ASSIGN(X509NamePtr name, buildName(subject));
    KL_TRY_ASSIGN(EvpPkeyPtr pub, publicKeyFromSpki(signer.publicKeyDer()));
    X509ReqPtr req(X509_REQ_new());
    if (!req || !X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) ||
        !X509_REQ_set_subject_name(req.get(), name.get()) ||
        !X509_REQ_set_pubkey(req.get(), pub.get()))
        return Error(ErrorCode::Internal, QStringLiteral("cannot fill the CSR"));

    // X509_REQ_sign() needs the private key; the algorithm field is set here instead, the same
    // way signCertificate() does for certificates.
    const ASN1_BIT_STRING* sigConst = nullptr;
    const X509_ALGOR* algConst = nullptr;
    X509_REQ_get0_signature(req.get(), &sigConst, &algConst);
    auto* alg = const_cast<X509_ALGOR*>(algConst);
    auto* sig = const_cast<ASN1_BIT_STRING*>(sigConst);
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr))
        return Error(ErrorCode::Internal, QStringLiteral("cannot set the CSR algorithm"));
    unsigned char* tbs = nullptr;
    const int tbsLen = i2d_re_X509_REQ_tbs(req.get(), &tbs);
    if (tbsLen <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the CSR body"));
    unsigned char md[32];
    unsigned int mdLen = 0;
    const bool hashed = EVP_Digest(tbs, std::size_t(tbsLen), md, &mdLen, EVP_sha256(), nullptr);
    OPENSSL_free(tbs);
    if (!hashed)
        return Error(ErrorCode::Internal, QStringLiteral("cannot hash the CSR body"));
    KL_TRY_ASSIGN(const QByteArray signature,
                  signer.signDigest(QByteArray(reinterpret_cast<const char*>(md), int(mdLen))));
    if (!ASN1_BIT_STRING_set(
            sig, reinterpret_cast<unsigned char*>(const_cast<char*>(signature.constData())),
            int(signature.size())))
        return Error(ErrorCode::Internal, QStringLiteral("cannot store the CSR signature"));
    // As for certificates: keep trailing zero bits of the DER signature.
    sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;

    // The root will check proof of possession; a request that fails it here never leaves.
    if (X509_REQ_verify(req.get(), pub.get()) != 1)
        return Error(ErrorCode::Internal,
                     QStringLiteral("the HSM-signed CSR does not verify with the key's own "
                                    "public key"));
    unsigned char* der = nullptr;
    const int len = i2d_X509_REQ(req.get(), &der);
    if (len <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the CSR"));
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

} // namespace keyline::hsm
