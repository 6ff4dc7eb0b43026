#include "hsm/aes_gcm.h"

#include <algorithm>

namespace keyline::hsm {

namespace {

constexpr qsizetype kChunk = 1024 * 1024;

// Owns the parameters for the whole operation: PKCS#11 lets a module keep pointers into
// CK_GCM_PARAMS until C_*Init returns, and some read the IV again later.
struct GcmParams {
    QByteArray iv;
    QByteArray aad;
    CK_GCM_PARAMS params{};
    CK_MECHANISM mechanism{CKM_AES_GCM, nullptr, 0};

    GcmParams(QByteArray ivIn, QByteArray aadIn)
        : iv(std::move(ivIn))
        , aad(std::move(aadIn)) {
        params.pIv = iv.data();
        params.ulIvLen = CK_ULONG(iv.size());
        params.ulIvBits = CK_ULONG(iv.size()) * 8;
        params.pAAD = aad.isEmpty() ? nullptr : aad.data();
        params.ulAADLen = CK_ULONG(aad.size());
        params.ulTagBits = kGcmTagBytes * 8;
        mechanism.pParameter = &params;
        mechanism.ulParameterLen = sizeof params;
    }
    GcmParams(const GcmParams&) = delete;
    GcmParams& operator=(const GcmParams&) = delete;
};

// C_DecryptUpdate/Final have the same signatures as the encrypt ones.
using UpdateFn = CK_C_EncryptUpdate;
using FinalFn = CK_C_EncryptFinal;

// A changed ciphertext, tag, IV or AAD: the one failure a caller must tell from the others.
// PKCS#11 says CKR_ENCRYPTED_DATA_INVALID; SoftHSM2 2.6 answers a wrong tag in C_DecryptFinal
// with CKR_GENERAL_ERROR, so at that one step that counts as a failed tag as well.
Error gcmError(const QString& what, CK_RV rv, bool tagCheck = false) {
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
        (tagCheck && rv == CKR_GENERAL_ERROR))
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("AES-GCM authentication failed: the ciphertext, tag, IV or "
                                    "associated data was changed, or another key was used (%1)")
                         .arg(ckrName(rv)));
    return p11Error(what, rv);
}

// Shared by both directions: a session with one active operation, fed in bounded chunks.
class GcmOperation {
public:
    GcmOperation(SessionLease s, const QByteArray& iv, const QByteArray& aad)
        : m_s(std::move(s))
        , m_params(iv, aad) {}
    ~GcmOperation() {
        // An operation left half done would stay on the session; closing the session ends it.
        if (m_active)
            m_s.markBroken();
    }
    GcmOperation(const GcmOperation&) = delete;
    GcmOperation& operator=(const GcmOperation&) = delete;

    SessionLease& session() { return m_s; }
    CK_MECHANISM* mechanism() { return &m_params.mechanism; }
    const QByteArray& iv() const { return m_params.iv; }
    void started() { m_active = true; }

    Result<QByteArray> update(UpdateFn fn, const char* name, QByteArrayView in) {
        if (!m_active)
            return Error(ErrorCode::Internal, QStringLiteral("AES-GCM operation already ended"));
        QByteArray out;
        for (qsizetype done = 0; done < in.size();) {
            const qsizetype n = std::min(kChunk, in.size() - done);
            KL_TRY_ASSIGN(const QByteArray part,
                          call(fn, name, in.data() + done, n, std::size_t(n) + 32));
            out += part;
            done += n;
        }
        return out;
    }

