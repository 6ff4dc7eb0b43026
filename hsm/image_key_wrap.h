#pragma once

#include "hsm/hsm.h"
#include "hsm/session_pool.h"

namespace keyline::hsm {

// The station side of otp-burn (docs/security-model.md, "Image decryption key burn"), all inside
// the HSM on one leased session:
//   1. a fresh P-256 key pair (session objects, private half sensitive and non-extractable);
//   2. ECDH with the device's point, CKD_NULL: the X coordinate becomes a 32-byte AES key, a
//      session object that is sensitive, non-extractable and can only wrap;
//   3. C_WrapKey(CKM_AES_KEY_WRAP_PAD) of the image key under it (RFC 5649);
//   4. every session object destroyed before returning, error or not.
// The device point is checked to be on P-256 first. `imageKeyKcv` is the image key's check value
// (keyCheckValue()), returned as the burn's expected value.
Result<ImageKeyBurn> wrapImageKey(SessionLease& s, CK_OBJECT_HANDLE imageKey,
                                  const QByteArray& imageKeyKcv, const QByteArray& devicePoint);

} // namespace keyline::hsm
