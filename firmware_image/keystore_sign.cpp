#include "common/ossl_ptr.h"
#include "firmware_image/keystore.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace keyline::firmware {

namespace {

using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;

QByteArray sha256(const QByteArray& data) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data.constData(), std::size_t(data.size()), md, &len, EVP_sha256(), nullptr);
    return QByteArray(reinterpret_cast<const char*>(md), int(len));
}

PkeyPtr parsePublicKey(const QByteArray& key) {
    if (key.startsWith("-----BEGIN")) {
        OsslPtr<BIO, BIO_free> bio(BIO_new_mem_buf(key.constData(), int(key.size())));
        return PkeyPtr(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    }
    const auto* begin = reinterpret_cast<const unsigned char*>(key.constData());
    const auto* p = begin;
    PkeyPtr k(d2i_PUBKEY(nullptr, &p, long(key.size())));
    if (p != begin + key.size())
        return {};
    return k;
}

PkeyPtr p256FromPoint(const QByteArray& point) {
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(
        EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
        return {};
    char group[] = "prime256v1";
    QByteArray pub = point;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                                             std::size_t(pub.size())),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY* key = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        return {};
    PkeyPtr owned(key);
    // fromdata does not check the point is on the curve; the public-key check does. The quick
    // check (on the curve, not infinity) is the whole check on P-256: its cofactor is 1, so
    // every such point has the group's prime order, and the full check's n·Q multiplication
    // cost more than the rest of a keystore parse.
    OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> check(EVP_PKEY_CTX_new(owned.get(), nullptr));
    if (!check || EVP_PKEY_public_check_quick(check.get()) != 1)
        return {};
    return owned;
}

Result<PkeyPtr> parseP256(const QByteArray& key) {
    PkeyPtr pkey;
    if (key.size() == 65 && key.at(0) == 0x04)
        pkey = p256FromPoint(key);
    else
        pkey = parsePublicKey(key);
    if (!pkey)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("not a P-256 public key (PEM, DER or point)"));
    char group[64] = {};
    size_t groupLen = 0;
    if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC ||
        !EVP_PKEY_get_group_name(pkey.get(), group, sizeof group, &groupLen) ||
        QByteArray(group) != "prime256v1")
        return Error(ErrorCode::BadInput, QStringLiteral("public key is not on P-256"));
    return pkey;
}

Result<QByteArray> spkiDerOf(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int derLen = i2d_PUBKEY(key, &der);
    if (derLen <= 0)
        return Error(ErrorCode::BadInput, QStringLiteral("public key does not encode as DER"));
    QByteArray out(reinterpret_cast<const char*>(der), derLen);
    OPENSSL_free(der);
    return out;
}

// An uncompressed point needs only the checks on the point itself, not a key object: keystore
// parsing checks three per keystore, and building a key for each was most of its cost. The
// group is made once and only read afterwards, so every thread may use it.
bool isUncompressedP256Point(const QByteArray& point) {
    static const OsslPtr<EC_GROUP, EC_GROUP_free> group(
        EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
    if (!group || point.size() != 65 || point.at(0) != 0x04)
        return false;
    OsslPtr<EC_POINT, EC_POINT_free> pt(EC_POINT_new(group.get()));
    // On the curve and not infinity is the whole check on P-256: its cofactor is 1.
    return pt &&
           EC_POINT_oct2point(group.get(), pt.get(),
                              reinterpret_cast<const unsigned char*>(point.constData()),
                              std::size_t(point.size()), nullptr) == 1 &&
           !EC_POINT_is_at_infinity(group.get(), pt.get()) &&
           EC_POINT_is_on_curve(group.get(), pt.get(), nullptr) == 1;
}

} // namespace

Result<PublicKey> PublicKey::parse(const QByteArray& key) {
    KL_TRY_ASSIGN(PkeyPtr pkey, parseP256(key));
    PublicKey out;
    KL_TRY_ASSIGN(out.m_spkiDer, spkiDerOf(pkey.get()));
    out.m_keyId = sha256(out.m_spkiDer);
    out.m_key.reset(pkey.release(), EVP_PKEY_free);
    return out;
}

