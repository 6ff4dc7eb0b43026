#include "hsm/pool_signer.h"

#include "hsm/ec_util.h"

namespace keyline::hsm {

Result<QByteArray> PoolSigner::signDigestRaw(const QByteArray& digest) const {
    if (digest.size() != 32)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("digest must be 32 bytes"));
    KL_TRY_ASSIGN(SessionLease s, m_pool.acquire());
    // SoftHSM2 refuses CKM_ECDSA_SHA256; raw CKM_ECDSA over our own SHA-256 works everywhere.
    CK_MECHANISM mech{CKM_ECDSA, nullptr, 0};
    CK_RV rv = s.check(s.fn()->C_SignInit(s.handle(), &mech, m_key));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_SignInit with '%1'").arg(m_label), rv);
    QByteArray data = digest; // the API takes non-const pointers
    unsigned char raw[132];
    CK_ULONG rawLen = sizeof raw;
    rv = s.check(s.fn()->C_Sign(s.handle(), reinterpret_cast<CK_BYTE*>(data.data()),
                                CK_ULONG(data.size()), raw, &rawLen));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_Sign with '%1'").arg(m_label), rv);
    return QByteArray(reinterpret_cast<const char*>(raw), qsizetype(rawLen));
}

Result<QByteArray> PoolSigner::signDigest(const QByteArray& digest) const {
    KL_TRY_ASSIGN(const QByteArray raw, signDigestRaw(digest));
    return ecdsaRawToDer(raw);
}

} // namespace keyline::hsm
