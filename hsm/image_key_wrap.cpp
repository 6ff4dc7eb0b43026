#include "hsm/image_key_wrap.h"

#include "hsm/ec_util.h"
#include "hsm/key_objects.h"

namespace keyline::hsm {

Result<ImageKeyBurn> wrapImageKey(SessionLease& s, CK_OBJECT_HANDLE imageKey,
                                  const QByteArray& imageKeyKcv, const QByteArray& devicePoint) {
    KL_TRY(checkP256Point(devicePoint));
    auto* f = s.fn();

    ImageKeyBurn out;
    out.expectedKcv = imageKeyKcv;

    // A fresh station key for every device: a key pair reused across devices would let one
    // device's secrets help attack another's.
    KL_TRY_ASSIGN(const KeyPair eph, generateP256(s, {QString(), QByteArray(), EcUsage::Derive,
                                                      /*token=*/false, /*extractable=*/false}));
    ObjectGuard ephPriv(s, eph.privateKey);
    ObjectGuard ephPub(s, eph.publicKey);
    KL_TRY_ASSIGN(out.stationPublicKey, ecPublicPoint(s, eph.publicKey));

    QByteArray peer = devicePoint;
    CK_ECDH1_DERIVE_PARAMS params{};
    params.kdf = CKD_NULL; // SoftHSM2 offers no KDF; the raw X coordinate is the key
    params.ulSharedDataLen = 0;
    params.pSharedData = nullptr;
    params.ulPublicDataLen = CK_ULONG(peer.size());
    params.pPublicData = reinterpret_cast<CK_BYTE*>(peer.data());
    CK_MECHANISM derive{CKM_ECDH1_DERIVE, &params, sizeof params};
    Template kekTemplate = wrapOnlySessionKeyTemplate();
    CK_OBJECT_HANDLE kekHandle = CK_INVALID_HANDLE;
    CK_RV rv = s.check(f->C_DeriveKey(s.handle(), &derive, eph.privateKey, kekTemplate.data(),
                                      kekTemplate.size(), &kekHandle));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("ECDH key agreement with the device key"), rv);
    ObjectGuard kek(s, kekHandle);

    CK_MECHANISM wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
    CK_ULONG len = 0;
    rv = s.check(f->C_WrapKey(s.handle(), &wrap, kek.get(), imageKey, nullptr, &len));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("wrapping the image key (RFC 5649)"), rv);
    out.wrappedKey.resize(qsizetype(len));
    rv = s.check(f->C_WrapKey(s.handle(), &wrap, kek.get(), imageKey,
                              reinterpret_cast<CK_BYTE*>(out.wrappedKey.data()), &len));
    if (rv != CKR_OK)
        return p11Error(QStringLiteral("wrapping the image key (RFC 5649)"), rv);
    out.wrappedKey.resize(qsizetype(len));
    return out;
}

} // namespace keyline::hsm
