#pragma once

#include "flashing/device_client.h"
#include "provisioning/chip_authenticator.h"

namespace keyline::provisioning {

// Step 1's security half (DESIGN.md §1): identify the device, challenge it with a fresh nonce
// and check the answer with the ChipAuthenticator. Every later step that sends a secret takes
// the GenuineChip this returns, so a device that fails here never sees an ephemeral-key
// request or any key material. VerificationFailed for a chip that is not genuine.
Result<GenuineChip> authenticateChip(flashing::DeviceClient& device,
                                     const ChipAuthenticator& authenticator);

} // namespace keyline::provisioning
