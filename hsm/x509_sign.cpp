#include "hsm/x509_sign.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace keyline::hsm {

Result<EvpPkeyPtr> publicKeyFromSpki(const QByteArray& spki) {
    const auto* p = reinterpret_cast<const unsigned char*>(spki.constData());
    EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, long(spki.size())));
    if (!key || p != reinterpret_cast<const unsigned char*>(spki.constData()) + spki.size())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("public key is not a DER SubjectPublicKeyInfo"));
    return key;
}

Result<X509Ptr> parseCertificate(const QByteArray& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    X509Ptr x(d2i_X509(nullptr, &p, long(der.size())));
    if (!x || p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size())
        return Error(ErrorCode::BadInput, QStringLiteral("certificate is not DER X.509"));
    return x;
}

QByteArray certificateDer(X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    if (len <= 0)
        return {};
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

QByteArray toPem(const QByteArray& der, const char* type) {
    QByteArray out = QByteArray("-----BEGIN ") + type + "-----\n";
    const QByteArray b64 = der.toBase64();
    for (qsizetype i = 0; i < b64.size(); i += 64)
        out += b64.mid(i, 64) + '\n';
    out += QByteArray("-----END ") + type + "-----\n";
    return out;
}

Result<void> setRandomSerial(X509* cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("no randomness for the serial number"));
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    OsslPtr<BIGNUM, BN_free> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    ASN1_INTEGER* serial = X509_get_serialNumber(cert);
    if (!bn || !BN_to_ASN1_INTEGER(bn.get(), serial))
        return Error(ErrorCode::Internal, QStringLiteral("cannot set the serial number"));
    return success();
}

Result<void> addExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
    OsslPtr<X509_EXTENSION, X509_EXTENSION_free> ext(
        X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || !X509_add_ext(cert, ext.get(), -1))
        return Error(ErrorCode::Internal,
                     QStringLiteral("cannot add extension %1").arg(QLatin1String(OBJ_nid2sn(nid))));
    return success();
}

Result<QByteArray> signCertificate(X509* cert, const Signer& signer) {
    // OpenSSL only fills the algorithm fields inside X509_sign(), which needs the private key.
    // They are set here directly; the casts are the documented way to reach the fields that
    // X509_sign() itself writes.
    auto* tbsAlg = const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(cert));
    if (!X509_ALGOR_set0(tbsAlg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr))
        return Error(ErrorCode::Internal, QStringLiteral("cannot set the signature algorithm"));
    const ASN1_BIT_STRING* sigConst = nullptr;
    const X509_ALGOR* outerConst = nullptr;
    X509_get0_signature(&sigConst, &outerConst, cert);
    auto* outer = const_cast<X509_ALGOR*>(outerConst);
    auto* sig = const_cast<ASN1_BIT_STRING*>(sigConst);
    if (!X509_ALGOR_set0(outer, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr))
        return Error(ErrorCode::Internal, QStringLiteral("cannot set the signature algorithm"));

    // i2d_re_X509_tbs re-encodes and caches the TBS, so i2d_X509 below emits exactly the bytes
    // that were signed.
    unsigned char* tbs = nullptr;
    const int tbsLen = i2d_re_X509_tbs(cert, &tbs);
    if (tbsLen <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the certificate body"));
    unsigned char md[32];
    unsigned int mdLen = 0;
    const bool hashed = EVP_Digest(tbs, std::size_t(tbsLen), md, &mdLen, EVP_sha256(), nullptr);
    OPENSSL_free(tbs);
    if (!hashed)
        return Error(ErrorCode::Internal, QStringLiteral("cannot hash the certificate body"));
    KL_TRY_ASSIGN(const QByteArray signature,
                  signer.signDigest(QByteArray(reinterpret_cast<const char*>(md), int(mdLen))));
    if (!ASN1_BIT_STRING_set(
            sig, reinterpret_cast<unsigned char*>(const_cast<char*>(signature.constData())),
            int(signature.size())))
        return Error(ErrorCode::Internal, QStringLiteral("cannot store the signature"));
    // Without BITS_LEFT, OpenSSL drops trailing zero bits of the DER signature when encoding
    // and about half the certificates would not verify.
    sig->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    sig->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    const QByteArray der = certificateDer(cert);
    if (der.isEmpty())
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode the certificate"));
    return der;
}

namespace {

Result<X509Ptr> baseCertificate(const QString& commonName, const QByteArray& subjectSpki,
                                X509* issuer, int validityDays) {
    X509Ptr x(X509_new());
    KL_TRY_ASSIGN(EvpPkeyPtr pub, publicKeyFromSpki(subjectSpki));
    X509_NAME* name = X509_get_subject_name(x.get());
    const QByteArray cn = commonName.toUtf8();
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("Keyline"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.constData()), -1, -1, 0);
    if (!X509_set_version(x.get(), X509_VERSION_3) || !X509_set_pubkey(x.get(), pub.get()) ||
        !X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_gmtime_adj(X509_getm_notBefore(x.get()), -300) ||
        !X509_gmtime_adj(X509_getm_notAfter(x.get()), long(validityDays) * 86400))
        return Error(ErrorCode::Internal, QStringLiteral("cannot fill the certificate"));
    KL_TRY(setRandomSerial(x.get()));
    KL_TRY(addExtension(x.get(), issuer, NID_subject_key_identifier, "hash"));
    if (issuer)
        KL_TRY(addExtension(x.get(), issuer, NID_authority_key_identifier, "keyid:always"));
    return x;
}

} // namespace

Result<QByteArray> makeCaCertificate(const QString& commonName, const QByteArray& subjectSpki,
                                     X509* issuer, const Signer& signer, int validityDays,
                                     int pathLen) {
    KL_TRY_ASSIGN(X509Ptr x, baseCertificate(commonName, subjectSpki, issuer, validityDays));
    const QByteArray bc = pathLen < 0 ? QByteArray("critical,CA:TRUE")
                                      : "critical,CA:TRUE,pathlen:" + QByteArray::number(pathLen);
    KL_TRY(addExtension(x.get(), issuer, NID_basic_constraints, bc.constData()));
    KL_TRY(addExtension(x.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign"));
    return signCertificate(x.get(), signer);
}

Result<QByteArray> makeSigningCertificate(const QString& commonName, const QByteArray& subjectSpki,
                                          X509* issuer, const Signer& signer, int validityDays) {
    KL_TRY_ASSIGN(X509Ptr x, baseCertificate(commonName, subjectSpki, issuer, validityDays));
    KL_TRY(addExtension(x.get(), issuer, NID_basic_constraints, "critical,CA:FALSE"));
    KL_TRY(addExtension(x.get(), issuer, NID_key_usage, "critical,digitalSignature"));
    return signCertificate(x.get(), signer);
}

} // namespace keyline::hsm