    Result<QByteArray> finalize(FinalFn fn, const char* name) {
        if (!m_active)
            return Error(ErrorCode::Internal, QStringLiteral("AES-GCM operation already ended"));
        CK_ULONG len = 0;
        CK_RV rv = m_s.check(fn(m_s.handle(), nullptr, &len));
        if (rv == CKR_OK) {
            QByteArray out(qsizetype(len), '\0');
            rv = m_s.check(fn(m_s.handle(), reinterpret_cast<CK_BYTE*>(out.data()), &len));
            if (rv == CKR_OK) {
                m_active = false;
                out.resize(qsizetype(len));
                return out;
            }
        }
        m_active = false; // every failure but CKR_BUFFER_TOO_SMALL ends the operation
        return gcmError(QLatin1String(name), rv, fn == m_s.fn()->C_DecryptFinal);
    }

private:
    Result<QByteArray> call(UpdateFn fn, const char* name, const char* in, qsizetype n,
                            std::size_t guess) {
        QByteArray out(qsizetype(guess), '\0');
        CK_ULONG len = CK_ULONG(guess);
        auto* input = reinterpret_cast<CK_BYTE*>(const_cast<char*>(in));
        CK_RV rv = m_s.check(
            fn(m_s.handle(), input, CK_ULONG(n), reinterpret_cast<CK_BYTE*>(out.data()), &len));
        if (rv == CKR_BUFFER_TOO_SMALL) {
            out.resize(qsizetype(len));
            rv = m_s.check(
                fn(m_s.handle(), input, CK_ULONG(n), reinterpret_cast<CK_BYTE*>(out.data()), &len));
        }
        if (rv != CKR_OK) {
            m_active = false;
            return gcmError(QLatin1String(name), rv);
        }
        out.resize(qsizetype(len));
        return out;
    }

    SessionLease m_s;
    GcmParams m_params;
    bool m_active = false;
};

class Pkcs11GcmEncryption final : public GcmEncryption {
public:
    Pkcs11GcmEncryption(SessionLease s, const QByteArray& iv, const QByteArray& aad)
        : m_op(std::move(s), iv, aad) {}
    GcmOperation& op() { return m_op; }

    QByteArray iv() const override { return m_op.iv(); }
    Result<QByteArray> update(QByteArrayView plaintext) override {
        return m_op.update(m_op.session().fn()->C_EncryptUpdate, "C_EncryptUpdate (AES-GCM)",
                           plaintext);
    }
    Result<Tail> finish() override {
        KL_TRY_ASSIGN(QByteArray rest, m_op.finalize(m_op.session().fn()->C_EncryptFinal,
                                                     "C_EncryptFinal (AES-GCM)"));
        // PKCS#11 appends the tag to the last ciphertext bytes.
        if (rest.size() < kGcmTagBytes)
            return Error(ErrorCode::Internal,
                         QStringLiteral("the HSM returned no AES-GCM tag (%1 bytes at the end)")
                             .arg(rest.size()));
        Tail t;
        t.tag = rest.right(kGcmTagBytes);
        rest.chop(kGcmTagBytes);
        t.ciphertext = std::move(rest);
        return t;
    }

private:
    GcmOperation m_op;
};

class Pkcs11GcmDecryption final : public GcmDecryption {
public:
    Pkcs11GcmDecryption(SessionLease s, const QByteArray& iv, const QByteArray& aad,
                        const QByteArray& tag)
        : m_op(std::move(s), iv, aad)
        , m_tag(tag) {}
    GcmOperation& op() { return m_op; }

    Result<QByteArray> update(QByteArrayView ciphertext) override {
        return m_op.update(m_op.session().fn()->C_DecryptUpdate, "C_DecryptUpdate (AES-GCM)",
                           ciphertext);
    }
    Result<QByteArray> finish() override {
        // PKCS#11 takes the tag as the last bytes of the ciphertext stream.
        KL_TRY_ASSIGN(QByteArray out, update(m_tag));
        KL_TRY_ASSIGN(const QByteArray rest, m_op.finalize(m_op.session().fn()->C_DecryptFinal,
                                                           "C_DecryptFinal (AES-GCM)"));
        out += rest;
        return out;
    }

private:
    GcmOperation m_op;
    QByteArray m_tag;
};

Result<void> checkSizes(const QByteArray& iv, const QByteArray* tag) {
    if (iv.size() != kGcmIvBytes)
        return Error(
            ErrorCode::InvalidArgument,
            QStringLiteral("AES-GCM IV must be %1 bytes, not %2").arg(kGcmIvBytes).arg(iv.size()));
    if (tag && tag->size() != kGcmTagBytes)
        return Error(ErrorCode::BadInput, QStringLiteral("AES-GCM tag must be %1 bytes, not %2")
                                              .arg(kGcmTagBytes)
                                              .arg(tag->size()));
    return success();
}

} // namespace

