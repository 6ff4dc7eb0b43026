#pragma once

#include "common/result.h"

#include <QByteArray>

namespace keyline::sim {

// SEAM (the one place the simulator is knowingly incomplete): a real device verifies the
// keystore's vendor signature against the vendor root in its boot ROM before storing it
// (docs/keystore-format.md). Until the keystore format lands, this accepts any non-empty blob
// (the request codec already refuses an empty one as malformed).
class KeystoreVerifier {
public:
    Result<void> verify(const QByteArray& keystore) const;
};

} // namespace keyline::sim