Result<QByteArray> p256PointFromPublicKey(const QByteArray& key) {
    if (key.size() == 65 && key.at(0) == 0x04) {
        if (!isUncompressedP256Point(key))
            return Error(ErrorCode::BadInput, QStringLiteral("public key is not on P-256"));
        return key;
    }
    KL_TRY_ASSIGN(PkeyPtr pkey, parseP256(key));
    unsigned char point[133];
    size_t len = 0;
    // Always the uncompressed form, whatever form the input used.
    if (EVP_PKEY_set_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                       "uncompressed") != 1 ||
        EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                        &len) != 1 ||
        len != 65)
        return Error(ErrorCode::BadInput, QStringLiteral("public key has no usable P-256 point"));
    return QByteArray(reinterpret_cast<const char*>(point), int(len));
}

Result<QByteArray> buildKeystore(const KeystoreContent& content, const Signer& signer) {
    const QByteArray keyId = sha256(signer.publicKeyDer());
    KL_TRY_ASSIGN(QByteArray out, encodeKeystoreBody(content, keyId));
    KL_TRY_ASSIGN(const QByteArray signature, signer.signDigest(sha256(out)));
    if (signature.isEmpty() || signature.size() > 72)
        return Error(ErrorCode::Internal,
                     QStringLiteral("signer returned a %1-byte signature").arg(signature.size()));
    out.append(char(signature.size() >> 8));
    out.append(char(signature.size() & 0xff));
    out.append(signature);
    // What we hand out must be what a device accepts: verify our own output.
    const auto self = verifyKeystore(out, signer.publicKeyDer());
    if (!self.ok())
        return Error(ErrorCode::Internal,
                     QStringLiteral("the new keystore does not verify: ") + self.error().message());
    return out;
}

Result<Keystore> verifyKeystore(const QByteArray& bytes, const QByteArray& vendorKeySpki) {
    auto key = PublicKey::parse(vendorKeySpki);
    if (!key)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("vendor key is not a P-256 public key (PEM or DER)"));
    return verifyKeystore(bytes, *key);
}

Result<Keystore> verifyKeystore(const QByteArray& bytes, const PublicKey& vendorKey) {
    KL_TRY_ASSIGN(Keystore ks, parseKeystore(bytes));
    if (vendorKey.isNull())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("no vendor key to verify against"));
    // The key id is over the DER form, whatever form the caller passed (PEM from export/).
    if (ks.signerKeyId != vendorKey.keyId())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("keystore is signed by another key (key id %1), not the vendor "
                                    "keystore signing key")
                         .arg(QString::fromLatin1(ks.signerKeyId.toHex().left(16))));
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> md(EVP_MD_CTX_new());
    if (!md ||
        EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, vendorKey.get()) != 1 ||
        EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(ks.signature.constData()),
                         std::size_t(ks.signature.size()),
                         reinterpret_cast<const unsigned char*>(ks.signedBytes.constData()),
                         std::size_t(ks.signedBytes.size())) != 1)
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("keystore signature does not verify"));
    return ks;
}

Result<void> checkEnvironmentKeys(const KeystoreContent& content,
                                  const QList<QByteArray>& developmentKeys) {
    QList<QByteArray> devPoints;
    for (const QByteArray& k : developmentKeys) {
        KL_TRY_ASSIGN(const QByteArray p, p256PointFromPublicKey(k));
        devPoints << p;
    }
    for (const auto& e : content.entries) {
        const bool isDev = devPoints.contains(e.publicKey);
        if (content.environment == Environment::Production && isDev)
            return Error(ErrorCode::Refused,
                         QStringLiteral("production keystore for '%1' holds the common development "
                                        "%2 key: production needs the customer's own keys")
                             .arg(content.customerId, purposeName(e.purpose)));
        if (content.environment == Environment::Development && !isDev)
            return Error(ErrorCode::Refused,
                         QStringLiteral("development keystore for '%1' holds a %2 key that is not "
                                        "a common development key")
                             .arg(content.customerId, purposeName(e.purpose)));
    }
    return success();
}

} // namespace keyline::firmware