Result<QByteArray> randomGcmIv(SessionLease& s) {
    QByteArray iv(kGcmIvBytes, '\0');
    const CK_RV rv = s.check(s.fn()->C_GenerateRandom(
        s.handle(), reinterpret_cast<CK_BYTE*>(iv.data()), CK_ULONG(iv.size())));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_GenerateRandom for an AES-GCM IV"), rv);
    return iv;
}

Result<std::unique_ptr<GcmEncryption>> startGcmEncryption(SessionLease s, CK_OBJECT_HANDLE key,
                                                          const QByteArray& iv,
                                                          const QByteArray& aad) {
    KL_TRY(checkSizes(iv, nullptr));
    auto e = std::make_unique<Pkcs11GcmEncryption>(std::move(s), iv, aad);
    SessionLease& lease = e->op().session();
    const CK_RV rv =
        lease.check(lease.fn()->C_EncryptInit(lease.handle(), e->op().mechanism(), key));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_EncryptInit (AES-GCM)"), rv);
    e->op().started();
    return std::unique_ptr<GcmEncryption>(std::move(e));
}

Result<std::unique_ptr<GcmDecryption>> startGcmDecryption(SessionLease s, CK_OBJECT_HANDLE key,
                                                          const QByteArray& iv,
                                                          const QByteArray& aad,
                                                          const QByteArray& tag) {
    KL_TRY(checkSizes(iv, &tag));
    auto d = std::make_unique<Pkcs11GcmDecryption>(std::move(s), iv, aad, tag);
    SessionLease& lease = d->op().session();
    const CK_RV rv =
        lease.check(lease.fn()->C_DecryptInit(lease.handle(), d->op().mechanism(), key));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("C_DecryptInit (AES-GCM)"), rv);
    d->op().started();
    return std::unique_ptr<GcmDecryption>(std::move(d));
}

// The Hsm defaults and one-shot forms (hsm.h has no source file of its own).

Result<std::unique_ptr<GcmEncryption>> Hsm::beginGcmEncrypt(const KeyUri& key, const QByteArray&) {
    return Error(ErrorCode::EnvironmentNotReady,
                 QStringLiteral("this HSM offers no AES-GCM (key '%1')").arg(key.object));
}

Result<std::unique_ptr<GcmDecryption>> Hsm::beginGcmDecrypt(const KeyUri& key, const QByteArray&,
                                                            const QByteArray&, const QByteArray&) {
    return Error(ErrorCode::EnvironmentNotReady,
                 QStringLiteral("this HSM offers no AES-GCM (key '%1')").arg(key.object));
}

Result<GcmSealed> Hsm::gcmEncrypt(const KeyUri& key, QByteArrayView plaintext,
                                  const QByteArray& aad) {
    KL_TRY_ASSIGN(auto op, beginGcmEncrypt(key, aad));
    GcmSealed out;
    out.iv = op->iv();
    out.ciphertext.reserve(plaintext.size());
    for (qsizetype done = 0; done < plaintext.size();) {
        const qsizetype n = std::min(kChunk, plaintext.size() - done);
        KL_TRY_ASSIGN(const QByteArray part, op->update(plaintext.sliced(done, n)));
        out.ciphertext += part;
        done += n;
    }
    KL_TRY_ASSIGN(GcmEncryption::Tail tail, op->finish());
    out.ciphertext += tail.ciphertext;
    out.tag = std::move(tail.tag);
    return out;
}

Result<QByteArray> Hsm::gcmDecrypt(const KeyUri& key, const GcmSealed& sealed,
                                   const QByteArray& aad) {
    KL_TRY_ASSIGN(auto op, beginGcmDecrypt(key, sealed.iv, aad, sealed.tag));
    QByteArray out;
    out.reserve(sealed.ciphertext.size());
    const QByteArrayView in(sealed.ciphertext);
    for (qsizetype done = 0; done < in.size();) {
        const qsizetype n = std::min(kChunk, in.size() - done);
        KL_TRY_ASSIGN(const QByteArray part, op->update(in.sliced(done, n)));
        out += part;
        done += n;
    }
    // On failure `out` (unauthenticated plaintext) is dropped with the error.
    KL_TRY_ASSIGN(const QByteArray rest, op->finish());
    out += rest;
    return out;
}

} // namespace keyline::hsm
