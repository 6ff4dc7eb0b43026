#include "hsm/ec_util.h"

#include "common/ossl_ptr.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace keyline::hsm {

Result<QByteArray> ecdsaRawToDer(const QByteArray& raw) {
    if (raw.size() != 64)
        return Error(ErrorCode::Internal,
                     QStringLiteral("HSM returned a %1-byte ECDSA signature, expected 64 (r‖s)")
                         .arg(raw.size()));
    const auto* p = reinterpret_cast<const unsigned char*>(raw.constData());
    OsslPtr<ECDSA_SIG, ECDSA_SIG_free> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(p, 32, nullptr);
    BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
    if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
        BN_free(r);
        BN_free(s);
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode ECDSA signature"));
    }
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig.get(), &der);
    if (len <= 0)
        return Error(ErrorCode::Internal, QStringLiteral("cannot encode ECDSA signature"));
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    return out;
}

Result<QByteArray> p256PointFromEcPoint(const QByteArray& ecPoint) {
    if (ecPoint.size() == 65 && ecPoint.at(0) == 0x04)
        return ecPoint;
    if (ecPoint.size() == 67 && ecPoint.at(0) == 0x04 && ecPoint.at(1) == 0x41 &&
        ecPoint.at(2) == 0x04)
        return ecPoint.mid(2);
    return Error(ErrorCode::Internal,
                 QStringLiteral("CKA_EC_POINT is not an uncompressed P-256 point (%1 bytes)")
                     .arg(ecPoint.size()));
}

Result<void> checkP256Point(const QByteArray& point) {
    if (point.size() != 65 || point.at(0) != 0x04)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("device public key is not a 65-byte uncompressed P-256 point"));
    OsslPtr<EC_GROUP, EC_GROUP_free> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
    OsslPtr<EC_POINT, EC_POINT_free> pt(group ? EC_POINT_new(group.get()) : nullptr);
    if (!pt)
        return Error(ErrorCode::Internal, QStringLiteral("out of memory"));
    if (EC_POINT_oct2point(group.get(), pt.get(),
                           reinterpret_cast<const unsigned char*>(point.constData()),
                           std::size_t(point.size()), nullptr) != 1 ||
        EC_POINT_is_at_infinity(group.get(), pt.get()) ||
        EC_POINT_is_on_curve(group.get(), pt.get(), nullptr) != 1)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("device public key is not a point on P-256"));
    return success();
}

QByteArray sha256(const QByteArray& data) {
    // Fetched once: EVP_sha256() makes every EVP_Digest() look the implementation up again,
    // which shows in the per-certificate cost.
    static const OsslPtr<EVP_MD, EVP_MD_free> sha(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data.constData(), std::size_t(data.size()), md, &len, sha.get(), nullptr);
    return QByteArray(reinterpret_cast<const char*>(md), int(len));
}

} // namespace keyline::hsm
