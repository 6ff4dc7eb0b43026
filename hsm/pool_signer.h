#pragma once

#include "common/signer.h"
#include "hsm/session_pool.h"

namespace keyline::hsm {

// ECDSA P-256 with a private key on the token, through the module's function list: each call
// leases its own session, so as many threads sign at once as the pool has sessions.
class PoolSigner final : public Signer {
public:
    PoolSigner(SessionPool& pool, CK_OBJECT_HANDLE key, QByteArray spki, QString label)
        : m_pool(pool)
        , m_key(key)
        , m_spki(std::move(spki))
        , m_label(std::move(label)) {}

    Result<QByteArray> signDigest(const QByteArray& digest) const override;
    QByteArray publicKeyDer() const override { return m_spki; }
    // r‖s as the module returns it: what the benchmark's raw C_Sign baseline measures.
    Result<QByteArray> signDigestRaw(const QByteArray& digest) const;

private:
    SessionPool& m_pool;
    CK_OBJECT_HANDLE m_key;
    QByteArray m_spki;
    QString m_label;
};

} // namespace keyline::hsm
