#pragma once

// CKM_AES_GCM through the module's function list, chunked (C_EncryptInit/Update/Final), on one
// leased session that the operation keeps until it ends. The CK_GCM_PARAMS of pkcs11-helper's
// pkcs11.h is the v2.40 layout {pIv, ulIvLen, ulIvBits, pAAD, ulAADLen, ulTagBits}, which is
// what SoftHSM2 2.6 reads; tests/hsm/test_aes_gcm.cpp proves it with a known-answer test.

#include "hsm/hsm.h"
#include "hsm/session_pool.h"

namespace keyline::hsm {

// 12 random bytes from C_GenerateRandom on `s`.
Result<QByteArray> randomGcmIv(SessionLease& s);

// `key` must allow CKA_ENCRYPT (resp. CKA_DECRYPT); `iv` is 12 bytes, `tag` 16.
Result<std::unique_ptr<GcmEncryption>> startGcmEncryption(SessionLease s, CK_OBJECT_HANDLE key,
                                                          const QByteArray& iv,
                                                          const QByteArray& aad);
Result<std::unique_ptr<GcmDecryption>> startGcmDecryption(SessionLease s, CK_OBJECT_HANDLE key,
                                                          const QByteArray& iv,
                                                          const QByteArray& aad,
                                                          const QByteArray& tag);

} // namespace keyline::hsm
