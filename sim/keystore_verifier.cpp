#include "sim/keystore_verifier.h"

namespace keyline::sim {

Result<void> KeystoreVerifier::verify(const QByteArray& keystore) const {
    if (keystore.isEmpty())
        return Error(ErrorCode::VerificationFailed, QStringLiteral("the keystore is empty"));
    // TODO(keystore-format): parse and check the vendor signature here.
    return success();
}

} // namespace keyline::sim
