#pragma once

#include "flashing/device_client.h"
#include "hsm/hsm.h"
#include "provisioning/chip_authenticator.h"

namespace keyline::provisioning {

// What the image-key step found or did on one device.
struct OtpKeyOutcome {
    bool burnedNow = false;   // false: the device already held the image key, nothing was sent
    QByteArray keyCheckValue; // 3 bytes; equal on the device and in the HSM
};

// Step 2 of DESIGN.md §1: the device's OTP holds the image decryption key. "Ensure, not do"
// (§5): otp-status is read first, so a repeated run after a crash or a pulled cable never burns
// twice; the device's own write-once rule is the second line of defence, not the first.
//
//   burned, KCV = the HSM's         done, nothing sent
//   burned, other KCV               Refused: the device must be scrapped, never re-burned
//   blank                           ephemeral-key; its signature must verify with the chip's
//                                   identity key (VerificationFailed otherwise, before the HSM
//                                   does anything); the HSM wraps the image key to it;
//                                   otp-burn; the answered KCV must be the HSM's
//                                   (VerificationFailed naming both KCVs otherwise)
//
// The image key exists in plain text only inside the HSM and the device. Error messages name
// key check values (public by design, 3 bytes), never the wrapped key or the key. Device and
// link errors pass through with their code (Disconnected, Timeout, DeviceRefused, ...).
// docs/security-model.md, "Image decryption key burn", describes the same sequence.
class OtpKeyStep {
public:
    // Holds references: the authenticator and the HSM must outlive the step.
    OtpKeyStep(const ChipAuthenticator& authenticator, hsm::Hsm& hsm, hsm::KeyUri imageKey);

    // `chip` must come from authenticateChip() on this same connection.
    Result<OtpKeyOutcome> ensure(flashing::DeviceClient& device, const GenuineChip& chip) const;

private:
    Result<OtpKeyOutcome> confirmBurned(const protocol::OtpStatusResponse& status) const;
    Result<OtpKeyOutcome> burn(flashing::DeviceClient& device, const GenuineChip& chip) const;

    const ChipAuthenticator& m_authenticator;
    hsm::Hsm& m_hsm;
    hsm::KeyUri m_imageKey;
};

} // namespace keyline::provisioning
