#include "hsm/csr_pop.h"

#include <openssl/core_names.h>

namespace keyline::hsm {

namespace {

using PkeyPtr = OsslPtr<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;

// The key object a thread reuses between requests. Only ever holds a public key that passed
// the point check; a failed update drops it rather than leave the previous device's key in it.
struct Spare {
    PkeyPtr key;
    PkeyCtxPtr ctx;
};
thread_local Spare t_spare;

const EVP_MD* sha256Md() {
    // Explicitly fetched once: EVP_sha256() makes every EVP_Digest() fetch it again.
    static const OsslPtr<EVP_MD, EVP_MD_free> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    return md.get();
}

// A new public-only P-256 key; decoding the point checks it lies on the curve.
PkeyPtr newKey(QByteArrayView point65) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(
            OSSL_PKEY_PARAM_PUB_KEY,
            const_cast<char*>(point65.data()), // OSSL_PARAM is not const-correct; not written
            std::size_t(point65.size())),
        OSSL_PARAM_construct_end()};
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        return nullptr;
    return PkeyPtr(key);
}

} // namespace

Result<P256PublicKey> P256PublicKey::fromPoint(QByteArrayView point65) {
    if (point65.size() != 65 || point65.front() != 0x04)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("public key is not a 65-byte uncompressed P-256 point"));
    if (!sha256Md())
        return Error(ErrorCode::Internal, QStringLiteral("OpenSSL has no SHA-256"));
    P256PublicKey k;
    if (t_spare.key) {
        // Replacing the point keeps the group (and its precomputation) of the last request:
        // EVP_PKEY_fromdata builds a fresh EC group each time, ten times the cost of this.
        // EC_KEY_oct2key underneath checks the point is on the curve.
        Spare spare = std::move(t_spare);
        if (EVP_PKEY_set_octet_string_param(spare.key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                            reinterpret_cast<const unsigned char*>(point65.data()),
                                            std::size_t(point65.size())) != 1)
            return Error(ErrorCode::BadInput, QStringLiteral("public key is not a point on P-256"));
        k.m_key = std::move(spare.key);
        k.m_ctx = std::move(spare.ctx);
    } else {
        k.m_key = newKey(point65);
        if (!k.m_key)
            return Error(ErrorCode::BadInput, QStringLiteral("public key is not a point on P-256"));
        k.m_ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, k.m_key.get(), nullptr));
        if (!k.m_ctx)
            return Error(ErrorCode::Internal, QStringLiteral("cannot set up ECDSA verification"));
    }
    return k;
}

bool P256PublicKey::verifySha256(QByteArrayView message, QByteArrayView derSignature) const {
    unsigned char digest[32];
    unsigned int digestLen = 0;
    // verify_init again for every request: it binds the key as it is now, after the point was
    // replaced, instead of relying on the context sharing the key object.
    return m_ctx &&
           EVP_Digest(message.data(), std::size_t(message.size()), digest, &digestLen, sha256Md(),
                      nullptr) == 1 &&
           digestLen == sizeof digest && EVP_PKEY_verify_init(m_ctx.get()) == 1 &&
           EVP_PKEY_verify(m_ctx.get(), reinterpret_cast<const unsigned char*>(derSignature.data()),
                           std::size_t(derSignature.size()), digest, sizeof digest) == 1;
}

P256PublicKey::~P256PublicKey() {
    if (m_key && m_ctx && !t_spare.key) {
        t_spare.key = std::move(m_key);
        t_spare.ctx = std::move(m_ctx);
    }
}

} // namespace keyline::hsm
