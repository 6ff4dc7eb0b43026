#pragma once

#include "flashing/device_client.h"

namespace keyline::provisioning {

// Step 3 of DESIGN.md §1: the device holds the order's customer keystore. keystore-status is
// read first; the keystore is written only when the device holds none or another one, and the
// hash the device reports afterwards must be the keystore's (VerificationFailed otherwise).
// Answers what was done: "already held" or "written".
Result<QString> ensureKeystore(flashing::DeviceClient& device, const QByteArray& keystore,
                               const QByteArray& keystoreSha256);

} // namespace keyline::provisioning
